/**
 * The DNS filter behind the bridges a sandbox uses (socat UDP/TCP → unix socket), and
 * checked with real clients: node:dns and dig.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../core/clock.ts';
import { compilePolicy, decideDns } from '../../policy/index.ts';
import { policyInput } from '../../policy/test-input.ts';
import { createDnsFilter, type DnsFilterHandle } from './index.ts';
import { edeOf, query, rcodeOf, streamAsk, udpAsk } from './test-client.ts';
import { startFakeUpstream, type FakeUpstream } from './test-upstream.ts';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const HAS_SOCAT = has('socat');
const HAS_DIG = has('dig');

const policy = compilePolicy(policyInput({ suffixes: ['allowed.test'] }), { sandboxId: 'sb-00000002' });
let up: FakeUpstream;
let filter: DnsFilterHandle;
let dir: string;
const children: ChildProcess[] = [];

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Start socat and wait until its listening side answers a DNS query. */
async function startSocat(args: string[], ready: () => Promise<boolean>): Promise<void> {
  const child = spawn('socat', args, { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 50; i++) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`socat ${args.join(' ')} did not come up`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'km-dns-'));
  up = await startFakeUpstream();
  up.records.set('www.allowed.test', [{ type: 'A', data: '203.0.113.7' }]);
  filter = await createDnsFilter(
    { decide: (n) => decideDns(policy, n), onEvent: () => undefined, clock: systemClock },
    {
      upstreams: [{ host: '127.0.0.1', port: up.port }],
      timeoutMs: 500,
      udp: {},
      unixDatagramPerConnection: join(dir, 'dns.sock'),
      unixStream: join(dir, 'dns-tcp.sock'),
    },
  );
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await filter?.close();
  await up?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('unix socket listeners', () => {
  test('the handle reports the socket paths', () => {
    assert.equal(filter.unixDatagramPerConnection, join(dir, 'dns.sock'));
    assert.equal(filter.unixStream, join(dir, 'dns-tcp.sock'));
  });

  test('one raw message per connection (direct)', async () => {
    const ans = await new Promise<Buffer>((resolve, reject) => {
      const c = net.connect(join(dir, 'dns.sock'));
      const chunks: Buffer[] = [];
      c.on('connect', () => c.write(query('www.allowed.test', 'A', { id: 77 })));
      c.on('data', (d) => chunks.push(d));
      c.on('end', () => resolve(Buffer.concat(chunks)));
      c.on('error', reject);
    });
    assert.equal(ans.readUInt16BE(0), 77);
    assert.equal(rcodeOf(ans), 0);
  });

  test('TCP framing over the unix stream socket (direct)', async () => {
    const ans = await streamAsk(join(dir, 'dns-tcp.sock'), query('evil.example', 'A', { edns: 1232 }));
    assert.ok(ans);
    assert.equal(rcodeOf(ans), 3);
    assert.equal(edeOf(ans)?.code, 15);
  });

  test('through socat UDP4-RECVFROM,fork → UNIX-CONNECT, with node:dns', { skip: HAS_SOCAT ? false : 'needs socat (apt-get install socat)' }, async () => {
    const port = await freeUdpPort();
    await startSocat([`UDP4-RECVFROM:${port},bind=127.0.0.1,fork`, `UNIX-CONNECT:${join(dir, 'dns.sock')}`], async () =>
      (await udpAsk(port, query('km.internal', 'A'), 200)) !== null,
    );
    const r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    assert.deepEqual(await r.resolve4('www.allowed.test'), ['203.0.113.7']);
    await assert.rejects(r.resolve4('evil.example'), { code: 'ENOTFOUND' });
  });

  test('through socat TCP-LISTEN,fork → UNIX-CONNECT', { skip: HAS_SOCAT ? false : 'needs socat (apt-get install socat)' }, async () => {
    const port = await freeTcpPort();
    await startSocat([`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${join(dir, 'dns-tcp.sock')}`], async () =>
      (await streamAsk(port, query('km.internal', 'A'), 200)) !== null,
    );
    const ans = await streamAsk(port, query('www.allowed.test', 'A', { id: 4711 }));
    assert.ok(ans);
    assert.equal(ans.readUInt16BE(0), 4711);
    assert.equal(rcodeOf(ans), 0);
  });
});

describe('dig', { skip: HAS_DIG ? false : 'needs dig (apt-get install dnsutils)' }, () => {
  const dig = (...args: string[]): Promise<string> =>
    new Promise((resolve) => {
      const c = spawn('dig', [`@127.0.0.1`, '-p', String(filter.udp!.port), '+tries=1', '+time=2', ...args]);
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', () => resolve(out));
    });

  test('allowed name answered', async () => {
    const out = await dig('www.allowed.test', 'A', '+noall', '+answer');
    assert.match(out, /www\.allowed\.test\.\s+\d+\s+IN\s+A\s+203\.0\.113\.7/);
  });

  test('denied name: NXDOMAIN with the Blocked EDE', async () => {
    const out = await dig('evil.example', 'A');
    assert.match(out, /status: NXDOMAIN/);
    assert.match(out, /EDE: 15 \(Blocked\): \(km: not allowed by profile\)/);
  });

  test('CH class refused', async () => {
    const out = await dig('version.bind', 'TXT', 'CH');
    assert.match(out, /status: REFUSED/);
  });
});
