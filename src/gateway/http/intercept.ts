/**
 * TLS termination with a leaf from the sandbox CA (ALPN http/1.1 only); the decrypted
 * stream is handed to the inner HTTP server, which checks every request against the
 * connection's target (SPEC §3.4, §5).
 */
import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { emit, track, type ConnInfo, type Ctx } from './context.ts';

/** Host used for the leaf when a denied flow named none (no SNI and no known address). */
const NO_NAME_LEAF = 'no-sni.km.invalid';

export async function startIntercept(ctx: Ctx, raw: Socket, conn: ConnInfo, startMs: number): Promise<void> {
  ctx.stats.intercepted++;
  raw.on('error', () => {});
  raw.pause();
  let secureContext;
  try {
    secureContext = await ctx.deps.leafs.getSecureContext(conn.host ?? conn.originalIp ?? NO_NAME_LEAF);
  } catch {
    ctx.stats.errors++;
    raw.destroy();
    return;
  }
  if (raw.destroyed) return;
  const tls = new TLSSocket(raw, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
  track(ctx, tls);
  tls.setTimeout(ctx.opts.idleTimeoutMs, () => tls.destroy());
  tls.once('secure', () => {
    const sni = (tls as TLSSocket & { servername?: string | false }).servername;
    if (typeof sni === 'string' && sni !== '') conn.sni = sni;
  });
  tls.once('close', () => recordBound(ctx, conn, raw, startMs));
  ctx.conns.set(tls, conn);
  ctx.inner.emit('connection', tls);
}

/**
 * Plain HTTP inside a CONNECT tunnel: parsed like intercepted traffic (Host must name the
 * CONNECT target, pathRules apply) and forwarded over plain HTTP.
 */
export function startBoundPlain(ctx: Ctx, raw: Socket, conn: ConnInfo, startMs: number): void {
  conn.scheme = 'http';
  raw.once('close', () => recordBound(ctx, conn, raw, startMs));
  ctx.conns.set(raw, conn);
  ctx.inner.emit('connection', raw);
  raw.resume();
}

function recordBound(ctx: Ctx, conn: ConnInfo, raw: Socket, startMs: number): void {
  if (conn.denied) return; // recorded at decision time
  emit(ctx, 'http.connect', {
    host: conn.host,
    port: conn.port,
    method: conn.transparent ? null : 'CONNECT',
    path: null,
    status: 200,
    rule: conn.rule,
    decision: 'allow',
    intercepted: conn.scheme === 'https' || conn.interceptReason !== null,
    intercept_reason: conn.interceptReason,
    ...(conn.sni !== null ? { sni: conn.sni } : {}),
    ...(conn.runId !== null ? { run_id: conn.runId } : {}),
    ...transparentDetail(conn),
    bytes_up: raw.bytesRead,
    bytes_down: raw.bytesWritten,
    duration_ms: ctx.deps.clock.now() - startMs,
  });
}

export function transparentDetail(conn: ConnInfo): Record<string, unknown> {
  if (!conn.transparent) return {};
  return {
    transparent: true,
    ...(conn.originalIp !== null ? { original_ip: conn.originalIp, ip_mismatch: conn.ipMismatch } : {}),
  };
}
