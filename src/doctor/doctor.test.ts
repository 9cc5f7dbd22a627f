import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCgroupMounts, parseProcCgroup } from './checks-cgroups.ts';
import { renderDoctor } from './render.ts';
import { LOCAL_CHECKS, applyFixes, runChecks, type Fixers } from './run.ts';
import type { CheckResult, CommandRunner, DoctorContext, HostProbe, RunResult, StoreProbe } from './types.ts';

const ok = (stdout = ''): RunResult => ({ code: 0, signal: null, stdout, stderr: '' });
const err = (stderr: string, code = 1): RunResult => ({ code, signal: null, stdout: '', stderr });
const enoent: RunResult = { code: null, signal: null, stdout: '', stderr: 'spawn x ENOENT', error: 'ENOENT' };

const HYBRID_MOUNTS = [
  'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0',
  'cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0',
  'cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,nodev,noexec,relatime,pids 0 0',
  'cgroup /sys/fs/cgroup/freezer cgroup rw,nosuid,nodev,noexec,relatime,freezer 0 0',
  'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0',
  '/dev/vda / ext4 rw,relatime 0 0',
].join('\n');

/** A host where everything works; tests override pieces. */
function fakeCtx(over: { gatekeeper?: string | null; run?: Record<string, RunResult>; files?: Record<string, string>; writable?: boolean; uid?: number; free?: number; store?: Partial<StoreProbe>; path?: string[] } = {}): DoctorContext & { calls: string[] } {
  const calls: string[] = [];
  const runs: Record<string, RunResult> = {
    'unshare --user --map-root-user --net true': ok(),
    'bwrap --version': ok('bubblewrap 0.8.0\n'),
    'bwrap --unshare-all --die-with-parent --ro-bind / / true': ok(),
    'unshare -Urm': ok(),
    'unshare -Urn nft -f -': ok(),
    'tmux -V': ok('tmux 3.3a\n'),
    'socat -V': ok('socat by Gerhard Rieger\nsocat version 1.7.4.4 on 06 Nov 2022\n'),
    ...over.run,
  };
  const run: CommandRunner = async (cmd, args) => {
    const key = [cmd, ...args].join(' ');
    calls.push(key);
    const hit = Object.keys(runs).find((k) => key === k || (k === 'unshare -Urm' && key.startsWith('unshare -Urm ')));
    if (hit === undefined) throw new Error(`unexpected command: ${key}`);
    return runs[hit] as RunResult;
  };
  const files: Record<string, string> = {
    '/proc/self/mounts': HYBRID_MOUNTS,
    '/proc/self/cgroup': '5:memory:/agent\n4:pids:/\n3:freezer:/\n2:cpu,cpuacct:/\n0::/\n',
    '/sys/fs/cgroup/unified/cgroup.controllers': 'hugetlb\n',
    ...over.files,
  };
  const exe = new Set((over.path ?? []).map((n) => `/usr/bin/${n}`));
  const host: HostProbe = {
    readText: async (p) => files[p],
    exists: async (p) => p === '/state' || p in files,
    writable: async () => over.writable ?? true,
    executable: async (p) => exe.has(p),
    writeProbe: async () => (over.writable === false ? 'EACCES: permission denied' : undefined),
    stat: async (p) => (p === '/state' ? { mode: 0o700, uid: 0 } : undefined),
    freeBytes: async () => over.free ?? 50 * 1024 ** 3,
    makeTempDir: async () => '/tmp/km-doctor-x',
    removeDir: async () => {},
  };
  const store: StoreProbe = { exists: false, location: '/state/km.db', ok: true, message: 'not created yet', schemaVersion: null, sandboxes: [], ...over.store };
  return {
    calls,
    env: { PATH: '/usr/bin' },
    stateDir: '/state',
    nodeVersion: 'v24.1.0',
    cliVersion: '1.0.0',
    uid: over.uid ?? 0,
    nowMs: Date.parse('2026-06-01T00:00:00Z'),
    run,
    host,
    daemon: async () => ({ running: false, pid: null, version: null, staleSocket: false, stalePidFile: false, hung: false }),
    store: async () => store,
    config: async () => ({ ok: true, files: [], message: 'no config files; using defaults', hint: null, requireEbpf: false, defaultSubstrate: null }),
    cas: async () => undefined,
    gatekeeper: async () => (over.gatekeeper === undefined ? null : over.gatekeeper),
  };
}

