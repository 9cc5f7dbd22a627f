/**
 * Per-sandbox compute clocks for the lifecycle reconciler (SPEC §6.4): `tick` charges the
 * time since the sandbox was last seen to the status it had during that time (running time
 * at the stored rate; paused and stopped time as paused seconds). Call it every 60 s for each
 * live sandbox and at every state change with the record as it was *before* the change.
 * The first tick after kmd starts only starts the clock (time while kmd was down is not
 * charged; at most one interval before a crash is lost).
 */
import type { SandboxRecord } from '../store/index.ts';
import { accrueCompute, type ComputeAccrual, type ComputeDeps } from './compute.ts';

export interface ComputeAccruer {
  tick(s: Pick<SandboxRecord, 'id' | 'status' | 'locked' | 'lastStartedAtMs'>): Promise<ComputeAccrual | undefined>;
  /** Stops the clock (destroyed sandboxes). */
  forget(id: string): void;
}

export function createComputeAccruer(deps: ComputeDeps): ComputeAccruer {
  const last = new Map<string, number>();
  return {
    async tick(s) {
      const now = deps.clock.now();
      const prev = last.get(s.id);
      last.set(s.id, now);
      if (prev === undefined) return undefined;
      if (s.status === 'running') {
        // A start after the last tick (missed transition) counts from the start.
        const from = s.lastStartedAtMs !== null && s.lastStartedAtMs > prev ? Math.min(s.lastStartedAtMs, now) : prev;
        return accrueCompute(deps, s, { runningS: (now - from) / 1000, pausedS: (from - prev) / 1000 });
      }
      if (s.status === 'paused' || s.status === 'stopped') return accrueCompute(deps, s, { runningS: 0, pausedS: (now - prev) / 1000 });
      return undefined;
    },
    forget: (id) => void last.delete(id),
  };
}
