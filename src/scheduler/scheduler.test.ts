/**
 * The scheduler on a manual clock and manual timers, with a real SQLite store and a fake
 * dispatcher (the kmd binding is exercised by scheduler.int.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createManualClock, toIso } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import type { ScheduledCommand } from './command.ts';
import { newScheduleFrom } from './definition.ts';
import { createDispatch, notAvailable, type DispatchHandlers, type DispatchResult } from './dispatch.ts';
import { createScheduler, type FiredEvent, type Scheduler } from './scheduler.ts';
import { createManualTimers } from './timers.ts';

const MIN = 60_000;
const T0 = Date.parse('2027-03-03T08:15:00+01:00');

interface Call {
  name: string;
  sandbox: string | null;
  atMs: number;
  fireAtMs: number;
}

async function setup(t: TestContext, startMs = T0, graceMs = 15 * MIN) {
  const dir = await mkdtemp(join(tmpdir(), 'km-sched-'));
  const clock = createManualClock(startMs);
  const timers = createManualTimers(clock);
  const store: Store = await openSqliteStore(join(dir, 'km.db'), { clock });
  const calls: Call[] = [];
  const events: FiredEvent[] = [];
  /** Per-sandbox behaviour: a result, an error to throw, or a gate to wait on. */
  const behave = new Map<string, () => Promise<DispatchResult>>();
  const op = (name: string) => async (c: { sandbox: string }, ctx: { fireAtMs: number }): Promise<DispatchResult> => {
    calls.push({ name, sandbox: c.sandbox, atMs: clock.now(), fireAtMs: ctx.fireAtMs });
    const b = behave.get(c.sandbox);
    return b ? b() : { ok: true, detail: `${name}d ${c.sandbox}`, sandboxId: 'sb-0000000a' };
  };
  const handlers: DispatchHandlers = {
    create: async (c, ctx) => {
      calls.push({ name: 'create', sandbox: c.alias, atMs: clock.now(), fireAtMs: ctx.fireAtMs });
      return { ok: true, detail: 'created sb-0000000b', sandboxId: 'sb-0000000b' };
    },
    destroy: op('destroy'),
    stop: op('stop'),
    pause: op('pause'),
    resume: op('resume'),
    extend: op('extend'),
    budgetAdd: notAvailable('budget add'),
    agentRun: notAvailable('agent run'),
  };
  const schedulers: Scheduler[] = [];
  const make = (): Scheduler => {
    const s = createScheduler({
      store,
      dispatch: createDispatch(handlers),
      clock,
      timers,
      missedFireGraceMs: graceMs,
      recordEvent: async (e) => void events.push(e),
    });
    schedulers.push(s);
    return s;
  };
  t.after(async () => {
    for (const s of schedulers) await s.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const define = (input: string, command: ScheduledCommand, name = 'km-at-test', timezone = 'Europe/Berlin') =>
    newScheduleFrom({ name, input, cron: false, timezone, argv: [command.name, 'x'], target: 'x', command }, clock.now());
  return { clock, timers, store, calls, events, behave, make, define };
}

/** Advances time fire by fire, letting each wake-up finish before the next timer is due. */
async function runFor(h: { clock: { now(): number }; timers: ReturnType<typeof createManualTimers> }, s: Scheduler, ms: number): Promise<void> {
  const end = h.clock.now() + ms;
  for (let next = h.timers.pending()[0]; next !== undefined && next <= end; next = h.timers.pending()[0]) {
    h.timers.advance(next - h.clock.now());
    await s.settled();
  }
  h.timers.advance(end - h.clock.now());
  await s.settled();
}

const pause = (sandbox = 'demo'): ScheduledCommand => ({ name: 'pause', sandbox });
const outcomes = async (store: Store, name: string) => (await store.fireHistory(name)).map((f) => [f.outcome, f.detail, f.delayS]);

test('a one-shot fires at its instant, is recorded with an event, and completes', async (t) => {
  const h = await setup(t);
  const s = h.make();
  await s.start();
  const rec = await s.add(h.define('in 30 seconds', pause()));
  assert.deepEqual(h.timers.pending(), [T0 + 30_000]);
  h.timers.advance(29_999);
  await s.settled();
  assert.equal(h.calls.length, 0);
  h.timers.advance(1);
  await s.settled();
  assert.deepEqual(h.calls, [{ name: 'pause', sandbox: 'demo', atMs: T0 + 30_000, fireAtMs: T0 + 30_000 }]);
  assert.deepEqual(await outcomes(h.store, rec.name), [['ok', 'paused demo', 0]]);
  const after = await h.store.getSchedule(rec.name);
  assert.equal(after?.status, 'completed');
  assert.equal(after?.nextFireAtMs, null);
  assert.equal(after?.lastOutcome, 'ok');
  assert.equal(h.events.length, 1);
  assert.equal(h.events[0]?.sandboxId, 'sb-0000000a');
  assert.deepEqual(h.events[0]?.detail, { schedule: rec.name, command: ['pause', 'x'], fire_at: toIso(T0 + 30_000), delay_s: 0, outcome: 'ok', detail: 'paused demo' });
  assert.deepEqual(h.timers.pending(), []);
});

test('a daily schedule advances across the DST gap (Europe/Berlin, 2:30am)', async (t) => {
  const h = await setup(t, Date.parse('2027-03-26T12:00:00+01:00'));
  const s = h.make();
  await s.start();
  const rec = await s.add(h.define('every day at 2:30am', pause()));
  await runFor(h, s, 4 * 24 * 60 * MIN);
  const fired = (await h.store.fireHistory(rec.name)).map((f) => toIso(f.fireAtMs));
  // 03-28 02:30 does not exist: it fires at the first instant after the gap (03:00 CEST).
  assert.deepEqual(fired, ['2027-03-27T01:30:00Z', '2027-03-28T01:00:00Z', '2027-03-29T00:30:00Z', '2027-03-30T00:30:00Z']);
  assert.deepEqual(h.calls.map((c) => c.atMs - c.fireAtMs), [0, 0, 0, 0]);
  const after = await h.store.getSchedule(rec.name);
  assert.equal(after?.status, 'active');
  assert.equal(toIso(after?.nextFireAtMs ?? 0), '2027-03-31T00:30:00Z');
});

test('a recurring fire that arrives while the previous one still runs is skipped and recorded', async (t) => {
  const h = await setup(t);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  h.behave.set('slow', async () => {
    await gate;
    return { ok: true, detail: 'paused slow' };
  });
  const s = h.make();
  await s.start();
  const rec = await s.add(h.define('every 10 seconds', pause('slow')));
  h.timers.advance(10_000);
  await new Promise((r) => setImmediate(r));
  h.timers.advance(10_000);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(h.calls.length, 1, 'the second fire did not run');
  release();
  await s.settled();
  const hist = await h.store.fireHistory(rec.name);
  assert.deepEqual(hist.map((f) => [toIso(f.fireAtMs), f.outcome]), [
    [toIso(T0 + 20_000), 'skipped'],
    [toIso(T0 + 10_000), 'ok'],
  ]);
  assert.match(hist[0]?.detail ?? '', /^skipped: the previous fire \(due .*\) is still running$/);
  // The claim was released: the next fire runs.
  h.timers.advance(10_000);
  await s.settled();
  assert.equal(h.calls.length, 2);
});

test('missed while down, within the grace: the latest missed fire runs once, late; older ones are skipped', async (t) => {
  const h = await setup(t);
  const first = h.make();
  await first.start();
  const rec = await first.add(h.define('every 10 minutes', pause()));
  await first.close();
  h.clock.advance(25 * MIN); // fires at +10 and +20 were due while kmd was down
  const second = h.make();
  await second.start();
  await second.settled();
  assert.deepEqual(await outcomes(h.store, rec.name), [
    ['skipped', 'skipped: daemon down', 15 * 60],
    ['ok', 'paused demo', 5 * 60],
  ]);
  assert.deepEqual(h.calls.map((c) => toIso(c.fireAtMs)), [toIso(T0 + 20 * MIN)]);
  assert.equal((await h.store.getSchedule(rec.name))?.nextFireAtMs, T0 + 30 * MIN);
  assert.deepEqual(h.timers.pending(), [T0 + 30 * MIN]);
});

test('missed beyond the grace: nothing runs; a one-shot becomes missed, a recurring one continues', async (t) => {
  const h = await setup(t);
  const first = h.make();
  await first.start();
  const once = await first.add(h.define('in 5 minutes', pause(), 'km-at-once'));
  const daily = await first.add(h.define('every hour', pause(), 'km-at-hourly'));
  await first.close();
  h.clock.advance(2 * 60 * MIN + 30 * MIN); // 16 min past the last hourly fire (grace 15 min)
  const second = h.make();
  await second.start();
  await second.settled();
  assert.equal(h.calls.length, 0);
  assert.equal((await h.store.getSchedule(once.name))?.status, 'missed');
  assert.deepEqual(await outcomes(h.store, once.name), [['skipped', 'skipped: daemon down', 145 * 60]]);
  assert.deepEqual((await outcomes(h.store, daily.name)).map((o) => o[0]), ['skipped', 'skipped']);
  const d = await h.store.getSchedule(daily.name);
  assert.equal(d?.status, 'active');
  assert.equal(d?.nextFireAtMs, T0 + 3 * 60 * MIN);
});

test('a long outage of a frequent schedule is recorded in bounded rows', async (t) => {
  const h = await setup(t);
  const first = h.make();
  await first.start();
  const rec = await first.add(h.define('every 10 seconds', pause()));
  await first.close();
  h.clock.advance(24 * 60 * MIN + 5_000);
  const second = h.make();
  await second.start();
  await second.settled();
  const hist = await h.store.fireHistory(rec.name);
  assert.equal(hist.length, 22); // one summary, 20 single skips, the run
  assert.match(hist[0]?.detail ?? '', /^skipped: daemon down \(8619 fires from 2027-03-03T07:15:10Z to /);
  assert.equal(hist[21]?.outcome, 'ok');
  assert.equal(h.calls.length, 1);
});

test('schedules survive a restart; a fire interrupted by the stop is recorded failed', async (t) => {
  const h = await setup(t);
  const first = h.make();
  await first.start();
  const rec = await first.add(h.define('every 10 minutes', pause()));
  // A fire was executing when kmd died: the claim is still in the store.
  assert.equal(await h.store.claimFire(rec.name, T0 + 10 * MIN, T0 + 10 * MIN), true);
  await h.store.setNextFire(rec.name, T0 + 20 * MIN);
  await first.close();
  h.clock.set(T0 + 11 * MIN);
  const second = h.make();
  await second.start();
  await second.settled();
  assert.deepEqual(await outcomes(h.store, rec.name), [['failed', 'interrupted: kmd stopped while this fire was running', 60]]);
  assert.deepEqual(h.timers.pending(), [T0 + 20 * MIN]);
  h.timers.advance(9 * MIN);
  await second.settled();
  assert.deepEqual(h.calls.map((c) => c.fireAtMs), [T0 + 20 * MIN]);
});

test('a missing target fails the fire and the schedule continues', async (t) => {
  const h = await setup(t);
  h.behave.set('ghost', async () => {
    throw new KmError('not_found', 'no sandbox matches "ghost" (not an id, alias or number; see km list)');
  });
  const s = h.make();
  await s.start();
  const rec = await s.add(h.define('every 10 seconds', pause('ghost')));
  await runFor(h, s, 20_000);
  assert.deepEqual((await outcomes(h.store, rec.name)).map((o) => o[0]), ['failed', 'failed']);
  assert.match(String((await h.store.fireHistory(rec.name))[0]?.detail), /no sandbox matches "ghost"/);
  assert.equal(h.events[0]?.sandboxId, '');
  const after = await h.store.getSchedule(rec.name);
  assert.equal(after?.status, 'active');
  assert.equal(after?.nextFireAtMs, T0 + 30_000);
});

test('commands that are not schedulable are rejected at save and never run when stored', async (t) => {
  const h = await setup(t);
  assert.throws(() => h.define('in 1 minute', { name: 'lock', sandbox: 'demo' } as unknown as ScheduledCommand), /"lock" cannot be scheduled/);
  const s = h.make();
  await s.start();
  const rec = await s.add(h.define('every 10 seconds', pause()));
  // A row written by something else (or another version) with an unknown command.
  const forged = { ...(await h.store.getSchedule(rec.name))!, name: 'km-at-forged', payload: { version: 1, anchorMs: T0, command: { name: 'teardown', sandbox: 'demo' } } };
  await s.add(forged);
  h.timers.advance(10_000);
  await s.settled();
  assert.deepEqual(h.calls.map((c) => c.name), ['pause'], 'only the real schedule ran');
  const [f] = await h.store.fireHistory('km-at-forged');
  assert.equal(f?.outcome, 'failed');
  assert.match(f?.detail ?? '', /^rejected: "teardown" cannot be scheduled; .* nothing was run$/);
  const direct = await createDispatch({} as DispatchHandlers)({ name: 'unlock', sandbox: 'x' } as unknown as ScheduledCommand, { scheduleName: 'n', fireAtMs: 0, timeZone: 'UTC' });
  assert.deepEqual(direct, { ok: false, detail: 'rejected: "unlock" is not a schedulable command; nothing was run' });
});

test('commands this version cannot run are recorded failed, not faked', async (t) => {
  const h = await setup(t);
  const s = h.make();
  await s.start();
  const rec = await s.add(h.define('in 1 minute', { name: 'budget-add', sandbox: 'demo', aiUsd: 5, computeUsd: null }));
  h.timers.advance(MIN);
  await s.settled();
  assert.deepEqual(await outcomes(h.store, rec.name), [['failed', 'budget add is not available in this version', 0]]);
  assert.equal((await h.store.getSchedule(rec.name))?.status, 'completed');
});

test('cancel disarms the timer; unknown and finished schedules are refused', async (t) => {
  const h = await setup(t);
  const s = h.make();
  await s.start();
  const rec = await s.add(h.define('every 10 seconds', pause()));
  const c = await s.cancel(rec.name);
  assert.equal(c.status, 'cancelled');
  assert.deepEqual(h.timers.pending(), []);
  h.timers.advance(60_000);
  await s.settled();
  assert.equal(h.calls.length, 0);
  await assert.rejects(s.cancel('km-at-nope'), (e: unknown) => e instanceof KmError && e.code === 'not_found' && e.exitCode === 2 && /km at list/.test(e.hint ?? ''));
  await assert.rejects(s.cancel(rec.name), (e: unknown) => e instanceof KmError && e.code === 'invalid_state');
});

test('names are made unique; the definition is checked again at the boundary', async (t) => {
  const h = await setup(t);
  const s = h.make();
  await s.start();
  const a = await s.add(h.define('in 1 minute', pause(), 'km-at-pause-demo-in-1-minute'));
  const b = await s.add(h.define('in 1 minute', pause(), 'km-at-pause-demo-in-1-minute'));
  assert.deepEqual([a.name, b.name], ['km-at-pause-demo-in-1-minute', 'km-at-pause-demo-in-1-minute-2']);
  assert.throws(() => h.define('5pm tomorrow-ish', pause()), /could not understand/);
  assert.throws(() => h.define('in 1 minute', pause(), 'Bad Name'), /invalid schedule name/);
  assert.throws(() => h.define('in 1 minute', { name: 'extend', sandbox: 'demo', byS: null, byText: null, idleS: null }), /extend needs a duration/);
  assert.throws(() => newScheduleFrom({ name: 'x', input: 'in 1 minute', cron: false, timezone: 'Mars/Base', argv: ['stop', 'x'], target: null, command: pause() }, T0), /Mars\/Base/);
});
