/**
 * Profile generation from a learn session's observations (SPEC §7). Pure: observations,
 * options and the reference time in; a profile document, its annotated YAML and the counts out.
 */
import { getDomain, parse as parseDomain } from 'tldts';
import { stringify } from 'yaml';
import { printable } from '../core/printable.ts';
import { GITHUB_HOSTS, KM_INTERNAL } from '../policy/index.ts';

export interface Observations {
  sandboxId: string;
  sessionId: string;
  startedAt: string;
  endedAt: string | null;
  /** DNS names queried (allowed or denied). */
  dnsNames: string[];
  /** HTTP(S) destinations (allowed or denied). */
  hosts: Array<{ host: string; port: number }>;
  /** Repos touched by repo-scoped GitHub requests, `owner/repo`. */
  repos: string[];
  /** Pushed refs with their kind. */
  refs: Array<{ ref: string; kind: 'create' | 'update' | 'delete' | 'force' }>;
  /** Commands typed in km shell/exec sessions. */
  commands: string[];
  denials: number;
  /** Destinations that were denied (`host` or `host:port`), for the header. */
  denied?: string[];
}

export interface GenerateOptions {
  /** Keep exact hosts instead of collapsing to registrable domains. */
  exact?: boolean;
  /** `extends` target; entries it already allows are left out. */
  base?: { name: string; allows: BaseAllows };
  enforcement: 'proxy' | 'ebpf' | 'both';
  /** Image baked by `km shell --learn --ami`. */
  ami?: string;
  nowMs: number;
}

/** What a resolved base profile already allows (computed by the caller from its policy). */
export interface BaseAllows {
  host(host: string, port: number): boolean;
  repo(repo: string): boolean;
  ref(ref: string): boolean;
}

export interface Generated {
  name: string;
  profile: Record<string, unknown>;
  yaml: string;
  counts: { dns_names: number; hosts: number; repos: number; refs: number; commands: number; denials: number };
  suffixMap: Record<string, string[]>;
  leftOutByBase: string[];
  warnings: string[];
}

const RESERVED = new Set([KM_INTERNAL]);
const GITHUB = new Set(GITHUB_HOSTS);
/** Reverse lookups (`*.arpa`) are answered NXDOMAIN harmlessly; they never become entries. */
const isReverse = (n: string): boolean => n === 'arpa' || n.endsWith('.arpa');

export type Counts = Generated['counts'];

export function countObservations(obs: Observations): Counts {
  return {
    dns_names: new Set(obs.dnsNames.map(normaliseName)).size,
    hosts: new Set(obs.hosts.map((h) => `${normaliseName(h.host)}:${h.port}`)).size,
    repos: new Set(obs.repos.map((r) => r.toLowerCase())).size,
    refs: new Set(obs.refs.map((r) => r.ref)).size,
    commands: obs.commands.length,
    denials: obs.denials,
  };
}
const DEFAULT_PORTS = new Set([80, 443]);

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

export function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** `.` + registrable domain (ICANN and private PSL sections), or undefined when there is none. */
export function suffixFor(name: string): string | undefined {
  if (parseDomain(name).isIp) return undefined;
  const d = getDomain(name, { allowPrivateDomains: true });
  return d ? `.${d}` : undefined;
}

const isIp = (h: string): boolean => parseDomain(h.replace(/^\[|\]$/g, '')).isIp === true;

interface Egress {
  suffixMap: Record<string, string[]>;
  hosts: string[];
  /** Why each host is an exact entry (for the header). */
  why: Map<string, string>;
  leftOut: string[];
  implied: string[];
}

const hostEntry = (n: string, port: number): string => `${isIp(n) && n.includes(':') ? `[${n}]` : n}:${port}`;

/**
 * Names and ports → suffixes and hosts. A name used only on non-default ports becomes
 * `host:port` entries and nothing broader; GitHub's hosts are left out when repos were
 * observed (allowedRepos makes them reachable, and keeps them repo-checked).
 */
function egressOf(obs: Observations, opts: GenerateOptions, githubImplied: boolean): Egress {
  const names = new Set<string>();
  for (const n of obs.dnsNames) names.add(normaliseName(n));
  for (const h of obs.hosts) names.add(normaliseName(h.host));
  const ports = new Map<string, Set<number>>();
  for (const h of obs.hosts) {
    const n = normaliseName(h.host);
    ports.set(n, (ports.get(n) ?? new Set()).add(h.port));
  }
  const base = opts.base?.allows;
  const out: Egress = { suffixMap: {}, hosts: [], why: new Map(), leftOut: [], implied: [] };
  for (const n of [...names].sort()) {
    if (n === '' || RESERVED.has(n) || isReverse(n)) continue;
    if (githubImplied && GITHUB.has(n)) {
      out.implied.push(n);
      continue;
    }
    const seen = [...(ports.get(n) ?? [])].sort((a, b) => a - b);
    for (const p of seen.filter((p) => !DEFAULT_PORTS.has(p))) {
      if (base?.host(n, p)) out.leftOut.push(`${n}:${p}`);
      else out.why.set(hostEntry(n, p), 'non-default port');
    }
    if (seen.length > 0 && !seen.some((p) => DEFAULT_PORTS.has(p))) continue;
    if (base?.host(n, 443) && base.host(n, 80)) {
      out.leftOut.push(n);
      continue;
    }
    const suffix = opts.exact ? undefined : suffixFor(n);
    if (suffix) (out.suffixMap[suffix] ??= []).push(n);
    else out.why.set(n, isIp(n) ? 'IP literal' : opts.exact ? 'exact (--exact)' : 'no registrable domain');
  }
  out.hosts = [...out.why.keys()].sort();
  return out;
}

