import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { compilePolicy, decideDns } from '../../policy/index.ts';
import { policyInput } from '../../policy/test-input.ts';
import { adoptUpstreamAnswer, answerAddresses, buildResponse, completeLength, readQuery, truncated } from './wire.ts';

const q = (name: string, id = 1) =>
  dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1400 } as dnsPacket.Answer] });

function parsed(buf: Buffer) {
  const r = readQuery(buf);
  assert.ok(r.ok);
  return r.query;
}

test('readQuery: name lowercased, odd bytes escaped, EDNS read', () => {
  const query = parsed(q('WWW.Example.ORG'));
  assert.equal(query.name, 'www.example.org');
  assert.deepEqual(query.edns, { udpSize: 1400, version: 0, doBit: false });
  const odd = Buffer.concat([q('x').subarray(0, 12), Buffer.from([3, 0x61, 0x2e, 0x7f, 3, 0x63, 0x6f, 0x6d, 0, 0, 1, 0, 1])]);
  odd.writeUInt16BE(0, 10); // no additionals
  assert.equal(parsed(odd).name, 'a\\046\\127.com');
});

test('readQuery: compression pointers and overlong names are malformed', () => {
  const ptr = Buffer.concat([q('x').subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  ptr.writeUInt16BE(0, 10);
  assert.deepEqual(readQuery(ptr), { ok: false, headerOk: true, id: 1, flags: 0x0100 });
  assert.deepEqual(readQuery(Buffer.from([1, 2])), { ok: false, headerOk: false, id: 0, flags: 0 });
});

function upstreamAnswer(id: number, name: string, ttl: number): Buffer {
  return dnsPacket.encode({
    id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name }],
    answers: [{ type: 'A', name, ttl, data: '192.0.2.1' }],
    authorities: [{ type: 'NS', name: 'example.org', ttl: 86400, data: 'ns.example.org' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0x8000 } as dnsPacket.Answer],
  });
}

test('adoptUpstreamAnswer: client ID restored, TTLs capped in every section, OPT untouched', () => {
  const query = parsed(q('www.example.org', 777));
  const out = adoptUpstreamAnswer(upstreamAnswer(9, 'www.example.org', 86400), 9, query);
  assert.ok(out);
  const d = dnsPacket.decode(out) as unknown as { id: number; answers: Array<{ ttl: number }>; authorities: Array<{ ttl: number }>; additionals: Array<{ flags: number }> };
  assert.equal(d.id, 777);
  assert.equal(d.answers[0]?.ttl, 300);
  assert.equal(d.authorities[0]?.ttl, 300);
  assert.equal(d.additionals[0]?.flags, 0x8000);
  const short = adoptUpstreamAnswer(upstreamAnswer(9, 'www.example.org', 20), 9, query);
  assert.equal((dnsPacket.decode(short!) as unknown as { answers: Array<{ ttl: number }> }).answers[0]?.ttl, 20);
});

test('adoptUpstreamAnswer: wrong ID, other question or truncated garbage are refused', () => {
  const query = parsed(q('www.example.org'));
  assert.equal(adoptUpstreamAnswer(upstreamAnswer(9, 'www.example.org', 1), 10, query), null);
  assert.equal(adoptUpstreamAnswer(upstreamAnswer(9, 'evil.example.org', 1), 9, query), null);
  assert.notEqual(adoptUpstreamAnswer(upstreamAnswer(9, 'WWW.example.org', 1), 9, query), null);
  const cut = upstreamAnswer(9, 'www.example.org', 1);
  assert.equal(adoptUpstreamAnswer(cut.subarray(0, cut.length - 5), 9, query), null);
});

test('buildResponse and truncated keep ID, question, RD, and set TC', () => {
  const query = parsed(q('a.example', 55));
  const nx = buildResponse(query, query.id, query.flags, { rcode: 3 });
  const d = dnsPacket.decode(nx) as unknown as { id: number; flags: number; questions: Array<{ name: string }> };
  assert.equal(d.id, 55);
  assert.equal(d.flags & 0xf, 3);
  assert.equal(d.flags & dnsPacket.RECURSION_DESIRED, dnsPacket.RECURSION_DESIRED);
  assert.equal(d.questions[0]?.name, 'a.example');
  const tc = truncated(query, upstreamAnswer(9, 'a.example', 5));
  assert.equal(tc.readUInt16BE(2) & 0x0200, 0x0200);
  assert.equal(tc.readUInt16BE(6), 0);
});

test('completeLength finds whole messages and waits for partial ones', () => {
  const m = q('www.example.org');
  assert.equal(completeLength(m), m.length);
  assert.equal(completeLength(m.subarray(0, m.length - 1)), null);
  assert.equal(completeLength(m.subarray(0, 5)), null);
});

test('property: a wire name passes a suffix rule only when its labels really end with the suffix labels', () => {
  const policy = compilePolicy(policyInput({ suffixes: ['allowed.test'] }), { sandboxId: 'sb-1' });
  const byte = fc.oneof(fc.constantFrom(0x2e, 0x5c, 0x41, 0x61, 0x2d, 0x00, 0x20), fc.integer({ min: 0, max: 255 }));
  const label = fc.oneof(
    fc.constantFrom('allowed', 'test', 'ALLOWED', 'TeSt', 'allowed.test', 'x').map((s) => [...Buffer.from(s)]),
    fc.array(byte, { minLength: 1, maxLength: 12 }),
  );
  fc.assert(
    fc.property(fc.array(label, { minLength: 1, maxLength: 5 }), (labels) => {
      const qname = Buffer.from(labels.flatMap((l) => [l.length, ...l]).concat([0]));
      const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      const r = readQuery(Buffer.concat([header, qname, Buffer.from([0, 1, 0, 1])]));
      if (!r.ok) return;
      const text = labels.map((l) => Buffer.from(l).toString('latin1').toLowerCase());
      const truth = text.length >= 2 && text[text.length - 2] === 'allowed' && text[text.length - 1] === 'test';
      assert.equal(decideDns(policy, r.query.name).allow, truth, JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});

test('answerAddresses: every A record of the answer section, past CNAMEs, with the section\'s shortest TTL', () => {
  const query = parsed(q('www.example.test'));
  const answer = (rcode: number, answers: dnsPacket.Answer[], authorities: dnsPacket.Answer[] = []) =>
    dnsPacket.encode({ id: 1, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode, questions: [{ type: 'A', name: 'www.example.test' }], answers, authorities });
  const chain = answer(0, [
    { type: 'CNAME', name: 'www.example.test', ttl: 40, data: 'edge.example.test' },
    { type: 'A', name: 'edge.example.test', ttl: 300, data: '192.0.2.1' },
    { type: 'A', name: 'edge.example.test', ttl: 120, data: '192.0.2.2' },
  ], [{ type: 'A', name: 'ns.example.test', ttl: 5, data: '192.0.2.99' }]);
  assert.deepEqual(answerAddresses(chain, query), [{ address: '192.0.2.1', ttl: 40 }, { address: '192.0.2.2', ttl: 40 }]);
  assert.deepEqual(answerAddresses(answer(3, []), query), []);
  assert.deepEqual(answerAddresses(answer(2, [{ type: 'A', name: 'www.example.test', ttl: 60, data: '192.0.2.3' }]), query), []);
  assert.deepEqual(answerAddresses(chain.subarray(0, chain.length - 40), query), [], 'cut inside the answer section');
  assert.deepEqual(answerAddresses(answer(0, [{ type: 'AAAA', name: 'www.example.test', ttl: 60, data: '2001:db8::1' }]), query), []);
});
