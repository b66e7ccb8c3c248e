/** JSON Pointer (as ajv reports instancePath) to the field notation findings use: spec.ports[0].port. */

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Renders path segments; numeric segments become [i], keys with dots or slashes become ["a.b/c"]. */
export function renderPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const seg of segments) {
    if (typeof seg === "number" || /^(0|[1-9][0-9]*)$/.test(seg)) out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function pointerToPath(pointer: string): string {
  return renderPath(pointerSegments(pointer));
}

/** Appends a property name to a rendered path. */
export function childPath(parent: string, key: string): string {
  const rendered = renderPath([key]);
  return parent !== "" && !rendered.startsWith("[") ? `${parent}.${rendered}` : parent + rendered;
}

/** The value at a JSON Pointer, or undefined when the path does not exist. */
export function valueAt(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const seg of pointerSegments(pointer)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}
