/**
 * The `/v1/schedules` API on a real unix socket (in-process kmd, real SQLite store, a fake
 * dispatcher): status codes, JSON shapes, validation at the boundary, cancel and history.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { createDaemon, createDaemonClient } from '../daemon/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { createDispatch, notAvailable } from './dispatch.ts';
import type { FireJson, ScheduleJson } from './json.ts';
import { registerScheduleRoutes } from './routes.ts';
import { createScheduler } from './scheduler.ts';
import { systemTimers } from './timers.ts';

test('save, list, get, history and cancel through kmd routes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-sr-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  const na = notAvailable('test');
  const dispatch = createDispatch({ create: na, destroy: na, stop: na, pause: na, resume: na, extend: na, budgetAdd: na, agentRun: na });
  const scheduler = createScheduler({ store, dispatch, clock: systemClock, timers: systemTimers, missedFireGraceMs: 900_000 });
  const daemon = await createDaemon(
    { clock: systemClock, version: 'test', services: [{ name: 'scheduler', start: (ctx) => registerScheduleRoutes(ctx.router, { scheduler, store, clock: systemClock }) }] },
    { stateDir: join(dir, 'home') },
  );
  t.after(async () => {
    await daemon.close();
    await scheduler.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const client = createDaemonClient(daemon.socketPath);
  const body = { name: 'km-at-stop-demo-every-weekday-at-7-45pm', input: 'every weekday at 7:45pm', cron: false, timezone: 'Europe/Berlin', argv: ['stop', 'demo'], target: 'demo', command: { name: 'stop', sandbox: 'demo' } };
  const saved = await client.request<ScheduleJson>('POST', '/v1/schedules', body);
  assert.equal(saved.name, body.name);
  assert.equal(saved.expression, '45 19 * * 1-5');
  assert.equal(saved.aws_expression, 'cron(45 19 ? * MON-FRI *)');
  assert.equal(saved.status, 'active');
  assert.equal(saved.next_fire_times.length, 3);
  assert.equal(saved.next_fire_at, saved.next_fire_times[0]);
  const again = await client.request<ScheduleJson>('POST', '/v1/schedules', body);
  assert.equal(again.name, `${body.name}-2`);
  const cron = await client.request<ScheduleJson>('POST', '/v1/schedules', { ...body, name: 'nightly', input: '0 23 * * 1-5', cron: true });
  assert.equal(cron.expression, '0 23 * * 1-5');

  const refused = async (b: unknown, re: RegExp) =>
    assert.rejects(client.request('POST', '/v1/schedules', b), (e: unknown) => e instanceof KmError && e.code === 'usage' && re.test(e.message));
  await refused({ ...body, command: { name: 'lock', sandbox: 'demo' } }, /"lock" cannot be scheduled/);
  await refused({ ...body, command: { name: 'stop', sandbox: 'demo', extra: 1 } }, /malformed stop command/);
  await refused({ ...body, input: 'weekly' }, /"weekly" schedules are not supported/);
  await refused({ ...body, name: '../etc' }, /invalid schedule name/);
  await refused([1, 2], /must be a JSON object/);

  const list = await client.request<ScheduleJson[]>('GET', '/v1/schedules');
  assert.deepEqual(list.map((s) => s.name), [body.name, `${body.name}-2`, 'nightly']);
  const cancelled = await client.request<ScheduleJson>('DELETE', '/v1/schedules/nightly');
  assert.deepEqual([cancelled.status, cancelled.next_fire_at], ['cancelled', null]);
  assert.equal((await client.request<ScheduleJson[]>('GET', '/v1/schedules')).length, 2);
  assert.equal((await client.request<ScheduleJson[]>('GET', '/v1/schedules?all=1')).length, 3);
  assert.deepEqual(await client.request<FireJson[]>('GET', '/v1/schedules/nightly/history'), []);
  for (const [method, path] of [['GET', '/v1/schedules/nope/history'], ['DELETE', '/v1/schedules/nope'], ['GET', '/v1/schedules/nope']] as const) {
    await assert.rejects(client.request(method, path), (e: unknown) => e instanceof KmError && e.code === 'not_found' && /km at list/.test(e.hint ?? ''));
  }
});
