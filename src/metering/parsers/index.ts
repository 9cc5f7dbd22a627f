/**
 * Streaming usage extraction for AI provider responses (pure). The gateway classifies an
 * intercepted request with `classifyAiRequest`, then feeds the response body through the
 * parser from `createUsageParser` while forwarding it untouched.
 */
import { createAnthropicParser } from './anthropic.ts';
import { createBedrockParser, parseBedrockPath, type BedrockOp } from './bedrock.ts';
import { createOpenAiParser, type OpenAiApi } from './openai.ts';
import type { BatchSource } from './batch.ts';
import type { Provider, UsageParser } from './types.ts';

export type { Provider, TokenUsage, UsageParser, UsageSnapshot } from './types.ts';
export { emptyUsage } from './types.ts';
export { ensureStreamUsage } from './openai.ts';
export { normaliseBedrockModel, parseBedrockPath } from './bedrock.ts';
export { createSseDecoder } from './sse.ts';
export { createEventStreamDecoder } from './eventstream.ts';

export type { BatchResult, BatchResultsParser, BatchSource } from './batch.ts';
export { createBatchResultsParser } from './batch.ts';

export type MeterRoute =
  | { provider: 'anthropic'; api: 'messages' }
  | { provider: 'openai'; api: OpenAiApi }
  | { provider: 'bedrock'; api: BedrockOp; model: string }
  | { provider: 'anthropic' | 'openai'; api: 'batch-results'; source: BatchSource };

const BEDROCK_HOST = /^bedrock-runtime(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/;

/** A provider's API host (or an operator `metering.extra_hosts` entry): every request to it is subject to the AI budget. */
export function isAiHost(host: string, extraHosts: readonly string[] = []): boolean {
  const h = host.toLowerCase();
  return h === 'api.anthropic.com' || h === 'api.openai.com' || BEDROCK_HOST.test(h) || extraHosts.includes(h);
}

const ANTHROPIC_BATCH_RESULTS = /^(?:\/[^/]+)*\/v1\/messages\/batches\/([^/]+)\/results$/;
const OPENAI_FILE_CONTENT = /^(?:\/[^/]+)*\/v1\/files\/([^/]+)\/content$/;

/** Batch results downloads: the only place a batch's usage is ever seen (see batch.ts). */
function classifyBatchDownload(h: string, path: string, extraHosts: readonly string[]): MeterRoute | undefined {
  const extra = extraHosts.includes(h);
  const anthropic = h === 'api.anthropic.com' || extra ? ANTHROPIC_BATCH_RESULTS.exec(path) : null;
  if (anthropic) return { provider: 'anthropic', api: 'batch-results', source: { provider: 'anthropic', batchId: decodeSegment(anthropic[1]!) } };
  const openai = h === 'api.openai.com' || extra ? OPENAI_FILE_CONTENT.exec(path) : null;
  if (openai) return { provider: 'openai', api: 'batch-results', source: { provider: 'openai', fileId: decodeSegment(openai[1]!) } };
  return undefined;
}

const ANTHROPIC_BATCH_READ = /^(?:\/[^/]+)*\/v1\/messages\/batches\/[^/]+(?:\/results)?$/;
const OPENAI_BATCH_READ = /^(?:\/[^/]+)*\/v1\/(?:batches\/[^/]+|files\/[^/]+\/content)$/;

/**
 * A read of a batch's status or results: it spends nothing, and collecting the results is how
 * the ledger learns what a batch created below the limit has cost, so the AI stop lets it pass.
 */
export function isBatchRead(host: string, method: string, pathWithQuery: string, extraHosts: readonly string[] = []): boolean {
  if (method.toUpperCase() !== 'GET') return false;
  const h = host.toLowerCase();
  const path = pathWithQuery.split('?')[0] ?? '';
  const extra = extraHosts.includes(h);
  return ((h === 'api.anthropic.com' || extra) && ANTHROPIC_BATCH_READ.test(path)) || ((h === 'api.openai.com' || extra) && OPENAI_BATCH_READ.test(path));
}

const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Which provider API (if any) an intercepted request speaks, by host and path shape. */
export function classifyAiRequest(host: string, method: string, pathWithQuery: string, extraHosts: readonly string[] = []): MeterRoute | undefined {
  const h = host.toLowerCase();
  const path = pathWithQuery.split('?')[0] ?? '';
  if (!isAiHost(h, extraHosts)) return undefined;
  const verb = method.toUpperCase();
  if (verb === 'GET') return classifyBatchDownload(h, path, extraHosts);
  if (verb !== 'POST') return undefined;
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

/** The parser of one exchange's response (a batch results file has its own, `createBatchResultsParser`). */
export function createUsageParser(route: MeterRoute, response: ResponseInfo, requestModel: string | null = null): UsageParser {
  if (route.api === 'batch-results') throw new Error('a batch results download is parsed by createBatchResultsParser');
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
