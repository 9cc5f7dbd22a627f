/** Well-known host sets the policy treats specially (SPEC §4.1, §5). */

/** AI provider hosts intercepted for metering; Bedrock runtime is matched by pattern. */
export const AI_HOSTS: readonly string[] = Object.freeze(['api.anthropic.com', 'api.openai.com']);

/** `bedrock-runtime[-fips].<region>.amazonaws.com` for any region (metering must not miss one). */
const BEDROCK_RUNTIME = /^bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com$/;

export function isAiHost(host: string): boolean {
  return AI_HOSTS.includes(host) || BEDROCK_RUNTIME.test(host);
}

/** The GitHub hosts of §4.1: reachable once allowedRepos is non-empty, intercepted in allowlist mode. */
export const GITHUB_HOSTS: readonly string[] = Object.freeze([
  'github.com',
  'api.github.com',
  'codeload.github.com',
  'uploads.github.com',
  'raw.githubusercontent.com',
  'objects.githubusercontent.com',
  'codeload.githubusercontent.com',
  'media.githubusercontent.com',
]);

/** The reserved name answered by kmd itself (§3.1); no profile can change it. */
export const KM_INTERNAL = 'km.internal';

export const DEFAULT_PORTS: ReadonlySet<number> = new Set([80, 443]);
