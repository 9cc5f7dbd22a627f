/**
 * The scheduler's timer, injected so tests drive time by hand (no sleeping). Delays longer
 * than Node's timer limit are cut; the scheduler re-arms when it wakes early.
 */
import type { Clock, ManualClock } from '../core/clock.ts';

export type TimerHandle = { readonly id: number } | NodeJS.Timeout;

export interface Timers {
  set(fn: () => void, delayMs: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

/** Node's setTimeout limit (about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export const systemTimers: Timers = {
  set: (fn, delayMs) => setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS)),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ManualTimers extends Timers {
  /** Moves the clock forward, running each timer at its due instant, in order. */
  advance(ms: number): void;
  /** Due instants of the armed timers, soonest first. */
  pending(): number[];
}

/** Timers on a manual clock, for tests. */
export function createManualTimers(clock: ManualClock): ManualTimers & { clock: Clock } {
  let seq = 0;
  const armed = new Map<number, { at: number; fn: () => void }>();
  const next = (): [number, { at: number; fn: () => void }] | undefined =>
    [...armed.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
  return {
    clock,
    set(fn, delayMs) {
      const id = ++seq;
      armed.set(id, { at: clock.now() + Math.max(0, delayMs), fn });
      return { id };
    },
    clear(handle) {
      armed.delete((handle as { id: number }).id);
    },
    advance(ms) {
      const end = clock.now() + ms;
      for (let n = next(); n !== undefined && n[1].at <= end; n = next()) {
        armed.delete(n[0]);
        if (n[1].at > clock.now()) clock.set(n[1].at);
        n[1].fn();
      }
      clock.set(end);
    },
    pending: () => [...armed.values()].map((t) => t.at).sort((a, b) => a - b),
  };
}
