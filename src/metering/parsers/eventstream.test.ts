/**
 * AWS event-stream framing with a frame filter (what the Bedrock meter uses): frames are picked
 * in place, preludes checked by a table CRC, and token deltas recognised without decoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { createEventStreamDecoder, preludeCrc } from './eventstream.ts';
import { mayCarryUsage } from './bedrock.ts';
import { eventFrame } from '../testdata/fake-providers.ts';
import { chunked } from '../testdata/chunks.ts';

test('the prelude CRC is zlib CRC-32 of the 8 bytes, at any offset', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(), (bytes, k) => {
      const b = Buffer.from(bytes);
      const at = k % (b.length - 7);
      assert.equal(preludeCrc(b, at), crc32(b.subarray(at, at + 8)));
    }),
    { numRuns: 2000 },
  );
});

const frameArb = fc.record({ type: fc.constantFrom('chunk', 'metadata', 'messageStop', 'chunkX'), text: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 20 }).map((t) => `#${t}`)) });

test('a filtered decoder yields exactly the frames of its type whose payload it accepts, for any chunking', () => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), fc.constantFrom('chunk', 'metadata'), (frames, cuts, want) => {
      const buf = Buffer.concat(frames.map((f) => Buffer.from(eventFrame(f.type, { text: f.text }))));
      // The payload test reads the frame in place: only its own range may matter.
      const withMark = (b: Buffer, start: number, end: number): boolean => b.subarray(start, end).includes('#');
      const expected = createEventStreamDecoder()
        .push(buf)
        .filter((m) => m.headers[':event-type'] === want && m.payload.includes('#'))
        .map((m) => m.payload.toString());
      const d = createEventStreamDecoder({ only: { eventType: want, payload: withMark } });
      const got = chunked(buf, cuts).flatMap((c) => d.push(Buffer.from(c)));
      assert.deepEqual(got.map((m) => m.payload.toString()), expected);
      assert.ok(got.every((m) => m.headers[':event-type'] === want));
      assert.equal(d.pending(), 0);
    }),
    { numRuns: 300 },
  );
});

test('a filtered decoder drops a picked frame with a bad message CRC, and stops at a bad prelude', () => {
  const a = Buffer.from(eventFrame('chunk', { text: 'first' }));
  const b = Buffer.from(eventFrame('chunk', { text: 'second' }));
  const c = Buffer.from(eventFrame('chunk', { text: 'third' }));
  b[b.length - 6]! ^= 0xff; // inside the payload: the message CRC no longer matches
  const d = createEventStreamDecoder({ only: { eventType: 'chunk' } });
  assert.deepEqual(d.push(Buffer.concat([a, b, c])).map((m) => JSON.parse(m.payload.toString()).text), ['first', 'third']);
  const bad = Buffer.from(c);
  bad[2]! ^= 0x01; // the total length: the prelude CRC catches it
  assert.deepEqual(d.push(bad), []);
  assert.equal(d.pending(), -1, 'framing is lost: nothing more is decoded');
  assert.deepEqual(d.push(a), []);
});

/** A Bedrock `chunk` frame's payload around an Anthropic event, as Bedrock writes it or spaced out. */
const chunkPayload = (inner: unknown, spaced: boolean): Buffer => {
  const bytes = Buffer.from(JSON.stringify(inner)).toString('base64');
  return Buffer.from(spaced ? `{ "bytes" : "${bytes}", "p": "abc" }` : JSON.stringify({ bytes, p: 'abc' }));
};

test('mayCarryUsage: never skips an event with usage or invocation metrics; skips token deltas', () => {
  const withUsage = fc.oneof(
    fc.record({ type: fc.constant('message_start'), message: fc.record({ model: fc.string({ maxLength: 20 }), usage: fc.record({ input_tokens: fc.nat(), output_tokens: fc.nat() }) }) }),
    fc.record({ type: fc.constant('message_delta'), delta: fc.record({ stop_reason: fc.string({ maxLength: 10 }) }), usage: fc.record({ output_tokens: fc.nat() }) }),
    fc.record({ type: fc.constant('message_stop'), 'amazon-bedrock-invocationMetrics': fc.record({ inputTokenCount: fc.nat(), outputTokenCount: fc.nat() }) }),
  );
  fc.assert(
    fc.property(withUsage, fc.string({ maxLength: 30 }), fc.boolean(), fc.nat({ max: 40 }), (inner, pad, spaced, lead) => {
      // Anywhere in a larger frame: the payload is the range given, not the whole buffer.
      const p = chunkPayload({ pad, ...inner }, spaced);
      const frame = Buffer.concat([Buffer.alloc(lead, 0x41), p, Buffer.alloc(4, 0x41)]);
      assert.equal(mayCarryUsage(frame, lead, lead + p.length), true, JSON.stringify(inner));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), fc.boolean(), (text, spaced) => {
      const delta = chunkPayload({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `${text} usage` } }, spaced);
      assert.equal(mayCarryUsage(delta), false, 'a delta is never parsed, whatever its text says');
    }),
    { numRuns: 300 },
  );
});
