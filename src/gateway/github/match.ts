/**
 * Repository and ref pattern matching (SPEC §4.1, §4.3). Pure.
 */

export const REPOS_RULE = 'sourceAccess.github.allowedRepos';
export const REFS_RULE = 'sourceAccess.github.allowedRefs';

export interface MatchResult {
  allow: boolean;
  /** `…allowedRepos[i]` / `…allowedRefs[i]` for the entry that allowed, the list name otherwise. */
  rule: string;
}

const NAME = /^[a-z0-9._-]+$/;

function normalizePattern(pattern: string): string {
  let p = pattern.trim().toLowerCase();
  if (p.startsWith('github.com/')) p = p.slice('github.com/'.length);
  if (p.endsWith('.git')) p = p.slice(0, -4);
  return p;
}

function splitRepo(repo: string): [string, string] | null {
  let r = repo.toLowerCase();
  if (r.endsWith('.git')) r = r.slice(0, -4);
  const parts = r.split('/');
  const [owner, name] = parts;
  if (parts.length !== 2 || owner === undefined || name === undefined) return null;
  if (!NAME.test(owner) || !NAME.test(name) || name === '.' || name === '..') return null;
  return [owner, name];
}

/** True when `patterns` contains the catch-all `*` (with or without the `github.com/` prefix). */
export function allowsAnyRepo(patterns: readonly string[]): boolean {
  return patterns.some((p) => normalizePattern(p) === '*');
}

/**
 * `owner/repo`, `owner/*` or `*`, each optionally prefixed `github.com/`; case-insensitive;
 * a trailing `.git` on either side is ignored. A repo string that is not a well-formed
 * `owner/name` matches only `*`.
 */
export function matchRepo(patterns: string[], repo: string): MatchResult {
  const target = splitRepo(repo);
  for (const [i, raw] of patterns.entries()) {
    const p = normalizePattern(raw);
    if (p === '*') return { allow: true, rule: `${REPOS_RULE}[${i}]` };
    if (target === null) continue;
    const [owner, name] = p.split('/');
    if (owner !== target[0] || name === undefined || p.split('/').length !== 2) continue;
    if (name === '*' || name === target[1]) return { allow: true, rule: `${REPOS_RULE}[${i}]` };
  }
  return { allow: false, rule: REPOS_RULE };
}

/** Glob → anchored RegExp: `*` any run (including `/`), `?` one character, `[…]` a class. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else {
      out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`, 's');
}

/**
 * Ref globs: a pattern starting with `refs/` matches the full ref name; any other pattern
 * matches branch names (`refs/heads/` stripped) only. Case-sensitive. `undefined` allows
 * every ref; `[]` allows none.
 */
export function matchRef(patterns: string[] | undefined, refname: string): MatchResult {
  if (patterns === undefined) return { allow: true, rule: REFS_RULE };
  const branch = refname.startsWith('refs/heads/') ? refname.slice('refs/heads/'.length) : null;
  for (const [i, p] of patterns.entries()) {
    const subject = p.startsWith('refs/') ? refname : branch;
    if (subject !== null && globToRegExp(p).test(subject)) return { allow: true, rule: `${REFS_RULE}[${i}]` };
  }
  return { allow: false, rule: REFS_RULE };
}