const byName = (rs: CheckResult[]) => Object.fromEntries(rs.map((r) => [r.name, r]));

test('on a capable host every local check passes or skips with a reason', async () => {
  const rs = await runChecks(fakeCtx());
  assert.deepEqual(rs.map((r) => r.name), LOCAL_CHECKS.map((c) => c.name));
  for (const r of rs) {
    assert.ok(r.status === 'pass' || r.status === 'skip', `${r.name}: ${r.status} ${r.message}`);
    assert.ok(r.message.length > 0);
  }
  const m = byName(rs);
  assert.equal(m['stale-sandboxes']?.message, 'no sandboxes yet');
  assert.equal(m['agent-clis']?.message, 'no sandboxes yet');
  assert.match(m.cgroups?.message ?? '', /^hybrid; .*freezer: v1; writable: yes/);
});

test('missing tools and failing namespaces are reported with hints', async () => {
  const ctx = fakeCtx({
    run: {
      'unshare --user --map-root-user --net true': err('unshare: unshare failed: Operation not permitted'),
      'bwrap --version': enoent,
      'unshare -Urn nft -f -': err("unshare: failed to execute nft: No such file or directory", 127),
      'unshare -Urm': err('mount: /tmp/x/merged: permission denied.', 32),
      'tmux -V': enoent,
      'socat -V': enoent,
    },
    gatekeeper: 'cannot build the km-bpf helper: no C compiler (cc); run ./setup with a C compiler installed',
  });
  const m = byName(await runChecks(ctx));
  assert.equal(m['user-namespaces']?.status, 'fail');
  assert.match(m['user-namespaces']?.message ?? '', /Operation not permitted/);
  assert.deepEqual([m.bubblewrap?.status, m.bubblewrap?.hint], ['fail', 'apt-get install bubblewrap']);
  assert.deepEqual([m.nftables?.status, m.nftables?.hint], ['warn', 'apt-get install nftables']);
  assert.equal(m['overlay-in-userns']?.status, 'warn');
  assert.equal(m.tmux?.status, 'fail');
  assert.equal(m.socat?.status, 'warn');
  assert.equal(m.bpf?.status, 'warn');
  assert.ok(!ctx.calls.includes('bwrap --unshare-all --die-with-parent --ro-bind / / true'), 'no bwrap run when bwrap is missing');
});

test('bpf: skipped when not root, failing when require_ebpf is set', async () => {
  assert.equal(byName(await runChecks(fakeCtx({ uid: 1000 }))).bpf?.status, 'skip');
  const ctx = fakeCtx({ uid: 1000 });
  ctx.config = async () => ({ ok: true, files: [], message: '', hint: null, requireEbpf: true, defaultSubstrate: null });
  assert.equal(byName(await runChecks(ctx)).bpf?.status, 'fail');
  const noLoad = fakeCtx({ gatekeeper: 'loading a cgroup/connect program (BPF_PROG_LOAD): Operation not permitted' });
  const r = byName(await runChecks(noLoad)).bpf;
  assert.equal(r?.status, 'warn');
  assert.match(r?.message ?? '', /BPF_PROG_LOAD\): Operation not permitted/);
  assert.match(r?.hint ?? '', /CONFIG_CGROUP_BPF/);
  assert.equal(byName(await runChecks(fakeCtx())).bpf?.status, 'pass');
});

test('disk-space thresholds: warn below 2 GiB, fail below 512 MiB', async () => {
  const at = async (bytes: number) => byName(await runChecks(fakeCtx({ free: bytes })))['disk-space']?.status;
  assert.equal(await at(3 * 1024 ** 3), 'pass');
  assert.equal(await at(1024 ** 3), 'warn');
  assert.equal(await at(100 * 1024 ** 2), 'fail');
});

