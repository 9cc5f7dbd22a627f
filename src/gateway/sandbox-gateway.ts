/**
 * One sandbox's complete gateway (SPEC §3.1, §3.5, §3.6): the DNS filter, the forward
 * proxy and the transparent listener, all on unix sockets in `gatewayDir` (the directory
 * the local substrate bind-mounts into the sandbox and bridges to 127.0.0.1), plus the
 * GitHub guard. Events leave through `onEvents` in small batches (the caller redacts and
 * stores them); every DNS or HTTP event also counts as activity for the idle clock.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { createDnsCache, type DnsCache } from './http/dns-cache.ts';
import type { CompiledPolicy } from '../policy/index.ts';
import { decideDns, decideHost, decidePath, isDestinationAllowed } from '../policy/index.ts';
import { createDnsFilter, parseUpstream, upstreamsFromResolvConf, type DnsFilterHandle, type Upstream } from './dns/index.ts';
import { createCompareAncestor, createGithubGuard, type GithubPolicy } from './github/index.ts';
import { createHttpGateway, type GatewayEvent, type GatewayHooks, type HttpGateway, type HttpGatewayStats, type UpstreamOptions } from './http/index.ts';
import { createLeafCache, type SandboxCa } from './tls/index.ts';

/** Socket names inside `gatewayDir` (what the local substrate's bridges connect to). */
/** kmd's per-sandbox `km.internal` listener, created by kmd (not the gateway) in the same dir. */
export const KMD_INTERNAL_SOCKET = 'kmd-internal.sock';

export const GATEWAY_SOCKETS = {
  proxy: 'proxy.sock',
  dns: 'dns.sock',
  dnsTcp: 'dns-tcp.sock',
  transparent: 'transparent.sock',
} as const;

/** Operator `gateway.*` settings as the gateway needs them (paths already read). */
export interface GatewayUpstreamConfig {
  /** `ip[:port]` resolvers; default: the host's /etc/resolv.conf. */
  upstreamDns?: string[];
  hostOverrides?: Record<string, string>;
  /** PEM text of extra CAs trusted for upstream TLS. */
  extraCaPem?: string;
  upstreamProxy?: string;
  upstreamProxyBypass?: string[];
}

export interface SandboxGatewayEvent {
  timestampMs: number;
  eventType: string;
  detail: Record<string, unknown>;
}

export interface OpenSandboxGatewayOptions {
  sandboxId: string;
  policy: CompiledPolicy;
  github: Omit<GithubPolicy, 'sandboxId'>;
  ca: SandboxCa;
  gatewayDir: string;
  config: GatewayUpstreamConfig;
  clock: Clock;
  /** Called with batches of events (at most every `flushMs`, or when `batchSize` is reached). */
  onEvents: (events: SandboxGatewayEvent[]) => void;
  /** Gateway traffic happened at this instant (idle clock). */
  onActivity?: (atMs: number) => void;
  /** Metering's hook for intercepted exchanges (AI hosts), when there is one. */
  exchange?: GatewayHooks['exchange'];
  /** kmd's sandbox-facing listener for `km.internal` (`ip:port`), when there is one. */
  internalAddress?: string;
  /** The host's resolv.conf text (default: read /etc/resolv.conf). */
  resolvConf?: string;
  flushMs?: number;
  batchSize?: number;
  dnsTimeoutMs?: number;
}

export interface SandboxGateway {
  readonly gatewayDir: string;
  stats(): { proxy: HttpGatewayStats; transparent: HttpGatewayStats; allowed: number; denied: number; lastActivityAtMs: number | null };
  /** Writes out events still buffered. */
  flush(): void;
  /** New leaves are signed by `ca` (renewal); cached leaves of the older CA age out. */
  setCa(ca: SandboxCa): void;
  close(): Promise<void>;
}

function dnsUpstreams(config: GatewayUpstreamConfig, resolvConf: string): Upstream[] {
  if (config.upstreamDns && config.upstreamDns.length > 0) {
    return config.upstreamDns.map((t) => {
      const u = parseUpstream(t);
      if (!u) throw new Error(`gateway.upstream_dns: "${t}" is not ip[:port]`);
      return u;
    });
  }
  const ups = upstreamsFromResolvConf(resolvConf);
  return ups.length > 0 ? ups : [{ host: '127.0.0.1', port: 53 }];
}

function upstreamOptions(config: GatewayUpstreamConfig, internalAddress: string | undefined, cache: DnsCache | null): UpstreamOptions {
  const out: UpstreamOptions = {
    hostOverrides: { ...(config.hostOverrides ?? {}), ...(internalAddress ? { 'km.internal': internalAddress } : {}) },
  };
  if (config.extraCaPem) out.extraCaPem = config.extraCaPem;
  if (config.upstreamProxy) out.proxy = config.upstreamProxy;
  if (config.upstreamProxyBypass) out.proxyBypass = config.upstreamProxyBypass;
  if (cache) out.resolve = cache.resolve;
  return out;
}

/**
 * With `upstream_dns` the gateway resolves through the same servers as the sandbox's DNS filter:
 * its answers are kept for their TTL (c-ares has no cache of its own; the host resolver may),
 * and the filter's forwarded answers go into the same cache.
 */
