/**
 * A byte-level gate in front of the SSE decoder: only the events that contain a needle (e.g.
 * `usage`) are decoded; every other event is skipped after a few native scans per chunk,
 * without copying or decoding it. An event cannot carry a usage object without containing
 * the key, so skipping the rest loses nothing, and metering costs far less than decoding and
 * JSON-parsing every token delta.
 *
 * Events are delimited by blank lines: LF LF always, and CR CR or CRLF CRLF once the stream
 * has shown a CR. Each event holding a needle is decoded on its own (it starts right after a
 * boundary, so a fresh decoder sees a fresh event); a blank-line form the gate does not cut at
 * only makes a decoded stretch hold more than one event. Bytes after the last boundary are
 * carried (as references) until the event ends; past MAX_CARRY_BYTES the gate gives up gating
 * and decodes the rest of the stream as it comes.
 */
import { createSseDecoder, type SseEvent } from './sse.ts';
import { gateScan as defaultGateScan, indexOf as defaultIndexOf, type GateScan, type IndexOf } from './scan.ts';

const LF_LF = Buffer.from('\n\n');
const LF_ONLY = [LF_LF] as const;
const WITH_CR = [LF_LF, Buffer.from('\r\n\r\n'), Buffer.from('\r\r')] as const;
const MAX_CARRY_BYTES = 1024 * 1024;
/** Longest boundary minus one: how far back a boundary may start in the carried bytes. */
const BOUNDARY_REACH = 3;
const CR = 13;
/** What most pushes return (never written to). */
const NONE: SseEvent[] = [];
const LF = 10;

export interface SseGate {
  push(chunk: Uint8Array): SseEvent[];
  end(): SseEvent[];
}

