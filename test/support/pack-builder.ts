/**
 * Builders for synthetic receive-pack request bodies and packs, used by the unit tests.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { FLUSH_PKT, pkt } from '../../src/gateway/github/pktline.ts';

export const ZERO = '0'.repeat(40);

export function commitData(tree: string, parents: string[], message: string): Buffer {
  return Buffer.from(
    `tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n${message}\n`,
  );
}

export function commitId(data: Buffer): string {
  return createHash('sha1').update(`commit ${data.length}\0`).update(data).digest('hex');
}

function objHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let c = (type << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

function ofsBytes(ofs: number): Buffer {
  const bytes = [ofs & 0x7f];
  let n = ofs >> 7;
  while (n > 0) {
    n -= 1;
    bytes.unshift(0x80 | (n & 0x7f));
    n >>= 7;
  }
  return Buffer.from(bytes);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** A delta that rebuilds `target` from `base` using one copy of the longest common prefix. */
export function makeDelta(base: Buffer, target: Buffer): Buffer {
  let common = 0;
  while (common < base.length && common < target.length && common < 0xffff && base[common] === target[common]) common++;
  const parts = [varint(base.length), varint(target.length)];
  if (common > 0) parts.push(Buffer.from([0x80 | 0x10 | 0x20, common & 0xff, common >> 8]));
  for (let i = common; i < target.length; i += 127) {
    const chunk = target.subarray(i, i + 127);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

export type PackEntry =
  | { type: 'commit'; data: Buffer }
  | { type: 'blob'; data: Buffer }
  | { type: 'ofs-delta'; baseIndex: number; delta: Buffer }
  | { type: 'ref-delta'; baseId: string; delta: Buffer };

export function buildPack(entries: PackEntry[]): Buffer {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(entries.length, 8);
  const parts: Buffer[] = [header];
  const offsets: number[] = [];
  let pos = 12;
  for (const e of entries) {
    offsets.push(pos);
    let b: Buffer;
    if (e.type === 'commit' || e.type === 'blob') {
      b = Buffer.concat([objHeader(e.type === 'commit' ? 1 : 3, e.data.length), deflateSync(e.data)]);
    } else if (e.type === 'ofs-delta') {
      b = Buffer.concat([objHeader(6, e.delta.length), ofsBytes(pos - (offsets[e.baseIndex] as number)), deflateSync(e.delta)]);
    } else {
      b = Buffer.concat([objHeader(7, e.delta.length), Buffer.from(e.baseId, 'hex'), deflateSync(e.delta)]);
    }
    parts.push(b);
    pos += b.length;
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

export function commandsBody(commands: Array<[string, string, string]>, caps: string, pack?: Buffer): Buffer {
  const lines = commands.map(([o, n, r], i) => pkt(`${o} ${n} ${r}${i === 0 ? `\0${caps}` : ''}\n`));
  return Buffer.concat([...lines, FLUSH_PKT, ...(pack === undefined ? [] : [pack])]);
}
