/**
 * Decisions (SPEC §3.2): hosts for HTTP/CONNECT, names for DNS, paths for pathRules.
 * Precedence when several entries match: the reserved `km.internal`; exact entries
 * (allowedHosts in profile order, then the implicit GitHub hosts); suffix entries from the
 * longest suffix to the shortest (allowedHosts before allowedDNSSuffixes, each in profile
 * order); a lone `*`. The first entry that also allows the port decides.
 */
import type { CompiledPolicy, MatchSet, RuleEntry } from './compile.ts';
import { DEFAULT_PORTS, GITHUB_HOSTS, KM_INTERNAL, isAiHost } from './hosts.ts';
import { looksLikeIp, normaliseDnsName, tryNormaliseHost } from './normalise.ts';
import { matchPathRule } from './paths.ts';

export interface HostRequest {
  /** As received: any case, trailing dot, IDN, IP literal (`[v6]` or bare); a `:port` in it is ignored. */
  host: string;
  /** The port decided on (CONNECT target port, URL port, or 80/443 by scheme). */
  port: number;
  scheme?: 'http' | 'https';
}

export type HostError = 'host_not_allowed' | 'port_not_allowed' | 'ip_literal_not_allowed' | 'https_required';
export type InterceptReason = 'ai_metering' | 'source_access' | 'path_rules';

export interface HostDecision {
  allow: boolean;
  rule: string;
  error?: HostError;
  /** Normalised: lowercase A-labels without trailing dot; IPv6 without brackets. */
  host: string;
  port: number;
  /** Terminate TLS for this host (only ever true when allowed). */
  intercept: boolean;
  interceptReason: InterceptReason | null;
  hint?: string;
}

export interface DnsDecision {
  allow: boolean;
  rule: string;
  name: string;
}

export const DEFAULT_DENY = 'default-deny';
export const RESERVED_RULE = 'reserved:km.internal';

interface Match {
  /** The first entry matching host and port. */
  entry?: RuleEntry;
  /** The first entry matching the host whatever the port. */
  hostMatch?: RuleEntry;
}

function scan(list: readonly RuleEntry[] | undefined, port: number, m: Match): boolean {
  if (list === undefined) return false;
  for (const e of list) {
    m.hostMatch ??= e;
    if (e.ports.has(port)) {
      m.entry = e;
      return true;
    }
  }
  return false;
}

/** Walk the candidate entries for a normalised host in precedence order. */
export function matchSet(set: MatchSet, host: string, isIp: boolean, port: number): Match {
  const m: Match = {};
  if (scan(set.exact.get(host), port, m)) return m;
  if (!isIp) {
    let key = host;
    for (;;) {
      if (scan(set.suffix.get(key), port, m)) return m;
      const dot = key.indexOf('.');
      if (dot < 0) break;
      key = key.slice(dot + 1);
    }
  }
  scan(set.any, port, m);
  return m;
}

const display = (host: string, isIp: boolean): string => (isIp && host.includes(':') ? `[${host}]` : host);

function denyHint(p: CompiledPolicy, error: HostError, host: string, port: number, isIp: boolean): string {
  const check = `check with: km policy explain ${p.sandboxId} ${display(host, isIp)}`;
  switch (error) {
    case 'host_not_allowed': {
      const labels = host.split('.');
      const parent = labels.length > 2 ? `.${labels.slice(1).join('.')}` : `.${host}`;
      return `add "${host}" to spec.network.egress.allowedHosts or "${parent}" to allowedDNSSuffixes in a new profile; ${check}`;
    }
    case 'port_not_allowed':
      return `add "${display(host, isIp)}:${port}" to spec.network.egress.allowedHosts in a new profile; ${check}`;
    case 'ip_literal_not_allowed':
      return `connect by host name, or list "${host}" exactly in spec.network.egress.allowedHosts in a new profile; ${check}`;
    case 'https_required':
      return `use https://${display(host, isIp)}/ instead; the profile sets spec.network.httpsOnly`;
  }
}

function interceptReason(p: CompiledPolicy, host: string, isIp: boolean): InterceptReason | null {
  if (isIp) return null;
  if (isAiHost(host) || p.meteringHosts.has(host)) return 'ai_metering';
  if (p.interceptGithub && GITHUB_HOSTS.includes(host)) return 'source_access';
  if (p.pathRules.has(host)) return 'path_rules';
  return null;
}

function deny(p: CompiledPolicy, error: HostError, rule: string, host: string, port: number, isIp: boolean): HostDecision {
  return { allow: false, rule, error, host, port, intercept: false, interceptReason: null, hint: denyHint(p, error, host, port, isIp) };
}

export function decideHost(p: CompiledPolicy, req: HostRequest): HostDecision {
  const n = tryNormaliseHost(req.host);
  const port = req.port;
  if (n === null || n.host === '*') return deny(p, 'host_not_allowed', DEFAULT_DENY, req.host.toLowerCase(), port, false);
  const { host, isIp } = n;
  if (host === KM_INTERNAL) {
    if (!DEFAULT_PORTS.has(port)) return deny(p, 'port_not_allowed', RESERVED_RULE, host, port, false);
    return { allow: true, rule: RESERVED_RULE, host, port, intercept: false, interceptReason: null };
  }
  const m = matchSet(p.http, host, isIp, port);
  if (m.entry === undefined) {
    if (m.hostMatch !== undefined) return deny(p, 'port_not_allowed', m.hostMatch.rule, host, port, isIp);
    return deny(p, isIp ? 'ip_literal_not_allowed' : 'host_not_allowed', DEFAULT_DENY, host, port, isIp);
  }
  if (p.httpsOnly && req.scheme === 'http') return deny(p, 'https_required', 'spec.network.httpsOnly', host, port, isIp);
  const reason = interceptReason(p, host, isIp);
  return { allow: true, rule: m.entry.rule, host, port, intercept: reason !== null, interceptReason: reason };
}

export function decideDns(p: CompiledPolicy, name: string): DnsDecision {
  const n = normaliseDnsName(name);
  if (n === KM_INTERNAL) return { allow: true, rule: RESERVED_RULE, name: n };
  let m: Match;
  if (n === 'arpa' || n.endsWith('.arpa')) m = { ...(p.dns.any[0] ? { entry: p.dns.any[0] } : {}) };
  else m = matchSet(p.dns, n, looksLikeIp(n), 443);
  return m.entry ? { allow: true, rule: m.entry.rule, name: n } : { allow: false, rule: DEFAULT_DENY, name: n };
}

/** pathRules for a host (§3.4); hosts without rules are not restricted by path. */
export function decidePath(p: CompiledPolicy, host: string, method: string, path: string): { allow: boolean; rule: string } {
  const n = tryNormaliseHost(host);
  const rule = n === null ? undefined : p.pathRules.get(n.host);
  if (rule === undefined) return { allow: true, rule: 'no-path-rules' };
  return matchPathRule(rule, method, path);
}