export function generateProfile(obs: Observations, opts: GenerateOptions): Generated {
  const base = opts.base?.allows;
  const repos = [...new Set(obs.repos.map((r) => r.toLowerCase()))].filter((r) => !(base?.repo(r) ?? false)).sort();
  const shortRef = (r: string) => r.replace(/^refs\/heads\//, '');
  const refs = [...new Set(obs.refs.map((r) => shortRef(r.ref)))].filter((r) => !(base?.ref(r) ?? false)).sort();
  const force = obs.refs.some((r) => r.kind === 'force');
  const del = obs.refs.some((r) => r.kind === 'delete');
  const egress = egressOf(obs, opts, repos.length > 0);
  const suffixes = Object.keys(egress.suffixMap).sort();

  const name = `observed-${stamp(opts.nowMs)}`;
  const github: Record<string, unknown> = { allowedRepos: repos, allowedRefs: refs };
  if (force) github.allowForcePush = true;
  if (del) github.allowRefDeletion = true;
  const spec: Record<string, unknown> = {
    network: {
      enforcement: opts.enforcement,
      egress: { allowedDNSSuffixes: suffixes, allowedHosts: egress.hosts },
    },
    sourceAccess: { mode: 'allowlist', github },
  };
  if (opts.ami) spec.runtime = { ami: opts.ami };
  const profile: Record<string, unknown> = {
    apiVersion: 'klankermaker.ai/v1alpha1',
    kind: 'SandboxProfile',
    ...(opts.base ? { extends: opts.base.name } : {}),
    metadata: { name, labels: { 'klankermaker.ai/learned-from': obs.sandboxId } },
    spec,
  };
  const counts = countObservations(obs);
  const observedAny = counts.dns_names + counts.hosts + counts.repos + counts.refs > 0;
  const warnings = observedAny ? [] : ['nothing was observed in this session'];
  const header = annotate(obs, counts, egress, repos, refs, { force, del });
  const yaml = header + stringify(profile, { lineWidth: 0 });
  return { name, profile, yaml, counts, suffixMap: egress.suffixMap, leftOutByBase: egress.leftOut, warnings };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function countsLine(c: Counts): string {
  return [
    plural(c.dns_names, 'DNS name'), plural(c.hosts, 'host'), plural(c.repos, 'repo'), plural(c.refs, 'ref'),
    plural(c.commands, 'command'), plural(c.denials, 'denial'),
  ].join(', ');
}

const COMMAND_MAX = 160;
/** A command on one comment line: whitespace runs collapsed, long ones cut with `…`. */
const oneLine = (c: string): string => {
  const t = c.replace(/\s+/g, ' ').trim();
  return t.length > COMMAND_MAX ? `${t.slice(0, COMMAND_MAX - 1)}…` : t;
};

function annotate(obs: Observations, counts: Counts, egress: Egress, repos: string[], refs: string[], flags: { force: boolean; del: boolean }): string {
  const lines = [
    `Generated by km learn from sandbox ${obs.sandboxId}, session ${obs.sessionId}`,
    `window: ${obs.startedAt} .. ${obs.endedAt ?? 'still recording'}`,
    `observed: ${countsLine(counts)}`,
  ];
  for (const [s, names] of Object.entries(egress.suffixMap).sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`suffix ${s} <- ${names.join(', ')}`);
  for (const h of egress.hosts) lines.push(`host ${h}: ${egress.why.get(h) ?? 'exact'}`);
  if (egress.implied.length) lines.push(`implied by allowedRepos (GitHub hosts, repo-checked): ${egress.implied.join(', ')}`);
  if (repos.length) lines.push(`repos: ${repos.join(', ')}`);
  if (refs.length) lines.push(`refs pushed: ${refs.join(', ')}`);
  if (flags.force) lines.push('allowForcePush: a force push was observed');
  if (flags.del) lines.push('allowRefDeletion: a ref deletion was observed');
  if (egress.leftOut.length) lines.push(`already allowed by the base profile (left out): ${egress.leftOut.join(', ')}`);
  if (obs.denied?.length) lines.push(`denied during the session: ${obs.denied.join(', ')}`);
  if (obs.commands.length) {
    lines.push('commands observed (not turned into initCommands):');
    for (const c of obs.commands.slice(0, 200)) lines.push(`  $ ${oneLine(c)}`);
    if (obs.commands.length > 200) lines.push(`  … and ${obs.commands.length - 200} more`);
  }
  // Names, repos, refs and commands come from the sandbox: a control character (a line break
  // above all) must not end the comment and put its own YAML into the profile.
  return lines.map((l) => `# ${printable(l)}`).join('\n') + '\n';
}

export interface ListDiff {
  added: string[];
  unused: string[];
  kept: string[];
}

/** What `generated` changes relative to `current` (SPEC §7 `--diff`). */
export function diffLists(generated: readonly string[], current: readonly string[]): ListDiff {
  const g = new Set(generated);
  const c = new Set(current);
  return {
    added: [...g].filter((x) => !c.has(x)).sort(),
    unused: [...c].filter((x) => !g.has(x)).sort(),
    kept: [...g].filter((x) => c.has(x)).sort(),
  };
}
