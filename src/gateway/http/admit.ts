/**
 * Decides one HTTP request (plain, transparent or inside an intercepted connection):
 * host and Host-header checks, pathRules, the GitHub guard, and the upstream address.
 * The result is either "forward this body to that target" or "answer with this".
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { denyAnswer, emit, runIdFrom, type Answer, type ConnInfo, type Ctx } from './context.ts';
import type { Target } from './upstream.ts';
import type { ExchangeHook, InterceptReason } from './types.ts';

export interface Exchange {
  host: string | null;
  port: number | null;
  method: string;
  /** Origin-form path including the query. */
  path: string;
  scheme: 'http' | 'https';
  intercepted: boolean;
  interceptReason: InterceptReason | null;
  rule: string;
  runId: string | null;
  target: Target | null;
  extraDetail: Record<string, unknown>;
  /** The checked `host[:port]`; sent upstream as the one and only Host header. */
  authority: string;
  /** The GitHub guard's decision when it answered itself (a refused push is a 200). */
  guardDecision: string | null;
}

export type Admission =
  | { kind: 'forward'; x: Exchange; body: Readable; hook?: ExchangeHook }
  | { kind: 'respond'; x: Exchange; answer: Answer };

/**
 * `host[:port]` with the host normalised as a URL would (lowercase, punycode, IPv6 brackets
 * removed). The port is read here, not by URL, which would drop a scheme-default port.
 */
export function parseAuthority(value: string, defaultPort: number): { host: string; port: number } | null {
  if (value === '' || /[\s/?#@\\]/.test(value)) return null;
  const m = /^(\[[^\]]*\]|[^:\[\]]*)(?::(\d{1,5}))?$/.exec(value);
  if (!m || m[1] === '') return null;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65_535) return null;
  // Most hosts are plain DNS names: lowercased here, without the URL parser's cost per connection.
  if (isPlainName(m[1]!)) return { host: m[1]!.toLowerCase().replace(/\.$/, ''), port };
  try {
    const host = new URL(`http://${m[1]}`).hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    return host === '' ? null : { host, port };
  } catch {
    return null;
  }
}

/**
 * ASCII letters, digits and hyphens in non-empty labels, an optional trailing dot, the last
 * label neither a decimal nor a hex number (the IPv4 forms) and no punycode: a name the URL
 * parser would only lowercase. Every other host (IP literals, IDNs, percent-escapes) goes
 * through it.
 */
const PLAIN_NAME = /^(?:[a-z0-9-]+\.)*[a-z0-9-]*[a-z-][a-z0-9-]*\.?$/i;
const HEX_LABEL = /(?:^|\.)0x[0-9a-f]*\.?$/i;
const isPlainName = (name: string): boolean => PLAIN_NAME.test(name) && !HEX_LABEL.test(name) && !/xn--/i.test(name);

/**
 * Origin-form target with dot segments resolved (`/v1/../admin` → `/admin`, `%2e%2e` too), so
 * pathRules judge the path the upstream will act on, and that exact path is what is sent.
 */
export function normaliseTarget(raw: string): string {
  if (!raw.startsWith('/')) return raw;
  try {
    const u = new URL(`http://h${raw}`);
    return `${u.pathname}${u.search}`;
  } catch {
    return raw;
  }
}

/** The same host name: case and a trailing dot aside (the Host header, SNI and CONNECT checks). */
export const sameHost = (a: string, b: string): boolean => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');

function baseExchange(req: IncomingMessage, conn: ConnInfo): Exchange {
  return {
    host: conn.host,
    port: conn.port,
    method: req.method ?? 'GET',
    path: normaliseTarget(req.url ?? '/'),
    scheme: conn.scheme,
    intercepted: conn.kind === 'intercept' && (conn.scheme === 'https' || conn.interceptReason !== null),
    interceptReason: conn.interceptReason,
    rule: conn.rule,
    // Inside interception the CONNECT's credentials are authoritative.
    runId: conn.kind === 'intercept' ? conn.runId : runIdFrom(req.headers['proxy-authorization']),
    target: conn.target,
    extraDetail: {},
    authority: req.headers.host ?? '',
    guardDecision: null,
  };
}

const respond = (x: Exchange, answer: Answer): Admission => ({ kind: 'respond', x, answer });

/** A plain-HTTP request on the proxy port: absolute-form (forward) or origin-form (transparent). */
export async function admitPlain(ctx: Ctx, req: IncomingMessage, conn: ConnInfo): Promise<Admission> {
  const x = baseExchange(req, conn);
  const url = req.url ?? '';
  const hostHeader = parseAuthority(req.headers.host ?? '', 80);
  let host: string;
  let port: number;
  if (url.startsWith('/')) {
    if (!conn.transparent) return respond(x, bad(ctx, 'origin-form request sent to the proxy; use it as an HTTP proxy'));
    if (!hostHeader) return respond(x, bad(ctx, 'missing or invalid Host header'));
    ({ host, port } = hostHeader);
  } else {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return respond(x, bad(ctx, 'invalid request target'));
    }
    if (u.protocol !== 'http:') return respond(x, bad(ctx, `unsupported scheme ${u.protocol} (use CONNECT for https)`));
    const a = parseAuthority(u.host, 80);
    if (!a) return respond(x, bad(ctx, 'invalid request target'));
    ({ host, port } = a);
    x.path = `${u.pathname}${u.search}`;
    x.authority = u.host;
    if (req.headers.host !== undefined && (!hostHeader || !sameHost(hostHeader.host, host) || hostHeader.port !== port)) {
      x.host = host;
      x.port = port;
      return respond(x, denyAnswer(ctx, { error: 'host_mismatch', host, port, rule: 'host-header', hint: `Host header "${req.headers.host}" does not match the request URL host "${host}"` }));
    }
  }
  const d = ctx.deps.policy.decideHost({ host, port, scheme: 'http' });
  Object.assign(x, { host: d.host, port: d.port, rule: d.rule, interceptReason: d.interceptReason });
  if (!d.allow) {
    return respond(x, denyAnswer(ctx, { error: d.error ?? 'host_not_allowed', host: d.host, port: d.port, rule: d.rule, hint: d.hint }));
  }
  const r = await ctx.upstream.resolveTarget(d.host, d.port);
  if (!r.ok) return respond(x, denyAnswer(ctx, { error: r.failure.error, host: d.host, port: d.port, rule: d.rule, hint: r.failure.message }));
  x.target = r.target;
  return admitContent(ctx, req, x);
}