test('state-dir and cgroups when nothing is writable', async () => {
  const m = byName(await runChecks(fakeCtx({ writable: false })));
  assert.equal(m['state-dir']?.status, 'fail');
  assert.equal(m.cgroups?.status, 'warn');
  assert.match(m.cgroups?.message ?? '', /without cgroup limits/);
});

test('store problems, stale sandboxes, agent CLIs', async () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const damaged = byName(await runChecks(fakeCtx({ store: { exists: true, ok: false, message: 'database is damaged: x' } })));
  assert.equal(damaged.store?.status, 'fail');
  const sandboxes = [
    { id: 'km-00000001', status: 'running', expiresAtMs: now - 3_600_000, updatedAtMs: now },
    { id: 'km-00000002', status: 'failed', expiresAtMs: null, updatedAtMs: now - 2 * 86_400_000 },
    { id: 'km-00000003', status: 'running', expiresAtMs: now + 3_600_000, updatedAtMs: now },
  ];
  const m = byName(await runChecks(fakeCtx({ store: { exists: true, sandboxes }, path: ['claude'] })));
  assert.equal(m['stale-sandboxes']?.status, 'warn');
  assert.match(m['stale-sandboxes']?.message ?? '', /expired but not torn down: km-00000001; failed over a day ago: km-00000002$/);
  assert.equal(m['agent-clis']?.status, 'pass');
  assert.equal(m['agent-clis']?.message, 'found claude; not visible to sandboxes: codex, goose');
  assert.equal(m['ca-expiry']?.status, 'skip');
  const none = byName(await runChecks(fakeCtx({ store: { exists: true, sandboxes: [sandboxes[2] as (typeof sandboxes)[number]] } })));
  assert.equal(none['agent-clis']?.status, 'warn');
  assert.equal(none['stale-sandboxes']?.status, 'pass');
});

test('daemon check: stale files warn, hung fails, version mismatch warns', async () => {
  const with_ = async (d: Partial<Awaited<ReturnType<DoctorContext['daemon']>>>) => {
    const ctx = fakeCtx();
    ctx.daemon = async () => ({ running: false, pid: null, version: null, staleSocket: false, stalePidFile: false, hung: false, ...d });
    return byName(await runChecks(ctx)).daemon;
  };
  assert.equal((await with_({ staleSocket: true, stalePidFile: true }))?.message, 'kmd is not running and left a stale socket and pid file');
  assert.equal((await with_({ hung: true }))?.status, 'fail');
  assert.equal((await with_({ running: true, pid: 7, version: '0.9.0' }))?.status, 'warn');
  assert.equal((await with_({ running: true, pid: 7, version: '1.0.0' }))?.status, 'pass');
});

test('--fix removes stale kmd files and reports it, then re-runs the check', async () => {
  let stale = true;
  const done: string[] = [];
  const fixers: Fixers = {
    clearStaleDaemonFiles: async () => {
      done.push('clear');
      stale = false;
      return ['/state/kmd.sock', '/state/kmd.pid'];
    },
    restartDaemon: async () => {
      done.push('restart');
      return 42;
    },
    tightenStateDir: async () => void done.push('chmod'),
  };
  const make = () => {
    const ctx = fakeCtx();
    ctx.daemon = async () => ({ running: false, pid: null, version: null, staleSocket: stale, stalePidFile: stale, hung: false });
    return ctx;
  };
  const first = await runChecks(make());
  assert.equal(byName(first).daemon?.status, 'warn');
  const { results, fixes } = await applyFixes(first, make(), fixers, make);
  assert.deepEqual(done, ['clear']);
  assert.deepEqual(fixes, [{ check: 'daemon', action: 'remove stale kmd files', ok: true, message: 'removed /state/kmd.sock, /state/kmd.pid' }]);
  assert.equal(byName(results).daemon?.status, 'pass');
});

