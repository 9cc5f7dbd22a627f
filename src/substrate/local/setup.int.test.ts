/**
 * km-setup and the bash setup build the same sandbox: the same mount table (mount points, fs
 * types, ro/nosuid/nodev/noexec), network, processes and capabilities, warnings and failure
 * messages; and a layer the workload wrote at an earlier start cannot steer the setup into
 * the setup view (symlinks). Runs as whoever runs the suite; as root it finishes by running
 * this file again as a fresh non-root user.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { nativeHelper } from '../../native/index.ts';
import { createLocalSubstrate, localSubstrateAvailability } from '../index.ts';
import type { SandboxSpec, Substrate } from '../index.ts';
import { namespaceMembers } from './proctree.ts';
import { procNetLocal } from './init-script.ts';
import { freshUserSkip, runAsFreshUser, runIn, scratch } from './test-helpers.ts';

const avail = localSubstrateAvailability();
const built = nativeHelper('km-setup');
const skip = !avail.ok ? `local substrate unavailable: ${avail.reason}` : 'reason' in built ? built.reason : false;

/** `mountpoint fstype ro,nosuid,…` per line, in mount order; the per-mount flags only. */
function mountTable(mountinfo: string): string[] {
  return mountinfo.trim().split('\n').map((line) => {
    const [pre = '', post = ''] = line.split(' - ');
    const f = pre.split(' ');
    const flags = (f[5] ?? '').split(',').filter((o) => ['ro', 'rw', 'nosuid', 'nodev', 'noexec'].includes(o));
    return `${f[4]} ${post.split(' ')[0]} ${flags.join(',')}`;
  });
}

/** Each process of the sandbox seen from the host: name, ids and capability sets, sorted. */
function processes(initPid: number): string[] {
  const keys = ['Uid', 'Gid', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs'];
  return namespaceMembers(initPid).map((pid) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k: string): string => new RegExp(`^${k}:\\s+(.*)$`, 'm').exec(status)?.[1]?.replace(/\s+/g, ' ') ?? '?';
    return [readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), ...keys.map((k) => `${k}=${get(k)}`)].join(' ');
  }).sort();
}

