/**
 * Byte relays for tunnels (opaque CONNECT, captured TLS, WebSocket pass-through). The native
 * splice relay takes the sockets when it can; Node's `pipe` relay handles the rest. Both keep
 * the same semantics: the caller's bytes go first, EOF on one side ends the other's writing
 * while the other direction keeps flowing, an error or close on either side or idling out
 * closes both, and `done` gets the bytes delivered each way.
 */
import type { Duplex } from 'node:stream';
import type { Ctx } from './context.ts';

export const EMPTY = Buffer.alloc(0);

/** Relays `a` (the client side) and `b` (the upstream); `toA`/`toB` are written first. */
export function splice(ctx: Ctx, a: Duplex, b: Duplex, toA: Buffer, toB: Buffer, done: (aToB: number, bToA: number) => void): void {
  if (ctx.relay && ctx.relay.take(a, b, toA, toB, ctx.opts.idleTimeoutMs, done) !== null) {
    ctx.stats.relayed++;
    return;
  }
  pipeRelay(ctx, a, b, toA, toB, done);
}

type Counted = Duplex & { bytesWritten?: number; bytesRead?: number; setTimeout?: (ms: number, cb: () => void) => void };

/** Node's relay. Byte counts come from the upstream side's counters (no per-chunk listeners). */
function pipeRelay(ctx: Ctx, a: Duplex, b: Duplex, toA: Buffer, toB: Buffer, done: (aToB: number, bToA: number) => void): void {
  const counted = b as Counted;
  const w0 = counted.bytesWritten ?? 0;
  // What the upstream sent before the relay started (held in its stream) was read already.
  const r0 = (counted.bytesRead ?? 0) - b.readableLength - toA.length;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    const ab = (counted.bytesWritten ?? 0) - w0;
    const ba = (counted.bytesRead ?? 0) - r0;
    a.destroy();
    b.destroy();
    done(ab, ba);
  };
  for (const s of [a, b] as Counted[]) {
    // Half-close: EOF on one side ends the other's writing only; 'close' waits for both ways.
    (s as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = true;
    s.on('error', close);
    s.once('close', close);
    s.setTimeout?.(ctx.opts.idleTimeoutMs, close);
  }
  if (toA.length) a.write(toA);
  if (toB.length) b.write(toB);
  a.pipe(b);
  b.pipe(a);
}
