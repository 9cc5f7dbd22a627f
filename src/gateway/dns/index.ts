/**
 * The per-sandbox DNS filter (SPEC §3.3): answers the sandbox's resolver on its own
 * listeners only (never an open resolver), forwards allowed names to the upstreams and
 * refuses the rest with NXDOMAIN. The policy arrives as the `decide` callback.
 */
import { createHash } from 'node:crypto';
import type { DnsFilterDeps } from './resolve.ts';
import { answerMessage, type ResolverConfig } from './resolve.ts';
import { listenStream, listenUdp, type Closer, type Limits } from './listeners.ts';
import type { Upstream } from './upstream.ts';

export type { DnsFilterDeps, DnsQueryEvent } from './resolve.ts';
export { BLOCKED_TEXT } from './resolve.ts';
export type { Upstream } from './upstream.ts';
export { parseUpstream, upstreamsFromResolvConf } from './upstreams.ts';

/** Inside a sandbox `km.internal` resolves here (SPEC §3.1). */
export const KM_INTERNAL_ADDRESS = '127.0.0.2';

export interface DnsFilterOptions {
  upstreams: Upstream[];
  /** Operator `gateway.host_overrides` (name → ip[:port]): such names get a stand-in A from 198.18.0.0/15. */
  hostOverrides?: Record<string, string>;
  /** Per upstream attempt (UDP, then TCP on truncation). */
  timeoutMs: number;
  /** Local substrate: AAAA for allowed names is answered with an empty NOERROR. */
  aaaaEmpty?: boolean;
  /** Names answered locally with a fixed IPv4 address; default `{ 'km.internal': '127.0.0.2' }`. */
  staticAnswers?: Record<string, string>;
  udp?: { host?: string; port?: number };
  tcp?: { host?: string; port?: number };
  /** Unix stream socket carrying one raw DNS message per connection (socat UDP bridge). */
  unixDatagramPerConnection?: string;
  /** Unix stream socket with TCP framing (socat TCP bridge). */
  unixStream?: string;
  /** Concurrent UDP queries in flight before new ones are dropped (default 1024). */
  maxInflight?: number;
}

export interface DnsFilterHandle {
  udp?: { host: string; port: number };
  tcp?: { host: string; port: number };
  unixDatagramPerConnection?: string;
  unixStream?: string;
  /** The stand-in address a host-override name resolves to inside the sandbox. */
  standInAddress(name: string): string | undefined;
  close(): Promise<void>;
}

const canonical = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/**
 * Stable stand-ins in 198.18.0.0/15: each name hashes to a slot, collisions probe to the
 * next free one (names taken in sorted order, so the mapping depends only on the set).
 */
export function standInAddresses(names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<number>();
  for (const name of [...new Set(names.map(canonical))].sort()) {
    let slot = createHash('sha256').update(name).digest().readUInt32BE(0) % 0x20000;
    while (used.has(slot) || (slot & 0xff) === 0 || (slot & 0xff) === 0xff) slot = (slot + 1) % 0x20000;
    used.add(slot);
    out.set(name, `198.${18 + (slot >> 16)}.${(slot >> 8) & 0xff}.${slot & 0xff}`);
  }
  return out;
}

export async function createDnsFilter(deps: DnsFilterDeps, options: DnsFilterOptions): Promise<DnsFilterHandle> {
  const standIns = standInAddresses(Object.keys(options.hostOverrides ?? {}));
  const localA = new Map<string, string>(standIns);
  for (const [name, ip] of Object.entries(options.staticAnswers ?? { 'km.internal': KM_INTERNAL_ADDRESS })) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new Error(`staticAnswers: "${ip}" for ${name} is not an IPv4 address`);
    localA.set(canonical(name), ip);
  }
  const cfg: ResolverConfig = { upstreams: options.upstreams, timeoutMs: options.timeoutMs, aaaaEmpty: options.aaaaEmpty ?? false, localA };
  const limits: Limits = { maxInflight: options.maxInflight ?? 1024, maxConnections: 256, idleMs: 30_000 };
  const answer = (msg: Buffer, udp: boolean): Promise<Buffer | null> => answerMessage(msg, udp, deps, cfg).catch(() => null);
  const closers: Closer[] = [];
  const handle: DnsFilterHandle = {
    standInAddress: (name) => standIns.get(canonical(name)),
    close: async () => {
      await Promise.all(closers.map((c) => c.close()));
    },
  };
  try {
    if (options.udp) {
      const l = await listenUdp(options.udp.host ?? '127.0.0.1', options.udp.port ?? 0, answer, limits);
      closers.push(l);
      handle.udp = l.address;
    }
    if (options.tcp) {
      const l = await listenStream({ host: options.tcp.host ?? '127.0.0.1', port: options.tcp.port ?? 0 }, 'framed', answer, limits);
      closers.push(l);
      handle.tcp = l.address as { host: string; port: number };
    }
    if (options.unixDatagramPerConnection !== undefined) {
      closers.push(await listenStream({ path: options.unixDatagramPerConnection }, 'per-connection', answer, limits));
      handle.unixDatagramPerConnection = options.unixDatagramPerConnection;
    }
    if (options.unixStream !== undefined) {
      closers.push(await listenStream({ path: options.unixStream }, 'framed', answer, limits));
      handle.unixStream = options.unixStream;
    }
  } catch (e) {
    await handle.close();
    throw e;
  }
  return handle;
}
