/** A minimal protobuf wire-format reader (varint, 64-bit, length-delimited, 32-bit). */
export interface Field {
  no: number;
  wire: 0 | 1 | 2 | 5;
  /** varint as bigint; fixed64/fixed32 raw bytes; length-delimited bytes. */
  varint?: bigint;
  bytes?: Uint8Array;
}

export class ProtobufError extends Error {}

export function* fields(buf: Uint8Array): Generator<Field> {
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new ProtobufError('truncated varint');
      const b = buf[i++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError('varint too long');
    }
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || i + n > buf.length) throw new ProtobufError('truncated field');
    const out = buf.subarray(i, i + n);
    i += n;
    return out;
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (no === 0) throw new ProtobufError('field number 0');
    if (wire === 0) yield { no, wire, varint: varint() };
    else if (wire === 1) yield { no, wire, bytes: take(8) };
    else if (wire === 2) yield { no, wire, bytes: take(Number(varint())) };
    else if (wire === 5) yield { no, wire, bytes: take(4) };
    else throw new ProtobufError(`unsupported wire type ${wire}`);
  }
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
export const str = (f: Field): string => new TextDecoder().decode(f.bytes ?? new Uint8Array());
export const fixed64 = (f: Field): string => (f.bytes ? view(f.bytes).getBigUint64(0, true).toString() : '0');
export const sfixed64 = (f: Field): string => (f.bytes ? view(f.bytes).getBigInt64(0, true).toString() : '0');
export const double = (f: Field): number => (f.bytes ? view(f.bytes).getFloat64(0, true) : 0);
export const int64 = (f: Field): string => BigInt.asIntN(64, f.varint ?? 0n).toString();
export const uint = (f: Field): number => Number(f.varint ?? 0n);
export const hex = (f: Field): string => Buffer.from(f.bytes ?? []).toString('hex');

/** Unpacks a `repeated fixed64`/`double` field that may be packed (wire 2) or not. */
export function packed64(f: Field, read: (b: Uint8Array) => string | number): Array<string | number> {
  if (f.wire === 1 && f.bytes) return [read(f.bytes)];
  const out: Array<string | number> = [];
  const b = f.bytes ?? new Uint8Array();
  for (let o = 0; o + 8 <= b.length; o += 8) out.push(read(b.subarray(o, o + 8)));
  return out;
}
