import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execArgv, exitCodeOf, ttyArgv } from './exec.ts';
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
