/** Pure renderers of `km at --dry-run` (SPEC §11.3). */
import { createZone, formatInZone, nextFireTimes, type Schedule } from '../schedule-grammar/index.ts';

/** The stable JSON shape of a dry run. */
export interface DryRunJson {
  input: string;
  kind: 'once' | 'recurring';
  expression: string;
  aws_expression: string | null;
  timezone: string;
  next_fire_times: string[];
  command: string[];
  name: string;
}

export function dryRunJson(schedule: Schedule, nowMs: number, command: readonly string[], name: string): DryRunJson {
  const zone = createZone(schedule.timeZone);
  return {
    input: schedule.input,
    kind: schedule.kind,
    expression: schedule.expression,
    aws_expression: schedule.awsExpression,
    timezone: schedule.timeZone,
    next_fire_times: nextFireTimes(schedule, nowMs, 3).map((t) => formatInZone(t, zone)),
    command: [...command],
    name,
  };
}

/** Shell-style display of an argv: words with spaces or quotes are single-quoted. */
export function shellWords(argv: readonly string[]): string {
  return argv.map((w) => (/^[A-Za-z0-9_@%+=:,./#-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** `Wed 2027-03-03 19:45 +01:00` (seconds shown only when not zero). */
export function humanTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})([+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) return iso;
  const [, date, hm, sec, offset] = m as unknown as [string, string, string, string, string];
  const weekday = WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()] as string;
  return `${weekday} ${date} ${hm}${sec === ':00' ? '' : sec} ${offset}`;
}

export function renderDryRun(report: DryRunJson): string {
  const aws = report.aws_expression ?? 'none: EventBridge runs intervals of whole minutes only, so this schedule runs on the local scheduler only';
  const [first, ...more] = report.next_fire_times.map(humanTime);
  const lines = [
    ['name', report.name],
    ['command', shellWords(report.command)],
    ['when', `${report.input} (${report.kind === 'once' ? 'once' : 'recurring'})`],
    ['expression', report.expression],
    ['aws', aws],
    ['time zone', report.timezone],
    ['next', first ?? 'never (no future fire time)'],
    ...more.map((t) => ['', t]),
  ];
  return lines.map(([k, v]) => `${(k as string).padEnd(11)} ${v}`.trimEnd()).join('\n') + '\n';
}
