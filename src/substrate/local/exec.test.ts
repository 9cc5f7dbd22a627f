import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execArgv, execPlan, exitCodeOf, startPlan, ttyArgv } from './exec.ts';
import type { ExecTarget } from './exec.ts';

const base: ExecTarget = { initPid: 4242, holderNsPid: 17, root: false, cwd: '/workspace', env: {}, dual: false, cgroupProcs: [] };

test('workload exec: enters PID 1 namespaces, then the holder user namespace, drops everything', () => {
  const a = execArgv(base, ['id', '-u']);
  assert.deepEqual(a.slice(0, 2), ['/usr/bin/nsenter', '--target=4242']);
  const hop = a.indexOf('--target=17');
  const drop = a.indexOf('--bounding-set=-all');
  assert.ok(hop > 0 && drop > hop, 'second hop before the capability drop');
  assert.ok(a.includes('--no-new-privs') && a.includes('--wdns=/workspace'));
  assert.deepEqual(a.slice(-3), ['--', 'id', '-u']);
});

test('root exec: no second hop, bounding set keeps exactly the file-ownership capabilities', () => {
  const a = execArgv({ ...base, root: true }, ['true']);
  assert.ok(!a.includes('--target=17'));
  assert.ok(a.includes('--bounding-set=-all,+chown,+dac_override,+fowner,+fsetid,+setuid,+setgid,+kill'));
});

test('workload exec: keeps the caller credentials through both hops (unprivileged kmd)', () => {
  const a = execArgv(base, ['true']);
  assert.equal(a.filter((x) => x === '--preserve-credentials').length, 2);
  assert.ok(!a.includes('--reuid=1000'));
});

test('root kmd (dual ids): one hop, setpriv becomes 1000 and empties the bounding set; cgroups joined first', () => {
  const a = execArgv({ ...base, dual: true, cgroupProcs: ["/sys/fs/cgroup/pids/k'm/cgroup.procs"] }, ['true']);
  assert.equal(a[0], '/bin/sh');
  assert.match(a[2] ?? '', /echo \$\$ > '\/sys\/fs\/cgroup\/pids\/k'\\''m\/cgroup\.procs' \|\| exit 125; exec "\$@"/);
  assert.equal(a[4], '/usr/bin/nsenter');
  assert.ok(!a.includes('--preserve-credentials') && !a.includes('--target=17'));
  const sp = a.indexOf('setpriv');
  assert.deepEqual(a.slice(sp + 1, sp + 4), ['--reuid=1000', '--regid=1000', '--clear-groups']);
  assert.ok(a.includes('--bounding-set=-all'));
  const root = execArgv({ ...base, dual: true, root: true }, ['true']);
  assert.ok(!root.includes('--reuid=1000'));
});

test('exit codes: passthrough, 128+signal, 125 when nothing is known', () => {
  assert.equal(exitCodeOf(3, null), 3);
  assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
  assert.equal(exitCodeOf(null, 'SIGTERM'), 143);
  assert.equal(exitCodeOf(null, null), 125);
});

test('tty: argv quoted for the in-sandbox shell of script(1), size applied', () => {
  const a = ttyArgv(['echo', "it's"], { cols: 100.7, rows: 30 });
  assert.deepEqual([a[0], a[1], a[3]], ['script', '-qefc', '/dev/null']);
  assert.equal(a[2], `stty cols 100 rows 30 2>/dev/null; exec 'echo' 'it'\\''s'`);
});

test('plan: the launcher argv and env as exec starts them; signals go to nsenter\'s child, or one deeper under km-spawn', () => {
  const t: ExecTarget = { ...base, env: { PATH: '/usr/bin:/bin', KM_X: '1' } };
  const plain = execPlan(t, ['id']);
  assert.deepEqual(plain.argv, execArgv(t, ['id']));
  assert.deepEqual(plain.env, t.env);
  assert.equal(plain.signalDepth, 0);
  const spawned = execPlan({ ...t, spawnHelper: '/opt/km-spawn', cgroupV2Only: '/sys/fs/cgroup/unified/k' }, ['id']);
  assert.deepEqual(spawned.argv.slice(0, 3), ['/opt/km-spawn', '/sys/fs/cgroup/unified/k', '--']);
  assert.equal(spawned.signalDepth, 1);
  // A helper alone (v1 hierarchies to join) is not used: the shell moves itself.
  assert.equal(execPlan({ ...t, spawnHelper: '/opt/km-spawn', cgroupV2Only: null, cgroupProcs: ['/c/cgroup.procs'] }, ['id']).signalDepth, 0);
  const tty = execPlan(t, ['vi'], { tty: { cols: 80, rows: 24 } });
  assert.deepEqual(tty.argv.slice(-4, -2), ['script', '-qefc']);
});

test('startPlan runs a plan: exit code, env exactly the plan\'s, signal to the given descendant', async () => {
  const quiet = startPlan({ argv: ['/bin/sh', '-c', 'echo "$ONLY${HOME:-nohome}"; exit 3'], env: { ONLY: 'x', PATH: '/usr/bin:/bin' }, signalDepth: 0 });
  let out = '';
  quiet.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  assert.equal(await quiet.exit, 3);
  assert.equal(out, 'xnohome\n');
  // depth 0: the sh's child (sleep) gets the signal, so sh reports it and exits 7.
  const h = startPlan({ argv: ['/bin/sh', '-c', 'sleep 30; echo "child $?"; exit 7'], env: { PATH: '/usr/bin:/bin' }, signalDepth: 0 });
  let said = '';
  h.stdout?.on('data', (b: Buffer) => (said += b.toString()));
  await new Promise((r) => setTimeout(r, 300));
  h.kill('SIGTERM');
  assert.equal(await h.exit, 7);
  assert.equal(said, 'child 143\n');
});
