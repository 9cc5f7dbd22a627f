/**
 * Next fire times. Wall-clock cron schedules walk local calendar days in the schedule's
 * zone and map each matching wall time through `Zone.toInstant` (gap → first instant after
 * it, repeat → first occurrence), so DST never doubles or drops a daily fire. Rates are
 * fixed intervals from their anchor; one-shots fire once.
 */
import type { CronFields } from './cron.ts';
import { addDays, wallAsUtc, type Zone } from './zone.ts';

/** How far past the last fire a cron search looks (covers Feb 29 patterns). */
const MAX_SEARCH_DAYS = 366 * 9;
/** Largest plausible shift between wall time and the instant ordering (DST, zone changes). */
const SKIP_MARGIN_MS = 26 * 3_600_000;

export function nextCronTimes(fields: CronFields, zone: Zone, afterMs: number, n: number): number[] {
  const out: number[] = [];
  if (n <= 0) return out;
  const afterWall = afterMs + zone.offsetMs(afterMs);
  const start = zone.toWall(afterMs);
  const months = new Set(fields.months);
  const days = new Set(fields.days);
  const weekdays = new Set(fields.weekdays);
  // Give up after MAX_SEARCH_DAYS without a fire (an expression such as Feb 30 never fires).
  for (let i = -1, idle = 0; idle < MAX_SEARCH_DAYS && out.length < n; i++, idle++) {
    const date = addDays(start, i);
    if (!months.has(date.month)) continue;
    if (fields.domRestricted && !days.has(date.day)) continue;
    if (fields.dowRestricted && !weekdays.has(date.weekday)) continue;
    for (const hour of fields.hours) {
      for (const minute of fields.minutes) {
        const wall = { ...date, hour, minute, second: 0 };
        if (wallAsUtc(wall) < afterWall - SKIP_MARGIN_MS) continue;
        const t = zone.toInstant(wall);
        const last = out[out.length - 1];
        if (t > afterMs && (last === undefined || t > last)) {
          out.push(t);
          idle = 0;
        }
        if (out.length >= n) return out;
      }
    }
  }
  return out;
}

export function nextRateTimes(anchorMs: number, intervalMs: number, afterMs: number, n: number): number[] {
  const out: number[] = [];
  let k = Math.max(1, Math.floor((afterMs - anchorMs) / intervalMs) + 1);
  while (out.length < n) {
    const t = anchorMs + k * intervalMs;
    if (t > afterMs) out.push(t);
    k++;
  }
  return out;
}

export function nextOnceTimes(atMs: number, afterMs: number, n: number): number[] {
  return n > 0 && atMs > afterMs ? [atMs] : [];
}
