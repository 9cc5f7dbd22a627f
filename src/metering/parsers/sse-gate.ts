/**
 * A byte-level gate in front of the SSE decoder: only stretches of the stream that contain
 * a needle (e.g. `usage`) are decoded and parsed; everything else is skipped after a few
 * native scans, without copying. The stream is cut at event boundaries (a blank line: LF LF,
 * or CRLF CRLF / CR CR once the stream has shown a CR), so the decoder always starts on a
 * fresh event. An event cannot carry a usage object without containing the key, so skipping
 * the rest loses nothing, and metering costs far less than decoding and JSON-parsing every
 * token delta. Framing the gate cannot follow only delays decoding (nothing is skipped
 * without a boundary); past MAX_CARRY_BYTES it gives up gating for the rest of the stream.
 */
import { createSseDecoder, type SseEvent } from './sse.ts';

const LF_LF = Buffer.from('\n\n');
const WITH_CR = [LF_LF, Buffer.from('\r\n\r\n'), Buffer.from('\r\r')] as const;
const MAX_CARRY_BYTES = 1024 * 1024;
/** Longest boundary minus one: how far back a boundary may start in the carried bytes. */
const BOUNDARY_REACH = 3;

export interface SseGate {
  push(chunk: Uint8Array): SseEvent[];
  end(): SseEvent[];
}

export function createSseGate(needles: readonly string[]): SseGate {
  if (needles.some((n) => n === '' || /[\r\n]/.test(n))) throw new Error('SSE gate needles must be non-empty and single-line');
  const keys = needles.map((n) => Buffer.from(n));
  const reach = Math.max(BOUNDARY_REACH, ...keys.map((k) => k.length - 1));
  const sse = createSseDecoder();
  const text = new TextDecoder();
  /** Bytes after the last boundary, not decoded yet (references, not copies). */
  let pieces: Buffer[] = [];
  let carryLen = 0;
  let carryHasKey = false;
  let sawCr = false;
  let ungated = false;

  const decode = (parts: readonly Buffer[]): SseEvent[] => {
    const out: SseEvent[] = [];
    for (const p of parts) out.push(...sse.push(text.decode(p, { stream: true })));
    return out;
  };
  /** The last `n` carried bytes followed by the first `n` bytes of `chunk` (tiny). */
  const junction = (chunk: Buffer, n: number): { buf: Buffer; split: number } => {
    const tail: Buffer[] = [];
    let need = n;
    for (let i = pieces.length - 1; i >= 0 && need > 0; i--) {
      const p = pieces[i]!;
      tail.unshift(p.subarray(Math.max(0, p.length - need)));
      need -= Math.min(need, p.length);
    }
    const t = Buffer.concat(tail);
    return { buf: Buffer.concat([t, chunk.subarray(0, n)]), split: t.length };
  };
  const hasKey = (b: Buffer): boolean => {
    for (const k of keys) if (b.indexOf(k) >= 0) return true;
    return false;
  };
  /** A needle that starts in the carried bytes and ends in `chunk` (byte compares, no copies). */
  const straddles = (chunk: Buffer): boolean => {
    const last = pieces[pieces.length - 1];
    if (!last) return false;
    if (last.length < reach) return hasKey(junction(chunk, reach).buf);
    for (const k of keys) {
      for (let s = 1; s < k.length && s <= chunk.length + s - 1; s++) {
        let ok = k.length - s <= chunk.length;
        for (let i = 0; ok && i < s; i++) ok = last[last.length - s + i] === k[i];
        for (let i = s; ok && i < k.length; i++) ok = chunk[i - s] === k[i];
        if (ok) return true;
      }
    }
    return false;
  };
  /** End (in `chunk`) of the last boundary that ends in `chunk`, or -1. */
  const cutIn = (chunk: Buffer): number => {
    const marks = sawCr ? WITH_CR : [LF_LF];
    let end = -1;
    for (const b of marks) {
      const i = chunk.lastIndexOf(b);
      if (i >= 0 && i + b.length > end) end = i + b.length;
    }
    if (end >= 0 || carryLen === 0) return end;
    const j = junction(chunk, BOUNDARY_REACH);
    for (const b of marks) {
      const i = j.buf.lastIndexOf(b);
      if (i >= 0 && i + b.length > j.split) end = Math.max(end, i + b.length - j.split);
    }
    return end;
  };

  return {
    push(chunk) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (bytes.length === 0) return [];
      if (ungated) return decode([bytes]);
      if (!sawCr && bytes.indexOf(13) >= 0) sawCr = true;
      // A superset of "the bytes up to the cut contain a needle": cheap and safe.
      const chunkHasKey = hasKey(bytes) || straddles(bytes);
      const cut = cutIn(bytes);
      if (cut < 0) {
        pieces.push(bytes);
        carryLen += bytes.length;
        carryHasKey ||= chunkHasKey;
        if (carryLen <= MAX_CARRY_BYTES) return [];
        ungated = true;
        const all = pieces;
        pieces = [];
        carryLen = 0;
        return decode(all);
      }
      const decodeNow = carryHasKey || chunkHasKey;
      const complete = decodeNow ? [...pieces, bytes.subarray(0, cut)] : [];
      const rest = bytes.subarray(cut);
      pieces = rest.length > 0 ? [rest] : [];
      carryLen = rest.length;
      // Needles hold no line breaks, so none straddles the cut.
      carryHasKey = chunkHasKey && rest.length > 0 && hasKey(rest);
      return decodeNow ? decode(complete) : [];
    },
    end() {
      const out = decode(pieces);
      pieces = [];
      carryLen = 0;
      out.push(...sse.push(text.decode()), ...sse.end());
      return out;
    },
  };
}