test('cgroup parsing: v1, v2, hybrid and /proc/self/cgroup', () => {
  assert.equal(parseCgroupMounts(HYBRID_MOUNTS).layout, 'hybrid');
  assert.equal(parseCgroupMounts(HYBRID_MOUNTS).v1.get('memory'), '/sys/fs/cgroup/memory');
  assert.equal(parseCgroupMounts('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0').layout, 'v2');
  assert.equal(parseCgroupMounts('cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0').layout, 'v1');
  assert.equal(parseCgroupMounts('/dev/vda / ext4 rw 0 0').layout, 'none');
  const own = parseProcCgroup('5:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/d\n0::/e\n');
  assert.equal(own.get('memory'), '/a/b');
  assert.equal(own.get('cpuacct'), '/c');
  assert.equal(own.get(''), '/e');
});

test('renderer: aligned, quiet hides passes, hints only for problems, no colour codes when painting is off', () => {
  const id = (s: string) => s;
  const results: CheckResult[] = [
    { name: 'node', status: 'pass', message: 'Node.js v24', hint: null },
    { name: 'disk-space', status: 'warn', message: '1.0 GiB free', hint: 'free some' },
    { name: 'tmux', status: 'fail', message: 'missing', hint: 'apt-get install tmux' },
  ];
  const text = renderDoctor(results, [], { quiet: false, paint: { green: id, yellow: id, red: id, dim: id } });
  assert.equal(
    text,
    [
      '✓ pass  node        Node.js v24',
      '! warn  disk-space  1.0 GiB free',
      '                    hint: free some',
      '✗ fail  tmux        missing',
      '                    hint: apt-get install tmux',
      '3 checks: 1 pass, 1 warn, 1 fail, 0 skip',
      '',
    ].join('\n'),
  );
  const quiet = renderDoctor(results, [], { quiet: true, paint: { green: id, yellow: id, red: id, dim: id } });
  assert.ok(!quiet.includes('node'));
  assert.ok(!/\x1b\[/.test(text));
});

test('--fix restarts a kmd of another version and leaves passing checks alone', async () => {
  let version = '0.9.0';
  const done: string[] = [];
  const fixers: Fixers = {
    clearStaleDaemonFiles: async () => [],
    restartDaemon: async () => {
      done.push('restart');
      version = '1.0.0';
      return 43;
    },
    tightenStateDir: async () => void done.push('chmod'),
  };
  const make = () => {
    const ctx = fakeCtx();
    ctx.daemon = async () => ({ running: true, pid: 43, version, staleSocket: false, stalePidFile: false, hung: false });
    return ctx;
  };
  const first = await runChecks(make());
  const { results, fixes } = await applyFixes(first, make(), fixers, make);
  assert.deepEqual(done, ['restart']);
  assert.deepEqual(fixes.map((f) => [f.check, f.action, f.ok, f.message]), [['daemon', 'restart kmd', true, 'kmd restarted (pid 43)']]);
  assert.equal(byName(results).daemon?.status, 'pass');
  const failing: Fixers = { ...fixers, restartDaemon: async () => Promise.reject(new Error('no luck')) };
  version = '0.9.0';
  const again = await applyFixes(first, make(), failing, make);
  assert.deepEqual(again.fixes.map((f) => [f.ok, f.message]), [[false, 'no luck']]);
});

test('stale-sandboxes: processes gone per the substrate; policy-kept and already-stopped expiries are not stale', async () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const hourAgo = now - 3_600_000;
  const sandboxes = [
    { id: 'sb-00000001', status: 'running', expiresAtMs: now + 3_600_000, updatedAtMs: now, substrate: 'local', teardownPolicy: 'destroy', locked: false },
    { id: 'sb-00000002', status: 'paused', expiresAtMs: null, updatedAtMs: now, substrate: 'local', teardownPolicy: 'destroy', locked: false },
    { id: 'sb-00000003', status: 'running', expiresAtMs: hourAgo, updatedAtMs: now, substrate: 'local', teardownPolicy: 'retain', locked: false },
    { id: 'sb-00000004', status: 'running', expiresAtMs: hourAgo, updatedAtMs: now, substrate: 'local', teardownPolicy: 'destroy', locked: true },
    { id: 'sb-00000005', status: 'stopped', expiresAtMs: hourAgo, updatedAtMs: now, substrate: 'local', teardownPolicy: 'stop', locked: false },
    { id: 'sb-00000006', status: 'stopped', expiresAtMs: hourAgo, updatedAtMs: now, substrate: 'local', teardownPolicy: 'destroy', locked: false },
    { id: 'sb-00000007', status: 'lost', expiresAtMs: null, updatedAtMs: now, substrate: 'local', teardownPolicy: 'destroy', locked: false },
  ];
  const asked: string[][] = [];
  const ctx = fakeCtx({ store: { exists: true, sandboxes } });
  ctx.processes = async (list) => {
    asked.push(list.map((s) => s.id));
    return { 'sb-00000001': 'stopped', 'sb-00000002': 'paused', 'sb-00000003': 'running', 'sb-00000004': 'missing' };
  };
  const m = byName(await runChecks(ctx));
  assert.deepEqual(asked, [['sb-00000001', 'sb-00000002', 'sb-00000003', 'sb-00000004']], 'only running and paused ones are asked about');
  assert.equal(m['stale-sandboxes']?.status, 'warn');
  assert.equal(
    m['stale-sandboxes']?.message,
    'expired but not torn down: sb-00000006; processes gone: sb-00000001 (running, substrate: stopped), sb-00000004 (running, substrate: missing), sb-00000007 (lost)',
  );
  ctx.processes = async () => ({ 'sb-00000001': 'running', 'sb-00000004': 'running' });
  const healthy = fakeCtx({ store: { exists: true, sandboxes: sandboxes.slice(0, 5) } });
  healthy.processes = ctx.processes;
  assert.equal(byName(await runChecks(healthy))['stale-sandboxes']?.status, 'pass');
});

