/**
 * The plain-English grammar of SPEC §11.2. Each production is an anchored, case-insensitive
 * regex plus a builder. The whole phrase must match one production; otherwise the longest
 * production that matched a prefix is reported as "understood", the rest as "left".
 */
import type { CronFields } from './cron.ts';
import { parseTimeOfDay, TIME_SOURCE, type TimeOfDay } from './time-of-day.ts';
import { addDays, formatInZone, isValidDate, type LocalDate, type Zone } from './zone.ts';

/** What a phrase means, before it becomes a `Schedule`. */
export type Meaning =
  | { type: 'once'; atMs: number }
  | { type: 'cron'; fields: CronFields }
  | { type: 'rate'; seconds: number };

export type Outcome = { meaning: Meaning } | { refuse: string; hint?: string };

export interface PhraseContext {
  now: number;
  zone: Zone;
}

interface Production {
  re: RegExp;
  build(m: RegExpExecArray, ctx: PhraseContext): Outcome;
}

const T = `(${TIME_SOURCE})`;
const AT = String.raw`(?:at\s+|@\s*)?`;
const WD_SOURCE = 'monday|mon|tuesday|tues|tue|wednesday|weds|wed|thursday|thurs|thur|thu|friday|fri|saturday|sat|sunday|sun';
const WD = `(?:${WD_SOURCE})`;
const WDLIST = String.raw`(${WD}(?:\s*,\s*(?:and\s+)?${WD}|\s+and\s+${WD}|\s*&\s*${WD})*)`;
const UNIT = 'seconds|second|secs|sec|minutes|minute|mins|min|hours|hour|hrs|hr|days|day|s|m|h|d';
/** One-shots may also be weeks away ("in 2 weeks"); intervals may not ("every 2 weeks" needs --cron). */
const IN_UNIT = `weeks|week|${UNIT}`;
const DUR = String.raw`((?:an?\s+|\d+\s*)(?:${IN_UNIT})(?:\s*,?\s*(?:and\s+)?\d+\s*(?:${IN_UNIT}))*)`;
/** Limits that keep every schedule a real date EventBridge accepts. */
const MAX_AHEAD_MS = 100 * 366 * 86_400_000;
const MAX_INTERVAL_S = 366 * 86_400;
const END = '(?=$|[^a-z0-9])';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 7 * 86_400 };
const unitSeconds = (u: string): number => UNIT_SECONDS[u === 'min' || u === 'mins' || u.startsWith('minute') ? 'm' : (u[0] as string)] as number;

const WEEKDAY_PREFIX = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const weekdayIndex = (word: string): number => WEEKDAY_PREFIX.indexOf(word.toLowerCase().slice(0, 3));
const weekdayList = (text: string): number[] =>
  [...new Set((text.toLowerCase().match(new RegExp(WD, 'g')) ?? []).map(weekdayIndex))].sort((a, b) => a - b);

const ALL = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

function durationSeconds(text: string): number {
  let total = 0;
  for (const g of text.toLowerCase().matchAll(new RegExp(String.raw`(?:\b(an?)\s+|(\d+)\s*)(${IN_UNIT})(?![a-z])`, 'g'))) {
    const n = g[1] !== undefined ? 1 : Number(g[2]);
    total += n * unitSeconds(g[3] as string);
  }
  return total;
}

function withTime(text: string, then: (t: TimeOfDay) => Outcome): Outcome {
  const r = parseTimeOfDay(text);
  return r.ok ? then(r.time) : { refuse: r.message };
}

function today(ctx: PhraseContext): LocalDate & { weekday: number } {
  return addDays(ctx.zone.toWall(ctx.now), 0);
}

const instant = (ctx: PhraseContext, date: LocalDate, t: TimeOfDay): number => ctx.zone.toInstant({ ...date, ...t });

function future(atMs: number, ctx: PhraseContext, phrase: string): Outcome {
  if (!Number.isFinite(atMs) || atMs - ctx.now > MAX_AHEAD_MS) return { refuse: `"${phrase}" is too far ahead; schedules reach at most 100 years` };
  if (atMs > ctx.now) return { meaning: { type: 'once', atMs } };
  return {
    refuse: `"${phrase}" is in the past (${formatInZone(atMs, ctx.zone)}; now is ${formatInZone(ctx.now, ctx.zone)})`,
    hint: 'give a time in the future',
  };
}

function onDay(offsetDays: number) {
  return (text: string, ctx: PhraseContext, phrase: string): Outcome =>
    withTime(text, (t) => future(instant(ctx, addDays(today(ctx), offsetDays), t), ctx, phrase));
}

