/**
 * Sandboxes outlive the process that created them (ARCHITECTURE decision 1), operator mounts
 * behave as declared, and cgroup limits hold (root only).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLocalSubstrate, localSubstrateAvailability } from '../index.ts';
import { innerPid, isAlive, namespaceMembers, readStat, waitFor } from './proctree.ts';
import { runIn, scratch } from './test-helpers.ts';

const avail = localSubstrateAvailability();
const skip = avail.ok ? false : `local substrate unavailable: ${avail.reason}`;

/**
 * Command lines of the sandbox's processes: the bwrap processes started for it (found by
 * their `--hostname <id>` argument) and every member of their PID namespaces.
 */
function treeProcesses(id: string): string[] {
  const cmd = (pid: number): string => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return '';
    }
  };
  const bwraps = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => cmd(pid).includes(`--hostname ${id} `));
  const all = new Set<number>(bwraps);
  // Only bwrap's PID 1 sits in the sandbox's PID namespace (the monitor is in ours).
  for (const pid of bwraps.filter((p) => innerPid(p) === 1)) for (const m of namespaceMembers(pid)) all.add(m);
  return [...all].map(cmd).filter((c) => c !== '');
}

describe('local substrate: daemon exit, mounts, limits', { skip, concurrency: false }, () => {
  const s = scratch('km-outlive-');
  const sub = createLocalSubstrate({ kmHome: s.kmHome });
  after(async () => {
    for (const id of ['lo-00000001', 'lo-00000002', 'lo-00000003', 'lo-00000005', 'lo-00000006', 'lo-00000007', 'lo-00000008', 'lo-00000009', 'lo-0000000a', 'lo-0000000b']) await sub.destroy(id).catch(() => undefined);
    s.cleanup();
  });

  test('a sandbox created by a process that then exits keeps running and is adoptable', async () => {
    const spec = s.spec('lo-00000001');
    const creator = `
      import { createLocalSubstrate } from ${JSON.stringify(new URL('../index.ts', import.meta.url).pathname)};
      const sub = createLocalSubstrate({ kmHome: ${JSON.stringify(s.kmHome)} });
      const info = await sub.create(${JSON.stringify(spec)});
      const h = await sub.exec(info.id, ['sh', '-c', 'echo before-exit > /workspace/mark'], { stdio: 'ignore' });
      process.stdout.write(String(await h.exit));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', creator], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '0');
    const info = await sub.adopt(spec.id, spec.stateDir);
    assert.equal(info.status, 'running');
    assert.equal((await runIn(sub, spec.id, ['cat', '/workspace/mark'])).stdout, 'before-exit\n');
  });

  test('operator mounts: read-write and read-only as declared', async () => {
    const rw = join(s.kmHome, 'share-rw');
    const ro = join(s.kmHome, 'share-ro');
    mkdirSync(rw);
    mkdirSync(ro);
    // Under a root kmd the tree runs as a dedicated host uid: a writable mount must be
    // writable by it on the host (unprivileged, the tree is kmd's own uid).
    chmodSync(rw, 0o777);
    chmodSync(ro, 0o755);
    writeFileSync(join(ro, 'readme'), 'read only\n');
    const spec = s.spec('lo-00000002', {
      mounts: [
        { hostPath: rw, path: '/mnt/shared', readOnly: false },
        { hostPath: ro, path: '/workspace/ref', readOnly: true },
      ],
    });
    await sub.create(spec);
    assert.equal((await runIn(sub, spec.id, ['sh', '-c', 'echo from-sandbox > /mnt/shared/out'])).code, 0);
    assert.equal(readFileSync(join(rw, 'out'), 'utf8'), 'from-sandbox\n');
    assert.equal((await runIn(sub, spec.id, ['cat', '/workspace/ref/readme'])).stdout, 'read only\n');
    const w = await runIn(sub, spec.id, ['sh', '-c', 'echo x > /workspace/ref/new'], { root: true });
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /Read-only file system/);
    assert.ok(!existsSync(join(ro, 'new')));
  });

  test('a setup failure is reported with its reason and leaves nothing behind', async () => {
    const missing = s.spec('lo-00000005', { mounts: [{ hostPath: join(s.kmHome, 'does-not-exist'), path: '/mnt/x', readOnly: true }] });
    await assert.rejects(sub.create(missing), { code: 'substrate_unavailable' });
    assert.ok(!existsSync(missing.stateDir));
    // /usr/share belongs to host root, which is never mapped inside: the mount point cannot be made.
    const bad = s.spec('lo-00000006', { mounts: [{ hostPath: s.gatewayDir, path: '/usr/share/km-no-such-dir', readOnly: true }] });
    await assert.rejects(sub.create(bad), (e: Error & { code?: string }) => e.code === 'substrate_unavailable' && /cannot mount \/usr\/share\/km-no-such-dir/.test(e.message));
    assert.ok(!existsSync(bad.stateDir));
    assert.ok(await waitFor(() => treeProcesses('lo-00000006').length === 0, 3000), 'no process of the failed tree survives');
  });

  test('a tree whose holder was killed is ended by stop and restarted by resume', async () => {
    const spec = s.spec('lo-00000009');
    const info = await sub.create(spec);
    const oldInit = { pid: info.pid as number, startTime: readStat(info.pid as number)?.startTime ?? -1 };
    assert.ok(isAlive(oldInit));
    await runIn(sub, spec.id, ['sh', '-c', 'kill -9 $(pgrep -f "^sleep infinity$")'], { root: true });
    assert.ok(await waitFor(() => !treeProcesses(spec.id).some((c) => c.startsWith('sleep')), 3000), 'holder gone');
    assert.equal(await sub.status(spec.id), 'stopped');
    assert.ok(treeProcesses(spec.id).length > 0, 'PID 1 and the bridges are still there');
    await sub.resume(spec.id);
    assert.equal(await sub.status(spec.id), 'running');
    assert.equal((await runIn(sub, spec.id, ['true'])).code, 0);
    assert.ok(await waitFor(() => !isAlive(oldInit), 3000), 'the half-dead tree was ended');
    await sub.stop(spec.id, { graceMs: 0 });
    assert.ok(await waitFor(() => treeProcesses(spec.id).length === 0, 3000));
  });

  test('clone: a copied writable layer keeps files and owners', async () => {
    const src = s.spec('lo-00000007');
    await sub.create(src);
    await runIn(sub, src.id, ['sh', '-c', 'echo mine > /workspace/w.txt && mkdir -p /home/sandbox/.cfg']);
    await runIn(sub, src.id, ['sh', '-c', 'echo sys > /etc/km-clone-probe'], { root: true });
    await sub.pause(src.id);
    const image = join(s.kmHome, 'layer-image');
    await sub.snapshotLayer?.(src.id, image);
    await sub.resume(src.id);
    const copy = s.spec('lo-00000008', { copyLayerFrom: image });
    await sub.create(copy);
    const r = await runIn(sub, copy.id, ['sh', '-c', 'cat /workspace/w.txt /etc/km-clone-probe; stat -c %U /workspace /workspace/w.txt /etc/km-clone-probe; echo more >> /workspace/w.txt && echo appended']);
    // Unprivileged, root inside and sandbox share one host id (index.ts): both show as sandbox.
    const rootOwner = process.getuid?.() === 0 ? 'root' : 'sandbox';
    assert.equal(r.stdout, `mine\nsys\nsandbox\nsandbox\n${rootOwner}\nappended\n`, r.stderr);
  });

  test('clone: a symlink root inside put in place of /mnt or /home is copied as a link, never followed on the host', async () => {
    // A host directory the sandbox cannot see (its /tmp is its own), readable on the host.
    const secretDir = join(s.kmHome, 'host-secret');
    mkdirSync(secretDir, { recursive: true });
    writeFileSync(join(secretDir, 'secret.txt'), 'host secret\n');
    chmodSync(secretDir, 0o755);
    const src = s.spec('lo-0000000a');
    await sub.create(src);
    const planted = await runIn(sub, src.id, ['sh', '-c', `rm -rf /mnt /home && ln -s ${secretDir} /mnt && ln -s ${secretDir} /home && cat /mnt/secret.txt`], { root: true });
    assert.notEqual(planted.stdout, 'host secret\n', 'control: the sandbox itself cannot read it');
    const image = join(s.kmHome, 'planted-image');
    await sub.pause(src.id);
    await sub.snapshotLayer?.(src.id, image);
    await sub.resume(src.id);
    for (const d of ['mnt', 'home']) {
      const at = join(image, 'rootfs', d);
      assert.ok(lstatSync(at).isSymbolicLink(), `${d} stays a link in the layer`);
      assert.equal(readlinkSync(at), secretDir);
    }
    const found = spawnSync('find', ['-P', image, '-name', 'secret.txt'], { encoding: 'utf8' });
    assert.equal(found.stdout, '', 'no host file was copied into the layer');
    const copy = s.spec('lo-0000000b', { copyLayerFrom: image });
    await sub.create(copy);
    const r = await runIn(sub, copy.id, ['sh', '-c', 'readlink /mnt /home; cat /mnt/secret.txt /home/secret.txt 2>/dev/null; echo end'], { root: true });
    assert.equal(r.stdout, `${secretDir}\n${secretDir}\nend\n`, r.stderr);
  });

  test('without nftables capture nothing is routable at all', async () => {
    const plain = createLocalSubstrate({ kmHome: s.kmHome, capture: false });
    const spec = s.spec('lo-00000004');
    try {
      const info = await plain.create(spec);
      assert.equal(info.features.transparent, false);
      assert.ok(info.warnings.some((w) => w.includes('transparent capture unavailable')));
      const r = await runIn(plain, spec.id, ['python3', '-c', "import socket;socket.create_connection(('10.200.1.1',80),timeout=2)"]);
      assert.match(r.stderr, /Network is unreachable/);
      assert.equal((await runIn(plain, spec.id, ['ip', 'route'])).stdout, '');
    } finally {
      await plain.destroy(spec.id);
    }
  });

  test('memory limit: an allocation beyond it is killed', { skip: process.getuid?.() === 0 ? false : 'needs root (cgroups)' }, async () => {
    const info = await sub.create(s.spec('lo-00000003', { limits: { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 256 } }));
    assert.notEqual(info.features.cgroups, 'none');
    assert.deepEqual(info.features.limits, { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 256 });
    const r = await runIn(sub, info.id, ['python3', '-c', 'x = bytearray(200 * 1024 * 1024); print(len(x))']);
    assert.equal(r.code, 137, `expected an OOM kill, got ${r.code}: ${r.stderr}`);
    const small = await runIn(sub, info.id, ['python3', '-c', 'x = bytearray(16 * 1024 * 1024); print(len(x))']);
    assert.equal(small.stdout.trim(), String(16 * 1024 * 1024));
  });
});
