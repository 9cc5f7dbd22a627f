/**
 * The framing of kmd's fast-path sessions, whose other end is the native CLI
 * (native/km-client.c): after `101 Switching Protocols`, one JSON object per line each way,
 * every object with a `t` (its type). Byte strings (argv, the environment, output) travel as
 * base64, lists of them as base64 of NUL-terminated items, so the C side reads only base64
 * strings, numbers and booleans and needs no JSON string decoder.
 */
import type { Duplex } from 'node:stream';

/** A line longer than this (a hello with a huge environment, garbage) ends the session. */
export const MAX_FRAME_BYTES = 4 << 20;

export type Frame = { t: string; [k: string]: unknown };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const encodeBytes = (b: Buffer | string): string => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b).toString('base64');

/** Base64 → the UTF-8 text (invalid sequences become U+FFFD, as Node decodes argv); null when not base64. */
export function decodeText(v: unknown): string | null {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) return null;
  return Buffer.from(v, 'base64').toString('utf8');
}

/** `['a', '']` → base64 of `a\0\0`; NUL cannot occur inside an item (argv and environ cannot hold it). */
export function encodeList(items: readonly string[]): string {
  return Buffer.concat(items.map((s) => Buffer.from(`${s}\0`, 'utf8'))).toString('base64');
}

export function decodeList(v: unknown): string[] | null {
  const text = decodeText(v);
  if (text === null) return null;
  if (text === '') return [];
  if (!text.endsWith('\0')) return null;
  return text.slice(0, -1).split('\0');
}

/** `K=V` items (an environment block) → an env object; items without `=` are skipped. */
export function envOfList(items: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of items) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

export interface FrameChannel {
  /** Writes a frame unless the connection is gone (a vanished client is not an error). */
  send(frame: Frame): void;
  /** Sends the last frame (if any) and closes our side. */
  end(frame?: Frame): void;
  /**
   * Every complete frame the client sends, in order, to `cb` (null: keep them queued for the
   * next listener); a malformed line ends the session.
   */
  onFrame(cb: ((f: Frame) => void) | null): void;
  /** Once, when the connection is gone (either side, or destroyed at shutdown). */
  onClose(cb: () => void): void;
  readonly open: boolean;
}

export function frameChannel(socket: Duplex, head: Buffer, limit = MAX_FRAME_BYTES): FrameChannel {
  let pending: Buffer[] = [];
  let size = 0;
  let listener: ((f: Frame) => void) | null = null;
  const queued: Frame[] = [];
  let closed = false;
  const closers: Array<() => void> = [];
  const deliver = (f: Frame) => (listener ? listener(f) : queued.push(f));
  const line = (bytes: Buffer): boolean => {
    let f: unknown;
    try {
      f = JSON.parse(bytes.toString('utf8'));
    } catch {
      return false;
    }
    if (typeof f !== 'object' || f === null || Array.isArray(f) || typeof (f as Frame).t !== 'string') return false;
    deliver(f as Frame);
    return true;
  };
  const take = (chunk: Buffer): void => {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
      const whole = Buffer.concat([...pending, chunk.subarray(from, nl)]);
      pending = [];
      size = 0;
      from = nl + 1;
      if (!line(whole)) return void socket.destroy();
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      size += chunk.length - from;
      if (size > limit) socket.destroy();
    }
  };
  socket.on('data', (c: Buffer) => take(c));
  // kmd's HTTP server allows half-open sockets: the client's end of stream would not close
  // ours. The client never half-closes, so its end means it is gone.
  socket.once('end', () => socket.end());
  socket.once('close', () => {
    closed = true;
    for (const cb of closers.splice(0)) cb();
  });
  if (head.length > 0) take(head);
  const writable = () => !closed && socket.writable && !socket.destroyed;
  return {
    send(frame) {
      if (writable()) socket.write(`${JSON.stringify(frame)}\n`);
    },
    end(frame) {
      if (writable()) socket.end(frame ? `${JSON.stringify(frame)}\n` : undefined);
    },
    onFrame(cb) {
      listener = cb;
      while (listener !== null && listener === cb && queued.length > 0) cb(queued.shift() as Frame);
    },
    onClose(cb) {
      if (closed) cb();
      else closers.push(cb);
    },
    get open() {
      return !closed;
    },
  };
}

/** The first frame, or null when the client sends none in time (or closes first). */
export function firstFrame(ch: FrameChannel, timeoutMs: number): Promise<Frame | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    timer.unref();
    ch.onClose(() => {
      clearTimeout(timer);
      resolve(null);
    });
    ch.onFrame((f) => {
      ch.onFrame(null);
      clearTimeout(timer);
      resolve(f);
    });
  });
}
