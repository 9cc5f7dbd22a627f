/**
 * Wall-clock arithmetic in an IANA time zone, on top of `Intl` (no clock, no environment).
 *
 * DST rules (SPEC §11.2): a wall time that does not exist (spring-forward gap) maps to the
 * first instant after the gap; a wall time that exists twice (fall-back) maps to its first
 * occurrence.
 */

export interface WallTime {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

export interface Zone {
  readonly name: string;
  /** Offset of local time from UTC at the instant, in ms (e.g. +3 600 000 for CET). */
  offsetMs(instantMs: number): number;
  /** The wall time at the instant (seconds truncated) and its weekday (0 = Sunday). */
  toWall(instantMs: number): WallTime & { weekday: number };
  /** The instant of a wall time, applying the DST rules above. */
  toInstant(wall: WallTime): number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export type TimeZoneCheck = { ok: true; timeZone: string } | { ok: false; message: string };

/**
 * Accepts an IANA zone name (`Europe/Berlin`, `UTC`, also in other letter case) and returns
 * its conventional spelling. Fixed offsets such as `+01:00` are refused: they have no DST
 * rules and EventBridge wants a zone name.
 */
/** UTC's spellings (`UTC`, `Etc/GMT`, `Zulu` …, any case): known without loading zone data. */
export const isUtcName = (name: string): boolean => /^(etc\/)?(utc|gmt|zulu|universal|uct)$/i.test(name.trim());

export function checkTimeZone(input: string): TimeZoneCheck {
  const text = input.trim();
  const bad = { ok: false as const, message: `unknown time zone "${input}": use an IANA zone name such as Europe/Berlin, America/New_York or UTC` };
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(text)) return bad;
  // UTC's spellings need no time zone data (loading it costs ~15 ms of every CLI start).
  if (isUtcName(text)) return { ok: true, timeZone: 'UTC' };
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    return bad;
  }
  const known = Intl.supportedValuesOf('timeZone');
  const exact = known.find((z) => z.toLowerCase() === text.toLowerCase());
  if (exact) return { ok: true, timeZone: exact };
  // A valid alias that is not canonical in this ICU (e.g. Asia/Kolkata): keep the user's
  // spelling when it is plausibly cased, else the canonical one.
  if (/^[A-Z]/.test(text)) return { ok: true, timeZone: text };
  const cased = text.replace(/(^|[/_-])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());
  try {
    if (new Intl.DateTimeFormat('en-US', { timeZone: cased }).resolvedOptions().timeZone === resolved) return { ok: true, timeZone: cased };
  } catch {
    // fall through to the canonical name
  }
  return { ok: true, timeZone: resolved };
}

export function createZone(timeZone: string): Zone {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });

  const wallUtcOf = (instantMs: number): number => {
    const parts: Record<string, number> = {};
    for (const p of fmt.formatToParts(new Date(instantMs))) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    return Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  };

  const offsetMs = (instantMs: number): number => {
    const whole = Math.floor(instantMs / 1000) * 1000;
    return wallUtcOf(whole) - whole;
  };

  const toWall = (instantMs: number): WallTime & { weekday: number } => {
    const d = new Date(wallUtcOf(Math.floor(instantMs / 1000) * 1000));
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
    };
  };

  const toInstant = (wall: WallTime): number => {
    const w = wallAsUtc(wall);
    const candidates = [...new Set([w - offsetMs(w - DAY_MS), w - offsetMs(w + DAY_MS)])]
      .filter((c) => c + offsetMs(c) === w)
      .sort((a, b) => a - b);
    if (candidates.length > 0) return candidates[0] as number;
    return firstInstantAtOrAfterWall(w, offsetMs);
  };

  return { name: timeZone, offsetMs, toWall, toInstant };
}

/** The wall time read as if it were UTC, in ms (the "wall clock number"). */
export function wallAsUtc(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

/** Gap case: the transition instant, i.e. the first instant whose wall time is ≥ w. */
function firstInstantAtOrAfterWall(w: number, offsetMs: (t: number) => number): number {
  let lo = w - offsetMs(w + DAY_MS); // before the transition: wall < w
  let hi = w - offsetMs(w - DAY_MS); // after the transition: wall > w
  if (lo > hi) [lo, hi] = [hi, lo];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid + offsetMs(mid) >= w) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Calendar arithmetic on a local date (no zone involved). */
export function addDays(date: LocalDate, days: number): LocalDate & { weekday: number } {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}

export function isValidDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `YYYY-MM-DDTHH:MM:SS` of a wall time. */
export function formatWall(wall: WallTime): string {
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}`;
}

/** `±HH:MM` for an offset in ms. */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  return `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** RFC 3339 with the zone's offset at that instant, e.g. `2027-03-03T19:45:00+01:00`. */
export function formatInZone(instantMs: number, zone: Zone): string {
  return formatWall(zone.toWall(instantMs)) + formatOffset(zone.offsetMs(instantMs));
}
