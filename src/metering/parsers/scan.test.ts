/**
 * The usage gate's substring search: the km-scan addon (native/km-scan.c) against
 * Buffer#indexOf, its definition, on random and adversarial bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { indexOf, jsIndexOf, nativeIndexOf } from './scan.ts';

const native = nativeIndexOf();
const skip = 'reason' in native ? native.reason : false;
const find = 'indexOf' in native ? native.indexOf : jsIndexOf;

test('the native search finds what Buffer#indexOf finds, from every offset', { skip }, () => {
  // A small alphabet so that partial matches (first and last byte equal, middle not) are common.
  const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max }).map((a) => Buffer.from(a.map((b) => 97 + (b % 3))));
  fc.assert(
    fc.property(bytes(300), bytes(9), fc.integer({ min: -5, max: 320 }), (hay, needle, from) => {
      assert.equal(find(hay, needle, from), hay.indexOf(needle, Math.max(0, from)));
    }),
    { numRuns: 3000 },
  );
});

test('the native search: matches at the vector-step edges, at the very end, and none past it', { skip }, () => {
  const key = Buffer.from('usage');
  for (let len = 0; len < 140; len++) {
    for (let at = 0; at + key.length <= len; at++) {
      const hay = Buffer.alloc(len, 'x');
      key.copy(hay, at);
      assert.equal(find(hay, key, 0), at, `len ${len} at ${at}`);
      assert.equal(find(hay, key, at + 1), -1, `len ${len} after ${at}`);
    }
    // The needle's bytes right up to the end, one short: never read or matched past the end.
    const short = Buffer.concat([Buffer.alloc(len, 'x'), key.subarray(0, 4)]);
    assert.equal(find(short, key, 0), -1);
    assert.equal(find(short.subarray(0, short.length), Buffer.from('u'), 0), len);
  }
});

test('the native search on text full of near misses, and on views into a larger buffer', { skip }, () => {
  const text = Buffer.from('usag usagf ueage \\"usage\\" uuuuusage'.repeat(200));
  const key = Buffer.from('"usage"');
  assert.equal(find(text, key, 0), text.indexOf(key));
  let n = 0;
  for (let i = find(text, Buffer.from('usage'), 0); i >= 0; i = find(text, Buffer.from('usage'), i + 1)) n++;
  assert.equal(n, 400);
  const big = Buffer.from('xxxxxusagexxxxx');
  const view = big.subarray(6);
  assert.equal(find(view, Buffer.from('usage'), 0), -1, 'a view starts where it starts');
  assert.equal(find(big.subarray(5, 9), Buffer.from('usage'), 0), -1, 'and ends where it ends');
  assert.equal(find(big.subarray(5, 10), Buffer.from('usage'), 0), 0);
});

test('the baseline (SSE2) path finds the same as the AVX2 one (KM_SCAN_ISA=sse2)', { skip: skip || ('isa' in native && native.isa !== 'avx2' ? 'no AVX2 here' : false) }, () => {
  // The addon picks its path once when loaded, so the baseline runs in a child process.
  const script = `
    const { nativeIndexOf } = await import(${JSON.stringify(new URL('./scan.ts', import.meta.url).href)});
    const n = nativeIndexOf();
    let seed = 11, bad = 0, runs = 0;
    const rnd = (k) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
    for (let r = 0; r < 20000; r++) {
      const hay = Buffer.from(Array.from({ length: rnd(200) }, () => 97 + rnd(3)));
      const needle = Buffer.from(Array.from({ length: 1 + rnd(7) }, () => 97 + rnd(3)));
      const from = rnd(210);
      runs++;
      if (n.indexOf(hay, needle, from) !== hay.indexOf(needle, from)) bad++;
    }
    console.log(JSON.stringify({ isa: n.isa, runs, bad }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, KM_SCAN_ISA: 'sse2' }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { isa: 'sse2', runs: 20000, bad: 0 });
});

test('the native search refuses what is not bytes', { skip }, () => {
  assert.throws(() => find('usage' as unknown as Buffer, Buffer.from('u'), 0), TypeError);
  assert.throws(() => find(Buffer.from('u'), [117] as unknown as Buffer, 0), TypeError);
});

test('the gates use the native search when it is built (KM_METER_SCAN=js keeps Buffer#indexOf)', () => {
  const expected = process.env.KM_METER_SCAN === 'js' || skip ? jsIndexOf : find;
  assert.equal(indexOf, expected);
});
