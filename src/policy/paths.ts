/**
 * `pathRules` (SPEC §3.4): for a host with rules, a request's method and path (query
 * ignored) must match one `allow` entry "METHOD /glob", where `*` matches any characters
 * including `/`. Paths are checked both as sent and with dot segments and percent-encoded
 * dots resolved, and must match in both forms, so `/ok/../secret` cannot pass as `/ok/*`.
 */
import { KmError } from '../core/errors.ts';
import { tryNormaliseHost } from './normalise.ts';

export interface CompiledPathAllow {
  rule: string;
  method: string;
  pattern: RegExp;
}

export interface CompiledPathRule {
  rule: string;
  allows: readonly CompiledPathAllow[];
}

const RULES = 'spec.network.egress.pathRules';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*']);

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

function compileAllow(text: string, rule: string): CompiledPathAllow {
  const m = /^(\S+)\s+(\/\S*)$/.exec(text.trim());
  const method = m?.[1]?.toUpperCase();
  if (!m || method === undefined || !METHODS.has(method) || m[2] === undefined) {
    throw new KmError('profile_invalid', `${rule}: "${text}" is not a path rule`, {
      hint: 'write "METHOD /path" with METHOD one of GET HEAD POST PUT PATCH DELETE OPTIONS *, e.g. "GET /v1/*"',
    });
  }
  return { rule, method, pattern: globToRegExp(m[2]) };
}

export function compilePathRules(rules: ReadonlyArray<{ host: string; allow: readonly string[] }>): Map<string, CompiledPathRule> {
  const out = new Map<string, CompiledPathRule>();
  rules.forEach((r, i) => {
    const n = tryNormaliseHost(r.host);
    if (n === null || n.port !== undefined || n.host === '*') {
      throw new KmError('profile_invalid', `${RULES}[${i}].host: "${r.host}" is not a host name`);
    }
    const allows = r.allow.map((a, j) => compileAllow(a, `${RULES}[${i}].allow[${j}]`));
    const existing = out.get(n.host);
    if (existing) out.set(n.host, { rule: existing.rule, allows: [...existing.allows, ...allows] });
    else out.set(n.host, { rule: `${RULES}[${i}]`, allows });
  });
  return out;
}

/** The path with dot segments and encoded dots/slashes resolved, as a server would read it. */
export function canonicalPath(path: string): string | null {
  try {
    const decoded = path.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    return new URL(`http://h${decoded}`).pathname;
  } catch {
    return null;
  }
}

export function matchPathRule(rule: CompiledPathRule, method: string, rawPath: string): { allow: boolean; rule: string } {
  const q = rawPath.indexOf('?');
  const path = q < 0 ? rawPath : rawPath.slice(0, q);
  const canonical = path.startsWith('/') ? canonicalPath(path) : null;
  if (canonical === null) return { allow: false, rule: rule.rule };
  const m = method.toUpperCase();
  for (const a of rule.allows) {
    if (a.method !== '*' && a.method !== m) continue;
    if (a.pattern.test(path) && a.pattern.test(canonical)) return { allow: true, rule: a.rule };
  }
  return { allow: false, rule: rule.rule };
}
