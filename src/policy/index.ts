/**
 * The policy engine (pure): compile a resolved profile's egress and source-access sections
 * once, then decide hosts, DNS names, paths, repositories and destinations quickly.
 * No I/O, no clock, no environment. The gateway receives these as callbacks.
 */
export { compilePolicy } from './compile.ts';
export type { CompiledPolicy, CompileOptions, PolicyInput, RuleEntry } from './compile.ts';
export { decideDns, decideHost, decidePath, DEFAULT_DENY, RESERVED_RULE } from './decide.ts';
export type { DnsDecision, HostDecision, HostError, HostRequest, InterceptReason } from './decide.ts';
export { isDestinationAllowed } from './destination.ts';
export { normaliseHost, normaliseDnsName, tryNormaliseHost } from './normalise.ts';
export type { NormalisedHost } from './normalise.ts';
export { AI_HOSTS, GITHUB_HOSTS, KM_INTERNAL, isAiHost } from './hosts.ts';
export { decideRepo, repoFromRequest, GITHUB_RESERVED_OWNERS, REPO_DENY_RULE } from './github.ts';
export { explain, explainJson, parseExplainTarget, renderExplain } from './explain.ts';
export type { ExplainResult, ExplainTarget } from './explain.ts';
