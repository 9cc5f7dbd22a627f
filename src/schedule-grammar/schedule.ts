/**
 * Phrases and `--cron` expressions → `Schedule`; next fire times; EventBridge expressions.
 * Pure: the reference time and zone are parameters.
 */
import { parseAwsCronBody, parseCron5, renderAwsCron, renderCron5, type CronParse } from './cron.ts';
import { nextCronTimes, nextOnceTimes, nextRateTimes } from './next.ts';
import { parsePhrase, type Meaning } from './phrase.ts';
import { awsCanRate, parseRate, renderRate } from './rate.ts';
import type { ParseFailure, ParseOptions, ParseResult, Schedule } from './types.ts';
import { checkTimeZone, createZone, formatInZone, formatWall, isValidDate, type Zone } from './zone.ts';

function withZone(options: ParseOptions): { ok: true; zone: Zone } | ParseFailure {
  if (!Number.isFinite(options.now)) return { ok: false, message: 'the reference time is not a valid instant' };
  const tz = checkTimeZone(options.timeZone);
  if (!tz.ok) return { ok: false, message: tz.message };
  return { ok: true, zone: createZone(tz.timeZone) };
}

function build(meaning: Meaning, input: string, zone: Zone, now: number): Schedule {
  const base = { input, timeZone: zone.name };
  switch (meaning.type) {
    case 'once':
      return { ...base, kind: 'once', expression: formatInZone(meaning.atMs, zone), awsExpression: `at(${formatWall(zone.toWall(meaning.atMs))})` };
    case 'cron':
      return { ...base, kind: 'recurring', expression: renderCron5(meaning.fields), awsExpression: renderAwsCron(meaning.fields) };
    case 'rate': {
      const expression = renderRate(meaning.seconds);
      return {
        ...base,
        kind: 'recurring',
        expression,
        awsExpression: awsCanRate(meaning.seconds) ? expression : null,
        anchorMs: Math.floor(now / 1000) * 1000,
      };
    }
  }
}

/** A plain-English phrase (SPEC §11.2). The whole phrase must be understood. */
export function parseSchedule(input: string, options: ParseOptions): ParseResult {
  const z = withZone(options);
  if (!z.ok) return z;
  const r = parsePhrase(input, { now: options.now, zone: z.zone });
  if (!r.ok) return r;
  return { ok: true, schedule: build(r.meaning, input.trim(), z.zone, options.now) };
}

/**
 * `--cron`: a 5-field cron, or EventBridge's `cron(…)`, `rate(N unit)` or
 * `at(YYYY-MM-DDTHH:MM:SS)` (wall time in the zone).
 */
export function parseCronOption(expr: string, options: ParseOptions): ParseResult {
  const z = withZone(options);
  if (!z.ok) return z;
  const text = expr.trim();
  const lower = text.toLowerCase();
  if (lower.startsWith('rate(')) {
    const r = parseRate(text);
    if (r.ok && r.seconds > 366 * 86_400) return { ok: false, message: `"${text}" is longer than a year; use a cron expression for long cycles` };
    return r.ok ? { ok: true, schedule: build({ type: 'rate', seconds: r.seconds }, text, z.zone, options.now) } : { ok: false, message: r.message };
  }
  if (lower.startsWith('at(')) return parseAt(text, z.zone, options.now);
  let parsed: CronParse;
  if (lower.startsWith('cron(')) {
    if (!text.endsWith(')')) return { ok: false, message: `"${text}" is missing its closing parenthesis` };
    parsed = parseAwsCronBody(text.slice(5, -1));
  } else {
    parsed = parseCron5(text);
  }
  if (!parsed.ok) return { ok: false, message: parsed.message, hint: CRON_HINT };
  return { ok: true, schedule: build({ type: 'cron', fields: parsed.fields }, text, z.zone, options.now) };
}

const CRON_HINT = `5-field cron is "minute hour day-of-month month day-of-week", e.g. '45 19 * * 1-5'; EventBridge form e.g. 'cron(45 19 ? * MON-FRI *)'`;

function parseAt(text: string, zone: Zone, now: number): ParseResult {
  const m = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(text);
  if (!m) return { ok: false, message: `"${text}" is not an at() expression; use at(YYYY-MM-DDTHH:MM:SS), e.g. at(2027-03-04T06:30:00)` };
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (!isValidDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return { ok: false, message: `"${text}" is not a valid date and time` };
  const atMs = zone.toInstant({ year, month, day, hour, minute, second });
  if (atMs <= now) {
    return { ok: false, message: `"${text}" is in the past (${formatInZone(atMs, zone)}; now is ${formatInZone(now, zone)})`, hint: 'give a time in the future' };
  }
  return { ok: true, schedule: build({ type: 'once', atMs }, text, zone, now) };
}

/**
 * The next `n` fire instants strictly after `afterMs`, in ms. Wall-clock schedules follow
 * `timeZone` (default: the schedule's) across DST; rates count from `anchorMs`.
 */
export function nextFireTimes(
  schedule: Pick<Schedule, 'expression' | 'timeZone' | 'anchorMs'>,
  afterMs: number,
  n: number,
  timeZone: string = schedule.timeZone,
): number[] {
  const expr = schedule.expression;
  if (expr.startsWith('rate(')) {
    const r = parseRate(expr, { allowSeconds: true });
    if (!r.ok) throw new Error(r.message);
    if (schedule.anchorMs === undefined) throw new Error(`${expr} needs the schedule's anchor time`);
    return nextRateTimes(schedule.anchorMs, r.seconds * 1000, afterMs, n);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(expr)) {
    const atMs = Date.parse(expr);
    if (!Number.isFinite(atMs)) throw new Error(`"${expr}" is not an instant`);
    return nextOnceTimes(atMs, afterMs, n);
  }
  const parsed = parseCron5(expr);
  if (!parsed.ok) throw new Error(parsed.message);
  return nextCronTimes(parsed.fields, createZone(timeZone), afterMs, n);
}

/**
 * The EventBridge Scheduler expression for a schedule (evaluated with
 * `ScheduleExpressionTimezone` = the schedule's zone): `at(local wall time)`,
 * `cron(M H DOM MON DOW *)` with `?` in exactly one day field and DOW names, or
 * `rate(N unit)`. Null when EventBridge cannot express it (intervals not in whole minutes).
 */
export function toEventBridgeExpression(schedule: Pick<Schedule, 'expression' | 'timeZone'>): string | null {
  const expr = schedule.expression;
  if (expr.startsWith('rate(')) {
    const r = parseRate(expr, { allowSeconds: true });
    if (!r.ok) throw new Error(r.message);
    return awsCanRate(r.seconds) ? renderRate(r.seconds) : null;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(expr)) {
    const atMs = Date.parse(expr);
    if (!Number.isFinite(atMs)) throw new Error(`"${expr}" is not an instant`);
    return `at(${formatWall(createZone(schedule.timeZone).toWall(atMs))})`;
  }
  const parsed = parseCron5(expr);
  if (!parsed.ok) throw new Error(parsed.message);
  return renderAwsCron(parsed.fields);
}
