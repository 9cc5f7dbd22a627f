import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proveFastForward } from './ancestry.ts';
import { createPackScan, scanPack } from './pack.ts';
import { buildPack, commitData, commitId, makeDelta } from '../../../test/support/pack-builder.ts';

const TREE = 'f'.repeat(40);
const long = (n: number): string => `change ${n}\n\n${'a long and very similar commit body line\n'.repeat(40)}`;

function chain(): { ids: string[]; data: Buffer[] } {
  const data: Buffer[] = [];
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const d = commitData(TREE, i === 0 ? [] : [ids[i - 1] as string], long(i));
    data.push(d);
    ids.push(commitId(d));
  }
  return { ids, data };
}

function packWithDeltas(): { pack: Buffer; ids: string[] } {
  const { ids, data } = chain();
  const [d0, d1, d2, d3] = data as [Buffer, Buffer, Buffer, Buffer];
  const pack = buildPack([
    { type: 'commit', data: d3 },
    { type: 'ofs-delta', baseIndex: 0, delta: makeDelta(d3, d2) },
    { type: 'ref-delta', baseId: ids[2] as string, delta: makeDelta(d2, d1) },
    { type: 'commit', data: d0 },
    { type: 'blob', data: Buffer.from('hello\n') },
  ]);
  return { pack, ids };
}

test('scanPack: whole and deltified (OFS and REF) commits resolve with their parents', () => {
  const { pack, ids } = packWithDeltas();
  const scan = createPackScan(0, 20);
  scanPack(scan, pack, true);
  assert.equal(scan.state, 'done');
  assert.equal(scan.seen, 5);
  assert.deepEqual([...scan.commits.keys()].sort(), [...ids].sort());
  assert.deepEqual(scan.commits.get(ids[2] as string), [ids[1]]);
  assert.deepEqual(scan.commits.get(ids[0] as string), []);
});

test('scanPack: fed in small increments gives the same result', () => {
  const { pack, ids } = packWithDeltas();
  const prefix = Buffer.from('prefix-bytes');
  const body = Buffer.concat([prefix, pack]);
  const scan = createPackScan(prefix.length, 20);
  for (let n = 1; n <= body.length; n += 7) {
    if (n >= scan.wantBytes || n === body.length) scanPack(scan, body.subarray(0, n), false);
  }
  scanPack(scan, body, true);
  assert.equal(scan.state, 'done');
  assert.equal(scan.commits.size, ids.length);
});

test('scanPack: truncated or corrupt packs stop as invalid; unknown delta bases are skipped', () => {
  const { pack, ids } = packWithDeltas();
  const t = createPackScan(0, 20);
  scanPack(t, pack.subarray(0, pack.length - 40), true);
  assert.equal(t.state, 'invalid');
  assert.match(t.problem ?? '', /truncated|corrupt/);

  const bad = Buffer.from(pack);
  bad.write('JUNK', 0, 'latin1');
  const b = createPackScan(0, 20);
  scanPack(b, bad, true);
  assert.equal(b.state, 'invalid');

  const { data } = chain();
  const thin = buildPack([{ type: 'ref-delta', baseId: 'e'.repeat(40), delta: makeDelta(data[1] as Buffer, data[2] as Buffer) }]);
  const s = createPackScan(0, 20);
  scanPack(s, thin, true);
  assert.equal(s.state, 'done');
  assert.equal(s.commits.has(ids[2] as string), false);
});

test('proveFastForward: in pack, through the upstream at the boundary, or not at all', async () => {
  const { pack, ids } = packWithDeltas();
  const scan = createPackScan(0, 20);
  scanPack(scan, pack, true);
  const [c0, c1, c2, c3] = ids as [string, string, string, string];
  assert.deepEqual(await proveFastForward(scan.commits, c1, c3, undefined), { proven: true, via: 'pack' });
  assert.deepEqual(await proveFastForward(scan.commits, c3, c1, undefined), { proven: false, via: 'not-ancestor' });
  const outside = 'd'.repeat(40);
  // empty pack: new commit is the boundary
  const asked: string[][] = [];
  const yes = async (a: string, d: string) => { asked.push([a, d]); return true; };
  assert.deepEqual(await proveFastForward(new Map(), outside, c0, yes), { proven: true, via: 'upstream' });
  assert.deepEqual(asked, [[outside, c0]]);
  assert.deepEqual(await proveFastForward(new Map(), outside, c0, async () => false), { proven: false, via: 'not-ancestor' });
  assert.deepEqual(await proveFastForward(new Map(), outside, c0, async () => undefined), { proven: false, via: 'unknown' });
  assert.deepEqual(await proveFastForward(new Map(), outside, c0, undefined), { proven: false, via: 'unknown' });
  assert.deepEqual(await proveFastForward(new Map(), outside, c0, async () => { throw new Error('down'); }), { proven: false, via: 'unknown' });
  // walk leaves the pack at a parent that is not in it
  const partial = new Map([[c3, [c2]]]);
  const asked2: string[][] = [];
  const r = await proveFastForward(partial, outside, c3, async (a, d) => { asked2.push([a, d]); return true; });
  assert.deepEqual(r, { proven: true, via: 'upstream' });
  assert.deepEqual(asked2, [[outside, c2]]);
});
