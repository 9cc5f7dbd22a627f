/**
 * The native relay for opaque tunnels (native/km-relay.c): both sockets of a tunnel are handed
 * to a thread that moves their bytes with splice(2), so the kernel copies them once and the
 * gateway's event loop is free. Node's `pipe` relay (relay.ts) stays for what cannot be handed
 * over (TLS sockets, unflushed writes) and for hosts where the addon cannot be built.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { loadAddon } from '../../native/index.ts';

interface RelayAddon {
  create(onEnd: (id: number, aToB: number, bToA: number, reason: number, errno: number) => void, pipeBytes: number, socketBufferBytes: number): object;
  open(relay: object, fdA: number, fdB: number, toB: Buffer | null, toA: Buffer | null, idleMs: number, flags: number): number;
  close(relay: object, id: number): void;
  stop(relay: object): void;
}

export type RelayEnd = 'eof' | 'error' | 'idle' | 'closed';
const ENDS: readonly RelayEnd[] = ['eof', 'error', 'idle', 'closed'];

/** Called once per tunnel with the bytes delivered each way (A→B, B→A) and why it ended. */
export type RelayDone = (aToB: number, bToA: number, end: RelayEnd) => void;

export interface NativeRelay {
  /** Tunnels open right now (each holds two connections). */
  readonly size: number;
  /**
   * Takes both sockets over: what Node has read but not delivered moves along (after `toB`,
   * resp. `toA`), then Node's sockets are destroyed without touching the connections. Null when
   * a socket cannot be handed over (not a plain socket, or writes still queued): the caller
   * relays it itself, the sockets untouched.
   */
  take(a: Duplex, b: Duplex, toA: Buffer, toB: Buffer, idleMs: number, done: RelayDone): number | null;
  /** Ends one tunnel (its `done` reports `closed`). */
  closeTunnel(id: number): void;
  /** Ends every tunnel; resolves once all their `done` callbacks have run. */
  close(): Promise<void>;
}

export interface NativeRelayOptions {
  /** Pipe capacity per direction (the kernel rounds up to pages; default 256 KiB). */
  pipeBytes?: number;
  /** SO_RCVBUF/SO_SNDBUF for the relayed sockets (0: leave the kernel's autotuning). */
  socketBufferBytes?: number;
  /** read(2)/write(2) instead of splice (splice's own fallback, forced: for tests). */
  readWrite?: boolean;
}

/** Tuned with bench/gateway-http.ts on loopback: see the numbers in that file's header. */
const DEFAULTS = { pipeBytes: 256 * 1024, socketBufferBytes: 256 * 1024 };

type Handle = { _handle?: { fd?: unknown; reading?: boolean; readStop?: () => number } | null; encrypted?: boolean };

/** The socket's descriptor when it is a plain TCP or unix socket with nothing left to write. */
function handOverFd(s: Duplex): number {
  const h = (s as Duplex & Handle)._handle;
  const fd = h?.fd;
  if ((s as Duplex & Handle).encrypted || typeof fd !== 'number' || fd < 0 || typeof h?.readStop !== 'function') return -1;
  return s.destroyed || s.writableLength > 0 ? -1 : fd;
}

/**
 * Stops Node reading and takes what it buffered. Synchronous with `open` and `destroy`: libuv
 * reads only when the loop polls, so no byte can land in the stream in between.
 */
export function stopReading(s: Duplex): Buffer {
  const chunks: Buffer[] = [];
  while (s.readableLength > 0) {
    const c = s.read() as Buffer | null;
    if (c === null) break;
    chunks.push(c);
  }
  const h = (s as Duplex & Handle)._handle!;
  h.reading = false;
  h.readStop!();
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Gives a socket back to Node after a failed hand-over: the buffered bytes first, as before. */
function resumeReading(s: Duplex, held: Buffer): void {
  if (held.length) s.unshift(held);
}

const joined = (first: Buffer, then: Buffer): Buffer | null => (then.length === 0 ? (first.length ? first : null) : first.length ? Buffer.concat([first, then]) : then);

export function createNativeRelay(addon: RelayAddon, options: NativeRelayOptions = {}): NativeRelay {
  const pipeBytes = options.pipeBytes ?? DEFAULTS.pipeBytes;
  const socketBufferBytes = options.socketBufferBytes ?? DEFAULTS.socketBufferBytes;
  const flags = options.readWrite ? 1 : 0;
  const open = new Map<number, RelayDone>();
  // The thread starts with the first tunnel: a gateway that never tunnels costs nothing.
  let handle: object | null = null;
  let closing: Promise<void> | null = null;
  let stopped = (): void => {};
  const onEnd = (id: number, aToB: number, bToA: number, reason: number): void => {
    if (id === 0) return stopped();
    const done = open.get(id);
    open.delete(id);
    done?.(aToB, bToA, ENDS[reason] ?? 'error');
  };
  return {
    get size() {
      return open.size;
    },
    take(a, b, toA, toB, idleMs, done) {
      if (closing) return null;
      const fa = handOverFd(a);
      const fb = handOverFd(b);
      if (fa < 0 || fb < 0) return null;
      const heldA = stopReading(a);
      const heldB = stopReading(b);
      let id: number;
      try {
        handle ??= addon.create(onEnd, pipeBytes, socketBufferBytes);
        id = addon.open(handle, fa, fb, joined(toB, heldA), joined(toA, heldB), idleMs, flags);
      } catch {
        // No descriptors left, or no thread: this tunnel goes through Node instead.
        resumeReading(a, heldA);
        resumeReading(b, heldB);
        return null;
      }
      open.set(id, done);
      // The relay holds duplicates: closing Node's descriptors leaves the connections up.
      (a as Socket).destroy();
      (b as Socket).destroy();
      return id;
    },
    closeTunnel(id) {
      if (handle && open.has(id)) addon.close(handle, id);
    },
    close() {
      if (closing) return closing;
      if (!handle) return (closing = Promise.resolve());
      closing = new Promise<void>((resolve) => (stopped = resolve));
      addon.stop(handle);
      return closing;
    },
  };
}

/** The relay for one gateway, or why there is none (no compiler, no headers: Node's relay then). */
export function nativeRelayFor(options: NativeRelayOptions = {}): { relay: NativeRelay } | { reason: string } {
  const r = loadAddon<RelayAddon>('km-relay');
  return 'reason' in r ? r : { relay: createNativeRelay(r.addon, options) };
}
