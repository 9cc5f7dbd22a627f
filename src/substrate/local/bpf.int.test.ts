/**
 * The BPF connect gatekeeper on real sandboxes (root, a C compiler and a kernel that loads
 * cgroup/connect programs): what the workload sees with and without it, and the deny
 * reports. Every non-loopback address here is only attempted from inside the sandbox's own
 * network namespace, which has no route anywhere.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalSubstrate, localSubstrateAvailability } from '../index.ts';
import type { SandboxHandleInfo, Substrate } from '../index.ts';
import type { GatekeeperDeny } from './bpf.ts';
import { gatekeeperUnavailable } from './bpf.ts';
import { waitFor } from './proctree.ts';
import { runIn, scratch } from './test-helpers.ts';

const avail = localSubstrateAvailability();
const skip = !avail.ok
  ? `local substrate unavailable: ${avail.reason}`
  : process.getuid?.() !== 0
    ? 'the BPF gatekeeper needs a root kmd'
    : (gatekeeperUnavailable() ?? false);

/** Prints one `name result` line per attempt: ok, or the errno name. */
const PROBE = String.raw`
import errno, socket, sys
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()
def attempt(name, fam, kind, addr):
    s = socket.socket(fam, kind); s.settimeout(2)
    try:
        s.sendto(b'x', addr) if kind == socket.SOCK_DGRAM else s.connect(addr)
        print(name, 'ok')
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, str(e.errno)))
    s.close()
attempt('loopback', socket.AF_INET, socket.SOCK_STREAM, l.getsockname())
attempt('any', socket.AF_INET, socket.SOCK_STREAM, ('0.0.0.0', l.getsockname()[1]))
attempt('tcp22', socket.AF_INET, socket.SOCK_STREAM, ('10.9.9.9', 22))
attempt('udp9999', socket.AF_INET, socket.SOCK_DGRAM, ('10.9.9.9', 9999))
attempt('mapped22', socket.AF_INET6, socket.SOCK_STREAM, ('::ffff:10.9.9.9', 22))
attempt('mapped_loopback', socket.AF_INET6, socket.SOCK_STREAM, ('::ffff:127.0.0.1', l.getsockname()[1]))
attempt('v6', socket.AF_INET6, socket.SOCK_STREAM, ('2001:db8::1', 22))
attempt('tcp443', socket.AF_INET, socket.SOCK_STREAM, ('10.9.9.9', 443))
`;

/** Pids of km-bpf readers for a cgroup directory. */
function readersOf(cgroupDir: string): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
    try {
      const argv = readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
      return /km-bpf$/.test(argv[0] ?? '') && argv[2] === cgroupDir;
    } catch {
      return false;
    }
  }).map(Number);
}

