/**
 * The local scheduler (SPEC §11.4): keeps one timer per active schedule, runs each fire
 * through the dispatcher, records it (history row + `schedule.fired` event), advances
 * recurring schedules and finishes one-shots. Everything it knows is in the store, so a
 * restarted kmd picks up where the last one stopped: interrupted fires are recorded
 * failed, missed fires follow the grace policy (`planFires`).
 */
import { toIso, type Clock } from '../core/clock.ts';
import { KmError, isKmError } from '../core/errors.ts';
import type { FireOutcome, NewSchedule, ScheduleRecord, ScheduleStatus, ScheduleStore } from '../store/index.ts';
import type { ScheduledDispatch, DispatchResult } from './dispatch.ts';
import { planFires, type FirePlan } from './plan.ts';
import { storedCommand, timingOf } from './stored.ts';
import { MAX_TIMER_DELAY_MS, type TimerHandle, type Timers } from './timers.ts';

export type SchedulerLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface FiredEvent {
  /** The sandbox acted on, or '' when none could be named. */
  sandboxId: string;
  atMs: number;
  detail: Record<string, unknown>;
}

export interface SchedulerDeps {
  store: ScheduleStore;
  dispatch: ScheduledDispatch;
  clock: Clock;
  timers: Timers;
  /** `scheduler.missed_fire_grace`. */
  missedFireGraceMs: number;
  /** Writes the `schedule.fired` event (the caller redacts). */
  recordEvent?: (e: FiredEvent) => Promise<void>;
  /** Applied to history details before they are stored. */
  redact?: (text: string) => string;
  log?: SchedulerLog;
}

export interface Scheduler {
  /** Loads active schedules, settles interrupted fires, catches up missed ones, arms timers. */
  start(): Promise<void>;
  /** Saves a schedule (the name gets `-2`, `-3`… when taken) and arms it. */
  add(schedule: NewSchedule): Promise<ScheduleRecord>;
  cancel(name: string): Promise<ScheduleRecord>;
  /** Resolves when no wake-up or fire is in progress (tests). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const DOWN = 'daemon down';
const LATE = 'not run in time (kmd was busy or the host was asleep)';
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store, clock, timers } = deps;
  const log: SchedulerLog = deps.log ?? (() => {});
  const redact = deps.redact ?? ((s: string) => s);
  const handles = new Map<string, TimerHandle>();
  const lanes = new Map<string, Promise<void>>();
  const running = new Set<Promise<void>>();
  let closed = false;

  const disarm = (name: string): void => {
    const h = handles.get(name);
    if (h !== undefined) timers.clear(h);
    handles.delete(name);
  };

  const arm = (name: string, atMs: number): void => {
    disarm(name);
    if (closed) return;
    const delay = Math.min(Math.max(0, atMs - clock.now()), MAX_TIMER_DELAY_MS);
    handles.set(name, timers.set(() => {
      handles.delete(name);
      enqueue(name, LATE);
    }, delay));
  };

  /** Wake-ups of one schedule run one at a time; fires themselves run outside the lane. */
  const enqueue = (name: string, reason: string): void => {
    const p = (lanes.get(name) ?? Promise.resolve())
      .then(() => wake(name, reason))
      .catch((e: unknown) => log('error', 'scheduler wake-up failed', { schedule: name, error: errorText(e) }));
    lanes.set(name, p);
    void p.finally(() => {
      if (lanes.get(name) === p) lanes.delete(name);
    });
  };

  const track = (p: Promise<void>): void => {
    const q = p.catch((e: unknown) => log('error', 'scheduled fire failed to record', { error: errorText(e) }));
    running.add(q);
    void q.finally(() => running.delete(q));
  };

  const setStatus = async (name: string, to: ScheduleStatus): Promise<void> => {
    try {
      await store.setScheduleStatus(name, ['active'], to);
    } catch (e) {
      if (!(isKmError(e) && e.code === 'invalid_state')) throw e; // cancelled meanwhile
    }
  };

  const record = async (rec: ScheduleRecord, fireAtMs: number, outcome: FireOutcome, detail: string, extra: { sandboxId?: string; release?: boolean } = {}): Promise<void> => {
    const executedAtMs = clock.now();
    const delayS = Math.max(0, Math.round((executedAtMs - fireAtMs) / 1000));
    const text = redact(detail);
    await store.recordFire({ name: rec.name, fireAtMs, executedAtMs, delayS, outcome, detail: text }, { releaseClaim: extra.release ?? false });
    log(outcome === 'failed' ? 'warn' : 'info', 'schedule fired', { schedule: rec.name, fire_at: toIso(fireAtMs), outcome, delay_s: delayS });
    if (!deps.recordEvent) return;
    const eventDetail = { schedule: rec.name, command: rec.command, fire_at: toIso(fireAtMs), delay_s: delayS, outcome, detail: text };
    await deps.recordEvent({ sandboxId: extra.sandboxId ?? '', atMs: executedAtMs, detail: eventDetail });
  };

