/**
 * What a resolved base profile already allows (SPEC §7 `--base P`), and what a generated
 * profile changes relative to a resolved profile (`--diff P`). Pure.
 */
import { matchRef, matchRepo } from '../gateway/github/index.ts';
import { compilePolicy, decideHost, type CompileOptions, type PolicyInput } from '../policy/index.ts';
import { diffLists, type BaseAllows, type ListDiff } from './generate.ts';

export function baseAllows(spec: PolicyInput, options: CompileOptions): BaseAllows {
  const policy = compilePolicy(spec, options);
  const gh = spec.sourceAccess.github;
  const fullRef = (r: string): string => (r.startsWith('refs/') ? r : `refs/heads/${r}`);
  return {
    host: (host, port) => decideHost(policy, { host, port }).allow,
    repo: (repo) => spec.sourceAccess.mode === 'allowlist' && matchRepo(gh.allowedRepos, repo).allow,
    ref: (ref) => spec.sourceAccess.mode === 'allowlist' && gh.allowedRepos.length > 0 && matchRef(gh.allowedRefs, fullRef(ref)).allow,
  };
}

export interface ProfileDiff {
  allowed_dns_suffixes: ListDiff;
  allowed_hosts: ListDiff;
  allowed_repos: ListDiff;
  allowed_refs: ListDiff;
}

/** The four lists compared by `--diff`, read from a profile document (generated or resolved). */
export interface ProfileLists {
  allowedDNSSuffixes: string[];
  allowedHosts: string[];
  allowedRepos: string[];
  allowedRefs: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

interface ListsDoc {
  spec?: {
    network?: { egress?: { allowedDNSSuffixes?: unknown; allowedHosts?: unknown } };
    sourceAccess?: { github?: { allowedRepos?: unknown; allowedRefs?: unknown } };
  };
}

export function listsOf(profile: unknown): ProfileLists {
  const spec = (profile as ListsDoc | null)?.spec ?? {};
  const egress = spec.network?.egress ?? {};
  const gh = spec.sourceAccess?.github ?? {};
  return {
    allowedDNSSuffixes: strings(egress.allowedDNSSuffixes),
    allowedHosts: strings(egress.allowedHosts),
    allowedRepos: strings(gh.allowedRepos),
    allowedRefs: strings(gh.allowedRefs),
  };
}

const suffixKey = (s: string): string => {
  const t = s.trim().toLowerCase().replace(/\.$/, '');
  return t === '*' ? t : `.${t.replace(/^\./, '')}`;
};
const hostKey = (s: string): string => s.trim().toLowerCase().replace(/\.$/, '');
const repoKey = (s: string): string => s.trim().toLowerCase().replace(/^github\.com\//, '').replace(/\.git$/, '');

export function profileDiff(generated: ProfileLists, current: ProfileLists): ProfileDiff {
  const d = (a: string[], b: string[], key: (s: string) => string): ListDiff => diffLists([...new Set(a.map(key))], [...new Set(b.map(key))]);
  return {
    allowed_dns_suffixes: d(generated.allowedDNSSuffixes, current.allowedDNSSuffixes, suffixKey),
    allowed_hosts: d(generated.allowedHosts, current.allowedHosts, hostKey),
    allowed_repos: d(generated.allowedRepos, current.allowedRepos, repoKey),
    allowed_refs: d(generated.allowedRefs, current.allowedRefs, (s) => s.trim()),
  };
}

const TITLES: Array<[keyof ProfileDiff, string]> = [
  ['allowed_dns_suffixes', 'allowedDNSSuffixes'],
  ['allowed_hosts', 'allowedHosts'],
  ['allowed_repos', 'allowedRepos'],
  ['allowed_refs', 'allowedRefs'],
];

/** `+ needed, missing from P`, `- allowed by P, never used`, `= both`, per list. */
export function renderDiff(d: ProfileDiff, against: string): string {
  const out = [`Compared with ${against} (+ needed and missing, - allowed but never used, = kept):`];
  for (const [key, title] of TITLES) {
    const l = d[key];
    out.push(`${title}:`);
    const lines = [...l.added.map((x) => `  + ${x}`), ...l.unused.map((x) => `  - ${x}`), ...l.kept.map((x) => `  = ${x}`)];
    out.push(...(lines.length ? lines : ['  (empty on both sides)']));
  }
  return out.join('\n') + '\n';
}
