/**
 * The fast reading of a definition file: js-yaml's events, checked for the few constructs where
 * js-yaml and `yaml` (whose Document gives every message its line) would read the same text
 * differently, then built into data. Building `yaml`'s Document for every file was a quarter of
 * `bk plan` at 100x the definition; js-yaml reads the same files about five times faster.
 *
 * Returns undefined whenever the answer must come from `yaml`: explicit tags and %YAML/%TAG
 * directives (the schemas differ), null or empty keys (`yaml` turns them into ""), aliases inside an
 * anchored collection or more than 100 of them (`yaml` refuses some of those as an alias bomb,
 * maxAliasCount 100, by a count js-yaml does not keep), empty or multi-document input, and anything
 * js-yaml rejects (the error message must be `yaml`'s).
 */
import { CORE_SCHEMA, EVENT_ID, SCALAR_STYLE, constructFromEvents, parseEvents, type Event } from "js-yaml";
import { parse } from "yaml";

/** `yaml`'s maxAliasCount as source.ts uses it: with fewer aliases and none nested, no document can exceed it. */
const MAX_ALIASES = 100;
const NULL_PLAIN = /^(?:~|null|Null|NULL)?$/;

interface Frame {
  mapping: boolean;
  anchored: boolean;
  /** Children seen so far; in a mapping, even positions are keys. */
  children: number;
}

/** Whether the events hold only what both libraries read alike (see the module comment). */
function readsAlike(events: readonly Event[], text: string): boolean {
  const stack: Frame[] = [];
  let aliases = 0;
  let anchoredOpen = 0;
  let documents = 0;
  const isKey = (): boolean => {
    const top = stack[stack.length - 1];
    return top?.mapping === true && top.children % 2 === 0;
  };
  const countChild = (): void => {
    const top = stack[stack.length - 1];
    if (top) top.children++;
  };
  for (const e of events) {
    switch (e.type) {
      case EVENT_ID.DOCUMENT:
        if (e.directives.length > 0 || ++documents > 1) return false;
        stack.push({ mapping: false, anchored: false, children: 0 });
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        if (e.tagStart >= 0) return false;
        countChild();
        const anchored = e.anchorStart >= 0;
        if (anchored) anchoredOpen++;
        stack.push({ mapping: e.type === EVENT_ID.MAPPING, anchored, children: 0 });
        break;
      }
      case EVENT_ID.SCALAR:
        if (e.tagStart >= 0) return false;
        if (isKey() && e.style === SCALAR_STYLE.PLAIN && NULL_PLAIN.test(text.slice(e.valueStart, e.valueEnd))) return false;
        countChild();
        break;
      case EVENT_ID.ALIAS:
        if (++aliases > MAX_ALIASES || anchoredOpen > 0) return false;
        countChild();
        break;
      case EVENT_ID.POP: {
        const frame = stack.pop();
        if (frame?.anchored) anchoredOpen--;
        break;
      }
    }
  }
  return documents === 1;
}

/** The file's data, or undefined when `yaml` must read it (see the module comment). */
export function fastRead(text: string): { value: unknown } | undefined {
  try {
    const events = parseEvents(text, {});
    if (!readsAlike(events, text)) return undefined;
    const documents = constructFromEvents(events, { source: text, schema: CORE_SCHEMA });
    return documents.length === 1 ? { value: documents[0] } : undefined;
  } catch {
    return undefined;
  }
}

/** A YAML text's data as `yaml` reads it, by the fast path where it may be taken; `yaml`'s errors are thrown. */
export function readYamlValue(text: string): unknown {
  const fast = fastRead(text);
  return fast ? fast.value : parse(text);
}