  const run = async (rec: ScheduleRecord, fireAtMs: number): Promise<DispatchResult> => {
    const decoded = storedCommand(rec);
    if (!decoded.ok) return { ok: false, detail: `rejected: ${decoded.message}; nothing was run` };
    try {
      return await deps.dispatch(decoded.command, { scheduleName: rec.name, fireAtMs, timeZone: rec.timezone });
    } catch (e) {
      const sandboxId = isKmError(e) && typeof e.details?.sandbox_id === 'string' ? e.details.sandbox_id : undefined;
      return sandboxId === undefined ? { ok: false, detail: errorText(e) } : { ok: false, detail: errorText(e), sandboxId };
    }
  };

  const execute = async (rec: ScheduleRecord, fireAtMs: number): Promise<void> => {
    if (!(await store.claimFire(rec.name, fireAtMs, clock.now()))) {
      const cur = await store.getSchedule(rec.name);
      const why = cur?.status !== 'active'
        ? `skipped: the schedule is ${cur?.status ?? 'gone'}`
        : `skipped: the previous fire (due ${toIso(cur.runningFireAtMs ?? fireAtMs)}) is still running`;
      await record(rec, fireAtMs, 'skipped', why);
      return;
    }
    const result = await run(rec, fireAtMs);
    const extra = result.sandboxId === undefined ? { release: true } : { release: true, sandboxId: result.sandboxId };
    await record(rec, fireAtMs, result.ok ? 'ok' : 'failed', result.detail, extra);
    if (rec.kind === 'once') await setStatus(rec.name, 'completed');
  };

  const applyPlan = async (rec: ScheduleRecord, plan: FirePlan, reason: string): Promise<void> => {
    if (plan.folded) {
      const f = plan.folded;
      await record(rec, f.firstMs, 'skipped', `skipped: ${reason} (${f.count} fires from ${toIso(f.firstMs)} to ${toIso(f.lastMs)})`);
    }
    for (const t of plan.skipped) await record(rec, t, 'skipped', `skipped: ${reason}`);
    await store.setNextFire(rec.name, plan.next);
    if (plan.finish === 'missed') await setStatus(rec.name, 'missed');
    if (rec.kind === 'recurring' && plan.next === null) await setStatus(rec.name, 'completed');
    if (plan.next !== null) arm(rec.name, plan.next);
    if (plan.run !== null) track(execute(rec, plan.run));
  };

  const wake = async (name: string, reason: string): Promise<void> => {
    if (closed) return;
    const rec = await store.getSchedule(name);
    if (!rec || rec.status !== 'active' || rec.nextFireAtMs === null) return;
    const now = clock.now();
    if (rec.nextFireAtMs > now) return arm(name, rec.nextFireAtMs);
    await applyPlan(rec, planFires(timingOf(rec), rec.nextFireAtMs, now, deps.missedFireGraceMs), reason);
  };

  /** A fire that was executing when the previous kmd stopped. */
  const settleInterrupted = async (rec: ScheduleRecord): Promise<void> => {
    await record(rec, rec.runningFireAtMs as number, 'failed', 'interrupted: kmd stopped while this fire was running', { release: true });
    if (rec.kind === 'once') await setStatus(rec.name, 'completed');
  };

  return {
    async start() {
      for (const rec of await store.listSchedules()) {
        if (rec.runningFireAtMs !== null) await settleInterrupted(rec);
        if (rec.kind === 'once' && rec.nextFireAtMs === null) {
          await setStatus(rec.name, 'completed');
          continue;
        }
        enqueue(rec.name, DOWN);
      }
      await Promise.all([...lanes.values()]);
    },
    async add(schedule) {
      const rec = await store.createSchedule(schedule, { uniquify: true });
      if (rec.nextFireAtMs !== null) arm(rec.name, rec.nextFireAtMs);
      return rec;
    },
    async cancel(name) {
      const cur = await store.getSchedule(name);
      if (!cur) throw new KmError('not_found', `no schedule named "${name}"`, { hint: 'see km at list (km at list --all shows finished ones)' });
      if (cur.status !== 'active') throw new KmError('invalid_state', `schedule ${name} is ${cur.status}; there is nothing to cancel`);
      disarm(name);
      const rec = await store.setScheduleStatus(name, ['active'], 'cancelled');
      await store.setNextFire(name, null);
      return { ...rec, nextFireAtMs: null };
    },
    async settled() {
      for (let i = 0; i < 1000; i++) {
        const pending = [...lanes.values(), ...running];
        if (pending.length === 0) return;
        await Promise.allSettled(pending);
      }
    },
    async close() {
      closed = true;
      for (const name of [...handles.keys()]) disarm(name);
      await Promise.allSettled([...lanes.values()]);
    },
  };
}
