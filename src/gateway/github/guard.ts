/**
 * The GitHub guard the HTTP proxy calls for intercepted GitHub hosts (SPEC §4): repository
 * allowlist on every path shape, ref rules on pushes. Stateless per request.
 */
import { denyResponse } from '../deny.ts';
import { isKmError } from '../../core/errors.ts';
import { decideGithubAccess } from './access.ts';
import { isGithubHostName, normalizeGithubHost } from './hosts.ts';
import { checkPush, readerFor } from './push.ts';
import type { GithubGuard, GithubPolicy, GithubRequest, GithubVerdict, GuardDeps } from './types.ts';

function portOf(host: string): number | null {
  const m = /:(\d+)$/.exec(host.trim());
  return m === null ? null : Number(m[1]);
}

/**
 * git shows an HTTP error body only when it is `text/plain` (as `remote: …` lines), so a
 * smart-HTTP request from a git client gets the reason as text, followed by the JSON envelope
 * on its own line; status and `X-Km-*` headers are unchanged. Every other client gets JSON.
 */
function forGitClient(r: { status: number; headers: Record<string, string>; body: Buffer }, req: GithubRequest, kind: string, message: string) {
  const ua = String(req.headers['user-agent'] ?? '');
  if (!ua.startsWith('git/') || !['upload-pack', 'receive-pack', 'info-refs', 'lfs'].includes(kind)) return r;
  const body = Buffer.concat([Buffer.from(`${message}\n`), r.body]);
  return { status: r.status, headers: { ...r.headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length) }, body };
}

function discard(req: GithubRequest): void {
  if (!req.body.readableEnded) req.body.resume();
}

function badRequest(policy: GithubPolicy, req: GithubRequest, detail: Record<string, unknown>, message: string): GithubVerdict {
  discard(req);
  const d = denyResponse({
    error: 'bad_request', host: normalizeGithubHost(req.host), port: portOf(req.host), rule: 'sourceAccess.github.protocol',
    sandbox: policy.sandboxId, hint: message,
  });
  const event = { event_type: 'git.push', source: 'gateway', sandbox_id: policy.sandboxId, detail: { ...detail, decision: 'deny', rule: 'sourceAccess.github.protocol', error: message } };
  return { action: 'respond', ...d, event };
}

async function check(policy: GithubPolicy, deps: GuardDeps, req: GithubRequest): Promise<GithubVerdict> {
  const method = req.method.toUpperCase();
  const d = decideGithubAccess(policy, req.host, method, req.path);
  const c = d.classification;
  const host = normalizeGithubHost(req.host);
  const detail: Record<string, unknown> = {
    host, method, path: req.path.split('?')[0], repo: c.repo, kind: c.kind,
    ...(c.service === undefined ? {} : { service: c.service }), decision: d.allow ? 'allow' : 'deny', rule: d.rule,
  };
  const access = { event_type: 'git.access', source: 'gateway', sandbox_id: policy.sandboxId, detail };
  if (!d.allow) {
    discard(req);
    const r = denyResponse({
      error: 'repo_not_allowed', host, port: portOf(req.host), rule: d.rule, sandbox: policy.sandboxId,
      ...(d.hint === undefined ? {} : { hint: d.hint }), extra: { repo: c.repo },
    });
    const reason = `km: repository ${c.repo ?? req.path.split('?')[0]} is not allowed by ${d.rule}`;
    return { action: 'respond', ...forGitClient(r, req, c.kind, reason), event: access };
  }
  if (policy.mode === 'none' || c.kind !== 'receive-pack' || method !== 'POST' || c.repo === null) {
    return { action: 'forward', body: req.body, event: access };
  }
  try {
    return await checkPush({ policy, deps, repo: c.repo, headers: req.headers, reader: readerFor(req.body, req.headers), detail });
  } catch (e) {
    if (isKmError(e) && e.code === 'failed') return badRequest(policy, req, detail, e.message);
    if (e instanceof Error && ('code' in e || /request body|incorrect header|unexpected end/i.test(e.message))) {
      return badRequest(policy, req, detail, `could not read the push request: ${e.message}`);
    }
    throw e;
  }
}

export function createGithubGuard(policy: GithubPolicy, deps: GuardDeps = {}): GithubGuard {
  const frozen: GithubPolicy = { ...policy, allowedRepos: [...policy.allowedRepos], ...(policy.allowedRefs === undefined ? {} : { allowedRefs: [...policy.allowedRefs] }) };
  return {
    isGithubHost: (host) => isGithubHostName(host),
    check: (req) => check(frozen, deps, req),
  };
}
