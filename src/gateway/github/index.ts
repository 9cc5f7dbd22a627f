/**
 * GitHub source access (SPEC §4): which repositories a sandbox may reach on GitHub's hosts,
 * and which refs it may push, enforced in the gateway on the receive-pack stream.
 */
export type { GithubGuard, GithubPolicy, GithubRequest, GithubVerdict, GuardDeps } from './types.ts';
export { createGithubGuard } from './guard.ts';
export { createCompareAncestor, verdictOfCompare, type CompareAncestor } from './compare.ts';
export { classifyGithubRequest, GITHUB_HOSTS, isGithubHostName, normalizeGithubHost } from './hosts.ts';
export type { GithubClassification, GithubKind } from './hosts.ts';
export { matchRepo, matchRef, allowsAnyRepo, REPOS_RULE, REFS_RULE } from './match.ts';
export type { MatchResult } from './match.ts';
export { decideGithubAccess } from './access.ts';
export type { GithubAccessDecision } from './access.ts';
export { parseReceivePackCommands } from './pktline.ts';
export type { ReceivePackCommands, RefUpdateCommand } from './pktline.ts';
export { MAX_PACK_INSPECTION_BYTES } from './push.ts';
