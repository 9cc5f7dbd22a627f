/**
 * Profile generation from a learn session's observations (SPEC §7). Pure: observations,
 * options and the reference time in; a profile document, its annotated YAML and the counts out.
 */
import { getDomain, parse as parseDomain } from 'tldts';
import { stringify } from 'yaml';

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

const RESERVED = new Set(['km.internal']);
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

export function generateProfile(obs: Observations, opts: GenerateOptions): Generated {
  const names = new Set<string>();
  for (const n of obs.dnsNames) names.add(normaliseName(n));
  for (const h of obs.hosts) names.add(normaliseName(h.host));
  for (const r of RESERVED) names.delete(r);
  names.delete('');
  const ports = new Map<string, Set<number>>();
  for (const h of obs.hosts) {
    const n = normaliseName(h.host);
    if (!DEFAULT_PORTS.has(h.port)) ports.set(n, (ports.get(n) ?? new Set()).add(h.port));
  }

  const base = opts.base?.allows;
  const leftOut: string[] = [];
  const suffixMap: Record<string, string[]> = {};
  const hosts = new Set<string>();
  for (const n of [...names].sort()) {
    const nonDefault = [...(ports.get(n) ?? [])].sort((a, b) => a - b);
    for (const p of nonDefault) {
      if (base?.host(n, p)) leftOut.push(`${n}:${p}`);
      else hosts.add(`${isIp(n) && n.includes(':') ? `[${n}]` : n}:${p}`);
    }
    if (base?.host(n, 443) && base.host(n, 80)) {
      leftOut.push(n);
      continue;
    }
    const suffix = opts.exact ? undefined : suffixFor(n);
    if (suffix) (suffixMap[suffix] ??= []).push(n);
    else if (!nonDefault.length || obs.dnsNames.map(normaliseName).includes(n)) hosts.add(n);
  }
  const suffixes = Object.keys(suffixMap).sort();
  const repos = [...new Set(obs.repos.map((r) => r.toLowerCase()))].filter((r) => !(base?.repo(r) ?? false)).sort();
  const shortRef = (r: string) => r.replace(/^refs\/heads\//, '');
  const refs = [...new Set(obs.refs.map((r) => shortRef(r.ref)))].filter((r) => !(base?.ref(r) ?? false)).sort();
  const force = obs.refs.some((r) => r.kind === 'force');
  const del = obs.refs.some((r) => r.kind === 'delete');

  const name = `observed-${stamp(opts.nowMs)}`;
  const github: Record<string, unknown> = { allowedRepos: repos, allowedRefs: refs };
  if (force) github.allowForcePush = true;
  if (del) github.allowRefDeletion = true;
  const spec: Record<string, unknown> = {
    network: {
      enforcement: opts.enforcement,
      egress: { allowedDNSSuffixes: suffixes, allowedHosts: [...hosts].sort() },
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
  const counts = {
    dns_names: new Set(obs.dnsNames.map(normaliseName)).size,
    hosts: new Set(obs.hosts.map((h) => `${normaliseName(h.host)}:${h.port}`)).size,
    repos: new Set(obs.repos.map((r) => r.toLowerCase())).size,
    refs: new Set(obs.refs.map((r) => r.ref)).size,
    commands: obs.commands.length,
    denials: obs.denials,
  };
  const warnings = names.size === 0 && obs.repos.length === 0 && obs.refs.length === 0 ? ['nothing was observed in this session'] : [];
  const header = annotate(obs, counts, suffixMap, [...hosts].sort(), repos, refs, leftOut, { force, del });
  return { name, profile, yaml: header + stringify(profile, { lineWidth: 0 }), counts, suffixMap, leftOutByBase: leftOut, warnings };
}

function annotate(
  obs: Observations,
  counts: Generated['counts'],
  suffixMap: Record<string, string[]>,
  hosts: string[],
  repos: string[],
  refs: string[],
  leftOut: string[],
  flags: { force: boolean; del: boolean },
): string {
  const lines = [
    `Generated by km learn from sandbox ${obs.sandboxId}, session ${obs.sessionId}`,
    `window: ${obs.startedAt} .. ${obs.endedAt ?? 'still recording'}`,
    `observed: ${counts.dns_names} DNS names, ${counts.hosts} hosts, ${counts.repos} repos, ${counts.refs} refs, ${counts.commands} commands, ${counts.denials} denials`,
  ];
  for (const s of Object.keys(suffixMap).sort()) lines.push(`suffix ${s} <- ${(suffixMap[s] ?? []).join(', ')}`);
  for (const h of hosts) lines.push(`host ${h}: ${/:\d+$/.test(h) ? 'non-default port' : 'no registrable domain (or --exact)'}`);
  if (repos.length) lines.push(`repos: ${repos.join(', ')}`);
  if (refs.length) lines.push(`refs pushed: ${refs.join(', ')}`);
  if (flags.force) lines.push('allowForcePush: a force push was observed');
  if (flags.del) lines.push('allowRefDeletion: a ref deletion was observed');
  if (leftOut.length) lines.push(`already allowed by the base profile (left out): ${leftOut.join(', ')}`);
  if (obs.commands.length) {
    lines.push('commands observed (not turned into initCommands):');
    for (const c of obs.commands.slice(0, 200)) lines.push(`  $ ${c.replace(/\n/g, ' ')}`);
  }
  return lines.map((l) => `# ${l}`).join('\n') + '\n';
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
