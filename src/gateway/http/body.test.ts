import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { hasRequestBody, readBounded, withContentLength } from './body.ts';

const collect = async (r: Readable): Promise<string> => {
  let s = '';
  for await (const c of r) s += c;
  return s;
};

test('readBounded returns small bodies whole and streams large ones unchanged', async () => {
  const small = await readBounded(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10);
  assert.deepEqual(small, { complete: true, body: Buffer.from('abcd') });
  const big = await readBounded(Readable.from(['0123', '4567', '89ab', 'cdef'].map((s) => Buffer.from(s))), 6);
  assert.equal(big.complete, false);
  assert.equal(await collect((big as { stream: Readable }).stream), '0123456789abcdef');
});

test('framing headers are replaced by one content-length', () => {
  assert.deepEqual(withContentLength(['Host', 'h', 'Transfer-Encoding', 'chunked', 'Content-Length', '5', 'X', 'y'], 7), ['Host', 'h', 'X', 'y', 'content-length', '7']);
  assert.equal(hasRequestBody({ 'content-length': '0' }), false);
  assert.equal(hasRequestBody({ 'content-length': '3' }), true);
  assert.equal(hasRequestBody({ 'transfer-encoding': 'chunked' }), true);
  assert.equal(hasRequestBody({}), false);
});
