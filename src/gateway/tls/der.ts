/**
 * The few DER (X.690) encodings a self-signed CA certificate needs, so that creating one is a
 * key generation and one signature (node:crypto) rather than an ASN.1 schema library walk.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
export const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
/** `[n] EXPLICIT` */
export const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content);
export const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
export const octets = (content: Buffer): Buffer => tlv(0x04, content);
export const bits = (content: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), content]));

/** A non-negative INTEGER from big-endian bytes (a leading zero is added when the top bit is set). */
export function uint(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && ((bytes[i + 1] ?? 0) & 0x80) === 0) i += 1;
  const v = bytes.subarray(i);
  return tlv(0x02, ((v[0] ?? 0) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

export const smallInt = (n: number): Buffer => uint(Buffer.from([n]));

export function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const base128: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      base128.unshift((v & 0x7f) | (base128.length > 0 ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
/** PrintableString where the text allows it, else UTF8String (as X.509 libraries choose). */
export const directoryString = (s: string): Buffer => tlv(PRINTABLE.test(s) ? 0x13 : 0x0c, Buffer.from(s, 'utf8'));

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5); whole seconds. */
export function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:T]/g, '');
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}