async function probe(sub: Substrate, id: string): Promise<Map<string, string>> {
  const r = await runIn(sub, id, ['python3', '-c', PROBE]);
  assert.equal(r.code, 0, r.stderr);
  return new Map(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
}

describe('BPF connect gatekeeper', { skip, concurrency: false }, () => {
  const s = scratch('km-bpf-');
  const denies: Array<{ id: string; d: GatekeeperDeny }> = [];
  let sub: Substrate;
  let gated: SandboxHandleInfo;
  let plain: SandboxHandleInfo;

  before(async () => {
    sub = createLocalSubstrate({ kmHome: s.kmHome, onDeny: (id, d) => denies.push({ id, d }) });
    gated = await sub.create(s.spec('bpf-gated', { gatekeeper: true }));
    plain = await sub.create(s.spec('bpf-plain'));
  });
  after(async () => {
    await sub.destroy('bpf-gated').catch(() => undefined);
    await sub.destroy('bpf-plain').catch(() => undefined);
    await sub.close();
    s.cleanup();
  });

  test('the gatekeeper is reported attached only where it was asked for', () => {
    assert.equal(gated.features.gatekeeper, true, gated.warnings.join('; '));
    assert.equal(plain.features.gatekeeper, false);
  });

  test('loopback works; other addresses get EPERM (IPv4-mapped IPv6 judged as IPv4)', async () => {
    const r = await probe(sub, 'bpf-gated');
    assert.equal(r.get('loopback'), 'ok');
    assert.equal(r.get('mapped_loopback'), 'ok');
    assert.equal(r.get('any'), 'ok', '0.0.0.0 is this host: loopback only in the namespace');
    assert.equal(r.get('tcp22'), 'EPERM');
    assert.equal(r.get('udp9999'), 'EPERM');
    assert.equal(r.get('mapped22'), 'EPERM');
    assert.equal(r.get('v6'), 'EPERM');
    // Captured ports pass the gatekeeper and meet nftables / the missing route instead.
    if (gated.features.transparent) assert.notEqual(r.get('tcp443'), 'EPERM');
    else assert.equal(r.get('tcp443'), 'EPERM');
  });

  test('without the gatekeeper the same attempts fail differently (namespace only)', async () => {
    const r = await probe(sub, 'bpf-plain');
    assert.equal(r.get('loopback'), 'ok');
    for (const k of ['tcp22', 'mapped22', 'v6']) {
      assert.notEqual(r.get(k), 'ok', k);
      assert.notEqual(r.get(k), 'EPERM', k);
    }
    // An nftables reject of a datagram also reads EPERM; the gatekeeper adds the deny report.
    assert.notEqual(r.get('udp9999'), 'ok');
  });

  test('denies are reported with address, port, protocol and pid', async () => {
    const mine = () => denies.filter((x) => x.id === 'bpf-gated').map((x) => x.d);
    await waitFor(() => mine().some((d) => d.proto === 'udp'), 5000, 50);
    const tcp = mine().find((d) => d.proto === 'tcp' && d.port === 22 && d.family === 4);
    assert.ok(tcp, JSON.stringify(mine()));
    assert.equal(tcp.addr, '10.9.9.9');
    assert.equal(tcp.op, 'connect');
    assert.ok(tcp.pid > 1);
    assert.ok(mine().some((d) => d.proto === 'udp' && d.port === 9999 && d.op === 'sendmsg' && d.addr === '10.9.9.9'));
    assert.ok(mine().some((d) => d.family === 6 && d.addr === '2001:db8::1'));
    assert.ok(!denies.some((x) => x.id === 'bpf-plain'));
    assert.ok(!mine().some((d) => d.addr.startsWith('127.')));
  });

  test('a restarted kmd (a new substrate adopting the sandbox) still finds it gated and reports denies again', async () => {
    const rt = JSON.parse(readFileSync(join(gated.stateDir, 'runtime.json'), 'utf8')) as { cgroups: { v2: string } };
    await sub.close();
    // The old reader exits with its owner; only then the new one starts (one consumer at a time).
    assert.ok(await waitFor(() => readersOf(rt.cgroups.v2).length === 0, 5000, 25), 'the old km-bpf reader exited');
    sub = createLocalSubstrate({ kmHome: s.kmHome, onDeny: (id, d) => denies.push({ id, d }) });
    const adopted = await sub.adopt('bpf-gated', gated.stateDir);
    await sub.adopt('bpf-plain', plain.stateDir);
    assert.deepEqual([adopted.features.gatekeeper, adopted.warnings], [true, []]);
    assert.equal(readersOf(rt.cgroups.v2).length, 1);
    const before = denies.length;
    assert.equal((await probe(sub, 'bpf-gated')).get('tcp22'), 'EPERM');
    assert.ok(await waitFor(() => denies.slice(before).some((x) => x.d.port === 22), 5000, 25), 'deny reported by the new reader');
  });

  test('stop removes the cgroup with its programs; a restart attaches again', async () => {
    const rt = JSON.parse(readFileSync(join(gated.stateDir, 'runtime.json'), 'utf8')) as { cgroups: { v2: string }; gatekeeper: boolean };
    assert.equal(rt.gatekeeper, true);
    assert.ok(existsSync(rt.cgroups.v2));
    await sub.stop('bpf-gated', { graceMs: 0 });
    assert.equal(existsSync(rt.cgroups.v2), false);
    const again = await sub.start('bpf-gated');
    assert.equal(again.features.gatekeeper, true);
    assert.equal((await probe(sub, 'bpf-gated')).get('tcp22'), 'EPERM');
  });
});
