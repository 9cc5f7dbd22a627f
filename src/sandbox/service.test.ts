import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KmError } from '../core/errors.ts';
import { basicSpec, harness, profileOf, request, T0, testConfig } from './test-harness.ts';
import { createSandboxService } from './service.ts';

const rejects = async (p: Promise<unknown>, code: string, message: string | RegExp) => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KmError, String(e));
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
};

test('create: running record with number, TTL, per-sandbox CA (0600), gateway sockets and lifecycle events', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const j = await h.service.create(request(profileOf('basic', basicSpec()), { alias: 'demo' }));
  assert.equal(j.status, 'running');
  assert.equal(j.number, 1);
  assert.equal(j.alias, 'demo');
  assert.equal(j.id, 'sb-a0000001');
  assert.equal(j.created_at, '2027-03-01T09:00:00Z');
  assert.equal(j.expires_at, '2027-03-01T10:00:00Z');
  assert.equal(j.ttl_remaining_s, 3600);
  assert.equal(j.idle_timeout_s, 1800);
  assert.equal(j.teardown_policy, 'destroy');
  assert.equal(j.email_address, 'sb-a0000001@sandboxes.km.internal');
  const key = join(h.dir, 'keys', j.id, 'ca.key');
  assert.equal(statSync(key).mode & 0o777, 0o600);
  for (const s of ['proxy.sock', 'dns.sock', 'dns-tcp.sock', 'transparent.sock']) assert.ok(existsSync(join(h.dir, 'gateways', j.id, s)), s);
  const spec = h.substrate.specs.get(j.id);
  assert.equal(spec?.env.KM_SANDBOX_ID, j.id);
  assert.equal(spec?.env.KM_SANDBOX_ALIAS, 'demo');
  assert.match(spec?.caPem ?? '', /BEGIN CERTIFICATE/);
  const st = await h.service.status('demo');
  assert.match(st.ca?.fingerprint_sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(st.ca?.not_after, '2027-05-30T09:00:00Z');
  const types = (await h.store.queryEvents({ sandboxId: j.id })).map((e) => e.eventType);
  assert.deepEqual(types, ['lifecycle.creating', 'lifecycle.running']);
});

test('create refusals: abstract, alias taken, flag conflict, unavailable substrates — nothing created', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const p = profileOf('basic', basicSpec());
  await rejects(h.service.create(request(p, { abstract: true })), 'profile_invalid', 'cannot create from an abstract fragment; use a profile that extends it');
  await rejects(h.service.create(request(p, { overrides: { idle: '2d', ttl: '1d' } })), 'usage', 'flag conflict: ttl (1d) is shorter than idleTimeout (2d)');
  await rejects(h.service.create(request(p, { overrides: { docker: true, substrate: 'ec2' } })), 'usage', /^flag conflict: --docker and --substrate ec2/);
  await rejects(h.service.create(request(p, { overrides: { substrate: 'ec2' } })), 'substrate_unavailable', 'substrate ec2 needs AWS configuration; run km configure');
  await rejects(h.service.create(request(p, { overrides: { docker: true } })), 'substrate_unavailable', /^substrate docker is unavailable: /);
  assert.equal(await h.store.countActiveSandboxes(), 0);
  assert.deepEqual(h.substrate.calls, []);
  await h.service.create(request(p, { alias: 'demo' }));
  await rejects(h.service.create(request(p, { alias: 'demo' })), 'usage', 'alias "demo" is already used by sb-a0000001 (#1)');
  await rejects(
    h.service.create(request(p, { config: testConfig({ maxSandboxes: 1 }) })),
    'limit_reached',
    'limit reached: 1 of 1 sandboxes exist; destroy one or raise max_sandboxes',
  );
});

test('create: overrides apply (--ttl spelled, --idle 0, --ai) and are re-validated', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const j = await h.service.create(request(profileOf('basic', basicSpec()), { overrides: { ttl: '2 hours', idle: '0', ai: 3 } }));
  assert.equal(j.ttl_remaining_s, 7200);
  assert.equal(j.idle_timeout_s, 0);
  assert.equal(j.idle_remaining_s, null);
  assert.equal(j.budget.ai.limit_usd, 3);
});

