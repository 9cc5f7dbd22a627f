/**
 * The lifecycle reconciler (SPEC §8.6): every tick it applies TTL and idle expiry with the
 * sandbox's teardown policy — destroy, stop (pause under hibernation on local), or retain
 * (an event only) — and renews sandbox CAs that are due (SPEC §5). Locked sandboxes are never torn down; an event records what was
 * skipped. Time comes from the injected clock; tests call `tick()` directly.
 */
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import type { EventRecorder, SandboxService } from '../sandbox/index.ts';
import type { SandboxRecord, SandboxStore } from '../store/index.ts';
import { decideTeardown, type TeardownDecision } from './decide.ts';

export interface ReconcilerDeps {
  store: SandboxStore;
  service: Pick<SandboxService, 'ops'>;
  events: EventRecorder;
  clock: Clock;
  /** CA renewal (SPEC §5), checked for every sandbox that can run again. */
  caRenewer?: { check(s: SandboxRecord): Promise<unknown> };
  /** Compute spend (SPEC §6.4/§6.5): charged every `computeIntervalMs`; `pause` at 100% unless locked. */
  compute?: { tick(s: SandboxRecord): Promise<{ action: 'none' | 'pause' | 'locked' } | undefined> };
  computeIntervalMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface ReconcilerOptions {
  /** Real-time interval between ticks (default 1 s, so expiry applies within 5 s). */
  intervalMs?: number;
  /** Do not start the timer (tests drive `tick()`). */
  manual?: boolean;
}

export interface Reconciler {
  /** One pass over every live sandbox; resolves when the actions it started are done. */
  tick(): Promise<TeardownDecision[]>;
  close(): Promise<void>;
}

const REASON = { ttl: 'ttl expired', idle: 'idle timeout' } as const;

export function createReconciler(deps: ReconcilerDeps, options: ReconcilerOptions = {}): Reconciler {
  const noted = new Set<string>();
  let running: Promise<TeardownDecision[]> | undefined;
  let closed = false;

  const noteOnce = async (s: SandboxRecord, d: TeardownDecision, type: string, detail: Record<string, unknown>): Promise<void> => {
    if (noted.has(`${type}:${d.key}`)) return;
    noted.add(`${type}:${d.key}`);
    await deps.events.lifecycle(s.id, type, d.trigger, { reason: REASON[d.trigger], action: d.action, ...detail });
  };

  const apply = async (s: SandboxRecord, d: TeardownDecision): Promise<void> => {
    if (s.locked) return noteOnce(s, d, 'teardown_skipped', { locked: true });
    const o = { actor: d.trigger, reason: REASON[d.trigger] } as const;
    if (d.action === 'retain') return noteOnce(s, d, 'expired', {});
    if (d.action === 'destroy') await deps.service.ops.destroy(s, o);
    else if (d.action === 'stop') await deps.service.ops.stop(s, o);
    else await deps.service.ops.pause(s, { ...o, pausedBy: d.trigger });
  };

  const renewCa = async (s: SandboxRecord): Promise<void> => {
    try {
      await deps.caRenewer?.check(s);
    } catch (e) {
      deps.log?.('error', 'CA renewal failed', { sandbox: s.id, error: e instanceof Error ? e.message : String(e) });
    }
  };

  const lastCharged = new Map<string, number>();
  const chargeCompute = async (s: SandboxRecord, now: number): Promise<void> => {
    if (!deps.compute) return;
    const prev = lastCharged.get(s.id);
    if (prev !== undefined && now - prev < (deps.computeIntervalMs ?? 60_000)) return;
    lastCharged.set(s.id, now);
    try {
      const r = await deps.compute.tick(s);
      if (r?.action === 'pause' && s.status === 'running' && !s.locked) {
        await deps.service.ops.pause(s, { actor: 'budget', reason: 'compute budget exhausted', pausedBy: 'budget' });
      }
    } catch (e) {
      deps.log?.('error', 'compute accrual failed', { sandbox: s.id, error: e instanceof Error ? e.message : String(e) });
    }
  };

  const pass = async (): Promise<TeardownDecision[]> => {
    const now = deps.clock.now();
    const done: TeardownDecision[] = [];
    for (const s of await deps.store.listSandboxes({ statuses: ['running', 'paused', 'stopped'] })) {
      await renewCa(s);
      await chargeCompute(s, now);
      const d = decideTeardown(s, now);
      if (!d) continue;
      try {
        await apply(s, d);
        done.push(d);
      } catch (e) {
        if (e instanceof KmError && (e.code === 'sandbox_locked' || e.code === 'invalid_state')) continue;
        deps.log?.('error', 'teardown failed', { sandbox: s.id, trigger: d.trigger, action: d.action, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return done;
  };

  const tick = (): Promise<TeardownDecision[]> => {
    running ??= pass().finally(() => (running = undefined));
    return running;
  };
  const timer = options.manual ? undefined : setInterval(() => void tick().catch(() => undefined), options.intervalMs ?? 1000);
  timer?.unref();
  return {
    tick,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
