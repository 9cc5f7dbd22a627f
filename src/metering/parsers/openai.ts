/**
 * OpenAI usage (SPEC §6.1): Chat Completions (JSON `usage`; streaming usage in the final chunk
 * when `stream_options.include_usage` is set — see `ensureStreamUsage`), the Responses API
 * (JSON `usage`; SSE `response.completed|incomplete|failed`), and any other endpoint whose JSON
 * carries `usage`.
 */
import { createJsonCollector } from './json-body.ts';
import { createSseGate } from './sse-gate.ts';
import { emptyUsage, int, isRecord, type TokenUsage, type UsageParser, type UsageSnapshot } from './types.ts';

export type OpenAiApi = 'chat' | 'responses' | 'generic';

/** Maps either usage dialect (chat: prompt/completion; responses: input/output) onto figures. */
export function applyOpenAiUsage(target: TokenUsage, usage: unknown): boolean {
  if (!isRecord(usage)) return false;
  const input = int(usage.prompt_tokens) ?? int(usage.input_tokens);
  const output = int(usage.completion_tokens) ?? int(usage.output_tokens);
  const inDetails = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : isRecord(usage.input_tokens_details) ? usage.input_tokens_details : undefined;
  const outDetails = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : isRecord(usage.output_tokens_details) ? usage.output_tokens_details : undefined;
  if (input === undefined && output === undefined) return false;
  target.inputTokens = input ?? 0;
  target.outputTokens = output ?? 0;
  target.cachedInputTokens = Math.min(int(inDetails?.cached_tokens) ?? 0, target.inputTokens);
  target.reasoningTokens = Math.min(int(outDetails?.reasoning_tokens) ?? 0, target.outputTokens);
  return true;
}

const RESPONSE_FINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function createOpenAiParser(opts: { api: OpenAiApi; streaming: boolean; model?: string | null }): UsageParser {
  const usage = emptyUsage();
  let model: string | null = opts.model ?? null;
  let seen = false;
  const snap = (complete: boolean): UsageSnapshot => ({ provider: 'openai', model, usage: { ...usage }, seen, complete });
  const takeModel = (doc: Record<string, unknown>): void => {
    if (typeof doc.model === 'string') model = doc.model;
  };
  if (!opts.streaming) {
    const json = createJsonCollector();
    return {
      push: (chunk) => {
        json.push(chunk);
        return undefined;
      },
      end: () => {
        const doc = json.end();
        if (isRecord(doc)) {
          takeModel(doc);
          if (applyOpenAiUsage(usage, doc.usage)) seen = true;
        }
        return snap(seen);
      },
    };
  }
  // Only events that mention usage are decoded (see sse-gate.ts).
  const sse = createSseGate(['usage']);
  const feed = (events: ReturnType<typeof sse.push>): UsageSnapshot | undefined => {
    let changed = false;
    for (const e of events) {
      if (e.data === '[DONE]') continue;
      let doc: unknown;
      try {
        doc = JSON.parse(e.data);
      } catch {
        continue;
      }
      if (!isRecord(doc)) continue;
      if (opts.api === 'responses') {
        const type = typeof doc.type === 'string' ? doc.type : e.event;
        const response = isRecord(doc.response) ? doc.response : undefined;
        if (response) takeModel(response);
        if (RESPONSE_FINAL.has(type) && response && applyOpenAiUsage(usage, response.usage)) {
          seen = true;
          changed = true;
        }
      } else {
        takeModel(doc);
        if (applyOpenAiUsage(usage, doc.usage)) {
          seen = true;
          changed = true;
        }
      }
    }
    return changed ? snap(true) : undefined;
  };
  return {
    push: (chunk) => feed(sse.push(chunk)),
    end: () => {
      feed(sse.end());
      return snap(seen);
    },
  };
}

/**
 * For a streaming Chat Completions request without `stream_options.include_usage`, returns the
 * request body with it added (the extra final chunk has empty `choices`); otherwise undefined.
 */
export function ensureStreamUsage(body: unknown): Record<string, unknown> | undefined {
  if (!isRecord(body) || body.stream !== true) return undefined;
  const so = isRecord(body.stream_options) ? body.stream_options : {};
  if (so.include_usage === true) return undefined;
  return { ...body, stream_options: { ...so, include_usage: true } };
}
