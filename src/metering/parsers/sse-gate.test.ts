import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSseDecoder } from './sse.ts';
import { createSseGate } from './sse-gate.ts';
import { chunked } from '../testdata/chunks.ts';
import { gateScan, jsIndexOf, nativeIndexOf, type GateScan, type IndexOf } from './scan.ts';

const native = nativeIndexOf();
type GateOptions = { indexOf?: IndexOf; gateScan?: GateScan | null };
/**
 * Each gate test runs with Buffer#indexOf and, when built, the km-scan addon's search asked
 * question by question, and its one-call scan (what the meters use).
 */
const searches: Array<[string, GateOptions]> = [
  ['Buffer#indexOf', { indexOf: jsIndexOf }],
  ...('indexOf' in native ? [['km-scan indexOf', { indexOf: native.indexOf }] as [string, GateOptions], ['km-scan gateScan', { gateScan: native.gateScan }] as [string, GateOptions]] : []),
];

const events = fc.array(
  fc.record({
    event: fc.constantFrom('message_start', 'content_block_delta', 'message_delta', 'ping'),
    data: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('{"usage":{"output_tokens":7}}'), fc.constant('{"delta":{"text":"ünïcödé ✓"}}')),
  }),
  { maxLength: 12 },
);

function body(evs: Array<{ event: string; data: string }>, eol: string, comment: boolean): Buffer {
  const lines = evs.map((e) => `${comment ? `: keep-alive${eol}` : ''}event: ${e.event}${eol}data: ${e.data.replace(/[\r\n]/g, ' ')}${eol}${eol}`);
  return Buffer.from(lines.join(''));
}

for (const [name, search] of searches) {
  test(`the gate yields exactly the events containing the needle, for any chunking and line ending (${name})`, () => {
  fc.assert(
    fc.property(events, fc.constantFrom('\n', '\r\n', '\r'), fc.boolean(), fc.array(fc.nat(), { maxLength: 30 }), (evs, eol, comment, cuts) => {
      const buf = body(evs, eol, comment);
      const full = createSseDecoder();
      const expected = [...full.push(buf.toString('utf8')), ...full.end()].filter((e) => e.data.includes('usage') || e.event.includes('usage'));
      const gate = createSseGate(['usage'], search);
      const got = [...chunked(buf, cuts).flatMap((c) => gate.push(c)), ...gate.end()].filter((e) => e.data.includes('usage') || e.event.includes('usage'));
      assert.deepEqual(got, expected);
    }),
    { numRuns: 400 },
  );
});
}

test('the meters\' gates use the one-call scan when km-scan is built', { skip: 'reason' in native ? native.reason : false }, () => {
  assert.equal(gateScan, 'gateScan' in native ? native.gateScan : null);
  assert.equal(typeof gateScan, 'function');
});

/** What gateScan answers, from the gate's separate questions (Buffer#indexOf throughout). */
function scanByParts(chunk: Buffer, key: Buffer, prev: Buffer | null, from: number, withCr: boolean): number[] {
  const lastCut = (cr: boolean): number => {
    let end = -1;
    for (const b of cr ? ['\n\n', '\r\n\r\n', '\r\r'] : ['\n\n']) {
      const i = chunk.lastIndexOf(b);
      if (i >= 0 && i + b.length > end) end = i + b.length;
    }
    return end;
  };
  let last = lastCut(withCr);
  let cr = 0;
  if (last < 0 && !withCr && chunk.indexOf(13) >= 0) (cr = 1), (last = lastCut(true));
  let straddle = 0;
  if (prev) {
    const rest = prev.subarray(Math.min(from, prev.length));
    if (rest.length < Math.max(3, key.length - 1)) straddle = -1;
    else {
      const j = Buffer.concat([rest.subarray(rest.length - (key.length - 1)), chunk.subarray(0, key.length - 1)]);
      const i = j.indexOf(key);
      straddle = i >= 0 && i < key.length - 1 && i + key.length > key.length - 1 ? 1 : 0;
    }
  }
  return [chunk.indexOf(key), last, cr, straddle];
}

