/**
 * `km policy explain` as a pure function (SPEC §3.7): evaluate a destination against a
 * compiled policy without sending anything, and render the result.
 */
import { KmError } from '../core/errors.ts';
import type { CompiledPolicy } from './compile.ts';
import { decideDns, decideHost, decidePath, type HostError, type InterceptReason } from './decide.ts';
import { decideRepo, repoFromRequest } from './github.ts';
import { GITHUB_HOSTS } from './hosts.ts';
import { tryNormaliseHost } from './normalise.ts';

export interface ExplainTarget {
  host: string;
  port: number;
  scheme?: 'http' | 'https';
  /** Present when the target was a URL. */
  path?: string;
}

export interface ExplainResult {
  decision: 'allow' | 'deny';
  host: string;
  port: number;
  rule: string;
  error: HostError | 'path_not_allowed' | 'repo_not_allowed' | null;
  dns: { decision: 'allow' | 'deny' | 'not_applicable'; rule: string };
  http: { decision: 'allow' | 'deny'; rule: string; closest: string | null };
  intercepted: boolean;
  intercept_reason: InterceptReason | null;
  path: { method: string; path: string; decision: 'allow' | 'deny'; rule: string } | null;
  github: { repo: string; decision: 'allow' | 'deny'; rule: string; note: string | null } | null;
  hint: string | null;
}

/** Parse `host`, `host:port` or an http(s) URL. Bare hosts are taken as port 443. */
export function parseExplainTarget(text: string): ExplainTarget {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new KmError('usage', `"${text}" is not a valid URL`, { hint: 'write a host, host:port or an http(s) URL' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new KmError('usage', `unsupported URL scheme "${url.protocol.slice(0, -1)}"`, { hint: 'use an http:// or https:// URL, or a bare host' });
    }
    const scheme = url.protocol === 'http:' ? 'http' : 'https';
    const port = url.port !== '' ? Number(url.port) : scheme === 'http' ? 80 : 443;
    return { host: url.hostname, port, scheme, path: url.pathname + url.search };
  }
  const n = tryNormaliseHost(text);
  if (n === null || n.host === '*') {
    throw new KmError('usage', `"${text}" is not a valid host`, { hint: 'write a host, host:port ([v6]:port) or an http(s) URL' });
  }
  return { host: n.isIp && n.host.includes(':') ? `[${n.host}]` : n.host, port: n.port ?? 443 };
}

const short = (rule: string): string => rule.replace(/^spec\.network\.egress\./, '');

function closestEntry(p: CompiledPolicy, host: string, error: HostError | undefined, rule: string): string | null {
  if (error === 'port_not_allowed') {
    const e = p.hostEntries.find((x) => x.rule === rule);
    return e ? `${short(e.rule)} "${e.text}" allows port${e.ports.size > 1 ? 's' : ''} ${[...e.ports].join(', ')} only` : null;
  }
  if (error !== 'host_not_allowed') return null;
  const e = p.hostEntries.find((x) => x.kind === 'exact' && host.endsWith(`.${x.key}`));
  return e ? `${short(e.rule)} "${e.text}" is exact` : null;
}

function githubPart(p: CompiledPolicy, host: string, path: string | undefined, method: string): ExplainResult['github'] {
  if (path === undefined || !GITHUB_HOSTS.includes(host)) return null;
  const repo = repoFromRequest(host, path);
  if (repo === null) return null;
  const d = decideRepo(p.sourceAccess, repo);
  const bare = path.split('?')[0] ?? '';
  const receive = /\/git-receive-pack$/.test(bare) || path.includes('service=git-receive-pack');
  let note: string | null = null;
  if (receive) {
    const refs = p.sourceAccess.allowedRefs;
    const which = refs === null ? 'any ref' : refs.length === 0 ? 'no refs (pushes refused)' : `refs [${refs.join(', ')}]`;
    const sa = p.sourceAccess;
    note = `pushes may update ${which}; force pushes ${sa.allowForcePush ? 'allowed' : 'refused'}, deletions ${sa.allowRefDeletion ? 'allowed' : 'refused'}; ` +
      (method.toUpperCase() === 'POST' ? 'each ref is checked when the push arrives' : 'each ref is checked on the POST that carries the push');
  } else if (/\/(info\/refs|git-upload-pack)$/.test(bare)) {
    note = 'fetches are never ref-restricted';
  }
  return { repo, decision: d.allow ? 'allow' : 'deny', rule: d.rule, note };
}

