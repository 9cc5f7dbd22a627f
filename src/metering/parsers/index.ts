/**
 * Streaming usage extraction for AI provider responses (pure). The gateway classifies an
 * intercepted request with `classifyAiRequest`, then feeds the response body through the
 * parser from `createUsageParser` while forwarding it untouched.
 */
import { createAnthropicParser } from './anthropic.ts';
import { createBedrockParser, parseBedrockPath, type BedrockOp } from './bedrock.ts';
import { createOpenAiParser, type OpenAiApi } from './openai.ts';
import type { Provider, UsageParser } from './types.ts';

export type { Provider, TokenUsage, UsageParser, UsageSnapshot } from './types.ts';
export { emptyUsage } from './types.ts';
export { ensureStreamUsage } from './openai.ts';
export { normaliseBedrockModel, parseBedrockPath } from './bedrock.ts';
export { createSseDecoder } from './sse.ts';
export { createEventStreamDecoder } from './eventstream.ts';

export type MeterRoute =
  | { provider: 'anthropic'; api: 'messages' }
  | { provider: 'openai'; api: OpenAiApi }
  | { provider: 'bedrock'; api: BedrockOp; model: string };

const BEDROCK_HOST = /^bedrock-runtime(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/;

/** A provider's API host (or an operator `metering.extra_hosts` entry): every request to it is subject to the AI budget. */
export function isAiHost(host: string, extraHosts: readonly string[] = []): boolean {
  const h = host.toLowerCase();
  return h === 'api.anthropic.com' || h === 'api.openai.com' || BEDROCK_HOST.test(h) || extraHosts.includes(h);
}

/** Which provider API (if any) an intercepted request speaks, by host and path shape. */
export function classifyAiRequest(host: string, method: string, pathWithQuery: string, extraHosts: readonly string[] = []): MeterRoute | undefined {
  if (method.toUpperCase() !== 'POST') return undefined;
  const h = host.toLowerCase();
  const path = pathWithQuery.split('?')[0] ?? '';
  if (!isAiHost(h, extraHosts)) return undefined;
  if (/^(\/[^/]+)*\/v1\/messages$/.test(path) && (h === 'api.anthropic.com' || extraHosts.includes(h))) return { provider: 'anthropic', api: 'messages' };
  const bedrock = BEDROCK_HOST.test(h) || extraHosts.includes(h) ? parseBedrockPath(path) : undefined;
  if (bedrock) return { provider: 'bedrock', api: bedrock.op, model: bedrock.model };
  if (h === 'api.openai.com' || extraHosts.includes(h)) {
    if (/\/chat\/completions$/.test(path)) return { provider: 'openai', api: 'chat' };
    if (/\/responses$/.test(path)) return { provider: 'openai', api: 'responses' };
    if (/^(\/[^/]+)*\/v1\//.test(path)) return { provider: 'openai', api: 'generic' };
  }
  return undefined;
}

export interface ResponseInfo {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

const isEventStream = (headers: ResponseInfo['headers']): boolean => {
  const ct = headers['content-type'];
  return /text\/event-stream/i.test(Array.isArray(ct) ? ct.join(',') : (ct ?? ''));
};

export function createUsageParser(route: MeterRoute, response: ResponseInfo, requestModel: string | null = null): UsageParser {
  switch (route.provider) {
    case 'anthropic':
      return createAnthropicParser({ streaming: isEventStream(response.headers), model: requestModel });
    case 'openai':
      return createOpenAiParser({ api: route.api, streaming: isEventStream(response.headers), model: requestModel });
    case 'bedrock':
      return createBedrockParser({ op: route.api, model: route.model, headers: response.headers });
  }
}

export const providerOf = (route: MeterRoute): Provider => route.provider;
