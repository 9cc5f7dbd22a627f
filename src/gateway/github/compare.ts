/**
 * Ancestry through GitHub's compare API, for pushes whose pack cannot prove a fast-forward
 * by itself (an empty pack: the new commit is already on GitHub, e.g. moving a branch to a
 * commit another branch has). `GET https://api.github.com/repos/{repo}/compare/{old}...{new}`
 * with the push's own Authorization header: `ahead`/`identical` → `old` is an ancestor of
 * `new` (fast-forward); `behind`/`diverged` → it is not; anything else (no credentials, 404,
 * timeout) → unknown, and the push is then treated as a force push (fails closed).
 * Reached the way the gateway reaches any upstream (overrides, extra CA, parent proxy).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { createUpstream } from '../http/upstream.ts';
import type { GatewayPolicy, UpstreamOptions } from '../http/types.ts';

const API_HOST = 'api.github.com';
const HEX = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const MAX_BODY = 4 * 1024 * 1024;

export type CompareAncestor = (repo: string, ancestor: string, descendant: string, headers: IncomingHttpHeaders) => Promise<boolean | undefined>;

export function verdictOfCompare(status: number, body: string): boolean | undefined {
  if (status !== 200) return undefined;
  try {
    const s = (JSON.parse(body) as { status?: unknown }).status;
    if (s === 'ahead' || s === 'identical') return true;
    if (s === 'behind' || s === 'diverged') return false;
  } catch {
    /* not the compare document */
  }
  return undefined;
}

export function createCompareAncestor(policy: GatewayPolicy, upstream: UpstreamOptions, timeoutMs = 10_000): CompareAncestor & { close(): void } {
  const up = createUpstream(policy, upstream, timeoutMs);
  const compare = async (repo: string, ancestor: string, descendant: string, headers: IncomingHttpHeaders): Promise<boolean | undefined> => {
    if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || !HEX.test(ancestor) || !HEX.test(descendant)) return undefined;
    const t = await up.resolveTarget(API_HOST, 443);
    if (!t.ok) return undefined;
    const auth = headers.authorization;
    return new Promise((resolve) => {
      const options: RequestOptions & ConnectionOptions = {
        agent: up.agentFor(t.target, true),
        host: t.target.address,
        port: t.target.port,
        servername: API_HOST,
        secureContext: up.tlsContext,
        method: 'GET',
        path: `/repos/${repo}/compare/${ancestor}...${descendant}?per_page=1`,
        headers: { host: API_HOST, accept: 'application/vnd.github+json', 'user-agent': 'km-gateway', 'x-github-api-version': '2022-11-28', ...(auth ? { authorization: auth } : {}) },
        timeout: timeoutMs,
      };
      const req = httpsRequest(options);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(undefined));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > MAX_BODY) return void res.destroy();
          chunks.push(c);
        });
        res.on('error', () => resolve(undefined));
        res.on('end', () => resolve(verdictOfCompare(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        res.on('close', () => resolve(undefined));
      });
      req.end();
    });
  };
  return Object.assign(compare, { close: () => up.close() });
}
