/**
 * Captured connections (transparent mode): the first bytes tell TLS from HTTP. TLS is
 * decided on the SNI (none → `no_sni`); a denied TLS flow is completed with a leaf so the
 * client reads the 403 over HTTPS. HTTP goes to the plain server and is decided on Host.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { MAX_CLIENT_HELLO_BYTES, looksLikeTls, parseClientHello } from '../tls/client-hello.ts';
import { decisionOf, denyAnswer, emit, track, type Answer, type ConnInfo, type Ctx } from './context.ts';
import { classifyUpstreamError } from './upstream.ts';
import { startIntercept, transparentDetail } from './intercept.ts';
import { startTunnel } from './tunnel.ts';

export function acceptCaptured(ctx: Ctx, plain: Server, socket: Socket): void {
  track(ctx, socket);
  let buf: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), ctx.opts.headersTimeoutMs);
  const onData = (chunk: Buffer): void => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (!looksLikeTls(buf[0]!)) {
      done();
      socket.unshift(buf);
      plain.emit('connection', socket);
      socket.resume();
      return;
    }
    const r = parseClientHello(buf);
    if (r.kind === 'incomplete' && buf.length <= MAX_CLIENT_HELLO_BYTES) return;
    done();
    if (r.kind !== 'hello') return void socket.destroy();
    void decideTls(ctx, socket, r.sni, buf).catch(() => socket.destroy());
  };
  const done = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.pause();
  };
  socket.on('data', onData);
  socket.once('close', () => clearTimeout(timer));
}

async function decideTls(ctx: Ctx, socket: Socket, sni: string | null, hello: Buffer): Promise<void> {
  const startMs = ctx.deps.clock.now();
  const orig = ctx.deps.originalDestination?.(socket);
  const port = orig?.port ?? 443;
  const conn: ConnInfo = {
    kind: 'intercept', scheme: 'https', transparent: true, host: null, port, sni, target: null, interceptReason: null,
    rule: 'default-deny', runId: null, denied: null, originalIp: orig?.ip ?? null, ipMismatch: false,
  };
  const deny = (a: Answer): Promise<void> => {
    conn.denied = a;
    conn.rule = a.rule;
    if (decisionOf(a) === 'deny') ctx.stats.denied++;
    emit(ctx, 'http.connect', {
      host: conn.host, port, method: null, path: null, status: a.status, rule: a.rule, decision: decisionOf(a),
      error: a.error, intercepted: true, intercept_reason: null, ...(sni !== null ? { sni } : {}),
      ...transparentDetail(conn), bytes_up: 0, bytes_down: 0, duration_ms: ctx.deps.clock.now() - startMs,
    });
    socket.unshift(hello);
    return startIntercept(ctx, socket, conn, startMs);
  };
  if (sni === null) {
    return deny(denyAnswer(ctx, { error: 'no_sni', host: null, port, rule: 'default-deny', hint: 'TLS without SNI cannot be decided; connect by host name' }));
  }
  const d = ctx.deps.policy.decideHost({ host: sni, port, scheme: 'https' });
  conn.host = d.host;
  if (!d.allow) return deny(denyAnswer(ctx, { error: d.error ?? 'host_not_allowed', host: d.host, port, rule: d.rule, hint: d.hint }));
  const r = await ctx.upstream.resolveTarget(d.host, port);
  if (!r.ok) return deny(denyAnswer(ctx, { error: r.failure.error, host: d.host, port, rule: d.rule, hint: r.failure.message }));
  Object.assign(conn, { target: r.target, rule: d.rule, interceptReason: d.interceptReason });
  conn.ipMismatch = conn.originalIp !== null && r.target.answers.length > 0 && !r.target.override && !r.target.answers.includes(conn.originalIp);
  if (d.intercept) {
    socket.unshift(hello);
    return startIntercept(ctx, socket, conn, startMs);
  }
  let up: Socket;
  try {
    up = track(ctx, await ctx.upstream.dial(r.target, ctx.opts.upstreamTimeoutMs));
  } catch (err) {
    const f = classifyUpstreamError(err);
    return deny(denyAnswer(ctx, { error: f.error, host: d.host, port, rule: d.rule, hint: f.message }));
  }
  startTunnel(ctx, socket, up, hello, { host: d.host, port, rule: d.rule, startMs, detail: transparentDetail(conn) });
}