function upstreamDnsCache(config: GatewayUpstreamConfig, dns: Upstream[], clock: Clock): DnsCache | null {
  if (!config.upstreamDns || config.upstreamDns.length === 0) return null;
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  resolver.setServers(dns.map((u) => (u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`)));
  return createDnsCache((name) => resolver.resolve4(name, { ttl: true }), clock);
}

function readResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

export async function openSandboxGateway(o: OpenSandboxGatewayOptions): Promise<SandboxGateway> {
  mkdirSync(o.gatewayDir, { recursive: true, mode: 0o755 });
  chmodSync(o.gatewayDir, 0o755);
  for (const name of Object.values(GATEWAY_SOCKETS)) rmSync(join(o.gatewayDir, name), { force: true });

  let buffer: SandboxGatewayEvent[] = [];
  let allowed = 0;
  let denied = 0;
  let lastActivityAtMs: number | null = null;
  const flush = (): void => {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    o.onEvents(batch);
  };
  const timer = setInterval(flush, o.flushMs ?? 250);
  timer.unref();
  const push = (e: SandboxGatewayEvent): void => {
    const decision = e.detail.decision;
    if (decision === 'deny') denied++;
    else if (decision === 'allow') allowed++;
    lastActivityAtMs = e.timestampMs;
    o.onActivity?.(e.timestampMs);
    buffer.push(e);
    if (buffer.length >= (o.batchSize ?? 50)) flush();
  };
  const onHttp = (e: GatewayEvent): void => push({ timestampMs: e.timestamp_ms ?? (Date.parse(e.timestamp) || o.clock.now()), eventType: e.event_type, detail: e.detail });

  const dnsUps = dnsUpstreams(o.config, o.resolvConf ?? readResolvConf());
  const dnsCache = upstreamDnsCache(o.config, dnsUps, o.clock);
  const upstream = upstreamOptions(o.config, o.internalAddress, dnsCache);
  // km.internal through the proxy reaches the same per-sandbox kmd socket as the in-sandbox
  // 127.0.0.2:80 bridge, so kmd learns the caller from the socket, never from the request.
  if (!o.internalAddress) upstream.internalSocket = join(o.gatewayDir, KMD_INTERNAL_SOCKET);
  const policy = {
    decideHost: (req: { host: string; port: number; scheme?: 'http' | 'https' }) => decideHost(o.policy, req),
    decidePath: (host: string, method: string, path: string) => decidePath(o.policy, host, method, path),
    isDestinationAllowed: (name: string, ip: string) => isDestinationAllowed(o.policy, name, ip),
  };
  const leafs = createLeafCache(o.ca, { clock: o.clock });
  // Fast-forward proof for pushes whose pack cannot give one (the compare API, push's credentials).
  const compareAncestor = createCompareAncestor(policy, upstream);
  const github = createGithubGuard({ ...o.github, sandboxId: o.sandboxId }, { compareAncestor });
  const opened: Array<{ close(): Promise<void> }> = [{ close: async () => compareAncestor.close() }];
  try {
    const dns: DnsFilterHandle = await createDnsFilter(
      {
        decide: (name) => decideDns(o.policy, name),
        onEvent: (e) => push({ timestampMs: o.clock.now(), eventType: e.event_type, detail: { ...e.detail } }),
        clock: o.clock,
        ...(dnsCache ? { onAddresses: dnsCache.seed } : {}),
      },
      {
        upstreams: dnsUps,
        hostOverrides: o.config.hostOverrides ?? {},
        timeoutMs: o.dnsTimeoutMs ?? 3000,
        aaaaEmpty: true,
        unixDatagramPerConnection: join(o.gatewayDir, GATEWAY_SOCKETS.dns),
        unixStream: join(o.gatewayDir, GATEWAY_SOCKETS.dnsTcp),
      },
    );
    opened.push(dns);
    const deps = { sandboxId: o.sandboxId, policy, leafs, upstream, onEvent: onHttp, clock: o.clock, hooks: { github, ...(o.exchange ? { exchange: o.exchange } : {}) } };
    const proxy: HttpGateway = await createHttpGateway(deps, { listen: { path: join(o.gatewayDir, GATEWAY_SOCKETS.proxy) }, mode: 'forward' });
    opened.push(proxy);
    const transparent: HttpGateway = await createHttpGateway(deps, {
      listen: { path: join(o.gatewayDir, GATEWAY_SOCKETS.transparent) },
      mode: 'transparent',
    });
    opened.push(transparent);
    for (const name of Object.values(GATEWAY_SOCKETS)) chmodSync(join(o.gatewayDir, name), 0o666);
    let closed = false;
    return {
      gatewayDir: o.gatewayDir,
      stats: () => ({ proxy: proxy.stats(), transparent: transparent.stats(), allowed, denied, lastActivityAtMs }),
      flush,
      setCa: (ca) => leafs.setCa(ca),
      async close() {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        await Promise.allSettled(opened.map((h) => h.close()));
        flush();
      },
    };
  } catch (e) {
    clearInterval(timer);
    await Promise.allSettled(opened.map((h) => h.close()));
    throw e;
  }
}
