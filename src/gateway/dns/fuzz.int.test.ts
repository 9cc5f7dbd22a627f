/**
 * Garbage in, no crash out: thousands of random and mutated packets at the UDP and TCP
 * listeners, then a valid query must still be answered. Seeded, so failures reproduce.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { systemClock } from '../../core/clock.ts';
import { compilePolicy, decideDns } from '../../policy/index.ts';
import { policyInput } from '../../policy/test-input.ts';
import { createDnsFilter, type DnsFilterHandle } from './index.ts';
import { query, rcodeOf, streamAsk, udpAsk } from './test-client.ts';
import { startFakeUpstream, type FakeUpstream } from './test-upstream.ts';

/** xorshift32: deterministic bytes for a given seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function packets(seed: number, count: number): Buffer[] {
  const next = rng(seed);
  const valid = [query('www.allowed.test', 'A', { edns: 1232 }), query('evil.example', 'TXT'), query('a.allowed.test', 'AAAA')];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const kind = next() % 3;
    if (kind === 0) {
      out.push(Buffer.from(Array.from({ length: next() % 600 }, () => next() & 0xff)));
    } else {
      const base = Buffer.from(valid[next() % valid.length] as Buffer);
      const flips = 1 + (next() % 6);
      for (let f = 0; f < flips; f++) base[next() % base.length] = next() & 0xff;
      base[2] = (base[2] as number) & 0x7f; // stay a query so more of them reach the parser
      out.push(kind === 1 ? base : base.subarray(0, next() % base.length));
    }
  }
  return out;
}

let up: FakeUpstream;
let filter: DnsFilterHandle;

before(async () => {
  up = await startFakeUpstream();
  up.records.set('www.allowed.test', [{ type: 'A', data: '203.0.113.7' }]);
  const policy = compilePolicy(policyInput({ suffixes: ['allowed.test'] }), { sandboxId: 'sb-00000003' });
  filter = await createDnsFilter(
    { decide: (n) => decideDns(policy, n), onEvent: () => undefined, clock: systemClock },
    { upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 300, udp: {}, tcp: {} },
  );
});

after(async () => {
  await filter?.close();
  await up?.close();
});

test('UDP: 3000 random/mutated datagrams, then a valid query answers', async () => {
  const s = dgram.createSocket('udp4');
  let replies = 0;
  s.on('message', () => replies++);
  for (const p of packets(0xc0ffee, 3000)) {
    await new Promise<void>((r) => s.send(p, filter.udp!.port, '127.0.0.1', () => r()));
  }
  await new Promise((r) => setTimeout(r, 400));
  s.close();
  assert.ok(replies > 0, 'parseable headers get FORMERR or an answer');
  const ans = await udpAsk(filter.udp!.port, query('www.allowed.test', 'A'));
  assert.ok(ans);
  assert.equal(rcodeOf(ans), 0);
});

test('TCP: random frames and raw garbage on many connections, then a valid query answers', async () => {
  const all = packets(0xbadd0e, 2000);
  for (let c = 0; c < 20; c++) {
    await new Promise<void>((resolve) => {
      const sock = net.connect(filter.tcp!.port, '127.0.0.1');
      sock.on('error', () => resolve());
      sock.on('close', () => resolve());
      sock.on('data', () => undefined);
      sock.on('connect', () => {
        for (const p of all.slice(c * 100, c * 100 + 100)) {
          if (c % 2 === 0) {
            const head = Buffer.alloc(2);
            head.writeUInt16BE(p.length, 0);
            sock.write(Buffer.concat([head, p]));
          } else sock.write(p); // unframed garbage
        }
        setTimeout(() => sock.destroy(), 100);
      });
    });
  }
  const ans = await streamAsk(filter.tcp!.port, query('www.allowed.test', 'A'));
  assert.ok(ans);
  assert.equal(rcodeOf(ans), 0);
});
