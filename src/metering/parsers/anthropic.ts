/**
 * Anthropic Messages API usage (SPEC §6.1): JSON `usage`, or SSE `message_start` (input and
 * cache figures, placeholder output) then `message_delta` (cumulative output; input figures
 * when present — the last value wins). Also used for Bedrock's Anthropic payloads.
 */
import { createJsonCollector } from './json-body.ts';
import { createSseGate } from './sse-gate.ts';
import { emptyUsage, int, isRecord, type Provider, type TokenUsage, type UsageParser, type UsageSnapshot } from './types.ts';

/** Applies an Anthropic `usage` object onto the running figures; returns whether anything changed. */
export function applyAnthropicUsage(target: TokenUsage, usage: unknown): boolean {
  if (!isRecord(usage)) return false;
  const before = { ...target };
  const input = int(usage.input_tokens);
  const output = int(usage.output_tokens);
  const cacheCreate = int(usage.cache_creation_input_tokens);
  const cacheRead = int(usage.cache_read_input_tokens);
  if (input !== undefined) target.inputTokens = input;
  if (output !== undefined) target.outputTokens = output;
  if (cacheRead !== undefined) target.cacheReadTokens = cacheRead;
  if (cacheCreate !== undefined) {
    const breakdown = isRecord(usage.cache_creation) ? usage.cache_creation : undefined;
    const oneHour = Math.min(int(breakdown?.ephemeral_1h_input_tokens) ?? 0, cacheCreate);
    target.cacheWrite1hTokens = oneHour;
    target.cacheWriteTokens = cacheCreate - oneHour;
  }
  return (Object.keys(before) as Array<keyof TokenUsage>).some((k) => before[k] !== target[k]);
}

/** State machine over Anthropic stream events (from SSE or from Bedrock chunks). */
export interface AnthropicEventState {
  usage: TokenUsage;
  model: string | null;
  seen: boolean;
  complete: boolean;
  /** Returns true when the usage figures changed. */
  apply(event: unknown): boolean;
}

export function createAnthropicEventState(model: string | null = null): AnthropicEventState {
  const state: AnthropicEventState = {
    usage: emptyUsage(),
    model,
    seen: false,
    complete: false,
    apply(event) {
      if (!isRecord(event)) return false;
      if (event.type === 'message_start' && isRecord(event.message)) {
        if (typeof event.message.model === 'string' && state.model === null) state.model = event.message.model;
        const changed = applyAnthropicUsage(state.usage, event.message.usage);
        if (isRecord(event.message.usage)) state.seen = true;
        return changed || state.seen;
      }
      if (event.type === 'message_delta') {
        const changed = applyAnthropicUsage(state.usage, event.usage);
        if (isRecord(event.usage)) {
          state.seen = true;
          state.complete = true;
        }
        return changed;
      }
      return false;
    },
  };
  return state;
}

export function createAnthropicParser(opts: { streaming: boolean; provider?: Provider; model?: string | null }): UsageParser {
  const provider = opts.provider ?? 'anthropic';
  const state = createAnthropicEventState(opts.model ?? null);
  const snap = (): UsageSnapshot => ({ provider, model: state.model, usage: { ...state.usage }, seen: state.seen, complete: state.complete });
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
          if (typeof doc.model === 'string' && state.model === null) state.model = doc.model;
          if (isRecord(doc.usage)) {
            applyAnthropicUsage(state.usage, doc.usage);
            state.seen = true;
            state.complete = true;
          }
        }
        return snap();
      },
    };
  }
  // Only events that mention usage are decoded (see sse-gate.ts).
  const sse = createSseGate(['usage']);
  const feed = (events: ReturnType<typeof sse.push>): UsageSnapshot | undefined => {
    let changed = false;
    for (const e of events) {
      try {
        if (state.apply(JSON.parse(e.data))) changed = true;
      } catch {
        /* not JSON: not a usage event */
      }
    }
    return changed ? snap() : undefined;
  };
  return {
    push: (chunk) => feed(sse.push(chunk)),
    end: () => {
      feed(sse.end());
      return snap();
    },
  };
}