describe('km-setup and the bash setup', { skip, concurrency: false }, () => {
  const s = scratch('km-setup-');
  const viaHelper = createLocalSubstrate({ kmHome: s.kmHome });
  const viaBash = createLocalSubstrate({ kmHome: s.kmHome, setupHelper: null });
  const both = [['km-setup', viaHelper], ['bash', viaBash]] as const;
  // Operator mounts and masks of both kinds (directory and file), under an overlaid base dir.
  const shared = mkdtempSync('/var/tmp/km-setup-shared-');
  // Also when a name filter leaves every test out (no after hooks run then).
  process.once('exit', () => rmSync(shared, { recursive: true, force: true }));
  chmodSync(shared, 0o755);
  for (const d of ['ro', 'rw', 'real/secret']) mkdirSync(join(shared, d), { recursive: true });
  chmodSync(join(shared, 'rw'), 0o777);
  writeFileSync(join(shared, 'ro', 'readme'), 'read only\n');
  writeFileSync(join(shared, 'masked-file'), 'hidden\n');
  writeFileSync(join(shared, 'real', 'secret', 'data'), 'secret\n');
  writeFileSync(join(shared, 'visible'), 'visible\n');
  symlinkSync(join(shared, 'real'), join(shared, 'link'));
  const masked = createLocalSubstrate({
    kmHome: s.kmHome,
    extraMasks: [join(shared, 'masked-file'), join(shared, 'link', 'secret')],
  });
  const maskedBash = createLocalSubstrate({ kmHome: s.kmHome, setupHelper: null, extraMasks: [join(shared, 'masked-file'), join(shared, 'link', 'secret')] });
  const spec = (id: string, extra: Partial<SandboxSpec> = {}): SandboxSpec => s.spec(id, {
    mounts: [
      { hostPath: join(shared, 'ro'), path: '/workspace/ref dir', readOnly: true },
      { hostPath: join(shared, 'rw'), path: '/mnt/it\'s "rw"', readOnly: false },
    ],
    ...extra,
  });
  const made: Array<[Substrate, string]> = [];
  const create = async (sub: Substrate, id: string, extra: Partial<SandboxSpec> = {}) => {
    made.push([sub, id]);
    return sub.create(spec(id, extra));
  };
  after(async () => {
    for (const [sub, id] of made) await sub.destroy(id).catch(() => undefined);
    s.cleanup();
    rmSync(shared, { recursive: true, force: true });
  });

  test('the same mount table, network, processes and capabilities', async () => {
    const seen: Record<string, { mounts: string[]; net: string; procs: string[] }> = {};
    for (const [name, sub] of both) {
      const id = name === 'bash' ? 'sb-0000000b' : 'sh-0000000a';
      const info = await create(sub, id);
      const plan = existsSync(join(info.stateDir, 'setup.plan'));
      assert.equal(plan, name === 'km-setup', `${name}: setup.plan only with km-setup`);
      assert.equal(existsSync(join(info.stateDir, 'init.sh')), name === 'bash', `${name}: init.sh only with bash`);
      const mounts = mountTable((await runIn(sub, id, ['cat', '/proc/self/mountinfo'], { root: true })).stdout);
      const net = (await runIn(sub, id, ['sh', '-c', 'ip -o addr show; ip route show; cat /proc/net/route'], { root: true })).stdout;
      seen[name] = { mounts, net, procs: processes(info.pid as number) };
      assert.equal(info.features.transparent, avail.nft, `${name}: capture where nft exists`);
    }
    const [a, b] = [seen['km-setup'], seen.bash];
    assert.ok(a && b);
    assert.deepEqual(a.mounts, b.mounts);
    assert.ok(a.mounts.includes('/workspace/ref\\040dir ext4 ro,nosuid,nodev'), a.mounts.join('\n'));
    assert.ok(a.mounts.some((m) => m.startsWith('/proc/sys proc ro,nosuid,nodev,noexec')), 'proc covers');
    assert.ok(a.mounts.some((m) => /^\/etc\/passwd \S+ ro,nosuid,nodev$/.test(m)), 'etc binds');
    assert.equal(a.net, b.net);
    if (avail.nft) assert.match(a.net, /default dev lo scope link src 198\.18\.0\.2/);
    assert.deepEqual(a.procs, b.procs);
    assert.equal(a.procs.filter((p) => p.startsWith('socat ')).length, avail.nft ? 5 : 4);
    // The bridges on :53 and :80 keep NET_BIND_SERVICE (0x400) and nothing else; the rest none.
    for (const p of a.procs.filter((x) => !x.startsWith('bwrap '))) assert.match(p, /CapEff=0{13}(000|400) CapBnd=0{13}(000|400) CapAmb=0{16} NoNewPrivs=1$/, p);
  });

  test('no process the workload may trace holds a file open: the holder\'s streams are /dev/null, not sandbox.log', async () => {
    // ptrace reaches the processes of the workload's uid in its own user namespace (no
    // capabilities needed); whatever they hold open, the workload can write through them.
    const nullDev = statSync('/dev/null').rdev;
    const uidOf = (pid: number): string | undefined => /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const nsOf = (pid: number): string => readlinkSync(`/proc/${pid}/ns/user`);
    for (const [name, sub] of both) {
      const id = name === 'bash' ? 'sd-0000000b' : 'sd-0000000a';
      const info = await create(sub, id);
      const members = namespaceMembers(info.pid as number);
      const holder = members.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
      assert.ok(holder !== undefined, `${name}: the holder runs`);
      const traceable = members.filter((pid) => uidOf(pid) === uidOf(holder) && nsOf(pid) === nsOf(holder));
      assert.ok(traceable.includes(holder));
      for (const pid of traceable) {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          const path = `/proc/${pid}/fd/${fd}`;
          const st = statSync(path);
          const harmless = (st.isCharacterDevice() && st.rdev === nullDev) || st.isFIFO() || st.isSocket();
          assert.ok(harmless, `${name}: ${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()} (pid ${pid}) holds fd ${fd} on ${readlinkSync(path)}`);
        }
      }
      assert.deepEqual([0, 1, 2].map((fd) => statSync(`/proc/${holder}/fd/${fd}`).rdev), [nullDev, nullDev, nullDev], `${name}: the holder's streams`);
      // What the setup itself reports still reaches the log.
      assert.ok(existsSync(join(info.stateDir, 'sandbox.log')), `${name}: sandbox.log`);
    }
  });

  test('when create returns, every bridge already listens (a workload\'s first connection never meets a closed port)', async () => {
    for (const [name, sub] of both) {
      for (let i = 0; i < 3; i++) {
        const id = `sr-0000${name === 'bash' ? 'b' : 'a'}00${i}`;
        const info = await create(sub, id);
        // Read at once, from the host: the sandbox's own network namespace, as its bridges see it.
        const tcp = readFileSync(`/proc/${info.pid}/net/tcp`, 'utf8');
        const udp = readFileSync(`/proc/${info.pid}/net/udp`, 'utf8');
        await sub.destroy(id);
        const local = (table: string, state: string | null): string[] =>
          [...table.matchAll(/^\s*\d+: ([0-9A-F]{8}:[0-9A-F]{4}) [0-9A-F]{8}:[0-9A-F]{4} ([0-9A-F]{2})/gm)].filter((m) => state === null || m[2] === state).map((m) => m[1]!);
        const want = ['tcp:127.0.0.1:3128', 'tcp:127.0.0.1:53', 'tcp:127.0.0.2:80', 'udp:127.0.0.1:53', ...(info.features.transparent ? ['tcp:127.0.0.1:3129'] : [])];
        for (const w of want) {
          const [proto, hex] = procNetLocal(w).split('/') as [string, string];
          assert.ok(local(proto === 'tcp' ? tcp : udp, proto === 'tcp' ? '0A' : null).includes(hex), `${name}: ${w} not listening when create returned (start ${i})`);
        }
      }
    }
  });

  test('operator mounts and masks behave alike, a symlinked mask path included', async () => {
    for (const [name, sub] of [['km-setup', masked], ['bash', maskedBash]] as const) {
      const id = name === 'bash' ? 'sm-0000000b' : 'sm-0000000a';
      await create(sub, id);
      const r = (argv: string[], rootInside = false) => runIn(sub, id, argv, { root: rootInside });
      assert.equal((await r(['cat', '/workspace/ref dir/readme'])).stdout, 'read only\n', name);
      assert.notEqual((await r(['sh', '-c', 'echo x > "/workspace/ref dir/new"'])).code, 0, `${name}: read-only`);
      assert.equal((await r(['sh', '-c', `echo x > '/mnt/it'"'"'s "rw"/out' && cat '/mnt/it'"'"'s "rw"/out'`])).stdout, 'x\n', name);
      assert.equal((await r(['cat', join(shared, 'visible')])).stdout, 'visible\n', `${name}: the shared dir is visible (control)`);
      for (const hidden of [join(shared, 'masked-file'), join(shared, 'link', 'secret', 'data'), join(shared, 'real', 'secret', 'data')]) {
        const out = await r(['cat', hidden], true);
        assert.equal(out.stdout, '', `${name}: ${hidden} is masked`);
      }
    }
  });

  test('a failing operator mount fails the start with the same message', async () => {
    for (const [name, sub] of both) {
      const id = name === 'bash' ? 'sf-0000000b' : 'sf-0000000a';
      made.push([sub, id]);
      await assert.rejects(
        sub.create(spec(id, { mounts: [{ hostPath: join(shared, 'ro'), path: '/proc/km-no-such-dir', readOnly: true }] })),
        (e: Error) => /failed to start: cannot mount \/proc\/km-no-such-dir$/.test(e.message),
        name,
      );
    }
  });

  test('symlinks planted in the layer: etc files warn, the trust store is never written through them', async () => {
    for (const [name, sub] of both) {
      const id = name === 'bash' ? 'sl-0000000b' : 'sl-0000000a';
      const info = await create(sub, id);
      await sub.stop(id, { graceMs: 0 });
      const upper = join(info.stateDir, 'upper');
      const owner = JSON.parse(readFileSync(join(info.stateDir, 'spec.json'), 'utf8')) as { hostUid: number; hostGid: number };
      // As root inside would have made them: every planted entry belongs to the tree's host uid.
      const dirs = (path: string): void => {
        const parts = path.split('/');
        for (let i = 1; i <= parts.length; i += 1) {
          const d = join(upper, ...parts.slice(0, i));
          if (!existsSync(d)) mkdirSync(d);
          lchownSync(d, owner.hostUid, owner.hostGid);
        }
      };
      const plant = (path: string, target: string): void => {
        dirs(path.split('/').slice(0, -1).join('/'));
        symlinkSync(target, join(upper, path));
        lchownSync(join(upper, path), owner.hostUid, owner.hostGid);
      };
      // Where the base allows the trust store (a writable ca-certificates dir), the bundle is a
      // symlink into the state dir as the setup view shows it (a file the tree could create).
      dirs('usr/local/share/ca-certificates');
      plant('etc/hostname', '/run/kmsetup/state/spec.json');
      plant('etc/ssl/certs/ca-certificates.crt', '/run/kmsetup/state/km-planted.crt');
      const specBefore = readFileSync(join(info.stateDir, 'spec.json'), 'utf8');
      await sub.start(id);
      assert.equal(existsSync(join(info.stateDir, 'km-planted.crt')), false, `${name}: nothing written through the symlink`);
      assert.equal(readFileSync(join(info.stateDir, 'spec.json'), 'utf8'), specBefore, `${name}: spec.json untouched`);
      assert.match(readFileSync(join(info.stateDir, 'sandbox.log'), 'utf8'), /km-init: warning: cannot place \/etc\/hostname/, name);
      assert.equal((await runIn(sub, id, ['cat', '/usr/local/share/ca-certificates/km-sandbox.crt'])).stdout, s.spec(id).caPem, `${name}: the CA joined the store`);
    }
  });

  test('km-setup resolves every target inside the root: a symlinked directory cannot lead into the state dir', async () => {
    const id = 'sk-0000000a';
    const info = await create(viaHelper, id);
    await viaHelper.stop(id, { graceMs: 0 });
    const upper = join(info.stateDir, 'upper');
    const owner = JSON.parse(readFileSync(join(info.stateDir, 'spec.json'), 'utf8')) as { hostUid: number; hostGid: number };
    for (const d of ['usr', 'usr/local', 'usr/local/share']) {
      mkdirSync(join(upper, d), { recursive: true });
      lchownSync(join(upper, d), owner.hostUid, owner.hostGid);
    }
    symlinkSync('/run/kmsetup/state', join(upper, 'usr/local/share/ca-certificates'));
    lchownSync(join(upper, 'usr/local/share/ca-certificates'), owner.hostUid, owner.hostGid);
    await viaHelper.start(id);
    assert.equal(existsSync(join(info.stateDir, 'km-sandbox.crt')), false, 'nothing written into the state dir');
    assert.equal((await runIn(viaHelper, id, ['sh', '-c', 'readlink /usr/local/share/ca-certificates'])).stdout.trim(), '/run/kmsetup/state');
  });
});

describe('km-setup and the bash setup as a non-root user', { skip: skip || freshUserSkip() }, () => {
  test('the suite above passes for a fresh unprivileged user', () => {
    const r = runAsFreshUser(new URL(import.meta.url));
    assert.equal(r.status, 0, `child suite failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.equal(Number(/^# pass (\d+)$/m.exec(r.stdout)?.[1] ?? 0), 7, 'the child ran the seven comparisons');
    assert.match(r.stdout, /# SKIP already unprivileged/, 'the child ran unprivileged');
  });
});