test('a failing init command leaves the sandbox failed with command, exit code and output tail', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const spec = `${basicSpec()}  execution:\n    initCommands: ["echo one", "apt-get install -y foo"]\n`;
  h.substrate.script.set('/bin/bash -c apt-get install -y foo', { code: 100, out: 'E: Could not open lock file - open (13: Permission denied)\n' });
  const lines: string[] = [];
  await assert.rejects(
    h.service.create(request(profileOf('initfail', spec), { alias: 'bad' }), (p) => lines.push(JSON.stringify(p))),
    (e: unknown) => {
      assert.ok(e instanceof KmError);
      assert.equal(e.code, 'failed');
      assert.match(e.message, /^init command 2 of 2 \(apt-get install -y foo\) exited 100:\nE: Could not open lock file/);
      assert.match(e.hint ?? '', /system paths of the host base cannot be modified/);
      assert.equal(e.details?.exit_code, 100);
      return true;
    },
  );
  assert.ok(lines.some((l) => l.includes('init 2/2: apt-get install -y foo')));
  assert.ok(lines.some((l) => l.includes('Permission denied')));
  const s = await h.service.resolve('bad');
  assert.equal(s.status, 'failed');
  assert.match(s.statusReason ?? '', /^init command 2 of 2 \(apt-get install -y foo\) exited 100/);
  const ev = await h.store.queryEvents({ sandboxId: s.id, types: ['init.command'] });
  assert.deepEqual(ev.map((e) => e.detail.exit_code), [0, 100]);
  const d = await h.service.destroy('bad');
  assert.equal(d.message, `Destroyed bad (${s.id})`);
});

test('reference resolution: id, alias (any case), number, #number; exact errors', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const p = profileOf('basic', basicSpec());
  const a = await h.service.create(request(p, { alias: 'demo' }));
  const b = await h.service.create(request(p));
  assert.equal((await h.service.resolve(a.id)).id, a.id);
  assert.equal((await h.service.resolve('DEMO')).id, a.id);
  assert.equal((await h.service.resolve('2')).id, b.id);
  assert.equal((await h.service.resolve('#2')).id, b.id);
  await rejects(h.service.resolve('dmeo'), 'not_found', 'no sandbox matches "dmeo" (not an id, alias or number; see km list)');
  await rejects(h.service.resolve('#7'), 'not_found', '#7 is not a current sandbox number; run km list');
  h.clock.set(Date.parse('2027-03-01T10:02:11Z'));
  await h.service.destroy('demo');
  await rejects(h.service.resolve(a.id), 'not_found', `${a.id} was destroyed at 2027-03-01T10:02:11Z`);
  await rejects(h.service.resolve('demo'), 'not_found', `${a.id} was destroyed at 2027-03-01T10:02:11Z`);
});

test('pause/resume/stop: messages, no-ops, pausing a stopped sandbox, exec-free transitions on the substrate', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.service.create(request(profileOf('basic', basicSpec()), { alias: 'demo' }));
  assert.equal((await h.service.pause('demo')).message, 'Paused demo');
  const again = await h.service.pause('demo');
  assert.deepEqual([again.message, again.changed], ['demo is already paused', false]);
  assert.equal((await h.service.resume('demo')).message, 'Resumed demo');
  assert.equal((await h.service.resume('demo')).message, 'demo is already running');
  assert.equal((await h.service.stop('demo')).message, 'Stopped demo');
  assert.equal((await h.service.stop('demo')).message, 'demo is already stopped');
  await rejects(h.service.pause('demo'), 'invalid_state', 'demo is stopped; resume it first');
  const r = await h.service.resume('demo');
  assert.equal(r.sandbox.status, 'running');
  assert.deepEqual(h.substrate.calls.filter((c) => !c.startsWith('create')), ['pause sb-a0000001', 'resume sb-a0000001', 'stop sb-a0000001', 'resume sb-a0000001']);
});

test('a failed substrate pause leaves the sandbox running (no half-applied change)', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.service.create(request(profileOf('basic', basicSpec()), { alias: 'demo' }));
  h.substrate.failPauseOnce = true;
  await rejects(h.service.pause('demo'), 'failed', 'freezer broke');
  assert.equal((await h.service.resolve('demo')).status, 'running');
});

