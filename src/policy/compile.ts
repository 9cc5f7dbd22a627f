/**
 * Compile a resolved profile's network and source-access sections into lookup tables, once
 * per sandbox, so every decision is a handful of map lookups (one per label of the name).
 */
import { KmError } from '../core/errors.ts';
import { DEFAULT_PORTS, GITHUB_HOSTS, KM_INTERNAL } from './hosts.ts';
import { ipKey } from './ip.ts';
import { tryNormaliseHost } from './normalise.ts';
import { compilePathRules, type CompiledPathRule } from './paths.ts';
import { compileRepoPatterns, type CompiledRepoPattern } from './github.ts';

export interface PolicyInput {
  network: {
    enforcement: 'proxy' | 'ebpf' | 'both';
    httpsOnly: boolean;
    egress: {
      allowedDNSSuffixes: string[];
      allowedHosts: string[];
      pathRules: Array<{ host: string; allow: string[] }>;
    };
  };
  sourceAccess: {
    mode: 'allowlist' | 'none';
    github: {
      allowedRepos: string[];
      allowedRefs?: string[];
      allowForcePush: boolean;
      allowRefDeletion: boolean;
      allowGraphQL: boolean;
    };
  };
  runtime: { region: string };
}

export interface CompileOptions {
  sandboxId: string;
  /** Operator `metering.extra_hosts`: intercepted and metered like the AI hosts. */
  extraMeteringHosts?: string[];
  /** Operator `gateway.host_overrides` (name → ip[:port]); exempt from the destination check. */
  hostOverrides?: Record<string, string>;
  /** The gateway host's own addresses, refused as destinations (§3.2). */
  ownAddresses?: string[];
}

/** One allow entry, named by its rule (dotted path in the profile, or a reserved name). */
export interface RuleEntry {
  rule: string;
  /** The entry as written in the profile (for explanations). */
  text: string;
  kind: 'exact' | 'suffix' | 'any';
  /** The normalised host or suffix (without leading dot); `*` for `any`. */
  key: string;
  ports: ReadonlySet<number>;
}

export interface MatchSet {
  exact: ReadonlyMap<string, readonly RuleEntry[]>;
  suffix: ReadonlyMap<string, readonly RuleEntry[]>;
  any: readonly RuleEntry[];
}

export interface CompiledPolicy {
  readonly sandboxId: string;
  readonly httpsOnly: boolean;
  readonly http: MatchSet;
  readonly dns: MatchSet;
  /** allowedHosts entries in profile order (for "closest entry" explanations). */
  readonly hostEntries: readonly RuleEntry[];
  readonly interceptGithub: boolean;
  readonly meteringHosts: ReadonlySet<string>;
  readonly pathRules: ReadonlyMap<string, CompiledPathRule>;
  readonly hostOverrides: ReadonlyMap<string, string>;
  /** Canonical keys (see ipKey) of the gateway host's own addresses. */
  readonly ownAddresses: ReadonlySet<string>;
  /** Canonical keys of IP literals listed exactly in allowedHosts. */
  readonly listedIps: ReadonlySet<string>;
  readonly sourceAccess: {
    mode: 'allowlist' | 'none';
    repos: readonly CompiledRepoPattern[];
    allowedRefs: readonly string[] | null;
    allowForcePush: boolean;
    allowRefDeletion: boolean;
    allowGraphQL: boolean;
  };
}

const HOSTS = 'spec.network.egress.allowedHosts';
const SUFFIXES = 'spec.network.egress.allowedDNSSuffixes';

function invalid(rule: string, text: string, why: string): KmError {
  return new KmError('profile_invalid', `${rule}: "${text}" ${why}`, {
    hint: 'fix the profile entry; km validate shows every problem with its location',
  });
}