export function explain(p: CompiledPolicy, target: ExplainTarget, method = 'GET'): ExplainResult {
  const h = decideHost(p, { host: target.host, port: target.port, ...(target.scheme ? { scheme: target.scheme } : {}) });
  const isIp = tryNormaliseHost(target.host)?.isIp ?? false;
  const dnsD = decideDns(p, h.host);
  const dns: ExplainResult['dns'] = isIp ? { decision: 'not_applicable', rule: 'ip-literal' } : { decision: dnsD.allow ? 'allow' : 'deny', rule: dnsD.rule };
  const res: ExplainResult = {
    decision: h.allow ? 'allow' : 'deny', host: h.host, port: h.port, rule: h.rule, error: h.error ?? null, dns,
    http: { decision: h.allow ? 'allow' : 'deny', rule: h.rule, closest: closestEntry(p, h.host, h.error, h.rule) },
    intercepted: h.intercept, intercept_reason: h.interceptReason, path: null, github: null, hint: h.hint ?? null,
  };
  if (!h.allow || target.path === undefined) return res;
  const pathOnly = target.path.split('?')[0] ?? '/';
  if (p.pathRules.has(h.host)) {
    const d = decidePath(p, h.host, method, target.path);
    res.path = { method: method.toUpperCase(), path: pathOnly, decision: d.allow ? 'allow' : 'deny', rule: d.rule };
    if (!d.allow) Object.assign(res, { decision: 'deny', rule: d.rule, error: 'path_not_allowed' });
  }
  if (p.interceptGithub) {
    res.github = githubPart(p, h.host, target.path, method);
    if (res.github?.decision === 'deny' && res.decision === 'allow') {
      Object.assign(res, { decision: 'deny', rule: res.github.rule, error: 'repo_not_allowed' });
    }
  }
  return res;
}

const pad = (s: string, n: number): string => (s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length));

function line(label: string, decision: string, rule: string, note: string | null): string {
  return `  ${pad(`${label}:`, 7)}${pad(decision, 7)}${rule}${note ? `  (${note})` : ''}`;
}

/** The human form of §3.7. */
export function renderExplain(r: ExplainResult): string {
  const hostPort = r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`;
  const out = [`${pad(r.decision.toUpperCase(), 7)}${hostPort}`];
  out.push(line('dns', r.dns.decision === 'not_applicable' ? 'n/a' : r.dns.decision, r.dns.rule, null));
  const httpNote = r.http.closest !== null ? `closest entry: ${r.http.closest}` : r.error && r.http.decision === 'deny' ? r.error : null;
  out.push(line('http', r.http.decision, r.http.rule, httpNote));
  if (r.intercepted) out.push(`  tls:   intercepted (${r.intercept_reason})`);
  if (r.path) out.push(line('path', r.path.decision, r.path.rule, `${r.path.method} ${r.path.path}`));
  if (r.github) out.push(line('github', r.github.decision, r.github.rule, `repo ${r.github.repo}`));
  if (r.github?.note) out.push(`  refs:  ${r.github.note}`);
  if (r.decision === 'deny' && r.hint) out.push(`  hint:  ${r.hint}`);
  return out.join('\n') + '\n';
}

/** The JSON form of §3.7 (snake_case, stable; fields may be added). */
export function explainJson(r: ExplainResult): Record<string, unknown> {
  return {
    decision: r.decision, host: r.host, port: r.port, rule: r.rule, error: r.error, dns: r.dns,
    intercepted: r.intercepted, intercept_reason: r.intercept_reason,
    github: r.github, path: r.path, hint: r.hint,
  };
}
