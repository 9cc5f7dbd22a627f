import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { initScript, q } from './init-script.ts';

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
  assert.match(dualScript, /setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs sleep infinity/);
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

test('read-only mounts are bound read-only in one step; bridges and the final waiter drop capabilities', () => {
  // util-linux applies -o ro to a bind by remounting it (one exec instead of two).
  assert.match(script, /mount --rbind -o ro \/run\/kmsetup\/m\/0 '\/run\/kmsetup\/root\/data dir' \|\| fail/);
  assert.match(script, /mount --bind -o ro,nosuid,nodev \/run\/kmsetup\/gw \/run\/kmsetup\/root\/run\/km\n/);
  assert.match(script, /mount --bind -o ro \/run\/kmsetup\/state\/etc\/resolv\.conf/);
  assert.ok(!script.includes('remount'), 'no separate remount steps remain');
  const socats = script.split('\n').filter((l) => l.includes(' socat '));
  assert.equal(socats.length, 5);
  for (const l of socats) assert.match(l, /setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all(,\+net_bind_service)? --no-new-privs/);
  assert.match(script, /exec setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs -- tail --pid=\$HOLDER/);
  assert.match(script, /max_user_namespaces/);
  assert.ok(!script.includes('die-with-parent'));
});