function parseEntry(text: string, rule: string, allowPort: boolean): RuleEntry {
  const bare = text.startsWith('.') ? text.slice(1) : text;
  const n = tryNormaliseHost(bare);
  if (n === null) throw invalid(rule, text, 'is not a valid host pattern');
  if (n.port !== undefined && !allowPort) throw invalid(rule, text, 'cannot carry a port');
  const ports = n.port === undefined ? DEFAULT_PORTS : new Set([n.port]);
  if (n.host === '*') {
    if (text.startsWith('.')) throw invalid(rule, text, 'is not a valid host pattern');
    return { rule, text, kind: 'any', key: '*', ports };
  }
  const isSuffix = text.startsWith('.') || !allowPort;
  if (isSuffix && n.isIp) throw invalid(rule, text, 'is an IP address and cannot be a suffix');
  return { rule, text, kind: isSuffix ? 'suffix' : 'exact', key: n.host, ports };
}

class SetBuilder {
  readonly exact = new Map<string, RuleEntry[]>();
  readonly suffix = new Map<string, RuleEntry[]>();
  readonly any: RuleEntry[] = [];
  add(e: RuleEntry): void {
    if (e.kind === 'any') this.any.push(e);
    else {
      const map = e.kind === 'exact' ? this.exact : this.suffix;
      const list = map.get(e.key);
      if (list) list.push(e);
      else map.set(e.key, [e]);
    }
  }
}

function implicitGithub(input: PolicyInput): RuleEntry[] {
  const sa = input.sourceAccess;
  if (sa.mode !== 'allowlist' || sa.github.allowedRepos.length === 0) return [];
  return GITHUB_HOSTS.map((h) => ({ rule: 'implicit:github', text: h, kind: 'exact' as const, key: h, ports: DEFAULT_PORTS }));
}

function normaliseNames(names: readonly string[], what: string): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    const n = tryNormaliseHost(name);
    if (n === null || n.port !== undefined) throw new KmError('config_invalid', `${what}: "${name}" is not a host name`);
    out.add(n.host);
  }
  return out;
}

function ipKeys(texts: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const t of texts) {
    const k = ipKey(t);
    if (k !== null) out.add(k);
  }
  return out;
}

export function compilePolicy(input: PolicyInput, opts: CompileOptions): CompiledPolicy {
  const egress = input.network.egress;
  const hostEntries = egress.allowedHosts.map((t, i) => parseEntry(t, `${HOSTS}[${i}]`, true));
  const suffixEntries = egress.allowedDNSSuffixes.map((t, i) => parseEntry(t, `${SUFFIXES}[${i}]`, false));
  const implicit = implicitGithub(input);
  const http = new SetBuilder();
  const dns = new SetBuilder();
  for (const e of [...hostEntries, ...suffixEntries, ...implicit]) {
    http.add(e);
    dns.add(e.ports === DEFAULT_PORTS ? e : { ...e, ports: DEFAULT_PORTS });
  }
  const overrides = new Map<string, string>();
  for (const [name, target] of Object.entries(opts.hostOverrides ?? {})) {
    const n = tryNormaliseHost(name);
    if (n === null || n.isIp || n.port !== undefined) throw new KmError('config_invalid', `gateway.host_overrides: "${name}" is not a host name`);
    if (n.host === KM_INTERNAL) throw new KmError('config_invalid', `gateway.host_overrides: ${KM_INTERNAL} is reserved`);
    overrides.set(n.host, target);
  }
  const gh = input.sourceAccess.github;
  return {
    sandboxId: opts.sandboxId,
    httpsOnly: input.network.httpsOnly,
    http,
    dns,
    hostEntries,
    interceptGithub: input.sourceAccess.mode === 'allowlist',
    meteringHosts: normaliseNames(opts.extraMeteringHosts ?? [], 'metering.extra_hosts'),
    pathRules: compilePathRules(egress.pathRules),
    hostOverrides: overrides,
    ownAddresses: ipKeys(opts.ownAddresses ?? []),
    listedIps: ipKeys(hostEntries.filter((e) => e.kind === 'exact').map((e) => e.key)),
    sourceAccess: {
      mode: input.sourceAccess.mode,
      repos: compileRepoPatterns(gh.allowedRepos),
      allowedRefs: gh.allowedRefs ?? null,
      allowForcePush: gh.allowForcePush,
      allowRefDeletion: gh.allowRefDeletion,
      allowGraphQL: gh.allowGraphQL,
    },
  };
}
