import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export interface GithubPolicy {
  mode: 'allowlist' | 'none';
  allowedRepos: string[];
  /** undefined = any ref; [] = no pushes. */
  allowedRefs?: string[];
  allowForcePush: boolean;
  allowRefDeletion: boolean;
  allowGraphQL: boolean;
  sandboxId: string;
}

export interface GithubRequest {
  method: string;
  /** The logical host (`github.com`, optionally with `:port`). */
  host: string;
  /** Path including the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/**
 * `event` is `{ event_type: 'git.access' | 'git.push', source: 'gateway', sandbox_id, detail }`
 * (SPEC §13.1) without a timestamp; the caller stamps and records it.
 * On `respond`, the guard has already arranged for the rest of the request body to be
 * discarded; the caller writes status, headers and body and forwards nothing.
 */
export type GithubVerdict =
  | { action: 'forward'; body: Readable; event: Record<string, unknown> }
  | { action: 'respond'; status: number; headers: Record<string, string>; body: Buffer; event: Record<string, unknown> };

export interface GithubGuard {
  isGithubHost(host: string): boolean;
  check(req: GithubRequest): Promise<GithubVerdict>;
}

export interface GuardDeps {
  /** GitHub compare API via the gateway (same credentials as the push); undefined = unknown. */
  compareAncestor?: (repo: string, ancestor: string, descendant: string, headers: IncomingHttpHeaders) => Promise<boolean | undefined>;
}