/** A request inside an intercepted TLS connection. */
export async function admitIntercepted(ctx: Ctx, req: IncomingMessage, conn: ConnInfo): Promise<Admission> {
  const x = baseExchange(req, conn);
  if (conn.denied) return respond(x, conn.denied);
  const host = conn.host ?? '';
  const url = req.url ?? '/';
  let authority = req.headers.host ?? '';
  if (!url.startsWith('/')) {
    try {
      const u = new URL(url);
      authority = u.host;
      x.path = `${u.pathname}${u.search}`;
      x.authority = u.host;
    } catch {
      return respond(x, bad(ctx, 'invalid request target'));
    }
  }
  const a = parseAuthority(authority, conn.port ?? 443);
  const mismatch = (why: string): Admission =>
    respond(x, denyAnswer(ctx, { error: 'host_mismatch', host, port: conn.port, rule: 'connect-target', hint: why }));
  if (!a || !sameHost(a.host, host) || a.port !== conn.port) {
    return mismatch(`Host "${authority}" does not match the connection target "${host}:${conn.port}"`);
  }
  if (conn.sni !== null && !sameHost(conn.sni, host)) return mismatch(`TLS SNI "${conn.sni}" does not match "${host}"`);
  return admitContent(ctx, req, x);
}

/** pathRules and the GitHub guard, shared by plain and intercepted requests. */
async function admitContent(ctx: Ctx, req: IncomingMessage, x: Exchange): Promise<Admission> {
  const host = x.host ?? '';
  const pathOnly = x.path.split('?')[0] ?? '/';
  const p = ctx.deps.policy.decidePath(host, x.method, pathOnly);
  if (!p.allow) {
    x.rule = p.rule;
    return respond(x, denyAnswer(ctx, { error: 'path_not_allowed', host, port: x.port, rule: p.rule, hint: `${x.method} ${pathOnly} matches no pathRules entry for ${host}` }));
  }
  const gh = ctx.deps.hooks?.github;
  if (!gh || !gh.isGithubHost(host)) return withExchangeHook(ctx, req, x, req);
  const v = await gh.check({ method: x.method, host, path: x.path, headers: req.headers, body: req });
  const verdict = recordGuardEvent(ctx, x, v.event);
  if (v.action === 'forward') return withExchangeHook(ctx, req, x, v.body);
  const error = v.headers['x-km-deny-reason'] ?? v.headers['X-Km-Deny-Reason'] ?? null;
  x.guardDecision = verdict.decision ?? (error !== null || v.status >= 400 ? 'deny' : 'allow');
  return respond(x, { status: v.status, headers: v.headers, body: v.body, error, rule: verdict.rule ?? x.rule });
}

/**
 * The exchange hook (metering) sees every request to a host that needs L7 before upstream
 * does: inside interception, and in plain HTTP (forward or transparent), which is in clear
 * anyway; an AI host reached over http:// (an operator's LLM gateway) is metered the same.
 */
async function withExchangeHook(ctx: Ctx, req: IncomingMessage, x: Exchange, body: Readable): Promise<Admission> {
  const fn = ctx.deps.hooks?.exchange;
  if (!fn || (!x.intercepted && x.interceptReason === null)) return { kind: 'forward', x, body };
  const hook = await fn({ host: x.host ?? '', method: x.method, path: x.path, headers: req.headers, runId: x.runId, interceptReason: x.interceptReason });
  if (!hook) return { kind: 'forward', x, body };
  if (hook.deny) {
    const d = hook.deny;
    const header = (k: string): string | undefined => Object.entries(d.headers).find(([n]) => n.toLowerCase() === k)?.[1];
    x.rule = header('x-km-rule') ?? x.rule;
    return respond(x, { status: d.status, headers: d.headers, body: d.body, error: header('x-km-deny-reason') ?? 'denied', rule: x.rule });
  }
  return { kind: 'forward', x, body, hook };
}

/**
 * The guard's event is either a complete event (`git.access`, `git.push`: recorded as is)
 * or bare detail (kept under `github` in the request's event).
 */
function recordGuardEvent(ctx: Ctx, x: Exchange, ev: Record<string, unknown>): { decision: string | null; rule: string | null } {
  const detail = typeof ev.event_type === 'string' && typeof ev.detail === 'object' && ev.detail !== null ? (ev.detail as Record<string, unknown>) : ev;
  if (detail !== ev) emit(ctx, ev.event_type as string, detail);
  else x.extraDetail = { github: ev };
  if (typeof detail.rule === 'string') x.rule = detail.rule;
  return {
    decision: typeof detail.decision === 'string' ? detail.decision : null,
    rule: typeof detail.rule === 'string' ? detail.rule : null,
  };
}

function bad(ctx: Ctx, hint: string): Answer {
  return denyAnswer(ctx, { error: 'bad_request', host: null, port: null, rule: 'http-parse', hint });
}
