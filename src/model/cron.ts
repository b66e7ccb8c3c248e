/**
 * Schedules as a Kubernetes CronJob reads them: five fields (minute hour day-of-month month
 * day-of-week) or one of the macros its cron library knows. cron-parser checks values and ranges;
 * the field syntax is checked here first because cron-parser also takes what Kubernetes refuses
 * (a sixth field for seconds, Quartz's L and #, Jenkins' H, an empty string as "every minute").
 */
import { CronExpressionParser } from "cron-parser";

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const FIELDS = ["minute", "hour", "day of month", "month", "day of week"] as const;
const NUMERIC_PART = /^(\*|\?|\d+(-\d+)?)(\/\d+)?$/;
const NAMED_PART = /^(\*|\?|(\d+|[A-Za-z]{3})(-(\d+|[A-Za-z]{3}))?)(\/\d+)?$/;

/** What is wrong with the schedule, or undefined when a CronJob would run it. */
export function cronProblem(schedule: string): string | undefined {
  const text = schedule.trim();
  if (!text) return "is empty";
  if (/^(CRON_)?TZ=/.test(text)) return "a time zone inside the schedule is refused by Kubernetes; CronJobs run in the controller's time zone";
  const expanded = text.startsWith("@") ? MACROS[text] : text;
  if (expanded === undefined) return `unknown macro '${text}'; Kubernetes knows ${Object.keys(MACROS).join(", ")}`;
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5) return `has ${fields.length} field${fields.length === 1 ? "" : "s"}; a schedule has five: minute hour day-of-month month day-of-week`;
  for (const [i, field] of fields.entries()) {
    const part = i >= 3 ? NAMED_PART : NUMERIC_PART;
    if (!field.split(",").every((p) => part.test(p))) return `the ${FIELDS[i]} field '${field}' is not a number, range, list or step`;
  }
  if (/(^|[-,])7($|[-,/])/.test(fields[4]!)) return "day of week 7 is refused by Kubernetes; Sunday is 0";
  try {
    CronExpressionParser.parse(expanded);
  } catch (e) {
    return (e as Error).message.replace(/^(Constraint|Validation) error, /, "");
  }
  return undefined;
}

/**
 * The longest gap between two consecutive runs of a valid schedule, in milliseconds, over the year after `from`
 * (UTC, as controllers without a time zone run them): the oldest a backup may be before a run was missed.
 */
export function longestIntervalMs(schedule: string, from = new Date(Date.UTC(2026, 0, 1))): number {
  const text = schedule.trim();
  const it = CronExpressionParser.parse(text.startsWith("@") ? (MACROS[text] ?? text) : text, { currentDate: from, tz: "UTC" });
  const end = from.getTime() + 366 * 86_400_000;
  let prev = it.next().getTime();
  let longest = 0;
  // 2000 runs cover a year of anything hourly or rarer; a finer schedule's gaps repeat well within that.
  for (let i = 0; i < 2000 && prev < end; i++) {
    const next = it.next().getTime();
    longest = Math.max(longest, next - prev);
    prev = next;
  }
  return longest;
}
