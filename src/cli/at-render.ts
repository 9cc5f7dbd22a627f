/** Pure renderers of `km at` (SPEC §11.3, §11.4): dry run, saved line, list, history. */
import { formatRemaining } from '../core/duration.ts';
import { createZone, formatInZone, nextFireTimes, type Schedule } from '../schedule-grammar/index.ts';
import type { FireJson, ScheduleJson } from '../scheduler/index.ts';

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

/** `2027-03-03 19:45` in the zone (seconds shown only when not zero). */
export function localTime(isoUtc: string, timeZone: string): string {
  const text = formatInZone(Date.parse(isoUtc), createZone(timeZone));
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})/.exec(text);
  if (!m) return text;
  return `${m[1]} ${m[2]}${m[3] === ':00' ? '' : m[3]}`;
}

/** `Scheduled km-at-… — stop demo, every weekday at 7:45pm (Europe/Berlin); next 2027-03-03 19:45` (SPEC §11.4). */
export function scheduledLine(j: ScheduleJson): string {
  const next = j.next_fire_at === null ? 'no further fire' : `next ${localTime(j.next_fire_at, j.timezone)}`;
  return `Scheduled ${j.name} — ${shellWords(j.command)}, ${j.input} (${j.timezone}); ${next}`;
}

function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] as number) + 2))).join('').trimEnd()).join('\n') + '\n';
}

const commandWord = (argv: readonly string[]): string => (argv[0] === 'agent' ? `agent ${argv[1] ?? ''}`.trim() : (argv[0] ?? '-'));

/** `km at list`: `NAME  COMMAND  TARGET  WHEN  NEXT  LAST  STATUS`, times in `timeZone`. */
export function renderScheduleList(items: readonly ScheduleJson[], timeZone: string): string {
  if (items.length === 0) return 'No schedules.\n';
  const rows = items.map((j) => [
    j.name,
    commandWord(j.command),
    j.target ?? '-',
    j.input,
    j.next_fire_at === null ? '-' : localTime(j.next_fire_at, timeZone),
    j.last_fire_at === null ? '-' : `${localTime(j.last_fire_at, timeZone)} ${j.last_outcome ?? ''}`.trimEnd(),
    j.running ? `${j.status} (running)` : j.status,
  ]);
  return table([['NAME', 'COMMAND', 'TARGET', 'WHEN', 'NEXT', 'LAST', 'STATUS'], ...rows]);
}

/** `km at history <name>`: one line per fire, oldest first. */
export function renderHistory(name: string, fires: readonly FireJson[], timeZone: string): string {
  if (fires.length === 0) return `No fires yet for ${name}.\n`;
  const rows = fires.map((f) => [localTime(f.fire_at, timeZone), formatRemaining(f.delay_s), f.outcome, (f.detail ?? '-').trim().replace(/\s*\n\s*/g, '; ')]);
  return table([['FIRE', 'DELAY', 'OUTCOME', 'DETAIL'], ...rows]);
}
