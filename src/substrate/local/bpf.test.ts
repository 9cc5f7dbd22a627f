import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { attachGatekeeper, denyLimiter, gatekeeperHelper, gatekeeperUnavailable } from './bpf.ts';
import type { GatekeeperDeny } from './bpf.ts';

const helper = gatekeeperHelper();
const noHelper = 'reason' in helper ? helper.reason : false;
const path = 'path' in helper ? helper.path : '';

test('km-bpf: usage errors exit 2 and name the commands', { skip: noHelper }, () => {
  for (const args of [[], ['attach'], ['frobnicate', 'x']]) {
    const r = spawnSync(path, args, { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /usage: km-bpf probe \| km-bpf attach CGROUP_V2_DIR \| km-bpf watch CGROUP_V2_DIR/);
  }
});

test('km-bpf attach: a missing cgroup directory is refused, naming it', { skip: noHelper }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'km-bpf-'));
  try {
    const missing = join(dir, 'no-such-cgroup');
    await assert.rejects(attachGatekeeper(path, missing, () => undefined), (e: Error) => e.message.includes(missing) && /No such file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('km-bpf probe: loads as root, a precise reason otherwise', { skip: noHelper }, () => {
  const r = spawnSync(path, ['probe'], { encoding: 'utf8' });
  const why = gatekeeperUnavailable();
  if (process.getuid?.() === 0 && r.status === 0) {
    assert.equal(r.stdout, 'ok\n');
    assert.equal(why, null);
    // Unprivileged (kernel.unprivileged_bpf_disabled): the same probe fails, saying where.
    const u = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', path, 'probe'], { encoding: 'utf8' });
    assert.equal(u.status, 1, u.stderr);
    assert.match(u.stderr, /^km-bpf: creating a BPF map \(BPF_MAP_CREATE\): Operation not permitted/);
  } else {
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^km-bpf: creating a BPF map \(BPF_MAP_CREATE\): Operation not permitted|^km-bpf: /);
    assert.notEqual(why, null);
  }
});

test('denyLimiter: at most `limit` per window, then the count of what was left out', () => {
  let now = 0;
  const limit = denyLimiter(2, 1000, () => now);
  const d: GatekeeperDeny = { family: 4, proto: 'tcp', addr: '10.0.0.1', port: 22, pid: 5, op: 'connect' };
  assert.deepEqual(limit(d), d);
  assert.deepEqual(limit({ ...d, port: 23 }), { ...d, port: 23 });
  assert.equal(limit(d), null);
  assert.equal(limit(d), null);
  now = 999;
  assert.equal(limit(d), null);
  now = 1000;
  assert.deepEqual(limit({ ...d, port: 24 }), { ...d, port: 24, suppressed: 3 });
  assert.deepEqual(limit(d), d);
});

test('the availability probe runs at most once per ttl', async () => {
  const { cachedGatekeeperProbe } = await import('./bpf.ts');
  let t = 0;
  let runs = 0;
  const answers = ['kmd is not root', null];
  const probe = cachedGatekeeperProbe(60_000, () => t, () => answers[runs++ % 2] ?? null);
  assert.equal(probe(), 'kmd is not root');
  t = 59_999;
  assert.equal(probe(), 'kmd is not root');
  assert.equal(runs, 1);
  t = 60_000;
  assert.equal(probe(), null);
  assert.equal(runs, 2);
});