test('ca-expiry warns for CAs expiring within 7 days and names expired ones', async () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const DAY = 86_400_000;
  const sandboxes = [{ id: 'sb-00000001', status: 'running', expiresAtMs: null, updatedAtMs: now }];
  const ctx = fakeCtx({ store: { exists: true, sandboxes } });
  ctx.cas = async () => [
    { sandboxId: 'sb-00000001', notAfterMs: now + 30 * DAY },
    { sandboxId: 'sb-00000002', notAfterMs: now + 6 * DAY },
    { sandboxId: 'sb-00000003', notAfterMs: now - DAY },
  ];
  const r = byName(await runChecks(ctx))['ca-expiry'];
  assert.equal(r?.status, 'warn');
  assert.equal(r?.message, 'sandbox CA(s) expiring within 7 days: sb-00000002 (expires 2026-06-07T00:00:00Z), sb-00000003 (expired 2026-05-31T00:00:00Z)');
  ctx.cas = async () => [{ sandboxId: 'sb-00000001', notAfterMs: now + 7 * DAY }];
  assert.deepEqual([byName(await runChecks(ctx))['ca-expiry']?.status], ['pass']);
});

test('agent-clis: only CLIs a sandbox can see count (sandbox PATH, no links into hidden dirs)', async () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const ctx = fakeCtx({ store: { exists: true, sandboxes: [{ id: 'sb-00000001', status: 'running', expiresAtMs: null, updatedAtMs: now }] } });
  const exe = new Set(['/usr/local/bin/claude', '/root/.local/bin/goose', '/usr/bin/codex']);
  ctx.env = { PATH: '/root/.local/bin:/usr/local/bin:/usr/bin', HOME: '/root' };
  ctx.host = { ...ctx.host, executable: async (p) => exe.has(p), realPath: async (p) => (p === '/usr/local/bin/claude' ? '/root/.npm/lib/claude/cli.js' : p) };
  const r = byName(await runChecks(ctx))['agent-clis'];
  assert.equal(r?.status, 'pass');
  assert.equal(
    r?.message,
    'found codex; not visible to sandboxes: claude, goose (/usr/local/bin/claude links into /root, which sandboxes cannot see; /root/.local/bin/goose is outside the sandbox PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin))',
  );
  exe.delete('/usr/bin/codex');
  const none = byName(await runChecks(ctx))['agent-clis'];
  assert.equal(none?.status, 'warn');
  assert.match(none?.message ?? '', /^none of claude, codex, goose is visible to sandboxes \(/);
});
