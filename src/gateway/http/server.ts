/**
 * The per-sandbox HTTP(S) gateway listener: forward proxy (CONNECT, absolute-form) and,
 * in transparent mode, captured TLS/HTTP connections. Listens on 127.0.0.1:0 by default
 * or on a unix socket path, and reports what it got.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { KmError } from '../../core/errors.ts';
import type { Duplex } from 'node:stream';
import { denyAnswer, rawAnswer, track, type ConnInfo, type Ctx, type ResolvedOptions } from './context.ts';
import { admitIntercepted, admitPlain } from './admit.ts';
import { answerRequest, forwardRequest } from './forward.ts';
import { answerUpgrade, forwardUpgrade } from './upgrade.ts';
import { handleConnect } from './connect.ts';
import { acceptCaptured } from './transparent.ts';
import { createUpstream } from './upstream.ts';
import { nativeRelayFor } from './native-relay.ts';
import type { HttpGateway, HttpGatewayDeps, HttpGatewayOptions } from './types.ts';

function resolveOptions(o: HttpGatewayOptions): ResolvedOptions {
  return {
    mode: o.mode ?? 'forward',
    headersTimeoutMs: o.headersTimeoutMs ?? 30_000,
    idleTimeoutMs: o.idleTimeoutMs ?? 900_000,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 60_000,
    upstreamTimeoutMs: o.upstreamTimeoutMs ?? 120_000,
    checkIntervalMs: o.checkIntervalMs ?? 1_000,
    maxHeaderBytes: o.maxHeaderBytes ?? 65_536,
    // The environment knob is the operator's way out should the native relay misbehave on a host.
    relay: o.relay ?? (process.env.KM_GATEWAY_RELAY === 'node' ? 'node' : 'native'),
  };
}

const plainConn = (transparent: boolean): ConnInfo => ({
  kind: 'proxy', scheme: 'http', transparent, host: null, port: null, sni: null, target: null, interceptReason: null,
  rule: 'default-deny', runId: null, denied: null, originalIp: null, ipMismatch: false,
});

function makeServer(ctx: Ctx, intercepted: boolean): Server {
  const o = ctx.opts;
  const server = createHttpServer({
    maxHeaderSize: o.maxHeaderBytes,
    requestTimeout: 0,
    headersTimeout: o.headersTimeoutMs,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    connectionsCheckingInterval: o.checkIntervalMs,
    requireHostHeader: false,
    noDelay: true,
  });
  server.timeout = o.idleTimeoutMs;
  const connOf = (s: object): ConnInfo => {
    let c = ctx.conns.get(s);
    if (!c) ctx.conns.set(s, (c = plainConn(o.mode === 'transparent')));
    return c;
  };
  const admit = (req: IncomingMessage) => (intercepted ? admitIntercepted : admitPlain)(ctx, req, connOf(req.socket));
  server.on('connection', (s: Duplex) => track(ctx, s));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    ctx.stats.requests++;
    const startMs = ctx.deps.clock.now();
    res.on('error', () => {});
    admit(req)
      .then((adm) => (adm.kind === 'respond' ? answerRequest(ctx, res, adm.x, adm.answer, startMs) : forwardRequest(ctx, req, res, adm, startMs)))
      .catch(() => internalError(ctx, res.socket ?? req.socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(ctx, socket);
    ctx.stats.requests++;
    const startMs = ctx.deps.clock.now();
    admit(req)
      .then((adm) => (adm.kind === 'respond' ? answerUpgrade(ctx, socket, adm, adm.answer, startMs) : forwardUpgrade(ctx, req, socket, head, adm, startMs)))
      .catch(() => internalError(ctx, socket));
  });
  if (!intercepted) {
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      ctx.stats.requests++;
      handleConnect(ctx, req, socket, head).catch(() => internalError(ctx, socket));
    });
  }
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(ctx, err, socket));
  return server;
}

function internalError(ctx: Ctx, socket: Duplex): void {
  ctx.stats.errors++;
  socket.destroy();
}

function onClientError(ctx: Ctx, err: NodeJS.ErrnoException, socket: Duplex): void {
  ctx.stats.errors++;
  if (err.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const overflow = err.code === 'HPE_HEADER_OVERFLOW';
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const hint = overflow
    ? `request headers exceed ${ctx.opts.maxHeaderBytes} bytes`
    : timeout
      ? `request headers not received within ${ctx.opts.headersTimeoutMs} ms`
      : `malformed HTTP request (${err.code ?? 'parse error'})`;
  const status = overflow ? 431 : timeout ? 408 : 400;
  rawAnswer(socket, denyAnswer(ctx, { error: 'bad_request', host: null, port: null, rule: 'http-parse', hint, status }));
}

/**
 * Starts connection tracking (header timeouts) on a server that never listens itself:
 * Node enables it on 'listening'.
 */
