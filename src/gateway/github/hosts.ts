/**
 * Which GitHub host and path a request addresses (SPEC §4.1, §4.2). Pure: no I/O.
 * Paths are normalised conservatively before classification (empty and dot segments
 * resolved, percent-escapes decoded) so that a spelling trick cannot turn a repository
 * request into a "non-repo" one; a path that still cannot be read unambiguously yields a
 * repo string that no `owner/repo` pattern matches (only `*` allows it).
 */

export type GithubKind =
  | 'upload-pack'
  | 'receive-pack'
  | 'info-refs'
  | 'lfs'
  | 'api'
  | 'raw'
  | 'codeload'
  | 'uploads'
  | 'signed-object'
  | 'web'
  | 'non-repo'
  | 'graphql'
  | 'login';

export interface GithubClassification {
  repo: string | null;
  kind: GithubKind;
  service?: string;
}

/** The hosts GitHub source access covers (SPEC §4.1): one list, kept in the policy engine. */
export { GITHUB_HOSTS } from '../../policy/hosts.ts';
import { GITHUB_HOSTS } from '../../policy/hosts.ts';

const SIGNED_OBJECT_HOSTS = new Set([
  'objects.githubusercontent.com',
  'codeload.githubusercontent.com',
  'media.githubusercontent.com',
]);

/** First path segments on github.com that are never an owner. */
const RESERVED_OWNERS = new Set([
  'login', 'logout', 'session', 'settings', 'orgs', 'organizations', 'users', 'search',
  'marketplace', 'features', 'explore', 'topics', 'notifications', 'new', 'codespaces',
  'sponsors', 'apps', 'site', 'about', 'account',
]);

/** Lowercase, without a trailing dot or a `:port`. */
export function normalizeGithubHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h; // IPv6 literal: never a GitHub host
  const colon = h.lastIndexOf(':');
  if (colon !== -1 && /^\d+$/.test(h.slice(colon + 1))) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export function isGithubHostName(host: string): boolean {
  return GITHUB_HOSTS.includes(normalizeGithubHost(host));
}

interface NormalizedPath {
  segments: string[];
  /** Set when the path cannot be read unambiguously (encoded separators, escapes above root). */
  ambiguous: boolean;
}

function normalizePath(path: string): NormalizedPath {
  const segments: string[] = [];
  let ambiguous = false;
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let seg = raw;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      ambiguous = true;
    }
    if (seg.includes('/') || seg.includes('\\') || seg.includes('\0')) ambiguous = true;
    if (seg === '.') continue;
    if (seg === '..') {
      if (segments.pop() === undefined) ambiguous = true;
      continue;
    }
    segments.push(seg);
  }
  return { segments, ambiguous };
}

function stripGit(name: string): string {
  return name.toLowerCase().endsWith('.git') ? name.slice(0, -4) : name;
}

function repoOf(owner: string, name: string): string {
  return `${owner}/${stripGit(name)}`;
}

function splitQuery(pathWithQuery: string): { path: string; query: URLSearchParams } {
  const q = pathWithQuery.indexOf('?');
  if (q === -1) return { path: pathWithQuery, query: new URLSearchParams() };
  return { path: pathWithQuery.slice(0, q), query: new URLSearchParams(pathWithQuery.slice(q + 1)) };
}

function classifyGithubCom(segs: string[], query: URLSearchParams): GithubClassification {
  const [first, second] = segs;
  const third = segs[2]?.toLowerCase();
  const fourth = segs[3]?.toLowerCase();
  if (first === undefined) return { repo: null, kind: 'non-repo' };
  const lower = first.toLowerCase();
  if (RESERVED_OWNERS.has(lower)) {
    const isLogin = lower === 'login' && (second === 'oauth' || second === 'device') && segs.length > 2;
    return { repo: null, kind: isLogin ? 'login' : 'non-repo' };
  }
  if (second === undefined) return { repo: null, kind: 'non-repo' };
  const repo = repoOf(first, second);
  if (third === 'info' && fourth === 'refs' && segs.length === 4) {
    const service = query.get('service');
    return service === null ? { repo, kind: 'info-refs' } : { repo, kind: 'info-refs', service };
  }
  if (third === 'git-upload-pack' && segs.length === 3) return { repo, kind: 'upload-pack', service: 'git-upload-pack' };
  if (third === 'git-receive-pack' && segs.length === 3) return { repo, kind: 'receive-pack', service: 'git-receive-pack' };
  if (third === 'info' && fourth === 'lfs') return { repo, kind: 'lfs' };
  return { repo, kind: 'web' };
}

function classifyApi(segs: string[]): GithubClassification {
  const [first, second, third] = segs;
  if (first === 'repos' && second !== undefined && third !== undefined) return { repo: repoOf(second, third), kind: 'api' };
  if (first === 'repositories' && second !== undefined) return { repo: null, kind: 'api' };
  if (first === 'graphql' && segs.length === 1) return { repo: null, kind: 'graphql' };
  return { repo: null, kind: 'non-repo' };
}

function classifyOwnerRepoHost(segs: string[], kind: 'raw' | 'codeload'): GithubClassification {
  const [owner, name] = segs;
  if (owner === undefined || name === undefined) return { repo: null, kind: 'non-repo' };
  return { repo: repoOf(owner, name), kind };
}

function classifyUploads(segs: string[]): GithubClassification {
  const [first, owner, name] = segs;
  if (first === 'repos' && owner !== undefined && name !== undefined) return { repo: repoOf(owner, name), kind: 'uploads' };
  return { repo: null, kind: 'non-repo' };
}

/**
 * Classifies a request to one of the GitHub hosts of §4.1. `repo` is `owner/repo` as the
 * request spelled it (trailing `.git` removed, case kept), or null when the path is not
 * repository-scoped. Hosts outside §4.1 classify as `non-repo`.
 */
export function classifyGithubRequest(host: string, method: string, pathWithQuery: string): GithubClassification {
  void method; // the shape of a path does not depend on the method; decisions do (see guard)
  const h = normalizeGithubHost(host);
  const { path, query } = splitQuery(pathWithQuery);
  if (SIGNED_OBJECT_HOSTS.has(h)) return { repo: null, kind: 'signed-object' };
  const { segments, ambiguous } = normalizePath(path);
  if (ambiguous && GITHUB_HOSTS.includes(h)) {
    // Whatever the upstream makes of it, a push must still meet the ref rules.
    const push = h === 'github.com' && segments.some((s) => s.toLowerCase().endsWith('git-receive-pack'));
    return push ? { repo: path, kind: 'receive-pack', service: 'git-receive-pack' } : { repo: path, kind: 'web' };
  }
  switch (h) {
    case 'github.com':
      return classifyGithubCom(segments, query);
    case 'api.github.com':
      return classifyApi(segments);
    case 'codeload.github.com':
      return classifyOwnerRepoHost(segments, 'codeload');
    case 'raw.githubusercontent.com':
      return classifyOwnerRepoHost(segments, 'raw');
    case 'uploads.github.com':
      return classifyUploads(segments);
    default:
      return { repo: null, kind: 'non-repo' };
  }
}
