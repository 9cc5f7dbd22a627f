import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { contentCodings, decodingTap } from './decode.ts';

function recorder() {
  const seen: Buffer[] = [];
  let ended = 0;
  let aborted = 0;
  return {
    seen,
    ended: () => ended,
    aborted: () => aborted,
    tap: { data: (c: Buffer) => void seen.push(Buffer.from(c)), end: async () => void ended++, abort: () => void aborted++ },
  };
}

const TEXT = JSON.stringify({ usage: { input_tokens: 12, output_tokens: 34 }, pad: 'p'.repeat(50_000) });

test('contentCodings lists the codings in the order applied, without identity', () => {
  assert.deepEqual(contentCodings('gzip, br'), ['gzip', 'br']);
  assert.deepEqual(contentCodings(['Identity', 'GZIP']), ['gzip']);
  assert.deepEqual(contentCodings(undefined), []);
});

test('the inner tap sees the decoded body, fed in small chunks, for each coding and a stack of two', async () => {
  const cases: Array<[string[], Buffer]> = [
    [['gzip'], gzipSync(TEXT)],
    [['deflate'], deflateSync(TEXT)],
    [['br'], brotliCompressSync(TEXT)],
    [['gzip', 'br'], brotliCompressSync(gzipSync(TEXT))],
  ];
  for (const [codings, body] of cases) {
    const r = recorder();
    const errors: string[] = [];
    const tap = decodingTap(r.tap, codings, (m) => void errors.push(m));
    for (let i = 0; i < body.length; i += 100) tap.data(body.subarray(i, i + 100));
    await tap.end();
    assert.equal(Buffer.concat(r.seen).toString(), TEXT, codings.join(','));
    assert.deepEqual([r.ended(), errors], [1, []]);
  }
});

test('no coding: the inner tap itself; an unknown or corrupt body: reported, and the tap still ends', async () => {
  const r0 = recorder();
  assert.equal(decodingTap(r0.tap, [], () => undefined), r0.tap);
  for (const [codings, body, want] of [[['compress'], Buffer.from('xx'), /content-encoding compress/], [['gzip'], Buffer.from('definitely not gzip'), /cannot decode the gzip body/]] as const) {
    const r = recorder();
    const errors: string[] = [];
    const tap = decodingTap(r.tap, codings, (m) => void errors.push(m));
    tap.data(body);
    await tap.end();
    assert.equal(r.ended(), 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, want);
  }
  const r = recorder();
  const tap = decodingTap(r.tap, ['gzip'], () => undefined);
  tap.data(gzipSync(TEXT).subarray(0, 50));
  tap.abort();
  assert.equal(r.aborted(), 1);
});
