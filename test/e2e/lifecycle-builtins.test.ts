/**
 * Every built-in profile creates on the local substrate (SPEC §17.6), and a real short TTL
 * is applied by kmd's reconciler within 5 s (§8.6): destroy for `sealed`, pause under
 * hibernation for `learn` (teardownPolicy stop).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { builtinProfiles } from '../../src/profile/index.ts';
import { cannotRunSandboxes, lifecycleEnv, type SandboxJson } from './lifecycle-support.ts';

const skip = cannotRunSandboxes();

test('every built-in profile creates and runs a command on local', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const made = await Promise.all(
    builtinProfiles().map(async (b) => {
      const o = await e.km(['create', b.name, '--json']);
      assert.equal(o.code, 0, `${b.name}: ${o.stderr}`);
      const s = JSON.parse(o.stdout) as SandboxJson;
      assert.deepEqual([s.status, s.profile], ['running', b.name]);
      return s;
    }),
  );
  await Promise.all(
    made.map(async (s) => {
      const x = await e.km(['exec', s.id, '--', 'sh', '-c', 'echo "$KM_SANDBOX_ID"']);
      assert.equal(x.stdout, `${s.id}\n`, `${s.profile}: ${x.stderr}`);
      assert.equal((await e.km(['destroy', s.id, '--yes'])).code, 0);
    }),
  );
});

test('a real short TTL: sealed is destroyed, learn (hibernation) is paused by ttl, within 5 s', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const conflict = await e.km(['create', 'sealed', '--ttl', '3s']);
  assert.deepEqual([conflict.code, conflict.stderr.split('\n')[0]], [2, 'km: error: flag conflict: ttl (3s) is shorter than idleTimeout (30m)']);
  assert.equal((await e.km(['create', 'sealed', '--alias', 'short', '--ttl', '3s', '--idle', '0'])).code, 0);
  assert.equal((await e.km(['create', 'learn', '--alias', 'nap', '--ttl', '3s', '--idle', '0'])).code, 0);
  const deadline = Date.now() + 3000 + 5000;
  let all: SandboxJson[] = [];
  while (Date.now() < deadline) {
    all = await e.json<SandboxJson[]>(['list', '--all']);
    const st = new Map(all.map((s) => [s.alias, s.status]));
    if (st.get('short') === 'destroyed' && st.get('nap') === 'paused') break;
    await sleep(250);
  }
  const byAlias = new Map(all.map((s) => [s.alias, s]));
  assert.equal(byAlias.get('short')?.status, 'destroyed');
  assert.deepEqual([byAlias.get('nap')?.status, byAlias.get('nap')?.paused_by], ['paused', 'ttl']);
  const r = await e.json<{ sandbox: SandboxJson }>(['resume', 'nap']);
  assert.equal(r.sandbox.status, 'running');
  assert.ok((r.sandbox.ttl_remaining_s ?? 0) >= 1, 'resume after a ttl pause starts a fresh TTL');
});
