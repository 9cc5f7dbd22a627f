/**
 * State shared by the parts of one gateway instance, plus the small helpers they all use to
 * answer (envelope over a response object or a raw socket) and to record events.
 */
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { toIso } from '../../core/clock.ts';
import { denyResponse, hostNotAllowedHint, type DenyError } from '../deny.ts';
import type { Target, Upstream } from './upstream.ts';
import type { NativeRelay } from './native-relay.ts';
import type { HttpGatewayDeps, HttpGatewayStats, InterceptReason } from './types.ts';

export interface ResolvedOptions {
  mode: 'forward' | 'transparent';
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  upstreamTimeoutMs: number;
  checkIntervalMs: number;
  maxHeaderBytes: number;
  relay: 'native' | 'node';
}

export interface Ctx {
  deps: HttpGatewayDeps;
  opts: ResolvedOptions;
  upstream: Upstream;
  stats: HttpGatewayStats;
  /** Every live socket we own (client and upstream), destroyed on close. */
  sockets: Set<Duplex>;
  /** Connection facts by client socket (raw or TLS). */
  conns: WeakMap<object, ConnInfo>;
  /** The HTTP server that parses requests inside intercepted TLS connections. */
  inner: Server;
  /** The splice relay for tunnels; null: Node's pipe relay only (forced, or no addon). */
  relay: NativeRelay | null;
}

/** What is known about one client connection (attached to its socket). */
export interface ConnInfo {
  /**
   * `proxy`: plain requests decided one by one; `intercept`: a connection bound to `host`
   * (TLS terminated, or plain HTTP inside a CONNECT tunnel), every request checked against it.
   */
  kind: 'proxy' | 'intercept';
  /** How the bound connection reaches the upstream (plain HTTP in a CONNECT tunnel: `http`). */
  scheme: 'http' | 'https';
  transparent: boolean;
  host: string | null;
  port: number | null;
  sni: string | null;
  target: Target | null;
  interceptReason: InterceptReason | null;
  rule: string;
  runId: string | null;
  /** A denied transparent TLS flow: every request inside gets this answer. */
  denied: Answer | null;
  originalIp: string | null;
  ipMismatch: boolean;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  error: string | null;
  rule: string;
}

export function track<T extends Duplex>(ctx: Ctx, s: T): T {
  ctx.sockets.add(s);
  s.once('close', () => ctx.sockets.delete(s));
  // Always: Node's HTTP server drops its own error listener when it hands a socket over
  // (CONNECT, Upgrade), and an unhandled 'error' would take the whole gateway down.
  s.on('error', () => {});
  return s;
}

export function emit(ctx: Ctx, eventType: string, detail: Record<string, unknown>): void {
  try {
    const now = ctx.deps.clock.now();
    ctx.deps.onEvent({
      timestamp: toIso(now),
      timestamp_ms: now,
      sandbox_id: ctx.deps.sandboxId,
      event_type: eventType,
      source: 'gateway',
      detail,
    });
  } catch {
    ctx.stats.errors++;
  }
}

export interface DenyArgs {
  error: DenyError;
  host: string | null;
  port: number | null;
  rule: string;
  hint?: string | undefined;
  extra?: Record<string, unknown>;
  status?: number;
}

export function denyAnswer(ctx: Ctx, a: DenyArgs): Answer {
  const hint = a.hint ?? defaultHint(ctx.deps.sandboxId, a);
  const r = denyResponse({
    error: a.error,
    host: a.host,
    port: a.port,
    rule: a.rule,
    sandbox: ctx.deps.sandboxId,
    ...(hint !== undefined ? { hint } : {}),
    ...(a.extra ? { extra: a.extra } : {}),
  });
  return { status: a.status ?? r.status, headers: r.headers, body: r.body, error: a.error, rule: a.rule };
}

function defaultHint(sandbox: string, a: DenyArgs): string | undefined {
  const h = a.host ?? '';
  switch (a.error) {
    case 'host_not_allowed':
      return h ? hostNotAllowedHint(sandbox, h) : undefined;
    case 'port_not_allowed':
      return `add "${h}:${a.port}" to spec.network.egress.allowedHosts in a new profile; check with: km policy explain ${sandbox} ${h}:${a.port}`;
    case 'ip_literal_not_allowed':
      return `use the host name instead of an IP address, or list "${h}" exactly in spec.network.egress.allowedHosts`;
    case 'https_required':
      return `the profile requires https: use https://${h}/`;
    default:
      return undefined;
  }
}

/** How an answer is recorded: refusals are `deny`, upstream failures `error`. */
export function decisionOf(a: Answer): 'allow' | 'deny' | 'error' {
  if (a.error === null) return 'allow';
  return a.error.startsWith('upstream_') ? 'error' : 'deny';
}

export function sendAnswer(res: ServerResponse, a: Answer): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(a.status, a.headers);
  res.end(a.body);
}

/** Writes a complete HTTP/1.1 response on a raw socket and closes it. */
export function rawAnswer(socket: Duplex, a: Answer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = [`HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? 'Unknown'}`];
  for (const [k, v] of Object.entries(a.headers)) lines.push(`${k}: ${v}`);
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), a.body]));
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** User part of a Basic Proxy-Authorization header: the agent run the client belongs to. */
export function runIdFrom(header: string | string[] | undefined): string | null {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v ? /^Basic\s+(\S+)/i.exec(v) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const user = decoded.split(':')[0] ?? '';
  return user === '' ? null : user;
}
