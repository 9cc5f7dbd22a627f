/**
 * The repository part of GitHub source access (SPEC §4.1, §4.2) that can be decided from a
 * host and a path alone: which repo a request names, and whether allowedRepos lets it in.
 * The full request guard (methods, GraphQL, receive-pack refs) lives in the gateway.
 */
import { KmError } from '../core/errors.ts';

export interface CompiledRepoPattern {
  rule: string;
  owner: string;
  /** `*` for `owner/*`. */
  repo: string;
}

const REPOS = 'spec.sourceAccess.github.allowedRepos';
/** The rule named when no pattern matches (SPEC §4.2). */
export const REPO_DENY_RULE = 'sourceAccess.github.allowedRepos';

/** First path segments on github.com that are not owners. */
export const GITHUB_RESERVED_OWNERS: ReadonlySet<string> = new Set([
  'login', 'logout', 'session', 'settings', 'orgs', 'organizations', 'users', 'search', 'marketplace',
  'features', 'explore', 'topics', 'notifications', 'new', 'codespaces', 'sponsors', 'apps', 'site',
  'about', 'account',
]);

export function compileRepoPatterns(patterns: readonly string[]): CompiledRepoPattern[] {
  return patterns.map((text, i) => {
    const rule = `${REPOS}[${i}]`;
    const bare = text.toLowerCase().replace(/^github\.com\//, '');
    if (bare === '*') return { rule, owner: '*', repo: '*' };
    const m = /^([a-z0-9_.-]+)\/([a-z0-9_.-]+|\*)$/.exec(bare);
    if (!m || m[1] === undefined || m[2] === undefined) {
      throw new KmError('profile_invalid', `${rule}: "${text}" is not a repository pattern`, {
        hint: 'write owner/repo, owner/* or *',
      });
    }
    return { rule, owner: m[1], repo: m[2] };
  });
}

function ownerRepo(owner: string | undefined, repo: string | undefined): string | null {
  if (owner === undefined || repo === undefined || owner === '' || repo === '') return null;
  const r = repo.toLowerCase().replace(/\.git$/, '');
  return r === '' ? null : `${owner.toLowerCase()}/${r}`;
}

/** The `owner/repo` a GitHub request names, or null when the path is not repo-scoped. */
export function repoFromRequest(host: string, path: string): string | null {
  const q = path.indexOf('?');
  const segs = (q < 0 ? path : path.slice(0, q)).split('/').slice(1);
  switch (host) {
    case 'github.com':
      if (segs[0] !== undefined && GITHUB_RESERVED_OWNERS.has(segs[0].toLowerCase())) return null;
      return ownerRepo(segs[0], segs[1]);
    case 'api.github.com':
    case 'uploads.github.com':
      return segs[0] === 'repos' ? ownerRepo(segs[1], segs[2]) : null;
    case 'codeload.github.com':
    case 'raw.githubusercontent.com':
      return ownerRepo(segs[0], segs[1]);
    default:
      return null;
  }
}

export function decideRepo(
  sa: { mode: 'allowlist' | 'none'; repos: readonly CompiledRepoPattern[] },
  repo: string,
): { allow: boolean; rule: string } {
  if (sa.mode === 'none') return { allow: true, rule: 'spec.sourceAccess.mode' };
  const r = repo.toLowerCase().replace(/^github\.com\//, '').replace(/\.git$/, '');
  const slash = r.indexOf('/');
  const owner = slash < 0 ? r : r.slice(0, slash);
  const name = slash < 0 ? '' : r.slice(slash + 1);
  for (const p of sa.repos) {
    if (p.owner === '*' || (p.owner === owner && (p.repo === '*' || p.repo === name))) return { allow: true, rule: p.rule };
  }
  return { allow: false, rule: REPO_DENY_RULE };
}