test('gateScan answers what the separate searches answer, on bytes full of near misses', { skip: 'reason' in native ? native.reason : false }, () => {
  const scan = (native as { gateScan: GateScan }).gateScan;
  const bytes = (max: number) => fc.array(fc.constantFrom(...'\n\r\n\rusagex'), { maxLength: max }).map((a) => Buffer.from(a.join('')));
  const out = new Int32Array(3);
  fc.assert(
    fc.property(bytes(60), fc.option(bytes(12), { nil: null }), fc.nat(14), fc.boolean(), fc.constantFrom('usage', 'ab', 'u'), (chunk, prev, from, withCr, k) => {
      const key = Buffer.from(k);
      const h = scan(chunk, key, prev, from, withCr ? 1 : 0, out);
      assert.deepEqual([h, ...out], scanByParts(chunk, key, prev, from, withCr));
    }),
    { numRuns: 5000 },
  );
  // A straddle found in a long carried piece, and the CR that switches the boundary forms.
  assert.equal(scan(Buffer.from('age":1}\n\n'), Buffer.from('usage'), Buffer.from('data: {"us'), 0, 0, out), -1);
  assert.deepEqual([...out], [9, 0, 1]);
  assert.equal(scan(Buffer.from('x\r\n\r\nusage'), Buffer.from('usage'), null, 0, 0, out), 5);
  assert.deepEqual([...out], [5, 1, 0]);
  assert.throws(() => scan(Buffer.from('x'), Buffer.from('usage'), null, 0, 0, new Int32Array(2)), /gateScan/);
});

test('one-byte chunks and an oversized event still decode', () => {
  const buf = body([{ event: 'message_delta', data: '{"usage":{"output_tokens":800}}' }, { event: 'ping', data: 'x'.repeat(1_200_000) }, { event: 'message_delta', data: '{"usage":{"output_tokens":900}}' }], '\n', false);
  const small = createSseGate(['usage']);
  const head = buf.subarray(0, 60);
  const got = [...head].flatMap((b) => small.push(Uint8Array.of(b)));
  assert.deepEqual(got.map((e) => e.data), ['{"usage":{"output_tokens":800}}']);
  const big = createSseGate(['usage']);
  const all = [...chunked(buf, [100, 70_000, 700_000, 1_100_000]).flatMap((c) => big.push(c)), ...big.end()].filter((e) => e.event === 'message_delta');
  assert.deepEqual(all.map((e) => e.data), ['{"usage":{"output_tokens":800}}', '{"usage":{"output_tokens":900}}']);
});

test('event-stream framing: any chunking yields the same frames as one push', async () => {
  const { createEventStreamDecoder } = await import('./eventstream.ts');
  const { eventFrame } = await import('../testdata/fake-providers.ts');
  fc.assert(
    fc.property(fc.array(fc.record({ type: fc.constantFrom('chunk', 'metadata', 'messageStop'), text: fc.string({ maxLength: 300 }) }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
      const buf = Buffer.concat(frames.map((f) => Buffer.from(eventFrame(f.type, { text: f.text }))));
      const whole = createEventStreamDecoder().push(buf).map((m) => [m.headers[':event-type'], m.payload.toString()]);
      const d = createEventStreamDecoder();
      const parts = chunked(buf, cuts).flatMap((c) => d.push(Buffer.from(c)).map((m) => [m.headers[':event-type'], m.payload.toString()]));
      assert.equal(whole.length, frames.length);
      assert.deepEqual(parts, whole);
      assert.equal(d.pending(), 0);
    }),
    { numRuns: 300 },
  );
});

test('base64 patterns: a needle anywhere in the decoded bytes is always found in the encoding', async () => {
  const { base64Patterns } = await import('./bedrock.ts');
  const pats = base64Patterns('usage');
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.boolean(), (pre, post, put) => {
      const text = put ? `${pre}usage${post}` : `${pre}${post}`;
      const b64 = Buffer.from(Buffer.from(text).toString('base64'));
      const found = pats.some((p) => b64.indexOf(p) >= 0);
      if (text.includes('usage')) assert.ok(found, JSON.stringify(text));
    }),
    { numRuns: 2000 },
  );
  assert.deepEqual(pats.map(String), ['dXNhZ2', 'VzYWdl', '1c2FnZ']);
});

test('eventTypeIs compares the event type without decoding the other headers', async () => {
  const { eventTypeIs } = await import('./eventstream.ts');
  const { eventFrame } = await import('../testdata/fake-providers.ts');
  const f = Buffer.from(eventFrame('contentBlockDelta', { x: 1 }));
  const end = 12 + f.readUInt32BE(4);
  assert.equal(eventTypeIs(f, 12, end, Buffer.from('contentBlockDelta')), true);
  assert.equal(eventTypeIs(f, 12, end, Buffer.from('contentBlockStop')), false, 'another type');
  assert.equal(eventTypeIs(f, 12, end, Buffer.from('contentBlockDeltaX')), false, 'a longer name');
  assert.equal(eventTypeIs(f, 12, 20, Buffer.from('contentBlockDelta')), false, 'truncated headers');
});
