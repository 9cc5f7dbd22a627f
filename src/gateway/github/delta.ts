/**
 * git's binary delta format (gitformat-pack "Deltified representation"). Pure.
 */

function readVarint(delta: Buffer, pos: number): { value: number; pos: number } {
  let value = 0;
  let shift = 0;
  for (;;) {
    const c = delta[pos++];
    if (c === undefined) throw new Error('truncated delta header');
    value += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if ((c & 0x80) === 0) return { value, pos };
  }
}

/** Applies `delta` to `base`; throws on a corrupt delta or a result larger than `maxResult`. */
export function applyDelta(base: Buffer, delta: Buffer, maxResult = 64 * 1024 * 1024): Buffer {
  const src = readVarint(delta, 0);
  if (src.value !== base.length) throw new Error('delta base size mismatch');
  const dst = readVarint(delta, src.pos);
  if (dst.value > maxResult) throw new Error(`delta result of ${dst.value} bytes is too large`);
  const out = Buffer.alloc(dst.value);
  let pos = dst.pos;
  let written = 0;
  while (pos < delta.length) {
    const op = delta[pos++] as number;
    if (op & 0x80) {
      let off = 0;
      let size = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) off += (delta[pos++] ?? 0) * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) size += (delta[pos++] ?? 0) * 2 ** (8 * i);
      if (size === 0) size = 0x10000;
      if (off + size > base.length || written + size > out.length) throw new Error('delta copy out of range');
      base.copy(out, written, off, off + size);
      written += size;
    } else if (op !== 0) {
      if (pos + op > delta.length || written + op > out.length) throw new Error('delta insert out of range');
      delta.copy(out, written, pos, pos + op);
      pos += op;
      written += op;
    } else {
      throw new Error('reserved delta opcode 0');
    }
  }
  if (written !== out.length) throw new Error('delta result size mismatch');
  return out;
}
