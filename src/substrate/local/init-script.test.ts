import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { createServer, type AddressInfo } from 'node:net';
import { endianness } from 'node:os';
import { HOLDER_DETAIL_FN, LISTENING_FN, holderStatusFn, initScript, procNetLocal, q } from './init-script.ts';

const script = initScript({
  base: '/',
  overlays: ['etc', 'usr', 'var'],
  masks: ['/var/lib/km', '/root', "/var/it's"],
  mounts: [{ hostPath: '/srv/data', path: '/data dir', readOnly: true }],
  capture: true,
  dual: false,
});
const dualScript = initScript({ base: '/', overlays: ['usr'], masks: [], mounts: [], capture: false, dual: true });

test('quoting survives single quotes', () => {
  assert.equal(q("a'b"), `'a'\\''b'`);
  const r = spawnSync('bash', ['-c', `printf %s ${q("x'y $HOME `id`")}`], { encoding: 'utf8' });
  assert.equal(r.stdout, "x'y $HOME `id`");
});

test('the generated scripts are valid bash', () => {
  for (const text of [script, dualScript]) {
    const r = spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
});

test('user namespaces: nested holder unprivileged, uid 1000 holder with a zero limit for a root kmd', () => {
  assert.match(script, /unshare --user --map-user=1000 --map-group=1000 --keep-caps/);
  assert.match(script, /echo 1 > \/run\/kmsetup\/root\/proc\/sys\/user\/max_user_namespaces/);
  assert.ok(!dualScript.includes('unshare --user'));
  assert.match(dualScript, /echo 0 > \/run\/kmsetup\/root\/proc\/sys\/user\/max_user_namespaces/);
  assert.match(dualScript, /setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs \/bin\/sh -c 'exec sleep infinity <\/dev\/null >\/dev\/null 2>&1' 3>&- &\n/);
  assert.ok(script.includes(`/bin/sh -c "exec sleep infinity </dev/null >/dev/null 2>&1"'`), 'the nested holder too: no stream left open on sandbox.log');
  assert.ok(!dualScript.includes('CAPTURE=1;'), 'capture off: no nft');
});

test('one overlay per base directory, userxattr, upper/work in the state dir', () => {
  for (const d of ['etc', 'usr', 'var']) {
    assert.ok(script.includes(`lowerdir='/${d}',upperdir='/run/kmsetup/state/upper/${d}',workdir='/run/kmsetup/state/work/${d}'`), d);
  }
  assert.equal(script.match(/-o userxattr/g)?.length, 3);
});

test('masks apply only inside overlaid directories', () => {
  assert.ok(script.includes("'/run/kmsetup/root/var/lib/km'"));
  assert.ok(script.includes(`'/run/kmsetup/root/var/it'\\''s'`));
  assert.ok(!script.includes("'/run/kmsetup/root/root'"), '/root is km-made, never masked');
});

test('read-only mounts are bound read-only, nosuid and nodev in one step; bridges and the final waiter drop capabilities', () => {
  // util-linux applies -o ro to a bind by remounting it (one exec instead of two); the
  // remount sets exactly the flags given, so nosuid,nodev are spelled out (km-setup keeps them).
  assert.match(script, /mount --rbind -o ro,nosuid,nodev \/run\/kmsetup\/m\/0 '\/run\/kmsetup\/root\/data dir' \|\| fail 'cannot mount \/data dir'/);
  assert.match(script, /mount --bind -o ro,nosuid,nodev \/run\/kmsetup\/gw \/run\/kmsetup\/root\/run\/km\n/);
  assert.match(script, /mount --bind -o ro,nosuid,nodev \/run\/kmsetup\/state\/etc\/resolv\.conf/);
  assert.match(script, /mount --bind -o ro,nosuid,nodev,noexec \/run\/kmsetup\/root\/proc\/sys \/run\/kmsetup\/root\/proc\/sys/);
  assert.ok(!script.includes('remount'), 'no separate remount steps remain');
  const socats = script.split('\n').filter((l) => l.includes(' socat '));
  assert.equal(socats.length, 5);
  for (const l of socats) assert.match(l, /setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all(,\+net_bind_service)? --no-new-privs/);
  assert.match(script, /exec setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs -- tail --pid=\$HOLDER/);
  assert.match(script, /max_user_namespaces/);
  assert.ok(!script.includes('die-with-parent'));
});

test('the setup leaves the launcher\'s cwd first; symlinked etc and trust-store targets are skipped', () => {
  const lines = script.split('\n');
  assert.ok(lines.indexOf('cd /') > 0 && lines.indexOf('cd /') < lines.findIndex((l) => l.startsWith('mount ')), 'cd / before any mount or child');
  assert.match(script, /if \[ -f \/run\/kmsetup\/root\/etc\/hosts \] && \[ ! -L \/run\/kmsetup\/root\/etc\/hosts \]; then mount --bind/);
  assert.match(script, /if \[ ! -L \/run\/kmsetup\/root\/usr\/local\/share\/ca-certificates\/km-sandbox\.crt \] && cp /);
  assert.match(script, /\[ -L "\$b" \] \|\| grep -qF/);
});

test('consecutive plain mkdirs are one command; a mount\'s mkdir keeps its failure message', () => {
  assert.ok(script.includes('mkdir -p /run/kmsetup/root/run/km /run/kmsetup/root/run/km-ca\n'));
  assert.ok(script.includes('mkdir -p /run/kmsetup/root/run/lock /run/kmsetup/root/run/user\n'));
  assert.ok(script.includes("mkdir -p '/run/kmsetup/root/data dir' || fail 'cannot mount /data dir'\n"));
});

test('bridges are waited for before ready: the bash check sees a real listening socket, and only while it listens', async () => {
  const ready = script.indexOf('echo "ready $HOLDER $CAPTURE" >&3');
  assert.ok(script.indexOf('BRIDGES+=(tcp/') > 0 && script.indexOf('BRIDGES+=(tcp/') < ready, 'bridges record their address');
  assert.ok(script.indexOf('listening ${b%%/*} ${b#*/} || fail') > 0 && script.indexOf('listening ${b%%/*} ${b#*/} || fail') < ready, 'the wait comes before ready');
  assert.equal(procNetLocal('tcp:127.0.0.1:3128'), endianness() === 'LE' ? 'tcp/0100007F:0C38' : 'tcp/7F000001:0C38');
  assert.equal(procNetLocal('udp:127.0.0.2:53'), endianness() === 'LE' ? 'udp/0200007F:0035' : 'udp/7F000002:0035');
  assert.throws(() => procNetLocal('tcp:localhost:80'), /not a bridge address/);
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const [proto, local] = procNetLocal(`tcp:127.0.0.1:${(server.address() as AddressInfo).port}`).split('/') as [string, string];
  const check = (): number | null => spawnSync('bash', ['-c', `${LISTENING_FN}; listening ${proto} ${local}`]).status;
  assert.equal(check(), 0, 'listening');
  await new Promise<void>((r) => server.close(() => r()));
  assert.equal(check(), 1, 'closed');
});

test('a holder that is not in place is described before the failure: gone with its status, or its state, capabilities and uid', () => {
  assert.ok(script.includes("holder_ready || { holder_detail; fail 'workload namespace did not come up'; }\n"), 'the failure line prints the detail first');
  assert.ok(script.indexOf('HOLDER_T0=') > 0 && script.indexOf('HOLDER_T0=') < script.indexOf('holder_ready || {'), 'the wait is timed from its start');
  const run = (start: string): string => {
    const lines = ['set -e', holderStatusFn('/proc'), HOLDER_DETAIL_FN, start, 'HOLDER=$!', 'HOLDER_T0=${EPOCHREALTIME//[!0-9]/}', 'read -t 0.2 <> <(:) || :', 'holder_detail', 'kill $HOLDER 2>/dev/null || :'];
    const r = spawnSync('bash', ['-c', lines.join('\n')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  };
  assert.match(run('sh -c "exit 3" &'), /^km-init: workload holder: process \d+ exited \(status 3\) within (1\d\d|[2-9]\d\d|\d{4,}) ms\n$/);
  assert.match(run('sleep 30 &'), /^km-init: workload holder: process \d+ not in place after (1\d\d|[2-9]\d\d|\d{4,}) ms \(State S, CapEff [0-9a-f]{16}, Uid \d+\)\n$/);
});
