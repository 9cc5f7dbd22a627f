/**
 * What a CONNECT client speaks first decides how its tunnel is handled: a TLS ClientHello
 * (SNI checked against the target before any byte reaches the upstream), plain HTTP (parsed
 * and checked request by request), anything else (opaque bytes), or nothing while the
 * upstream talks first (server-first protocols pass as opaque bytes).
 */
import type { Socket } from 'node:net';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../tls/client-hello.ts';
import { emit, type Ctx } from './context.ts';
import { EMPTY, splice } from './relay.ts';

export type Peek =
  | { kind: 'tls'; sni: string | null; buffered: Buffer }
  | { kind: 'http' | 'opaque'; buffered: Buffer }
  | { kind: 'closed' };

/** An HTTP/1 request line starts with a method token and a space. */
function classify(buf: Buffer): Peek | null {
  if (buf.length === 0) return null;
  if (buf[0] === 0x16) {
    const r = parseClientHello(buf);
    if (r.kind === 'incomplete' && buf.length <= MAX_CLIENT_HELLO_BYTES) return null;
    return r.kind === 'hello' ? { kind: 'tls', sni: r.sni, buffered: buf } : { kind: 'opaque', buffered: buf };
  }
  const head = buf.subarray(0, 16).toString('latin1');
  if (/^[A-Z]{1,15} /.test(head)) return { kind: 'http', buffered: buf };
  if (/^[A-Z]{0,15}$/.test(head) && buf.length < 16) return null;
  return { kind: 'opaque', buffered: buf };
}

/** Holds the client's first bytes until they can be classified. */
export function peekClient(ctx: Ctx, client: Socket, upstream: Socket | null, initial: Buffer): Promise<Peek> {
  return new Promise((resolve) => {
    let buf = initial;
    const settle = (p: Peek): void => {
      client.pause();
      client.off('data', onClient);
      client.off('close', onClose);
      client.off('timeout', onClose);
      upstream?.off('data', onUpstream);
      upstream?.off('close', onClose);
      resolve(p);
    };
    const onClient = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const p = classify(buf);
      if (p) settle(p);
    };
    const onUpstream = (chunk: Buffer): void => {
      upstream!.pause();
      upstream!.unshift(chunk);
      settle({ kind: 'opaque', buffered: buf });
    };
    const onClose = (): void => settle({ kind: 'closed' });
    const first = classify(buf);
    if (first) return resolve(first);
    client.on('data', onClient);
    upstream?.on('data', onUpstream);
    client.once('close', onClose);
    upstream?.once('close', onClose);
    client.setTimeout(ctx.opts.idleTimeoutMs);
    client.once('timeout', onClose);
  });
}

export interface TunnelInfo {
  host: string;
  port: number;
  rule: string;
  startMs: number;
  detail: Record<string, unknown>;
}

export function record(ctx: Ctx, info: TunnelInfo, type: string, extra: Record<string, unknown>, up: number, down: number): void {
  emit(ctx, type, {
    host: info.host, port: info.port, method: 'CONNECT', path: null, rule: info.rule, intercepted: false,
    intercept_reason: null, ...info.detail, ...extra, bytes_up: up, bytes_down: down,
    duration_ms: ctx.deps.clock.now() - info.startMs,
  });
}

/** Closes a tunnel whose ClientHello names another host than the one decided on. */
export function refuseSniMismatch(ctx: Ctx, client: Socket, upstream: Socket | null, info: TunnelInfo, sni: string): void {
  client.destroy();
  upstream?.destroy();
  ctx.stats.denied++;
  record(ctx, info, 'tunnel.sni_mismatch', { sni, status: 0, decision: 'deny' }, 0, 0);
}

/**
 * Byte tunnel; `buffered` (the peeked bytes) goes upstream first, and what the upstream sent
 * while the client was peeked at (held in its stream) reaches the client first.
 */
export function startTunnel(ctx: Ctx, client: Socket, upstream: Socket, buffered: Buffer, info: TunnelInfo): void {
  ctx.stats.tunnels++;
  splice(ctx, client, upstream, EMPTY, buffered, (up, down) => record(ctx, info, 'http.connect', { status: 200, decision: 'allow' }, up, down));
}
