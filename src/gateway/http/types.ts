/**
 * What the HTTP(S) gateway needs from the rest of km, as callbacks: the compiled policy's
 * decisions, the GitHub guard, metering taps and an event sink. The gateway never imports
 * the profile or policy modules; `src/gateway/index.ts` adapts a compiled policy to this.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import type { Socket } from 'node:net';
import type { Clock } from '../../core/clock.ts';
import type { LeafCache } from '../tls/leaf.ts';

export type InterceptReason = 'ai_metering' | 'source_access' | 'path_rules';
export type HostDenyError = 'host_not_allowed' | 'port_not_allowed' | 'ip_literal_not_allowed' | 'https_required';

export interface HostRequest {
  host: string;
  port: number;
  scheme?: 'http' | 'https';
}

export interface HostDecision {
  allow: boolean;
  rule: string;
  error?: HostDenyError;
  /** The normalised host (lowercase, no trailing dot, A-labels). */
  host: string;
  port: number;
  intercept: boolean;
  interceptReason: InterceptReason | null;
  hint?: string;
}

export interface GatewayPolicy {
  decideHost(req: HostRequest): HostDecision;
  decidePath(host: string, method: string, path: string): { allow: boolean; rule: string };
  isDestinationAllowed(name: string, ip: string): { allow: boolean; reason?: string };
}

/** The GitHub guard's contract is defined once, by the guard (SPEC §4). */
import type { GithubGuard } from '../github/types.ts';
export type { GithubGuard, GithubRequest, GithubVerdict } from '../github/types.ts';

export interface ExchangeInfo {
  host: string;
  method: string;
  /** Including the query. */
  path: string;
  headers: IncomingHttpHeaders;
  /** User part of the client's Proxy-Authorization (the agent run), when given. */
  runId: string | null;
  interceptReason: InterceptReason | null;
}

/**
 * What the exchange hook (metering) may do with one intercepted request. The gateway awaits
 * the hook before dialling upstream, then:
 * - `deny`: answers with it; nothing reaches upstream;
 * - `rewriteRequestBody`: gets the request body (at most MAX_REWRITE_BODY_BYTES; larger
 *   bodies pass unchanged) and returns a replacement (sent with a fixed content-length) or
 *   undefined to keep it;
 * - `identityEncoding`: the request's Accept-Encoding becomes `identity`, so the response
 *   body arrives as the provider wrote it (a meter cannot read gzip or br);
 * - `response`: gets the upstream status and headers; a returned Transform sits in the
 *   response pipe (a bare Transform is accepted too), or a returned `ResponseTap` sees each
 *   chunk as it is forwarded (no extra stream layer) and holds back only the body's end.
 */
export interface ExchangeHook {
  deny?: { status: number; headers: Record<string, string>; body: Buffer };
  rewriteRequestBody?: (body: Buffer) => Buffer | undefined;
  identityEncoding?: boolean;
  response?: ((res: { status: number; headers: IncomingHttpHeaders }) => Transform | ResponseTap | undefined) | Transform;
}

/**
 * A synchronous observer of a response body: `data` is called with each chunk right after it
 * was handed to the client; the client sees the end of the body once `end` resolves; `abort`
 * when either side cut the exchange short first. At most one of `end` and `abort` is called.
 */
export interface ResponseTap {
  data(chunk: Buffer): void;
  end(): Promise<void>;
  abort(): void;
}

/** Request bodies larger than this are never buffered for a rewrite. */
export const MAX_REWRITE_BODY_BYTES = 8 * 1024 * 1024;

export interface GatewayHooks {
  github?: GithubGuard;
  /** Called for every intercepted request, before anything is sent upstream. */
  exchange?: (info: ExchangeInfo) => Promise<ExchangeHook | undefined> | ExchangeHook | undefined;
}

