/**
 * Incremental decoder for the binary AWS event-stream framing (application/vnd.amazon.eventstream)
 * used by Bedrock's streaming APIs: 12-byte prelude (total length, headers length, prelude CRC32),
 * headers, payload, message CRC32. Frames may be split at any byte boundary.
 */
import { crc32 } from 'node:zlib';

export interface EventStreamMessage {
  headers: Record<string, string | number | boolean | Uint8Array>;
  payload: Buffer;
}

export interface EventStreamDecoder {
  push(chunk: Uint8Array): EventStreamMessage[];
  /** Bytes left over that did not form a whole frame, or -1 after a framing error. */
  pending(): number;
}

const MAX_FRAME = 16 * 1024 * 1024;

/** CRC-32 (IEEE, as zlib computes it) lookup table, for the 8-byte preludes. */
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of `buf[at, at + 8)`: a prelude, checked in place (no view, no native call per frame). */
export function preludeCrc(buf: Buffer, at: number): number {
  let c = -1;
  for (let i = at; i < at + 8; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Total length of the frame whose prelude starts at `at`, or -1 when the prelude is invalid. */
function frameLength(buf: Buffer, at: number): number {
  const total = buf.readUInt32BE(at);
  const headersLen = buf.readUInt32BE(at + 4);
  if (total < 16 || total > MAX_FRAME || headersLen > total - 16 || preludeCrc(buf, at) !== buf.readUInt32BE(at + 8)) return -1;
  return total;
}

export interface EventStreamFilter {
  /** Only frames whose `:event-type` header is this (compared as bytes, nothing decoded). */
  eventType: string;
  /** Then only those whose payload, `frame[start, end)`, this accepts (read it in place). */
  payload?: (frame: Buffer, start: number, end: number) => boolean;
}

/**
 * `only` (optional) picks frames before anything else is done with them: the others are
 * skipped without a CRC check, header decoding or any allocation (the cheap path for token
 * deltas). With `only`, messages carry only the `:event-type` header.
 */
export function createEventStreamDecoder(options: { only?: EventStreamFilter } = {}): EventStreamDecoder {
  const only = options.only;
  const wantType = only ? Buffer.from(only.eventType) : undefined;
  /** Bytes of an incomplete frame carried to the next chunk (one frame at most). */
  let carry: Buffer = Buffer.alloc(0);
  let broken = false;
  /** Decodes whole frames from `buf` into `out`; returns where the unconsumed bytes start, or -1. */
  const frames = (buf: Buffer, out: EventStreamMessage[]): number => {
    let at = 0;
    while (buf.byteLength - at >= 12) {
      const total = frameLength(buf, at);
      if (total < 0) return -1;
      if (buf.byteLength - at < total) break;
      const start = at;
      at += total;
      const headersEnd = start + 12 + buf.readUInt32BE(start + 4);
      // The payload is a view into the chunk: consumers use it before the next push.
      const payloadEnd = start + total - 4;
      let headers: EventStreamMessage['headers'] | undefined;
      if (only && wantType) {
        if (!eventTypeIs(buf, start + 12, headersEnd, wantType)) continue;
        if (only.payload && !only.payload(buf, headersEnd, payloadEnd)) continue;
        headers = { ':event-type': only.eventType };
      }
      const frame = buf.subarray(start, start + total);
      if (crc32(frame.subarray(0, total - 4)) !== frame.readUInt32BE(total - 4)) continue;
      headers ??= decodeHeaders(buf.subarray(start + 12, headersEnd));
      if (headers) out.push({ headers, payload: buf.subarray(headersEnd, payloadEnd) });
    }
    return at;
  };
  const fail = (out: EventStreamMessage[]): EventStreamMessage[] => {
    broken = true;
    carry = Buffer.alloc(0);
    return out;
  };
  return {
    push(chunk) {
      if (broken) return [];
      let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const out: EventStreamMessage[] = [];
      if (carry.byteLength > 0) {
        // Complete the carried frame with just the bytes it needs, then go on in the chunk.
        const take = (n: number): void => {
          const k = Math.min(n, buf.byteLength);
          carry = Buffer.concat([carry, buf.subarray(0, k)]);
          buf = buf.subarray(k);
        };
        if (carry.byteLength < 12) take(12 - carry.byteLength);
        if (carry.byteLength < 12) return out;
        const total = frameLength(carry, 0);
        if (total < 0) return fail(out);
        take(total - carry.byteLength);
        if (carry.byteLength < total) return out;
        if (frames(carry, out) < 0) return fail(out);
        carry = Buffer.alloc(0);
      }
      const used = frames(buf, out);
      if (used < 0) return fail(out);
      carry = used < buf.byteLength ? Buffer.from(buf.subarray(used)) : Buffer.alloc(0);
      return out;
    },
    pending: () => (broken ? -1 : carry.byteLength),
  };
}

function decodeHeaders(b: Buffer): EventStreamMessage['headers'] | undefined {
  const out: EventStreamMessage['headers'] = {};
  let i = 0;
  try {
    while (i < b.byteLength) {
      const nameLen = b.readUInt8(i);
      const name = b.toString('utf8', i + 1, i + 1 + nameLen);
      i += 1 + nameLen;
      const type = b.readUInt8(i);
      i += 1;
      switch (type) {
        case 0: out[name] = true; break;
        case 1: out[name] = false; break;
        case 2: out[name] = b.readInt8(i); i += 1; break;
        case 3: out[name] = b.readInt16BE(i); i += 2; break;
        case 4: out[name] = b.readInt32BE(i); i += 4; break;
        case 5: out[name] = Number(b.readBigInt64BE(i)); i += 8; break;
        case 6: { const n = b.readUInt16BE(i); out[name] = b.subarray(i + 2, i + 2 + n); i += 2 + n; break; }
        case 7: { const n = b.readUInt16BE(i); out[name] = b.toString('utf8', i + 2, i + 2 + n); i += 2 + n; break; }
        case 8: out[name] = Number(b.readBigInt64BE(i)); i += 8; break;
        case 9: out[name] = b.subarray(i, i + 16); i += 16; break;
        default: return undefined;
      }
    }
  } catch {
    return undefined;
  }
  return out;
}

const EVENT_TYPE = Buffer.from(':event-type');
/** Bytes of each fixed-size header value type (AWS event-stream encoding); -1 = length-prefixed. */
const VALUE_BYTES: readonly number[] = [0, 0, 1, 2, 4, 8, -1, -1, 8, 16];

/**
 * Where the `:event-type` header's value lies in `b[start, end)` (the headers), without
 * decoding the others; undefined when absent or malformed.
 */
function eventTypeAt(b: Buffer, start: number, end: number): { at: number; len: number } | undefined {
  let i = start;
  while (i < end) {
    const nameLen = b[i]!;
    const nameAt = i + 1;
    i = nameAt + nameLen;
    if (i >= end) return undefined;
    const type = b[i]!;
    i += 1;
    const fixed: number | undefined = VALUE_BYTES[type];
    if (fixed === undefined) return undefined;
    let len = fixed;
    if (fixed === -1) {
      if (i + 2 > end) return undefined;
      len = (b[i]! << 8) | b[i + 1]!;
      i += 2;
    }
    if (i + len > end) return undefined;
    if (type === 7 && bytesAt(b, nameAt, nameLen, EVENT_TYPE)) return { at: i, len };
    i += len;
  }
  return undefined;
}

/** Whether `b[at, at + len)` is exactly `want` (a short byte loop: cheaper than Buffer#compare per frame). */
export function bytesAt(b: Buffer, at: number, len: number, want: Buffer): boolean {
  if (len !== want.length || at + len > b.length) return false;
  for (let i = 0; i < len; i++) if (b[at + i] !== want[i]) return false;
  return true;
}

/** Whether the `:event-type` header of the headers in `b[start, end)` is exactly `want` (none, or malformed: false). */
export function eventTypeIs(b: Buffer, start: number, end: number, want: Buffer): boolean {
  const v = eventTypeAt(b, start, end);
  return v !== undefined && bytesAt(b, v.at, v.len, want);
}