test('lock blocks destroy, stop and pause (exact refusal) but not resume or extend; unlock messages', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.service.create(request(profileOf('basic', basicSpec()), { alias: 'demo' }));
  h.clock.set(Date.parse('2027-03-03T09:12:00Z'));
  assert.equal((await h.service.lock('demo', true)).message, 'Locked demo');
  h.clock.advance(60_000);
  assert.equal((await h.service.lock('demo', true, { timeZone: 'UTC' })).message, 'demo was already locked (since 2027-03-03 09:12)');
  const refusal = 'demo is locked (since 2027-03-03 09:12); run km unlock demo first';
  for (const op of [() => h.service.destroy('demo'), () => h.service.stop('demo'), () => h.service.pause('demo')]) {
    await assert.rejects(op(), (e: unknown) => e instanceof KmError && e.code === 'sandbox_locked' && e.message === refusal && e.exitCode === 1);
  }
  assert.equal((await h.service.extend('demo', { byS: 3600 })).changed, true);
  assert.equal((await h.service.resolve('demo')).status, 'running');
  assert.equal((await h.service.lock('demo', false)).message, 'Unlocked demo');
  assert.equal((await h.service.lock('demo', false)).message, 'demo was not locked; nothing changed');
  assert.equal((await h.service.destroy('demo')).message, 'Destroyed demo (sb-a0000001)');
});

test('extend: from max(now, expiry), idle change, nothing to extend, maxLifetime cap message', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const p = profileOf('capped', basicSpec('{ ttl: "1d", idleTimeout: "1h", maxLifetime: "3d", teardownPolicy: destroy }'));
  await h.service.create(request(p, { alias: 'demo' }));
  await rejects(h.service.extend('demo', {}), 'usage', 'nothing to extend; give a duration and/or --idle');
  h.clock.set(Date.parse('2027-03-03T07:15:00Z'));
  const r = await h.service.extend('demo', { byS: 11 * 3600 }, { timeZone: 'Europe/Berlin' });
  assert.equal(r.sandbox.expires_at, '2027-03-03T18:15:00Z');
  assert.equal(r.message, 'demo now expires 2027-03-03 19:15 CET (in 11h00m)');
  h.clock.set(Date.parse('2027-03-03T18:40:00Z'));
  await rejects(
    h.service.extend('demo', { byS: 2 * 86400, byText: '2d' }),
    'invalid_state',
    'extending by 2d would pass the 3d lifetime cap of demo (created 2027-03-01 09:00 UTC, cap 2027-03-04 09:00 UTC); the most you can add is 14h20m',
  );
  const idle = await h.service.extend('demo', { idleS: 600 });
  assert.equal(idle.sandbox.idle_timeout_s, 600);
  assert.equal(idle.message, 'demo idle timeout is now 10m');
});

test('racing destroys: exactly one wins, the other gets invalid_state', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.service.create(request(profileOf('basic', basicSpec()), { alias: 'demo' }));
  const s = await h.service.resolve('demo');
  const results = await Promise.allSettled([h.service.ops.destroy(s), h.service.ops.destroy(s)]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.ok(lost.reason instanceof KmError && lost.reason.code === 'invalid_state', String(lost.reason));
});

test('list: ordered by number, --all includes destroyed; record shape', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const p = profileOf('basic', basicSpec());
  await h.service.create(request(p, { alias: 'a' }));
  await h.service.create(request(p, { alias: 'b' }));
  await h.service.destroy('a');
  assert.deepEqual((await h.service.list()).map((j) => j.alias), ['b']);
  const all = await h.service.list({ all: true });
  assert.deepEqual(all.map((j) => [j.alias, j.status]), [['b', 'running'], ['a', 'destroyed']]);
  const keys = ['id', 'alias', 'number', 'profile', 'substrate', 'region', 'status', 'status_reason', 'paused_by', 'created_at', 'expires_at',
    'ttl_remaining_s', 'idle_timeout_s', 'idle_remaining_s', 'max_expires_at', 'teardown_policy', 'locked', 'locked_at', 'cloned_from', 'image',
    'enforcement', 'budget', 'email_address', 'created_by'];
  for (const k of keys) assert.ok(k in all[0]!, k);
  assert.deepEqual(Object.keys(all[0]!.budget), ['state', 'ai', 'compute']);
  assert.equal(T0, Date.parse(all[0]!.created_at));
});

test('a host that cannot run local sandboxes refuses create with the reason, before anything is created', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const svc = createSandboxService({ ...h.deps, substrates: {}, unavailable: { local: 'missing host tools: bwrap' } });
  await rejects(svc.create(request(profileOf('basic', basicSpec()))), 'substrate_unavailable', 'substrate local is unavailable: missing host tools: bwrap');
  assert.equal(await h.store.countActiveSandboxes(), 0);
});
