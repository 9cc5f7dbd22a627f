/**
 * The repository decision for one GitHub request (SPEC §4.2), without reading its body.
 * Pure; shared by the guard, `km policy explain` and learn mode.
 */
import { classifyGithubRequest, normalizeGithubHost, type GithubClassification } from './hosts.ts';
import { REPOS_RULE, matchRepo } from './match.ts';
import type { GithubPolicy } from './types.ts';

export interface GithubAccessDecision {
  allow: boolean;
  rule: string;
  classification: GithubClassification;
  /** For denials: the fix, for the 403 envelope. */
  hint?: string;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function starRule(patterns: readonly string[]): string | null {
  const i = patterns.findIndex((p) => p.trim().toLowerCase().replace(/^github\.com\//, '') === '*');
  return i === -1 ? null : `${REPOS_RULE}[${i}]`;
}

function explainHint(policy: GithubPolicy, target: string): string {
  return `check with: km policy explain ${policy.sandboxId} ${target}`;
}

function repoDecision(policy: GithubPolicy, c: GithubClassification & { repo: string }): GithubAccessDecision {
  const m = matchRepo(policy.allowedRepos, c.repo);
  if (m.allow) return { allow: true, rule: m.rule, classification: c };
  const owner = c.repo.split('/')[0] ?? c.repo;
  const hint = c.repo.startsWith('/')
    ? `the path ${JSON.stringify(c.repo)} does not name a repository unambiguously; only "*" in spec.sourceAccess.github.allowedRepos allows it`
    : `add "${c.repo}" (or "${owner}/*") to spec.sourceAccess.github.allowedRepos in a new profile; ${explainHint(policy, `https://github.com/${c.repo}`)}`;
  return { allow: false, rule: REPOS_RULE, classification: c, hint };
}

export function decideGithubAccess(policy: GithubPolicy, host: string, method: string, pathWithQuery: string): GithubAccessDecision {
  const c = classifyGithubRequest(host, method, pathWithQuery);
  if (policy.mode === 'none') return { allow: true, rule: 'sourceAccess.mode', classification: c };
  const m = method.toUpperCase();
  const star = starRule(policy.allowedRepos);
  const h = normalizeGithubHost(host);
  switch (c.kind) {
    case 'login':
      return { allow: true, rule: 'sourceAccess.github.login', classification: c };
    case 'signed-object':
      if (m === 'GET' || m === 'HEAD') return { allow: true, rule: 'sourceAccess.github.signedObjects', classification: c };
      return { allow: false, rule: REPOS_RULE, classification: c, hint: `only GET and HEAD are allowed on ${h} (signed object URLs)` };
    case 'graphql':
      if (policy.allowGraphQL) return { allow: true, rule: 'sourceAccess.github.allowGraphQL', classification: c };
      if (star !== null) return { allow: true, rule: star, classification: c };
      if (m === 'OPTIONS') return { allow: true, rule: 'sourceAccess.github.nonRepoRead', classification: c };
      return {
        allow: false, rule: 'sourceAccess.github.allowGraphQL', classification: c,
        hint: 'GraphQL cannot be scoped to a repository; set spec.sourceAccess.github.allowGraphQL: true in a new profile to allow it',
      };
    default:
      break;
  }
  if (c.repo !== null) return repoDecision(policy, { ...c, repo: c.repo });
  if (c.kind === 'non-repo' && READ_METHODS.has(m)) return { allow: true, rule: 'sourceAccess.github.nonRepoRead', classification: c };
  if (star !== null) return { allow: true, rule: star, classification: c };
  const hint =
    c.kind === 'api'
      ? '/repositories/{id} cannot be mapped to a repository name; use /repos/{owner}/{repo}, or allow "*" in spec.sourceAccess.github.allowedRepos'
      : `${m} requests outside a listed repository are refused; only "*" in spec.sourceAccess.github.allowedRepos allows them`;
  return { allow: false, rule: REPOS_RULE, classification: c, hint };
}
