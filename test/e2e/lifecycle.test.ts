/**
 * The main job end to end through bin/km (SPEC §8, §3.1, §9.4, §14.2): create a real local
 * sandbox, reach a loopback upstream through its gateway, DNS filtering, lifecycle commands
 * and messages, lock, extend, clone, kill -9 of kmd. One sandbox set per test, destroyed after.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { cannotRunSandboxes, lifecycleEnv, UPSTREAM_BODY, type SandboxJson } from './lifecycle-support.ts';

const skip = cannotRunSandboxes();

const PROFILE = `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: allowtest
spec:
  lifecycle: { ttl: "2h", idleTimeout: "1h", teardownPolicy: destroy, maxLifetime: "3h" }
  execution:
    env: { GREETING: "hi" }
    configFiles:
      /workspace/notes.txt: "from configFiles\\n"
    initCommands:
      - "echo init-ran; echo ok > /workspace/init-marker"
  network:
    egress:
      allowedHosts: ["allowed.test"]
`;

test('create → exec through the gateway, DNS filter, list/status JSON, lifecycle messages, lock, extend, clone, destroy', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const file = join(e.dir, 'allowtest.yaml');
  writeFileSync(file, PROFILE);

  const created = await e.km(['create', file, '--alias', 'demo']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^Created sb-[0-9a-f]{8} \(demo, #1\) from allowtest on local; expires in 2h00m\n$/);
  assert.match(created.stderr, /init 1\/1: echo init-ran/);
  assert.match(created.stderr, /init-ran/);

  const comp = await e.km(['__complete', 'exec', '']);
  assert.match(comp.stdout, /^demo\nsb-[0-9a-f]{8}\n/m, comp.stderr);

  const ok = await e.km(['exec', 'demo', '--', 'curl', '-sS', 'http://allowed.test/']);
  assert.deepEqual([ok.code, ok.stdout], [0, UPSTREAM_BODY]);
  const transparent = await e.km(['exec', 'demo', '--', 'curl', '-sS', '--noproxy', '*', 'http://allowed.test/x']);
  assert.equal(transparent.stdout, 'path /x\n', transparent.stderr);
  const denied = await e.km(['exec', 'demo', '--', 'curl', '-sS', '-w', '\n%{http_code}', 'http://denied.test/']);
  const [body, status] = denied.stdout.split('\n').filter((l) => l !== '');
  assert.equal(status, '403');
  const deny = JSON.parse(body!) as Record<string, unknown>;
  assert.equal(deny.error, 'host_not_allowed');
  assert.equal(deny.rule, 'default-deny');
  assert.match(String(deny.sandbox), /^sb-/);

  const dns = await e.km(['exec', 'demo', '--', 'sh', '-c', 'getent hosts allowed.test; getent hosts nope.example; echo "rc=$?"']);
  assert.match(dns.stdout, /^198\.(18|19)\.\d+\.\d+\s+allowed\.test\nrc=2\n$/, `exit ${dns.code}: ${dns.stderr}`);
  const files = await e.km(['exec', 'demo', '--', 'sh', '-c', 'cat /workspace/notes.txt /workspace/init-marker; echo "$GREETING $KM_SANDBOX_ALIAS"; pwd; id -un']);
  assert.equal(files.stdout, 'from configFiles\nok\nhi demo\n/workspace\nsandbox\n');
  assert.equal((await e.km(['exec', 'demo', '--root', '--', 'id', '-u'])).stdout, '0\n');
  assert.equal((await e.km(['exec', 'demo', '--env', 'FOO=bar baz', '--workdir', '/tmp', '--', 'sh', '-c', 'echo "$FOO in $PWD"'])).stdout, 'bar baz in /tmp\n');
  assert.equal((await e.km(['exec', 'demo', '--', 'sh', '-c', 'exit 7'])).code, 7);
  assert.equal((await e.km(['exec', 'demo', '--', 'no-such-cmd'])).code, 127);
  const gone = await e.km(['exec', 'nope', '--', 'true']);
  assert.equal(gone.code, 125);
  assert.match(gone.stderr, /no sandbox matches "nope" \(not an id, alias or number; see km list\)/);

  const list = await e.json<SandboxJson[]>(['list']);
  assert.equal(list.length, 1);
  const rec = list[0]!;
  for (const k of ['id', 'alias', 'number', 'profile', 'substrate', 'region', 'status', 'status_reason', 'paused_by', 'created_at', 'expires_at',
    'ttl_remaining_s', 'idle_timeout_s', 'idle_remaining_s', 'max_expires_at', 'teardown_policy', 'locked', 'locked_at', 'cloned_from', 'image',
    'enforcement', 'budget', 'email_address', 'created_by']) assert.ok(k in rec, k);
  assert.deepEqual([rec.status, rec.profile, rec.substrate, rec.created_by], ['running', 'allowtest', 'local', 'cli']);
  const st = await e.json<SandboxJson & { ca: { fingerprint_sha256: string; not_after: string }; gateway: { denied: number } }>(['status', '1']);
  assert.match(st.ca.fingerprint_sha256, /^[0-9a-f]{64}$/);
  assert.ok(st.gateway.denied >= 1);
  const token = `ghp_${'a1B2c3D4e5'.repeat(4).slice(0, 36)}`;
  assert.equal((await e.km(['exec', 'demo', '--', 'sh', '-c', `export GITHUB_TOKEN=${token}; true`])).code, 0);
  const store = await openSqliteStore(join(e.home, 'km.db'), { clock: systemClock });
  try {
    const cmds = await store.queryEvents({ sandboxId: rec.id, types: ['command'] });
    const last = cmds[cmds.length - 1]!;
    assert.equal(last.source, 'exec');
    assert.deepEqual(last.detail.argv, ['sh', '-c', 'export GITHUB_TOKEN=[REDACTED:github_token]; true']);
    const all = JSON.stringify(await store.queryEvents({ sandboxId: rec.id }));
    assert.ok(!all.includes(token), 'no raw secret anywhere in the events');
    const types = new Set((await store.queryEvents({ sandboxId: rec.id })).map((ev) => ev.eventType));
    for (const ty of ['lifecycle.creating', 'lifecycle.running', 'init.command', 'dns.query', 'http.request']) assert.ok(types.has(ty), ty);
    assert.ok(((await store.getSandbox(rec.id))?.lastActivityAtMs ?? 0) > Date.parse(String(rec.created_at)));
  } finally {
    await store.close();
  }

  const human = await e.km(['list']);
  assert.match(human.stdout, /^#\s+ALIAS\s+ID\s+STATUS\s+TTL\s+AGE\n1\s+demo\s+sb-[0-9a-f]{8}\s+running\s+1h5\dm/);

  const seq: Array<[string[], number, string]> = [
    [['pause', 'demo'], 0, 'Paused demo\n'],
    [['pause', 'demo'], 0, 'demo is already paused\n'],
    [['resume', 'demo'], 0, 'Resumed demo\n'],
    [['resume', 'demo'], 0, 'demo is already running\n'],
    [['lock', 'demo'], 0, 'Locked demo\n'],
  ];
  for (const [args, code, out] of seq) {
    const o = await e.km(args);
    assert.deepEqual([o.code, o.stdout], [code, out], `${args.join(' ')}: ${o.stderr}`);
  }
  for (const args of [['destroy', 'demo', '--yes'], ['stop', 'demo'], ['pause', 'demo']]) {
    const o = await e.km(args);
    assert.equal(o.code, 1, args.join(' '));
    assert.match(o.stderr, /^km: error: demo is locked \(since \d{4}-\d\d-\d\d \d\d:\d\d\); run km unlock demo first\n$/);
  }
  assert.match((await e.km(['lock', 'demo'])).stdout, /^demo was already locked \(since /);
  assert.equal((await e.km(['unlock', 'demo'])).stdout, 'Unlocked demo\n');
  assert.equal((await e.km(['unlock', 'demo'])).stdout, 'demo was not locked; nothing changed\n');

  const ext = await e.km(['extend', 'demo', '30m']);
  assert.match(ext.stdout, /^demo now expires \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 2h[0-2]\dm\)\n$/);
  const cap = await e.km(['extend', 'demo', '2h']);
  assert.equal(cap.code, 1);
  assert.match(cap.stderr, /extending by 2h would pass the 3h lifetime cap of demo \(created .* UTC, cap .* UTC\); the most you can add is \d+m\d\ds/);
  const nothing = await e.km(['extend', 'demo']);
  assert.deepEqual([nothing.code, nothing.stderr], [2, 'km: error: nothing to extend; give a duration and/or --idle\n']);

  await e.km(['exec', 'demo', '--', 'sh', '-c', 'echo precious > /workspace/data.txt']);
  const cl = await e.km(['clone', 'demo', 'copy']);
  assert.match(cl.stdout, /^Cloned sb-[0-9a-f]{8} \(copy, #2\) cloned from sb-[0-9a-f]{8} on local/, cl.stderr);
  assert.doesNotMatch(cl.stderr, /init 1\/1/, 'init commands are not re-run on a copy');
  assert.equal((await e.km(['exec', 'copy', '--', 'cat', '/workspace/data.txt'])).stdout, 'precious\n');
  const copyJson = await e.json<SandboxJson>(['status', 'copy']);
  assert.equal(copyJson.cloned_from, rec.id);

  assert.equal((await e.km(['stop', 'demo'])).stdout, 'Stopped demo\n');
  const stopped = await e.km(['pause', 'demo']);
  assert.deepEqual([stopped.code, stopped.stderr], [1, 'km: error: demo is stopped; resume it first\n']);
  const needsResume = await e.km(['exec', 'demo', '--', 'true']);
  assert.equal(needsResume.code, 125);
  assert.match(needsResume.stderr, /demo is stopped; run km resume demo/);
  assert.equal((await e.km(['resume', 'demo'])).stdout, 'Resumed demo\n');
  assert.equal((await e.km(['exec', 'demo', '--', 'cat', '/workspace/data.txt'])).stdout, 'precious\n', 'filesystem kept across stop');

  const noYes = await e.km(['destroy', 'demo']);
  assert.deepEqual([noYes.code, noYes.stderr], [2, 'km: error: destroying demo needs confirmation; re-run with --yes\n']);
  const d = await e.km(['kill', 'demo', '--yes']);
  assert.equal(d.stdout, `Destroyed demo (${rec.id})\n`);
  const after = await e.km(['status', 'demo']);
  assert.match(after.stdout, /status:\s+destroyed/);
  const again = await e.km(['destroy', 'demo', '--yes']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, new RegExp(`${rec.id} was destroyed at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
  const all = await e.json<SandboxJson[]>(['list', '--all']);
  assert.deepEqual(all.map((s) => [s.alias, s.status]), [['copy', 'running'], ['demo', 'destroyed']]);
});

test('kill -9 of kmd: egress fails closed meanwhile; after restart the sandbox still runs and is reachable; dead trees become stopped', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const file = join(e.dir, 'allowtest.yaml');
  writeFileSync(file, PROFILE.replace(/\s+initCommands:\n.*\n/, '\n'));
  assert.equal((await e.km(['create', file, '--alias', 'live'])).code, 0);
  const dead = await e.json<SandboxJson>(['create', file, '--alias', 'dead']);
  const pid = Number(readFileSync(join(e.home, 'kmd.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  const down = await e.km(['exec', 'live', '--', 'curl', '-sS', '-m', '3', 'http://allowed.test/']);
  assert.notEqual(down.code, 0, 'egress fails closed while kmd is down');
  const rt = JSON.parse(readFileSync(join(e.home, 'sandboxes', dead.id, 'runtime.json'), 'utf8')) as { init: { pid: number } };
  process.kill(rt.init.pid, 'SIGKILL');
  const list = await e.json<SandboxJson[]>(['list']);
  const byAlias = new Map(list.map((s) => [s.alias, s]));
  assert.equal(byAlias.get('live')?.status, 'running');
  assert.deepEqual([byAlias.get('dead')?.status, byAlias.get('dead')?.status_reason], ['stopped', 'host restart']);
  const up = await e.km(['exec', 'live', '--', 'curl', '-sS', 'http://allowed.test/']);
  assert.deepEqual([up.code, up.stdout], [0, UPSTREAM_BODY]);
  assert.equal((await e.km(['resume', 'dead'])).stdout, 'Resumed dead\n');
  assert.equal((await e.km(['exec', 'dead', '--', 'curl', '-sS', 'http://allowed.test/'])).stdout, UPSTREAM_BODY);
});