/** The next date with that weekday at that time: `next` skips today, otherwise today counts if still ahead. */
function weekday(word: string, timeText: string, ctx: PhraseContext, skipToday: boolean): Outcome {
  const wd = weekdayIndex(word);
  return withTime(timeText, (t) => {
    for (let i = skipToday ? 1 : 0; i <= 7; i++) {
      const d = addDays(today(ctx), i);
      if (d.weekday !== wd) continue;
      const at = instant(ctx, d, t);
      if (at > ctx.now) return { meaning: { type: 'once', atMs: at } };
    }
    return { refuse: `could not place "${word}" in time` };
  });
}

function wallClock(timeText: string, weekdays: number[] | undefined): Outcome {
  return withTime(timeText, (t) => {
    if (t.second !== 0) return { refuse: `recurring times fire on whole minutes; drop the seconds from "${timeText}"` };
    const fields: CronFields = {
      minutes: [t.minute],
      hours: [t.hour],
      days: ALL(1, 31),
      months: ALL(1, 12),
      weekdays: weekdays ?? ALL(0, 6),
      domRestricted: false,
      dowRestricted: weekdays !== undefined && weekdays.length < 7,
    };
    return { meaning: { type: 'cron', fields } };
  });
}

function rate(seconds: number, text: string): Outcome {
  if (seconds < 1) return { refuse: `"${text}" is not an interval; use N ≥ 1, e.g. "every 2 hours"` };
  if (seconds > MAX_INTERVAL_S) return { refuse: `"${text}" is longer than a year; use --cron for long cycles` };
  return { meaning: { type: 'rate', seconds } };
}

function iso(m: RegExpExecArray, ctx: PhraseContext): Outcome {
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!isValidDate(year, month, day)) return { refuse: `"${m[0]}" is not a valid date` };
  if (m[4] === undefined) return { refuse: `"${m[0]}" has no time of day; add one, e.g. "${m[0]}T09:00"` };
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? '0')];
  if (hour > 23 || minute > 59 || second > 59) return { refuse: `"${m[0]}" is not a valid time` };
  const offset = m[7];
  let atMs: number;
  if (offset === undefined) {
    atMs = ctx.zone.toInstant({ year, month, day, hour, minute, second });
  } else {
    const o = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
    const offsetMs = o ? (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60_000 : 0;
    atMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMs;
  }
  return future(atMs, ctx, m[0]);
}

const noTime = (m: RegExpExecArray): Outcome => ({
  refuse: `"${m[0]}" has no time of day; add a time, e.g. "${m[0]} at 9am"`,
});

const P = (source: string, build: Production['build']): Production => ({ re: new RegExp(`^(?:${source})${END}`, 'i'), build });