export interface UpstreamOptions {
  /** PEM CAs trusted for upstream TLS in addition to the system store. */
  extraCaPem?: string;
  /** name → ip[:port]; trusted operator input, exempt from the destination check. */
  hostOverrides?: Record<string, string>;
  /** Resolver for upstream names (default: the host's resolver). */
  resolve?: (name: string) => Promise<string[]>;
  /** Parent HTTP proxy (`http://[user:pass@]host:port`) for all upstream connections. */
  proxy?: string;
  /** Names that bypass the parent proxy (NO_PROXY style: `*`, `name`, `.suffix`). */
  proxyBypass?: string[];
  /** kmd's per-sandbox `km.internal` listener (a unix socket): requests for km.internal go there. */
  internalSocket?: string;
}

/**
 * Events (SPEC §13.1), `source: 'gateway'`, one per decision and per completed exchange:
 * - `http.connect`: a CONNECT or captured TLS flow. Denials are recorded when decided;
 *   allowed flows when they end (so `bytes_up`/`bytes_down`/`duration_ms` are final).
 * - `http.request`: one per request the gateway could read (plain HTTP, intercepted, or plain
 *   HTTP inside a CONNECT tunnel), when its response ends; `path` never carries the query.
 * - `tunnel.sni_mismatch`: a tunnel closed because its ClientHello named another host.
 * Detail keys: host, port, method, path, status, rule, decision (`allow|deny|error`),
 * intercepted, intercept_reason, bytes_up, bytes_down, duration_ms; plus when known: error,
 * run_id, sni, upgrade, transparent, original_ip, ip_mismatch, github (guard detail).
 * Events returned by the GitHub guard (`git.access`, `git.push`) are recorded as they are.
 */
export interface GatewayEvent {
  /** RFC 3339 UTC, whole seconds (the JSON form). */
  timestamp: string;
  /** The same instant in milliseconds (what the store keeps: ordering within a second). */
  timestamp_ms?: number;
  sandbox_id: string;
  event_type: string;
  source: 'gateway';
  detail: Record<string, unknown>;
}

export interface HttpGatewayDeps {
  sandboxId: string;
  policy: GatewayPolicy;
  leafs: LeafCache;
  upstream: UpstreamOptions;
  onEvent: (e: GatewayEvent) => void;
  clock: Clock;
  hooks?: GatewayHooks;
  /**
   * Transparent capture: the destination the client originally dialled (recorded, never
   * used to connect). Undefined when the bridge cannot tell.
   */
  originalDestination?: (socket: Socket) => { ip: string; port: number } | undefined;
}

export interface HttpGatewayOptions {
  /** TCP (default 127.0.0.1:0) or a unix socket path. */
  listen?: { host?: string; port?: number } | { path: string };
  /**
   * `forward`: proxy semantics only (CONNECT and absolute-form requests).
   * `transparent`: additionally accepts captured connections: raw TLS (decided on SNI) and
   * origin-form HTTP (decided on Host).
   */
  mode?: 'forward' | 'transparent';
  /** Client must send complete request headers within this time (slow-client limit). */
  headersTimeoutMs?: number;
  /** Idle connections (client or tunnel, no bytes either way) are closed after this. */
  idleTimeoutMs?: number;
  /** Keep-alive wait between requests on a client connection. */
  keepAliveTimeoutMs?: number;
  /** Upstream connect and response-header wait (504 beyond). */
  upstreamTimeoutMs?: number;
  /** How often header timeouts are checked (lower in tests). */
  checkIntervalMs?: number;
  /** Request header limit (431 beyond); default 64 KiB. */
  maxHeaderBytes?: number;
  /**
   * How tunnels move bytes: `native` (default) with the splice(2) relay of native/km-relay.c
   * where it can be built, else Node's pipe relay; `node`: always Node's pipe relay (also
   * forced by KM_GATEWAY_RELAY=node in the environment).
   */
  relay?: 'native' | 'node';
}

export interface HttpGatewayStats {
  /** Sockets open right now (client and upstream). */
  connections: number;
  requests: number;
  tunnels: number;
  /** Tunnels (and pass-through upgrades) moved by the native splice relay. */
  relayed: number;
  intercepted: number;
  denied: number;
  errors: number;
}

export interface HttpGateway {
  address: { host: string; port: number } | { path: string };
  stats(): HttpGatewayStats;
  close(): Promise<void>;
}
