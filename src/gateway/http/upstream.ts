/**
 * Upstream side: which address to dial for a name (operator overrides, else our own
 * resolution followed by the destination check), keep-alive agents, raw dials for tunnels,
 * and the mapping of upstream failures onto the 502/504 envelope.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { connect as tlsConnect, createSecureContext, getCACertificates, type ConnectionOptions, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import { bypassesParent, dialViaParent, parseParentProxy, type ParentProxy } from './parent-proxy.ts';
import type { DenyError } from '../deny.ts';
import type { GatewayPolicy, UpstreamOptions } from './types.ts';

export interface Target {
  /** IP to dial, or the name itself when the parent proxy resolves it. */
  address: string;
  port: number;
  /** Reached through an operator host override. */
  override: boolean;
  /** Every address our resolution returned (for `ip_mismatch` in transparent mode). */
  answers: string[];
  /** Dialled through the operator's parent proxy. */
  viaParent: boolean;
  /** A unix socket to reach instead of `address:port` (kmd's `km.internal` listener). */
  socketPath?: string;
}

export interface UpstreamFailure {
  error: DenyError;
  message: string;
}

export type TargetResult = { ok: true; target: Target } | { ok: false; failure: UpstreamFailure };

export interface Upstream {
  resolveTarget(name: string, port: number): Promise<TargetResult>;
  dial(target: Target, timeoutMs: number): Promise<Socket>;
  /** The keep-alive pool for requests to this target. */
  agentFor(target: Target, tls: boolean): HttpAgent;
  /** Trust for re-originated TLS (system roots + `extraCaPem`), created on first read. */
  readonly tlsContext: SecureContext;
  close(): void;
}

export function parseOverride(value: string): { ip: string; port: number | null } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) return { ip: v6[1]!, port: v6[2] ? Number(v6[2]) : null };
  if (isIP(value)) return { ip: value, port: null };
  const i = value.lastIndexOf(':');
  return { ip: value.slice(0, i), port: Number(value.slice(i + 1)) };
}

async function defaultResolve(name: string): Promise<string[]> {
  const all = await lookup(name, { all: true, order: 'ipv4first' });
  return all.map((a) => a.address);
}

export function createUpstream(policy: GatewayPolicy, opts: UpstreamOptions, connectTimeoutMs: number): Upstream {
  const overrides = new Map(Object.entries(opts.hostOverrides ?? {}).map(([k, v]) => [k.toLowerCase(), parseOverride(v)]));
  const resolve = opts.resolve ?? defaultResolve;
  // Built on first use: a context holding the ~150-300 roots costs ~1.2 MiB of OpenSSL memory,
  // and an idle sandbox (or a listener that never re-originates TLS) never needs it.
  let tlsContext: SecureContext | null = null;
  const trust = (): SecureContext => {
    if (tlsContext) return tlsContext;
    const ca = [...new Set([...getCACertificates('default'), ...getCACertificates('system')])];
    if (opts.extraCaPem) ca.push(opts.extraCaPem);
    tlsContext = createSecureContext({ ca });
    return tlsContext;
  };
  const httpAgent = new HttpAgent({ keepAlive: true, scheduling: 'lifo' });
  const httpsAgent = new HttpsAgent({ keepAlive: true, scheduling: 'lifo' });
  const parent = opts.proxy ? parseParentProxy(opts.proxy, opts.proxyBypass) : null;
  const parentAgents = parent ? createParentAgents(parent, connectTimeoutMs) : null;

  async function resolveTarget(name: string, port: number): Promise<TargetResult> {
    if (name === 'km.internal' && opts.internalSocket) {
      return { ok: true, target: { address: 'km.internal', port, override: true, answers: [], viaParent: false, socketPath: opts.internalSocket } };
    }
    const o = overrides.get(name);
    if (o) return { ok: true, target: { address: o.ip, port: o.port ?? port, override: true, answers: [o.ip], viaParent: false } };
    if (parent && !bypassesParent(parent, name)) {
      // The parent proxy resolves and connects; our destination check cannot see its addresses.
      return { ok: true, target: { address: name, port, override: false, answers: [], viaParent: true } };
    }
    let answers: string[];
    try {
      answers = isIP(name) ? [name] : await resolve(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
      return { ok: false, failure: { error: 'upstream_unreachable', message: `cannot resolve ${name}: ${code}` } };
    }
    if (answers.length === 0) {
      return { ok: false, failure: { error: 'upstream_unreachable', message: `cannot resolve ${name}: no addresses` } };
    }
    const reasons: string[] = [];
    for (const ip of answers) {
      const d = policy.isDestinationAllowed(name, ip);
      if (d.allow) return { ok: true, target: { address: ip, port, override: false, answers, viaParent: false } };
      reasons.push(`${ip}${d.reason ? ` (${d.reason})` : ''}`);
    }
    return {
      ok: false,
      failure: { error: 'destination_not_allowed', message: `${name} resolves only to refused addresses: ${reasons.join(', ')}` },
    };
  }

  function dial(target: Target, timeoutMs: number): Promise<Socket> {
    if (target.viaParent && parent) return dialViaParent(parent, target.address, target.port, timeoutMs);
    return new Promise((resolveDial, reject) => {
      const s = target.socketPath ? netConnect({ path: target.socketPath }) : netConnect({ host: target.address, port: target.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(Object.assign(new Error(`connect to ${target.address}:${target.port} timed out`), { code: 'KM_TIMEOUT' }));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolveDial(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  return {
    resolveTarget,
    dial,
    agentFor: (target, tls) => {
      const set = target.viaParent && parentAgents ? parentAgents : { http: httpAgent, https: httpsAgent };
      return tls ? set.https : set.http;
    },
    get tlsContext() {
      return trust();
    },
    close() {
      for (const a of [httpAgent, httpsAgent, parentAgents?.http, parentAgents?.https]) a?.destroy();
    },
  };
}

type AgentCallback = (err: Error | null, socket?: Duplex) => void;

/** Keep-alive pools whose connections are CONNECT tunnels through the parent proxy. */
function createParentAgents(parent: ParentProxy, timeoutMs: number): { http: HttpAgent; https: HttpsAgent } {
  const http = new HttpAgent({ keepAlive: true, scheduling: 'lifo' });
  const https = new HttpsAgent({ keepAlive: true, scheduling: 'lifo' });
  const open = (options: ConnectionOptions & { host?: string; port?: number }, tls: boolean, cb: AgentCallback): void => {
    dialViaParent(parent, options.host ?? '', Number(options.port), timeoutMs).then(
      (socket) => cb(null, tls ? tlsConnect({ ...options, socket }) : socket),
      (err: Error) => cb(err),
    );
  };
  Object.assign(http, { createConnection: (o: ConnectionOptions, cb: AgentCallback) => void open(o, false, cb) });
  Object.assign(https, { createConnection: (o: ConnectionOptions, cb: AgentCallback) => void open(o, true, cb) });
  return { http, https };
}

const TLS_CODE = /^(ERR_SSL_|ERR_TLS_)|CERT|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH/;

/** Maps a dial or upstream request error onto the envelope of SPEC §3.4. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e.code ?? '';
  if (code === 'KM_TIMEOUT' || code === 'ETIMEDOUT') return { error: 'upstream_timeout', message: e.message };
  if (TLS_CODE.test(code) || (e as { library?: string }).library === 'SSL routines') {
    return { error: 'upstream_tls_error', message: `${code || 'TLS'}: ${e.reason ?? e.message}` };
  }
  return { error: 'upstream_unreachable', message: `${code || 'ERROR'}: ${e.message}` };
}