function enableTracking(server: Server): void {
  server.emit('listening');
}

function tryListen(listener: Server | NetServer, listen: { host?: string; port?: number } | { path: string }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    const ok = (): void => {
      listener.off('error', reject);
      resolve();
    };
    if ('path' in listen) listener.listen(listen.path, ok);
    else listener.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', ok);
  });
}

/** A unix socket left behind by a killed daemon is replaced; a live one is an error. */
async function listenOn(listener: Server | NetServer, listen: { host?: string; port?: number } | { path: string }): Promise<void> {
  try {
    return await tryListen(listener, listen);
  } catch (err) {
    if (!('path' in listen) || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const live = await new Promise<boolean>((resolve) => {
      const probe = netConnect(listen.path, () => {
        probe.destroy();
        resolve(true);
      });
      probe.on('error', () => resolve(false));
    });
    if (live) {
      throw new KmError('invalid_state', `another process is serving ${listen.path}`, { hint: 'stop it, or choose another socket path', cause: err });
    }
    await unlink(listen.path);
    return tryListen(listener, listen);
  }
}

export async function createHttpGateway(deps: HttpGatewayDeps, options: HttpGatewayOptions = {}): Promise<HttpGateway> {
  const opts = resolveOptions(options);
  const ctx: Ctx = {
    deps,
    opts,
    upstream: createUpstream(deps.policy, deps.upstream, opts.upstreamTimeoutMs),
    stats: { connections: 0, requests: 0, tunnels: 0, relayed: 0, intercepted: 0, denied: 0, errors: 0 },
    sockets: new Set(),
    conns: new WeakMap(),
    inner: undefined as unknown as Server,
    relay: null,
  };
  if (opts.relay === 'native') {
    const r = nativeRelayFor();
    if ('relay' in r) ctx.relay = r.relay;
  }
  ctx.inner = makeServer(ctx, true);
  enableTracking(ctx.inner);
  const plain = makeServer(ctx, false);
  let listener: Server | NetServer = plain;
  if (opts.mode === 'transparent') {
    enableTracking(plain);
    listener = createNetServer({ noDelay: true, pauseOnConnect: false }, (s) => acceptCaptured(ctx, plain, s));
  }
  listener.on('connection', () => ctx.stats.connections++);
  try {
    await listenOn(listener, options.listen ?? {});
  } catch (err) {
    ctx.inner.close();
    plain.close();
    ctx.upstream.close();
    await ctx.relay?.close();
    throw err;
  }
  listener.on('error', () => ctx.stats.errors++);
  const a = listener.address();
  const address = typeof a === 'string' ? { path: a } : { host: a!.address, port: a!.port };
  return {
    address,
    // A natively relayed tunnel holds two connections that Node no longer sees.
    stats: () => ({ ...ctx.stats, connections: ctx.sockets.size + 2 * (ctx.relay?.size ?? 0) }),
    close: async () => {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const s of ctx.sockets) s.destroy();
      ctx.inner.close();
      if (listener !== plain) plain.close();
      ctx.upstream.close();
      // Resolves once every relayed tunnel has ended and been recorded.
      await Promise.all([closed, ctx.relay?.close()]);
    },
  };
}
