/**
 * Some upstream files (Flagger's CRDs, from an old controller-gen) continue a multi-line single-quoted scalar at
 * the indentation of its key. Go's YAML reader accepts that; the YAML spec, and so the `yaml` package, do not.
 * Indenting each continuation line past its key changes nothing in the value (line folding drops leading
 * blanks) and makes the text readable by both.
 */
const OPENS = /^(\s*)(?:- )?[^\s'"#][^:'"]*:\s+'(.*)$/;

/** Whether a single-quoted scalar whose text after the opening quote is `rest` closes on this line ('' is a quote). */
function closes(rest: string): boolean {
  return rest.replace(/''/g, "").includes("'");
}

export function indentFlowScalarContinuations(text: string): string {
  const lines = text.split("\n");
  let open: { indent: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (open) {
      const lead = line.length - line.trimStart().length;
      if (line.trim() !== "" && lead <= open.indent) lines[i] = `${" ".repeat(open.indent + 2 - lead)}${line}`;
      if (closes(line)) open = undefined;
      continue;
    }
    const m = OPENS.exec(line);
    if (m && !closes(m[2]!)) open = { indent: m[1]!.length + (line.trimStart().startsWith("- ") ? 2 : 0) };
  }
  return lines.join("\n");
}
