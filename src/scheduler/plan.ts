/**
 * What to do with a schedule whose fire time has come (SPEC §11.4), as a pure decision:
 * every fire due by now is listed; the most recent one runs when it is within the grace
 * (late, with its delay), the others are recorded skipped; a one-shot whose only fire is
 * beyond the grace becomes `missed`. Recurring schedules advance to the next fire after now.
 */
import { nextFireTimes, type Schedule } from '../schedule-grammar/index.ts';

export type ScheduleTiming = Pick<Schedule, 'kind' | 'expression' | 'timeZone' | 'anchorMs'>;

/** At most this many skipped fires are recorded one by one; earlier ones are summarised. */
export const MAX_SKIPPED_ROWS = 20;
/** Enumeration bound for very frequent schedules after a long outage. */
const MAX_DUE = 100_000;

export interface FirePlan {
  /** The fire to execute now, or null. */
  run: number | null;
  /** Fires to record as skipped (oldest first, at most MAX_SKIPPED_ROWS). */
  skipped: number[];
  /** Older skipped fires folded into one summary row, or null. */
  folded: { count: number; firstMs: number; lastMs: number } | null;
  /** The next fire after now (null: none); nothing due yet: the pending fire itself. */
  next: number | null;
  /** For one-shots: the final status. */
  finish: 'completed' | 'missed' | null;
}

/** Fire instants from `firstMs` (inclusive) up to `nowMs` (inclusive), bounded. */
export function dueFires(timing: ScheduleTiming, firstMs: number, nowMs: number): { due: number[]; more: number; lastMoreMs: number | null } {
  const due: number[] = [];
  if (firstMs > nowMs) return { due, more: 0, lastMoreMs: null };
  due.push(firstMs);
  if (timing.kind === 'once') return { due, more: 0, lastMoreMs: null };
  let more = 0;
  let lastMoreMs: number | null = null;
  let after = firstMs;
  while (due.length + more < MAX_DUE) {
    const batch = nextFireTimes(timing, after, 500);
    const hit = batch.filter((t) => t <= nowMs);
    for (const t of hit) due.push(t);
    if (hit.length < batch.length || batch.length === 0) break;
    after = batch[batch.length - 1] as number;
    if (due.length > MAX_SKIPPED_ROWS * 10) {
      const dropped = due.splice(0, due.length - MAX_SKIPPED_ROWS * 10);
      more += dropped.length;
      lastMoreMs = dropped[dropped.length - 1] ?? lastMoreMs;
    }
  }
  return { due, more, lastMoreMs };
}

export function planFires(timing: ScheduleTiming, firstMs: number, nowMs: number, graceMs: number): FirePlan {
  const { due, more, lastMoreMs } = dueFires(timing, firstMs, nowMs);
  if (due.length === 0) return { run: null, skipped: [], folded: null, next: firstMs, finish: null };
  const latest = due[due.length - 1];
  const run = latest !== undefined && nowMs - latest <= graceMs ? latest : null;
  const notRun = run === null ? due : due.slice(0, -1);
  const skipped = notRun.slice(-MAX_SKIPPED_ROWS);
  const foldedList = notRun.slice(0, notRun.length - skipped.length);
  const foldedCount = foldedList.length + more;
  const folded = foldedCount > 0 ? { count: foldedCount, firstMs, lastMs: foldedList[foldedList.length - 1] ?? lastMoreMs ?? firstMs } : null;
  if (timing.kind === 'once') {
    return { run, skipped, folded, next: null, finish: run === null ? 'missed' : 'completed' };
  }
  const next = nextFireTimes(timing, nowMs, 1)[0] ?? null;
  return { run, skipped, folded, next, finish: null };
}
