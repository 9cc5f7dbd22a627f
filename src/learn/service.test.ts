import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createManualClock } from '../core/clock.ts';
import { isKmError } from '../core/errors.ts';
import { openSqliteStore, type SandboxRecord, type Store } from '../store/index.ts';
import { createLearnService } from './index.ts';

const T0 = Date.UTC(2027, 2, 3, 8, 0, 0);

async function setup(t: TestContext, learnMode: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'km-learn-svc-'));
  const clock = createManualClock(T0);
  const store: Store = await openSqliteStore(join(dir, 'km.db'), { clock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const sb: SandboxRecord = await store.insertSandbox({
    id: 'sb-0a1b2c3d', alias: 'demo', profileName: 'p', substrate: 'local', createdAtMs: T0, teardownPolicy: 'destroy',
    enforcementRequested: 'proxy', createdBy: 'cli', profile: { spec: { observability: { learnMode } } },
  });
  const slept: number[] = [];
  const learn = createLearnService({
    store,
    record: async (sandboxId, eventType, source, detail, atMs) => void (await store.appendEvents([{ sandboxId, eventType, source, detail, timestampMs: atMs ?? clock.now() }])),
    clock,
    settleMs: 1000,
    sleep: async (ms) => {
      slept.push(ms);
      clock.advance(ms);
    },
  });
  const gateway = (atMs: number, eventType: string, detail: Record<string, unknown>) =>
    store.appendEvents([{ sandboxId: sb.id, eventType, source: 'gateway', detail, timestampMs: atMs }]);
  return { store, clock, sb, learn, slept, gateway };
}

test('no session: status says so, generate refuses with the hint naming both ways to start one', async (t) => {
  const { sb, learn } = await setup(t, false);
  const st = await learn.status(sb);
  assert.deepEqual(st, { sandbox_id: sb.id, recording: false, session_id: null, started_at: null, stopped_at: null, counts: { dns_names: 0, hosts: 0, repos: 0, refs: 0, commands: 0, denials: 0 } });
  await assert.rejects(learn.observations(sb), (e) => isKmError(e) && e.code === 'invalid_state' && e.message === 'demo has no learn session; start one with km learn start demo or km shell --learn demo');
  assert.deepEqual(await learn.stop(sb), { stopped: false, session: undefined });
});

test('start, already recording, counts so far, stop, observations of the window (waits for in-flight events)', async (t) => {
  const { sb, learn, clock, gateway, slept } = await setup(t, false);
  await gateway(T0 + 500, 'dns.query', { name: 'before.example.com', decision: 'allow' });
  clock.set(T0 + 1000);
  const s1 = await learn.start(sb, 'cli');
  assert.deepEqual([s1.started, s1.session.id, s1.session.startedAtMs], [true, 'ls-1', T0 + 1000]);
  clock.set(T0 + 2000);
  const again = await learn.start(sb, 'cli');
  assert.deepEqual([again.started, again.session.id], [false, 'ls-1']);
  await gateway(T0 + 1500, 'dns.query', { name: 'static.crates.io', decision: 'allow' });
  await gateway(T0 + 1600, 'http.connect', { host: 'static.crates.io', port: 443, decision: 'allow' });
  await gateway(T0 + 1700, 'http.request', { host: 'evil.example', port: 80, decision: 'deny' });
  const st = await learn.status(sb);
  assert.deepEqual([st.recording, st.session_id, st.started_at], [true, 'ls-1', '2027-03-03T08:00:01Z']);
  assert.deepEqual(st.counts, { dns_names: 1, hosts: 2, repos: 0, refs: 0, commands: 0, denials: 1 });
  clock.set(T0 + 3000);
  const stopped = await learn.stop(sb);
  assert.equal(stopped.session?.stoppedAtMs, T0 + 3000);
  // written after the stop, timestamped before it (the gateway flushes in batches)
  await gateway(T0 + 2900, 'git.access', { repo: 'acme/api', decision: 'allow' });
  clock.set(T0 + 3200);
  const o = await learn.observations(sb);
  assert.deepEqual(slept, [800]);
  assert.deepEqual(o.observations.dnsNames, ['static.crates.io']);
  assert.deepEqual(o.observations.repos, ['acme/api']);
  assert.equal(o.observations.endedAt, '2027-03-03T08:00:03Z');
  const next = await learn.start(sb, 'shell');
  assert.equal(next.session.id, 'ls-2');
  assert.equal((await learn.observations(sb, 'ls-1')).session.id, 'ls-1');
  await assert.rejects(learn.observations(sb, 'ls-7'), (e) => isKmError(e) && e.code === 'not_found' && e.hint === 'its sessions: ls-1, ls-2');
});

test('a learnMode profile records from create (ls-1 is already open)', async (t) => {
  const { sb, learn, clock, gateway } = await setup(t, true);
  await gateway(T0 + 10, 'dns.query', { name: 'sh.rustup.rs', decision: 'allow' });
  clock.set(T0 + 60_000);
  const st = await learn.status(sb);
  assert.deepEqual([st.recording, st.session_id, st.started_at, st.counts.dns_names], [true, 'ls-1', '2027-03-03T08:00:00Z', 1]);
  assert.equal((await learn.start(sb, 'cli')).started, false);
  const o = await learn.observations(sb);
  assert.deepEqual(o.observations.dnsNames, ['sh.rustup.rs']);
});
