import assert from 'node:assert/strict';
import { test } from 'node:test';
import { basicSpec, harness, profileOf, request } from './test-harness.ts';

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

test('status adds last activity by kind, active runs, the learn session, mounts and limits', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const spec = `${basicSpec()}  runtime: { instanceType: t3.medium, mountEFS: true, efsMountPoint: /data }\n`;
  const j = await h.service.create(request(profileOf('detail', spec), { alias: 'demo' }));
  const fresh = await h.service.status('demo');
  assert.deepEqual(fresh.last_activity, { shell: null, exec: null, gateway: null, agent: null });
  assert.deepEqual([fresh.active_runs, fresh.learn], [[], { recording: false, session_id: null }]);
  assert.deepEqual(fresh.limits, { cpus: 2, memory_bytes: 4 * 1024 ** 3, pids: 4096 });
  assert.deepEqual(fresh.mounts.find((m) => m.path === '/data'), { host_path: `${h.dir}/shared`, path: '/data', read_only: false });
  assert.match(fresh.ca?.fingerprint_sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(fresh.gateway?.open, true);

  const t1 = h.clock.now() + 60_000;
  await h.events.record(j.id, 'command', 'exec', { argv: ['true'], exit_code: 0, duration_ms: 2000 }, t1);
  await h.events.record(j.id, 'command', 'shell', { argv: ['bash', '-l'], exit_code: 0, duration_ms: 120_000 }, t1 - 200_000);
  await h.events.record(j.id, 'command', 'exec', { argv: ['false'], exit_code: 1, duration_ms: 10 }, t1 - 5000);
  await h.events.record(j.id, 'learn.started', 'cli', { session_id: 'ls-1', origin: 'cli' }, t1);
  const queued = await h.store.createRun(j.id, { agent: 'claude', prompt: 'hi', atMs: t1 });
  const done = await h.store.createRun(j.id, { agent: 'codex', prompt: 'x', status: 'running', atMs: t1 + 1000 });
  await h.store.updateRun(j.id, done.runId, { status: 'succeeded', endedAtMs: t1 + 9000 });

  const st = await h.service.status(j.id);
  assert.equal(st.last_activity.exec, iso(t1 + 2000));
  assert.equal(st.last_activity.shell, iso(t1 - 80_000));
  assert.equal(st.last_activity.agent, iso(t1 + 9000));
  assert.deepEqual(st.active_runs, [{ run_id: queued.runId, agent: 'claude', status: 'queued', started_at: null }]);
  assert.equal(st.learn.recording, true);
  assert.match(st.learn.session_id ?? '', /^ls-\d+$/);
});
