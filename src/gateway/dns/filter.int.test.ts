import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { systemClock } from '../../core/clock.ts';
import { compilePolicy, decideDns } from '../../policy/index.ts';
import { policyInput } from '../../policy/test-input.ts';
import { BLOCKED_TEXT, createDnsFilter, type DnsFilterHandle, type DnsQueryEvent } from './index.ts';
import { edeOf, query, rcodeOf, streamAsk, tcOf, udpAsk } from './test-client.ts';
import { startFakeUpstream, type FakeUpstream } from './test-upstream.ts';

const policy = compilePolicy(policyInput({ suffixes: ['.allowed.test'], hosts: ['exact.example:8443'] }), { sandboxId: 'sb-00000001' });
const decide = (name: string) => decideDns(policy, name);

let up: FakeUpstream;
let filter: DnsFilterHandle;
const events: DnsQueryEvent[] = [];

function resolver(): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${filter.udp?.port}`]);
  return r;
}

interface Decoded {
  id: number;
  rcode: string;
  answers: Array<{ type: string; ttl: number; data: unknown }>;
  additionals: unknown[];
}
const decoded = (b: Buffer | null): Decoded => {
  assert.ok(b, 'expected an answer');
  return dnsPacket.decode(b) as unknown as Decoded;
};

before(async () => {
  up = await startFakeUpstream();
  up.records.set('www.allowed.test', [
    { type: 'A', data: '203.0.113.7', ttl: 3600 },
    { type: 'AAAA', data: '2001:db8::7', ttl: 60 },
    { type: 'TXT', data: ['hello world'], ttl: 30 },
    { type: 'MX', data: { preference: 10, exchange: 'mx.allowed.test' } },
  ]);
  up.records.set('exact.example', [{ type: 'A', data: '203.0.113.8' }]);
  up.records.set('big.allowed.test', [{ type: 'TXT', data: Array.from({ length: 12 }, (_, i) => `${i}`.repeat(100)) }]);
  up.records.set('tc.allowed.test', [{ type: 'A', data: '203.0.113.9' }]);
  up.truncateUdp.add('tc.allowed.test');
  filter = await createDnsFilter(
    { decide, onEvent: (e) => events.push(e), clock: systemClock },
    {
      upstreams: [{ host: '127.0.0.1', port: up.port }],
      timeoutMs: 500,
      hostOverrides: { 'llm.allowed.test': '127.0.0.1:9999' },
      udp: {},
      tcp: {},
    },
  );
});

after(async () => {
  await filter?.close();
  await up?.close();
});

describe('allowed names are forwarded', () => {
  test('A, AAAA, TXT and MX through node:dns', async () => {
    const r = resolver();
    const before = up.counts.udp;
    assert.deepEqual(await r.resolve4('www.allowed.test'), ['203.0.113.7']);
    assert.deepEqual(await r.resolve6('www.allowed.test'), ['2001:db8::7']);
    assert.deepEqual(await r.resolveTxt('www.allowed.test'), [['hello world']]);
    const mx = await r.resolveMx('www.allowed.test');
    assert.deepEqual(mx.map((m) => [m.exchange, m.priority]), [['mx.allowed.test', 10]]);
    assert.equal(up.counts.udp - before, 4);
  });

  test('an exact allowedHosts entry resolves (§17.12)', async () => {
    assert.deepEqual(await resolver().resolve4('exact.example'), ['203.0.113.8']);
  });

  test('same ID as the client, TTLs capped at 300 s, short TTLs kept', async () => {
    const ans = decoded(await udpAsk(filter.udp!.port, query('www.allowed.test', 'A', { id: 31337 })));
    assert.equal(ans.id, 31337);
    assert.equal(ans.answers[0]?.ttl, 300);
    const txt = decoded(await udpAsk(filter.udp!.port, query('www.allowed.test', 'TXT')));
    assert.equal(txt.answers[0]?.ttl, 30);
  });

  test('upstream NXDOMAIN passes through for allowed names', async () => {
    const ans = await udpAsk(filter.udp!.port, query('nope.allowed.test', 'A'));
    assert.ok(ans);
    assert.equal(rcodeOf(ans), 3);
    assert.equal(edeOf(ans), null);
  });

  test('allow event carries rule, type, rcode and upstream time', async () => {
    await udpAsk(filter.udp!.port, query('www.allowed.test', 'MX'));
    const e = events.findLast((x) => x.detail.name === 'www.allowed.test' && x.detail.type === 'MX');
    assert.ok(e);
    assert.equal(e.detail.decision, 'allow');
    assert.equal(e.detail.rule, 'spec.network.egress.allowedDNSSuffixes[0]');
    assert.equal(e.detail.rcode, 0);
    assert.equal(typeof e.detail.upstream_ms, 'number');
  });
});

describe('denied names', () => {
  test('NXDOMAIN with EDE 15 "Blocked", upstream not contacted', async () => {
    const before = { ...up.counts };
    const ans = await udpAsk(filter.udp!.port, query('evil.example', 'A', { edns: 1232, id: 7 }));
    assert.ok(ans);
    assert.equal(ans.readUInt16BE(0), 7);
    assert.equal(rcodeOf(ans), 3);
    assert.deepEqual(edeOf(ans), { code: 15, text: BLOCKED_TEXT });
    assert.deepEqual(up.counts, before);
    const e = events.findLast((x) => x.detail.name === 'evil.example');
    assert.deepEqual(e?.detail, { name: 'evil.example', type: 'A', decision: 'deny', rule: 'default-deny', rcode: 3 });
  });

  test('without EDNS: NXDOMAIN and no OPT record', async () => {
    const ans = decoded(await udpAsk(filter.udp!.port, query('evilallowed.test', 'A')));
    assert.equal(ans.rcode, 'NXDOMAIN');
    assert.equal(ans.additionals?.length, 0);
  });

  test('node:dns sees ENOTFOUND', async () => {
    await assert.rejects(resolver().resolve4('www.evil.example'), { code: 'ENOTFOUND' });
    assert.ok(!up.asked.includes('www.evil.example'));
  });

  test('reverse lookups are denied without *', async () => {
    const ans = await udpAsk(filter.udp!.port, query('7.113.0.203.in-addr.arpa', 'PTR'));
    assert.ok(ans);
    assert.equal(rcodeOf(ans), 3);
  });

  test('a label hiding a dot cannot pass as a subdomain', async () => {
    // labels ["evil", "com.allowed", "test"]: not under allowed.test on the wire
    const msg = Buffer.concat([
      query('x.test', 'A').subarray(0, 12),
      Buffer.from([4, ...Buffer.from('evil'), 11, ...Buffer.from('com.allowed'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1]),
    ]);
    const ans = await udpAsk(filter.udp!.port, msg);
    assert.ok(ans);
    assert.equal(rcodeOf(ans), 3);
    assert.ok(!up.asked.some((n) => n.includes('evil')));
  });
});

describe('protocol handling', () => {
  test('TC=1 from upstream over UDP is retried over TCP', async () => {
    const tcp = up.counts.tcp;
    const ans = await udpAsk(filter.udp!.port, query('tc.allowed.test', 'A', { edns: 1232 }));
    assert.ok(ans);
    assert.equal(tcOf(ans), false);
    assert.equal(decoded(ans).answers[0]?.data, '203.0.113.9');
    assert.equal(up.counts.tcp - tcp, 1);
  });

  test('answers larger than the client UDP size get TC; TCP clients get everything', async () => {
    const small = await udpAsk(filter.udp!.port, query('big.allowed.test', 'TXT'));
    assert.ok(small);
    assert.equal(tcOf(small), true);
    assert.ok(small.length <= 512);
    const large = await udpAsk(filter.udp!.port, query('big.allowed.test', 'TXT', { edns: 4096 }));
    assert.ok(large);
    assert.equal(tcOf(large), false);
    assert.equal((decoded(large).answers[0]?.data as Buffer[]).length, 12);
    const viaTcp = await streamAsk(filter.tcp!.port, query('big.allowed.test', 'TXT'));
    assert.ok(viaTcp);
    assert.equal(tcOf(viaTcp), false);
    assert.ok(viaTcp.length > 512);
  });

  test('node:dns follows TC over TCP when UDP and TCP share a port', async () => {
    let f: DnsFilterHandle | undefined;
    for (let attempt = 0; attempt < 10 && f === undefined; attempt++) {
      const probe = await createDnsFilter({ decide, onEvent: () => undefined, clock: systemClock }, { upstreams: [], timeoutMs: 100, udp: {} });
      const port = probe.udp!.port;
      await probe.close();
      try {
        f = await createDnsFilter(
          { decide, onEvent: () => undefined, clock: systemClock },
          { upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 500, udp: { port }, tcp: { port } },
        );
      } catch {
        /* port taken meanwhile; try another */
      }
    }
    assert.ok(f, 'could not bind UDP and TCP on one port');
    try {
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers([`127.0.0.1:${f.udp!.port}`]);
      const txt = await r.resolveTxt('big.allowed.test');
      assert.equal(txt[0]?.length, 12);
    } finally {
      await f.close();
    }
  });

  test('FORMERR for a malformed question with a readable header', async () => {
    const bad = Buffer.concat([query('x.allowed.test', 'A', { id: 99 }).subarray(0, 12), Buffer.from([63, 1, 2])]);
    const ans = await udpAsk(filter.udp!.port, bad);
    assert.ok(ans);
    assert.equal(ans.readUInt16BE(0), 99);
    assert.equal(rcodeOf(ans), 1);
  });

  test('FORMERR for two questions', async () => {
    const two = dnsPacket.encode({ id: 5, type: 'query', questions: [{ type: 'A', name: 'a.allowed.test' }, { type: 'A', name: 'b.allowed.test' }] });
    assert.equal(rcodeOf((await udpAsk(filter.udp!.port, two))!), 1);
  });

  test('no answer at all to fragments shorter than a header, or to responses', async () => {
    assert.equal(await udpAsk(filter.udp!.port, Buffer.from([1, 2, 3]), 300), null);
    const resp = query('www.allowed.test', 'A');
    resp[2] = (resp[2] as number) | 0x80;
    assert.equal(await udpAsk(filter.udp!.port, resp, 300), null);
  });

  test('REFUSED for the CH class', async () => {
    const before = up.counts.udp;
    const ans = await udpAsk(filter.udp!.port, query('version.bind', 'TXT', { klass: 'CH' }));
    assert.ok(ans);
    assert.equal(rcodeOf(ans), 5);
    assert.equal(up.counts.udp, before);
  });

  test('NOTIMP for other opcodes', async () => {
    const msg = query('www.allowed.test', 'A');
    msg.writeUInt16BE(msg.readUInt16BE(2) | (2 << 11), 2); // STATUS
    assert.equal(rcodeOf((await udpAsk(filter.udp!.port, msg))!), 4);
  });
});

describe('local answers', () => {
  test('host override: stable stand-in from 198.18.0.0/15, upstream not asked', async () => {
    const before = up.asked.length;
    const a1 = await resolver().resolve4('llm.allowed.test');
    const a2 = await resolver().resolve4('LLM.allowed.test');
    assert.deepEqual(a1, a2);
    assert.equal(a1.length, 1);
    assert.match(a1[0]!, /^198\.(18|19)\.\d+\.\d+$/);
    assert.equal(filter.standInAddress('llm.allowed.test.'), a1[0]);
    const aaaa = decoded(await udpAsk(filter.udp!.port, query('llm.allowed.test', 'AAAA')));
    assert.equal(aaaa.rcode, 'NOERROR');
    assert.equal(aaaa.answers?.length, 0);
    assert.equal(up.asked.length, before);
  });

  test('km.internal answers 127.0.0.2', async () => {
    assert.deepEqual(await resolver().resolve4('km.internal'), ['127.0.0.2']);
  });
});

describe('upstream failures', () => {
  test('silent upstream → SERVFAIL after the timeout', async () => {
    up.silent.add('slow.allowed.test');
    const ans = await udpAsk(filter.udp!.port, query('slow.allowed.test', 'A'), 3000);
    assert.ok(ans);
    assert.equal(rcodeOf(ans), 2);
    const e = events.findLast((x) => x.detail.name === 'slow.allowed.test');
    assert.equal(e?.detail.rcode, 2);
  });

  test('dead upstream → SERVFAIL; the next upstream is tried first', async () => {
    // a port nobody listens on: bind one, note it, let it go
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const dead = { host: '127.0.0.1', port: probe.address().port };
    await new Promise<void>((r) => probe.close(() => r()));
    const f = await createDnsFilter(
      { decide, onEvent: () => undefined, clock: systemClock },
      { upstreams: [dead], timeoutMs: 300, udp: {} },
    );
    const g = await createDnsFilter(
      { decide, onEvent: () => undefined, clock: systemClock },
      { upstreams: [dead, { host: '127.0.0.1', port: up.port }], timeoutMs: 300, udp: {} },
    );
    try {
      assert.equal(rcodeOf((await udpAsk(f.udp!.port, query('www.allowed.test', 'A')))!), 2);
      assert.equal(rcodeOf((await udpAsk(g.udp!.port, query('www.allowed.test', 'A')))!), 0);
    } finally {
      await f.close();
      await g.close();
    }
  });
});

test('aaaaEmpty: AAAA for allowed names is an empty NOERROR without asking upstream', async () => {
  const f = await createDnsFilter(
    { decide, onEvent: () => undefined, clock: systemClock },
    { upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 500, aaaaEmpty: true, udp: {} },
  );
  try {
    const before = up.counts.udp;
    const ans = decoded(await udpAsk(f.udp!.port, query('www.allowed.test', 'AAAA')));
    assert.equal(ans.rcode, 'NOERROR');
    assert.equal(ans.answers?.length, 0);
    assert.equal(up.counts.udp, before);
    const denied = decoded(await udpAsk(f.udp!.port, query('www.evil.example', 'AAAA')));
    assert.equal(denied.rcode, 'NXDOMAIN');
  } finally {
    await f.close();
  }
});

test('closing with a query in flight sends nothing and crashes nothing', async () => {
  up.silent.add('inflight.allowed.test');
  const f = await createDnsFilter(
    { decide, onEvent: () => undefined, clock: systemClock },
    { upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 200, udp: {}, tcp: {} },
  );
  const udpReply = udpAsk(f.udp!.port, query('inflight.allowed.test', 'A'), 600);
  const tcpReply = streamAsk(f.tcp!.port, query('inflight.allowed.test', 'A'), 600);
  await new Promise((r) => setTimeout(r, 50));
  await f.close();
  assert.equal(await udpReply, null);
  assert.equal(await tcpReply, null);
  await new Promise((r) => setTimeout(r, 300)); // the upstream timeout fires after close
});
