/**
 * Where the DNS filter forwards (SPEC §3.6): operator `gateway.upstream_dns` entries
 * (`ip[:port]`, `[v6]:port`), else the host's resolv.conf nameservers. Pure parsing; the
 * caller reads the file.
 */
import net from 'node:net';
import type { Upstream } from './upstream.ts';

/** Parse `ip`, `ip:port` or `[v6]:port`; null when it is not an address. Port defaults to 53. */
export function parseUpstream(text: string): Upstream | null {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t);
  let host: string;
  let port = 53;
  if (bracket) {
    host = bracket[1] as string;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (net.isIPv6(t)) {
    host = t;
  } else {
    const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(t);
    if (!m) return null;
    host = m[1] as string;
    if (m[2] !== undefined) port = Number(m[2]);
  }
  if (net.isIP(host) === 0 || port < 1 || port > 65535) return null;
  return { host, port };
}

/** The `nameserver` lines of a resolv.conf, in order (zone-scoped IPv6 link-local entries skipped). */
export function upstreamsFromResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m || (m[1] as string).includes('%')) continue;
    const up = parseUpstream(m[1] as string);
    if (up !== null) out.push(up);
  }
  return out;
}