/** Every event in `bytes` (which start at an event start and end at a boundary or the end). */
function decodeEvents(bytes: Buffer, atStreamStart: boolean): SseEvent[] {
  let text = bytes.toString('utf8');
  if (atStreamStart && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const d = createSseDecoder();
  const out = d.push(text);
  for (const e of d.end()) out.push(e);
  return out;
}

/** The native scan's answers (one gate runs at a time: a push never re-enters another). */
const SCAN_OUT = new Int32Array(3);

/**
 * `indexOf`: the key search; `gateScan`: the one-call scan (null: each question on its own, as
 * also when there is more than one needle or a custom `indexOf`).
 */
export function createSseGate(needles: readonly string[], opts: { indexOf?: IndexOf; gateScan?: GateScan | null } = {}): SseGate {
  const indexOf = opts.indexOf ?? defaultIndexOf;
  if (needles.some((n) => n === '' || /[\r\n]/.test(n))) throw new Error('SSE gate needles must be non-empty and single-line');
  const keys = needles.map((n) => Buffer.from(n));
  const reach = Math.max(BOUNDARY_REACH, ...keys.map((k) => k.length - 1));
  const scan = keys.length === 1 && opts.indexOf === undefined ? (opts.gateScan === undefined ? defaultGateScan : opts.gateScan) : null;
  /** Bytes after the last boundary: whole chunks (references, not copies), the first from `skip`. */
  const pieces: Buffer[] = [];
  let skip = 0;
  let carryLen = 0;
  let carryHasKey = false;
  let sawCr = false;
  let streamStart = true;
  /** Past MAX_CARRY_BYTES without a boundary: everything is decoded as it comes. */
  let ungated: { sse: ReturnType<typeof createSseDecoder>; text: InstanceType<typeof TextDecoder> } | undefined;

  const marks = (): readonly Buffer[] => (sawCr ? WITH_CR : LF_ONLY);
  /** Position of the first needle at or after `from`, or -1. */
  const findKey = (b: Buffer, from: number): number => {
    let best = -1;
    for (const k of keys) {
      const i = indexOf(b, k, from);
      if (i >= 0 && (best < 0 || i < best)) best = i;
    }
    return best;
  };
  /** The last `n` carried bytes followed by the first `n` bytes of `chunk` (tiny). */
  const junction = (chunk: Buffer, n: number): { buf: Buffer; split: number } => {
    const tail: Buffer[] = [];
    let need = n;
    for (let i = pieces.length - 1; i >= 0 && need > 0; i--) {
      const p = pieces[i]!;
      const from = i === 0 ? skip : 0;
      tail.unshift(p.subarray(Math.max(from, p.length - need)));
      need -= Math.min(need, p.length - from);
    }
    const t = Buffer.concat(tail);
    return { buf: Buffer.concat([t, chunk.subarray(0, n)]), split: t.length };
  };
  /** A needle that starts in the carried bytes and ends in `chunk` (byte compares, no copies). */
  const straddles = (chunk: Buffer): boolean => {
    const last = pieces[pieces.length - 1];
    if (!last) return false;
    if (last.length - (pieces.length === 1 ? skip : 0) < reach) {
      const j = junction(chunk, reach);
      for (const k of keys) {
        const i = j.buf.indexOf(k);
        if (i >= 0 && i < j.split && i + k.length > j.split) return true;
      }
      return false;
    }
    for (const k of keys) {
      for (let s = 1; s < k.length; s++) {
        let ok = k.length - s <= chunk.length;
        for (let i = 0; ok && i < s; i++) ok = last[last.length - s + i] === k[i];
        for (let i = s; ok && i < k.length; i++) ok = chunk[i - s] === k[i];
        if (ok) return true;
      }
    }
    return false;
  };
  /** End (in `chunk`) of the last boundary lying wholly in `chunk`, or -1. */
  const lastCut = (chunk: Buffer): number => {
    let end = -1;
    for (const b of marks()) {
      const i = chunk.lastIndexOf(b);
      if (i >= 0 && i + b.length > end) end = i + b.length;
    }
    return end;
  };
  /** End (in `chunk`) of the first boundary that ends in `chunk` (it may start in the carry), or -1. */
  const firstCut = (chunk: Buffer): number => {
    let end = -1;
    for (const b of marks()) {
      const i = chunk.indexOf(b);
      if (i >= 0 && (end < 0 || i + b.length < end)) end = i + b.length;
    }
    if (carryLen === 0) return end;
    if (!sawCr) {
      const last = pieces[pieces.length - 1]!;
      return last[last.length - 1] === LF && chunk[0] === LF ? 1 : end;
    }
    const j = junction(chunk, BOUNDARY_REACH);
    for (const b of WITH_CR) {
      for (let i = j.buf.indexOf(b); i >= 0; i = j.buf.indexOf(b, i + 1)) {
        const e = i + b.length - j.split;
        if (e > 0 && (end < 0 || e < end)) end = e;
      }
    }
    return end;
  };
  /** Start of the event holding position `h` (which is at or after `floor`, a boundary's end). */
  const eventStart = (chunk: Buffer, h: number, floor: number): number => {
    let start = floor;
    for (const b of marks()) {
      if (h - b.length < floor) continue;
      const i = chunk.lastIndexOf(b, h - b.length);
      if (i >= floor && i + b.length > start) start = i + b.length;
    }
    return start;
  };
  /** End of the event holding position `h` (a boundary ends at or before `ceiling`). */
  const eventEnd = (chunk: Buffer, h: number, ceiling: number): number => {
    let end = ceiling;
    for (const b of marks()) {
      const i = chunk.indexOf(b, h);
      if (i >= 0 && i + b.length < end) end = i + b.length;
    }
    return end;
  };
  /** The carried bytes, as views (only when they are to be decoded). */
  const carried = (): Buffer[] => pieces.map((p, i) => (i === 0 && skip > 0 ? p.subarray(skip) : p));
  const setCarry = (chunk: Buffer | undefined, from: number): void => {
    pieces.length = 0;
    if (chunk) pieces.push(chunk);
    skip = chunk ? from : 0;
    carryLen = chunk ? chunk.length - from : 0;
  };
  const decode = (parts: readonly Buffer[], out: SseEvent[]): SseEvent[] => {
    if (parts.length === 0) return out;
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    for (const e of decodeEvents(bytes, streamStart)) out.push(e);
    return out;
  };
  const giveUp = (): SseEvent[] => {
    ungated = { sse: createSseDecoder(), text: new TextDecoder() };
    const out: SseEvent[] = [];
    for (const p of carried()) out.push(...ungated.sse.push(ungated.text.decode(p, { stream: true })));
    setCarry(undefined, 0);
    return out;
  };

  return {
    push(chunk) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (bytes.length === 0) return NONE;
      if (ungated) return ungated.sse.push(ungated.text.decode(bytes, { stream: true }));
      let last: number;
      let straddled: boolean;
      let h: number;
      if (scan) {
        // One native call: the key, the last boundary (and the first CR), the straddle.
        const tail = pieces.length > 0 ? pieces[pieces.length - 1]! : null;
        h = scan(bytes, keys[0]!, tail, pieces.length === 1 ? skip : 0, sawCr ? 1 : 0, SCAN_OUT);
        last = SCAN_OUT[0]!;
        if (SCAN_OUT[1] === 1) sawCr = true;
        straddled = SCAN_OUT[2] === 1 || (SCAN_OUT[2] === -1 && straddles(bytes));
      } else {
        last = lastCut(bytes);
        if (last < 0 && !sawCr && bytes.indexOf(CR) >= 0) {
          sawCr = true;
          last = lastCut(bytes);
        }
        straddled = straddles(bytes);
        h = findKey(bytes, 0);
      }
      // Where the carried event ends matters only when something is to be decoded.
      const first = last >= 0 && !carryHasKey && !straddled && h < 0 ? last : last >= 0 || carryLen > 0 ? firstCut(bytes) : -1;
      if (first < 0) {
        pieces.push(bytes);
        carryLen += bytes.length;
        carryHasKey ||= straddled || h >= 0;
        return carryLen <= MAX_CARRY_BYTES ? NONE : giveUp();
      }
      let out = NONE;
      // The event ending at `first` began in the carried bytes (or at this chunk's start).
      if (carryHasKey || straddled || (h >= 0 && h < first)) out = decode([...carried(), bytes.subarray(0, first)], []);
      streamStart = false;
      const end = Math.max(first, last);
      if (h >= 0 && h < first) h = findKey(bytes, first);
      // Whole events in this chunk: only those holding a needle are decoded.
      while (h >= 0 && h < end) {
        const e = eventEnd(bytes, h, end);
        out = decode([bytes.subarray(eventStart(bytes, h, first), e)], out === NONE ? [] : out);
        h = findKey(bytes, e);
      }
      setCarry(end < bytes.length ? bytes : undefined, end);
      carryHasKey = h >= end;
      return out;
    },
    end() {
      if (ungated) return [...ungated.sse.push(ungated.text.decode()), ...ungated.sse.end()];
      const out = carryHasKey ? decode(carried(), []) : [];
      setCarry(undefined, 0);
      return out;
    },
  };
}
