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

/** Total length of the frame whose prelude starts at `at`, or -1 when the prelude is invalid. */
function frameLength(buf: Buffer, at: number): number {
  const total = buf.readUInt32BE(at);
  const headersLen = buf.readUInt32BE(at + 4);
  if (total < 16 || total > MAX_FRAME || headersLen > total - 16 || crc32(buf.subarray(at, at + 8)) !== buf.readUInt32BE(at + 8)) return -1;
  return total;
}

/**
 * `accept` (optional) sees each frame's `:event-type` and payload before anything else is
 * done with it: frames it refuses are skipped without a CRC check or header decoding (the
 * cheap path for token deltas). With `accept`, messages carry only the `:event-type` header.
 */
export function createEventStreamDecoder(options: { accept?: (eventType: string | undefined, payload: Buffer) => boolean } = {}): EventStreamDecoder {
  const accept = options.accept;
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
      const frame = buf.subarray(at, at + total);
      at += total;
      const headersLen = frame.readUInt32BE(4);
      // The payload is a view into the chunk: consumers use it before the next push.
      const payload = frame.subarray(12 + headersLen, total - 4);
      let headers: EventStreamMessage['headers'] | undefined;
      if (accept) {
        const type = peekEventType(frame, 12, 12 + headersLen);
        if (!accept(type, payload)) continue;
        headers = type === undefined ? {} : { ':event-type': type };
      }
      if (crc32(frame.subarray(0, total - 4)) !== frame.readUInt32BE(total - 4)) continue;
      headers ??= decodeHeaders(frame.subarray(12, 12 + headersLen));
      if (headers) out.push({ headers, payload });
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

/** The `:event-type` header's value without decoding the others (undefined when absent or malformed). */
export function peekEventType(b: Buffer, start: number, end: number): string | undefined {
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
      len = b.readUInt16BE(i);
      i += 2;
    }
    if (i + len > end) return undefined;
    if (type === 7 && nameLen === EVENT_TYPE.length && b.compare(EVENT_TYPE, 0, nameLen, nameAt, nameAt + nameLen) === 0) return b.toString('utf8', i, i + len);
    i += len;
  }
  return undefined;
}