/** In priority order; the first production matching the whole phrase wins. */
const PRODUCTIONS: readonly Production[] = [
  P(String.raw`in\s+${DUR}`, (m, ctx) => {
    const seconds = durationSeconds(m[1] as string);
    if (seconds < 1) return { refuse: `"${m[0]}" is not in the future` };
    return future(Math.floor(ctx.now / 1000) * 1000 + seconds * 1000, ctx, m[0]);
  }),
  P(String.raw`${AT}${T}\s+tomorrow`, (m, ctx) => onDay(1)(m[1] as string, ctx, m[0])),
  P(String.raw`tomorrow\s+${AT}${T}`, (m, ctx) => onDay(1)(m[1] as string, ctx, m[0])),
  P(String.raw`tonight\s+${AT}${T}`, (m, ctx) =>
    withTime(m[1] as string, (t) => future(instant(ctx, addDays(today(ctx), t.hour === 0 && t.minute === 0 ? 1 : 0), t), ctx, m[0]))),
  P(String.raw`today\s+${AT}${T}`, (m, ctx) => onDay(0)(m[1] as string, ctx, m[0])),
  P(String.raw`${AT}${T}\s+today`, (m, ctx) => onDay(0)(m[1] as string, ctx, m[0])),
  P(String.raw`next\s+(${WD})\s+${AT}${T}`, (m, ctx) => weekday(m[1] as string, m[2] as string, ctx, true)),
  P(String.raw`${AT}${T}\s+next\s+(${WD})`, (m, ctx) => weekday(m[2] as string, m[1] as string, ctx, true)),
  P(String.raw`(?:on\s+|this\s+)?(${WD})\s+${AT}${T}`, (m, ctx) => weekday(m[1] as string, m[2] as string, ctx, false)),
  P(String.raw`${AT}${T}\s+(?:on\s+|this\s+)?(${WD})`, (m, ctx) => weekday(m[2] as string, m[1] as string, ctx, false)),
  P(String.raw`(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(z|[+-]\d{2}:?\d{2})?)?`, iso),
  P(String.raw`${AT}${T}`, (m, ctx) =>
    withTime(m[1] as string, (t) => {
      const todayAt = instant(ctx, today(ctx), t);
      return { meaning: { type: 'once', atMs: todayAt > ctx.now ? todayAt : instant(ctx, addDays(today(ctx), 1), t) } };
    })),
  P(String.raw`(?:every\s*day|daily|each\s+day)\s+${AT}${T}`, (m) => wallClock(m[1] as string, undefined)),
  P(String.raw`(?:every\s+weekday|weekdays)\s+${AT}${T}`, (m) => wallClock(m[1] as string, [1, 2, 3, 4, 5])),
  P(String.raw`(?:every\s+weekend|weekends)\s+${AT}${T}`, (m) => wallClock(m[1] as string, [0, 6])),
  P(String.raw`every\s+${WDLIST}\s+${AT}${T}`, (m) => wallClock(m[2] as string, weekdayList(m[1] as string))),
  P(String.raw`every\s+(\d+)\s*(?:${UNIT})\s+at\s+${T}`, (m) => ({
    refuse: `"${m[0]}" cannot be expressed as a fixed interval with a time of day`,
    hint: `use --cron, e.g. --cron '0 9 */2 * *' (09:00 on every second day of the month)`,
  })),
  P(String.raw`every\s+(\d+)\s*(${UNIT})`, (m) => rate(Number(m[1]) * unitSeconds((m[2] as string).toLowerCase()), m[0])),
  P(String.raw`every\s+(?:(?:an?|one)\s+)?(second|minute|hour)`, (m) => rate(unitSeconds((m[1] as string).toLowerCase()), m[0])),
  P('hourly', () => ({ meaning: { type: 'rate', seconds: 3_600 } })),
  P(String.raw`every\s*day|daily|each\s+day|every\s+weekday|weekdays|every\s+weekend|weekends|tomorrow|today|tonight`, noTime),
  P(String.raw`(?:(?:every|next|on|this)\s+)?${WDLIST}`, noTime),
];

/** Refusals that apply wherever the words appear. */
function refuseAnywhere(input: string): Outcome | undefined {
  const date = /(?:^|[^\d/])(\d{1,4}\/\d{1,2}(?:\/\d{1,4})?)(?![\d/])/.exec(input);
  if (date) return { refuse: `"${date[1]}" is an ambiguous date; use ISO dates, e.g. 2027-03-04` };
  const cadence = /\b(weekly|monthly|yearly|annually|fortnightly|bi-?weekly|every\s+(?:other\s+|\d+\s+)?(?:weeks?|months?|years?|fortnights?))\b/i.exec(input);
  if (cadence) {
    return {
      refuse: `"${cadence[1]}" schedules are not supported in plain English`,
      hint: `use --cron, e.g. km at --cron '0 9 * * 1' <command> (Mondays at 09:00) or --cron '0 9 1 * *' (the 1st of each month)`,
    };
  }
  return undefined;
}

export type PhraseResult =
  | { ok: true; meaning: Meaning }
  | { ok: false; message: string; hint?: string; understood?: string; left?: string };

export function parsePhrase(input: string, ctx: PhraseContext): PhraseResult {
  const text = input.trim();
  if (text === '') return { ok: false, message: 'the schedule phrase is empty', hint: EXAMPLES };
  const early = refuseAnywhere(text);
  if (early && 'refuse' in early) return fail(early);
  let best: { end: number; p: Production; m: RegExpExecArray } | undefined;
  for (const p of PRODUCTIONS) {
    const m = p.re.exec(text);
    if (!m) continue;
    const end = m[0].length;
    if (end === text.length) {
      const out = p.build(m, ctx);
      return 'meaning' in out ? { ok: true, meaning: out.meaning } : fail(out);
    }
    if (!best || end > best.end) best = { end, p, m };
  }
  if (best) {
    const understood = text.slice(0, best.end).trim();
    const left = text.slice(best.end).trim();
    return { ok: false, message: `could not understand "${text}": understood "${understood}", left "${left}"`, understood, left, hint: EXAMPLES };
  }
  return { ok: false, message: `could not understand "${text}"`, hint: EXAMPLES };
}

const EXAMPLES = `try "in 2 hours", "5pm tomorrow", "friday at 9am", "every weekday at 11pm", "every 30 minutes", or --cron '0 9 * * 1-5'`;

function fail(o: { refuse: string; hint?: string }): PhraseResult {
  return o.hint === undefined ? { ok: false, message: o.refuse } : { ok: false, message: o.refuse, hint: o.hint };
}
