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

export function createEventStreamDecoder(): EventStreamDecoder {
  let buf = Buffer.alloc(0);
  let broken = false;
  return {
    push(chunk) {
      if (broken) return [];
      buf = buf.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
      const out: EventStreamMessage[] = [];
      while (buf.byteLength >= 12) {
        const total = buf.readUInt32BE(0);
        const headersLen = buf.readUInt32BE(4);
        if (total < 16 || total > MAX_FRAME || headersLen > total - 16 || crc32(buf.subarray(0, 8)) !== buf.readUInt32BE(8)) {
          broken = true;
          buf = Buffer.alloc(0);
          break;
        }
        if (buf.byteLength < total) break;
        const frame = buf.subarray(0, total);
        buf = buf.subarray(total);
        if (crc32(frame.subarray(0, total - 4)) !== frame.readUInt32BE(total - 4)) continue;
        const headers = decodeHeaders(frame.subarray(12, 12 + headersLen));
        if (headers) out.push({ headers, payload: Buffer.from(frame.subarray(12 + headersLen, total - 4)) });
      }
      return out;
    },
    pending: () => (broken ? -1 : buf.byteLength),
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
