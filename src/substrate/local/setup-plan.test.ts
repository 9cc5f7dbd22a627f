import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { nativeHelper } from '../../native/index.ts';
import { hostPlan, setupPlan } from './setup-plan.ts';
import { setupSteps } from './setup-steps.ts';
import type { InitScriptInput } from './setup-steps.ts';
import { kernelSupportsSetupHelper } from './setup-helper.ts';

const built = nativeHelper('km-setup');
const noHelper = 'reason' in built ? built.reason : false;
const dir = mkdtempSync(join(tmpdir(), 'km-plan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ODD = `/var/it's a "dir" with $HOME, \`id\` and \\ back:slash`;
const input = (extra: Partial<InitScriptInput> = {}): InitScriptInput => ({
  base: '/', overlays: ['etc', 'usr', 'var'], masks: [ODD, '/root'], capture: true, dual: false,
  mounts: [{ hostPath: '/srv/data', path: '/data dir', readOnly: true }], ...extra,
});

/** What km-setup's own parser reads from a plan (`--parse`), or its error. */
function parse(plan: string): { code: number | null; steps: string[][]; stderr: string } {
  const file = join(dir, `plan-${Math.random().toString(16).slice(2)}`);
  writeFileSync(file, plan);
  const r = spawnSync((built as { path: string }).path, ['--parse', file], { encoding: 'utf8' });
  return { code: r.status, steps: r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as string[]), stderr: r.stderr };
}

test('km-setup reads every value of the plan verbatim: spaces, quotes, $, backticks, backslashes, colons', { skip: noHelper }, () => {
  const steps = setupSteps(input());
  const { code, steps: parsed } = parse(setupPlan(steps));
  assert.equal(code, 0);
  assert.equal(parsed.length, steps.length);
  assert.deepEqual(parsed.find((s) => s[0] === 'mask'), ['mask', '-', ODD]);
  assert.deepEqual(parsed.filter((s) => s[1] === 'fail:cannot mount /data dir').map((s) => s.slice(0, 1).concat(s.slice(-2))), [
    ['mkdir', 'fail:cannot mount /data dir', '/data dir'],
    ['bind', '/run/kmsetup/m/0', '/data dir'],
  ]);
  assert.deepEqual(parsed.find((s) => s[0] === 'overlay' && s[2] === 'km-usr'), [
    'overlay', 'warn:overlay for /usr failed', 'km-usr', '/usr', '/run/kmsetup/state/upper/usr', '/run/kmsetup/state/work/usr', '/usr',
  ]);
  assert.deepEqual(parsed.at(-1), ['ready', '-']);
});

test('the plan keeps the order and rules of the bash setup', () => {
  const rows = setupPlan(setupSteps(input())).trimEnd().split('\n').map((l) => l.split('\t'));
  assert.equal(rows[0]?.[0], 'km-setup 1');
  const ops = rows.slice(1).map((r) => r[0]);
  // Loopback and the always-on bridges first (socat's start overlaps the mounts), then the root.
  assert.deepEqual(ops.slice(0, 6), ['lo-up', 'bridge', 'bridge', 'bridge', 'bridge', 'root']);
  assert.ok(ops.indexOf('holder') < ops.lastIndexOf('bind') && ops.lastIndexOf('bind') < ops.indexOf('pivot'), 'proc covers after the holder set its limit');
  assert.deepEqual(ops.slice(-2), ['pivot', 'ready']);
  assert.ok(!rows.some((r) => r[0] === 'mask' && r[2] === '/root'), '/root is km-made, never masked');
  const bridges = rows.filter((r) => r[0] === 'bridge');
  assert.deepEqual(bridges.map((r) => [r[2], r[3], r[4]]), [
    ['-', 'always', 'tcp:127.0.0.1:3128'], ['net_bind_service', 'always', 'udp:127.0.0.1:53'], ['net_bind_service', 'always', 'tcp:127.0.0.1:53'],
    ['net_bind_service', 'always', 'tcp:127.0.0.2:80'], ['-', 'capture', 'tcp:127.0.0.1:3129'],
  ]);
  assert.ok(ops.indexOf('capture') < ops.lastIndexOf('bridge'), 'the capture bridge after capture');
  assert.deepEqual(rows.find((r) => r[0] === 'etc' && r[4] === '/etc/hosts'), ['etc', '-', 'ro,nosuid,nodev', '/run/kmsetup/state/etc/hosts', '/etc/hosts', 'cannot place /etc/hosts']);
  assert.deepEqual(rows.find((r) => r[0] === 'holder'), ['holder', 'fail:workload namespace did not come up', 'nested', '1000']);
  assert.deepEqual(setupPlan(setupSteps(input({ dual: true, capture: false }))).split('\n').filter((l) => /^(holder|capture)/.test(l)), ['holder\tfail:workload namespace did not come up\tdual\t1000']);
});

test('values with a newline, a tab or nothing at all are refused, not written', () => {
  for (const path of ['/data\ndir', '/data\tdir']) {
    assert.throws(() => setupPlan(setupSteps(input({ mounts: [{ hostPath: '/srv', path, readOnly: false }] }))), (e: Error & { code?: string }) =>
      e.code === 'substrate_unavailable' && e.message.includes(JSON.stringify(path).slice(1, -1)));
  }
  assert.throws(() => setupPlan(setupSteps(input({ masks: ['/var/a\nmount\t-\t/x'] }))), /tabs or newlines/);
  assert.throws(() => hostPlan({ userns: null, cgroup2: null, cgroupProcs: [], stageRoot: '/run', stageDir: '/run/kmstage', staged: ['/srv/a\nb'], user: { uid: 1, gid: 1 } }), /tabs or newlines/);
});

test('km-setup refuses a malformed plan as a whole', { skip: noHelper }, () => {
  const good = setupPlan(setupSteps(input()));
  for (const [plan, why] of [
    ['', /no header line/],
    ['km-setup 2\nlo-up\t-\n', /not a km-setup 1 plan/],
    ['km-setup 1\nlo-up\t-', /no newline/],
    ['km-setup 1\nmask\t-\t\n', /empty field/],
    ['km-setup 1\nmask\tsometimes\t/x\n', /unknown failure policy/],
    [`${good}lo-up\0\t-\n`, /invalid setup plan/],
  ] as const) {
    const r = parse(plan);
    assert.equal(r.code, 2, JSON.stringify(plan.slice(-20)));
    assert.match(r.stderr, why);
  }
});

test('a sandbox plan whose bridge has no usable listen address is refused before any step runs', { skip: noHelper }, () => {
  const marker = join(dir, 'made-by-step-1');
  for (const listen of ['tcp:127.0.0.1', 'sctp:127.0.0.1:3128', 'tcp:127.0.0.1:0', 'udp:localhost:53', 'tcp:127.0.0.1:65536']) {
    const plan = join(dir, `bridge-plan-${Math.random().toString(16).slice(2)}`);
    writeFileSync(plan, `km-setup 1\nmkdir\t-\t${marker}\nbridge\t-\t-\talways\t${listen}\tsocat\tTCP4-LISTEN:1\tSTDIO\n`);
    const r = spawnSync((built as { path: string }).path, [plan], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    assert.equal(r.status, 1, listen);
    assert.match(r.stderr, /invalid setup plan: step 2 \(bridge\): not a tcp\|udp:IPV4:PORT listen address/, listen);
    assert.match(String(r.output[3]), /^failed invalid setup plan: /, 'reported on the status pipe');
    assert.equal(existsSync(marker), false, `${listen}: the first step did not run`);
  }
});

test('km-setup checks every step before running the first: a bad step leaves the host untouched', { skip: noHelper || (process.getuid?.() !== 0 ? 'the host plan runs as root' : false) }, () => {
  const procs = join(dir, 'cgroup.procs');
  for (const [bad, why] of [
    ['bogus\t-', /step 2 \(bogus\): unknown op/],
    ['lo-up\t-', /step 2 \(lo-up\): op not allowed here/],
    ['user\t-\t1', /step 2 \(user\): wrong field count/],
  ] as const) {
    writeFileSync(procs, '');
    const plan = `km-setup 1\ncgroup\t-\t${procs}\n${bad}\n`;
    const r = spawnSync((built as { path: string }).path, ['--host', plan, '--', 'true'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    assert.equal(r.status, 125);
    assert.match(r.stderr, why);
    assert.match(String(r.output[3]), /^failed invalid setup plan: /, 'reported on the status pipe');
    assert.equal(readFileSync(procs, 'utf8'), '', 'the first step did not run');
  }
  const asRoot = spawnSync((built as { path: string }).path, ['--host', `km-setup 1\ncgroup\t-\t${procs}\n`, '--', 'sh', '-c', 'echo ran'], { encoding: 'utf8' });
  assert.deepEqual([asRoot.status, asRoot.stdout], [125, ''], 'without a user step nothing runs as host root');
  assert.match(asRoot.stderr, /refusing to start the tree as host root/);
  const ok = spawnSync((built as { path: string }).path, ['--host', `km-setup 1\ncgroup\t-\t${procs}\nuser\t-\t65534\t65534\n`, '--', 'sh', '-c', 'id -u; id -G'], { encoding: 'utf8' });
  assert.deepEqual([ok.status, ok.stdout, readFileSync(procs, 'utf8')], [0, '65534\n65534\n', `${ok.pid}\n`]);
});

test('the host plan: user namespace, v2 cgroup, v1 joins, staging, ids', () => {
  const plan = hostPlan({
    userns: { fd: 5, uid: 100000, gid: 100000, innerUid: 1000, sandboxHostId: 100001 },
    cgroup2: '/sys/fs/cgroup/unified/km-x', cgroupProcs: ['/sys/fs/cgroup/pids/km-x/cgroup.procs'],
    stageRoot: '/run', stageDir: '/run/kmstage', staged: ['/var/lib/km home/sandboxes/x', '/opt/km/bin/km-setup'], user: { uid: 100000, gid: 100000 },
  });
  assert.equal(plan, [
    'km-setup 1',
    'userns\t-\t5\t100000\t100000\t1000\t100001',
    'cgroup2\t-\t/sys/fs/cgroup/unified/km-x',
    'cgroup\t-\t/sys/fs/cgroup/pids/km-x/cgroup.procs',
    'mount-ns\t-',
    'stage-tmpfs\t-\t/run',
    'stage\t-\t/var/lib/km home/sandboxes/x\t/run/kmstage/0',
    'stage\t-\t/opt/km/bin/km-setup\t/run/kmstage/1',
    'user\t-\t100000\t100000',
    '',
  ].join('\n'));
});

test('km-setup needs a 5.12 kernel (mount_setattr)', () => {
  assert.equal(kernelSupportsSetupHelper('6.18.44'), true);
  assert.equal(kernelSupportsSetupHelper('5.12.0-1-amd64'), true);
  assert.equal(kernelSupportsSetupHelper('5.11.22'), false);
  assert.equal(kernelSupportsSetupHelper('4.19.0'), false);
});
