/**
 * CONNECT host:port on the forward proxy: decide on the target, resolve it ourselves, then
 * answer with the envelope, or open the tunnel and look at what the client speaks first
 * (SPEC §3.4): TLS to an intercepted host is terminated; TLS elsewhere is tunnelled after the
 * SNI check; plain HTTP is parsed and checked request by request; anything else is tunnelled.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { decisionOf, denyAnswer, emit, rawAnswer, runIdFrom, track, type Answer, type ConnInfo, type Ctx } from './context.ts';
import { parseAuthority, sameHost } from './admit.ts';
import { classifyUpstreamError } from './upstream.ts';
import { startBoundPlain, startIntercept } from './intercept.ts';
import { peekClient, record, refuseSniMismatch, startTunnel, type TunnelInfo } from './tunnel.ts';
import type { HostDecision } from './types.ts';

const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';
const CONNECT_TARGET = /^\[[^\]]+\]:\d+$|^[^:[\]]+:\d+$/;

export async function handleConnect(ctx: Ctx, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const startMs = ctx.deps.clock.now();
  track(ctx, socket);
  const refuse = (a: Answer, host: string | null, port: number | null): void => {
    if (decisionOf(a) === 'deny') ctx.stats.denied++;
    rawAnswer(socket, a);
    emit(ctx, 'http.connect', {
      host, port, method: 'CONNECT', path: null, status: a.status, rule: a.rule, decision: decisionOf(a), error: a.error,
      intercepted: false, intercept_reason: null, bytes_up: 0, bytes_down: a.body.length, duration_ms: ctx.deps.clock.now() - startMs,
    });
  };
  const target = CONNECT_TARGET.test(req.url ?? '') ? parseAuthority(req.url!, 443) : null;
  if (!target) return refuse(denyAnswer(ctx, { error: 'bad_request', host: null, port: null, rule: 'http-parse', hint: 'CONNECT needs host:port' }), null, null);
  const d = ctx.deps.policy.decideHost({ host: target.host, port: target.port, scheme: 'https' });
  if (!d.allow) return refuse(denyAnswer(ctx, { error: d.error ?? 'host_not_allowed', host: d.host, port: d.port, rule: d.rule, hint: d.hint }), d.host, d.port);
  const r = await ctx.upstream.resolveTarget(d.host, d.port);
  if (!r.ok) return refuse(denyAnswer(ctx, { error: r.failure.error, host: d.host, port: d.port, rule: d.rule, hint: r.failure.message }), d.host, d.port);
  const conn: ConnInfo = {
    kind: 'intercept', scheme: 'https', transparent: false, host: d.host, port: d.port, sni: null, target: r.target,
    interceptReason: d.interceptReason, rule: d.rule, runId: runIdFrom(req.headers['proxy-authorization']),
    denied: null, originalIp: null, ipMismatch: false,
  };
  let up: Socket | null = null;
  if (!d.intercept) {
    try {
      up = track(ctx, await ctx.upstream.dial(r.target, ctx.opts.upstreamTimeoutMs));
    } catch (err) {
      const f = classifyUpstreamError(err);
      return refuse(denyAnswer(ctx, { error: f.error, host: d.host, port: d.port, rule: d.rule, hint: f.message }), d.host, d.port);
    }
    if (socket.destroyed) return void up.destroy();
  }
  socket.write(ESTABLISHED);
  return dispatch(ctx, socket, up, head, conn, d, startMs);
}

async function dispatch(ctx: Ctx, socket: Socket, up: Socket | null, head: Buffer, conn: ConnInfo, d: HostDecision, startMs: number): Promise<void> {
  const info: TunnelInfo = { host: d.host, port: d.port, rule: d.rule, startMs, detail: conn.runId ? { run_id: conn.runId } : {} };
  const p = await peekClient(ctx, socket, up, head);
  if (p.kind === 'closed') {
    socket.destroy();
    up?.destroy();
    return record(ctx, info, 'http.connect', { status: 200, decision: 'allow', intercepted: d.intercept, intercept_reason: d.interceptReason }, 0, 0);
  }
  // Tunnelled TLS naming another host is closed; intercepted TLS answers 403 per request.
  if (up && p.kind === 'tls' && p.sni !== null && !sameHost(p.sni, d.host)) return refuseSniMismatch(ctx, socket, up, info, p.sni);
  if (p.kind === 'http') {
    up?.destroy(); // requests go through the keep-alive pool instead
    socket.unshift(p.buffered);
    return startBoundPlain(ctx, socket, conn, startMs);
  }
  if (up) return startTunnel(ctx, socket, up, p.buffered, info);
  if (p.kind === 'tls') {
    socket.unshift(p.buffered);
    return startIntercept(ctx, socket, conn, startMs);
  }
  // An intercepted host speaking neither TLS nor HTTP cannot be inspected: refuse.
  socket.destroy();
  ctx.stats.denied++;
  emit(ctx, 'http.connect', {
    host: d.host, port: d.port, method: 'CONNECT', path: null, status: 0, rule: d.rule, decision: 'deny', error: 'bad_request',
    intercepted: true, intercept_reason: d.interceptReason, bytes_up: 0, bytes_down: 0, duration_ms: ctx.deps.clock.now() - startMs,
  });
}

