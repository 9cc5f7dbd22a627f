/**
 * Bedrock Runtime usage (SPEC §6.1). The model comes from the path
 * `/model/{id}/{invoke|invoke-with-response-stream|converse|converse-stream}`.
 * - InvokeModel: `X-Amzn-Bedrock-*-Token-Count` headers, else the provider body's usage.
 * - InvokeModelWithResponseStream: event-stream `chunk` frames whose `bytes` hold provider
 *   (Anthropic) events; the final chunk's `amazon-bedrock-invocationMetrics` when present.
 * - Converse: `usage {inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens}`.
 * - ConverseStream: the `metadata` event's usage.
 */
import { applyAnthropicUsage, createAnthropicEventState } from './anthropic.ts';
import { createEventStreamDecoder } from './eventstream.ts';
import { createJsonCollector } from './json-body.ts';
import { emptyUsage, int, isRecord, type TokenUsage, type UsageParser, type UsageSnapshot } from './types.ts';

export type BedrockOp = 'invoke' | 'invoke-with-response-stream' | 'converse' | 'converse-stream';

const PROFILE_PREFIXES = ['us.', 'eu.', 'apac.', 'global.', 'us-gov.', 'jp.', 'au.', 'ca.'];

/** URL-decoded base model id: inference-profile prefixes and ARNs normalised away. */
export function normaliseBedrockModel(raw: string): string {
  let id = raw;
  try {
    id = decodeURIComponent(raw);
  } catch {
    /* keep as is */
  }
  if (id.startsWith('arn:')) id = id.slice(id.lastIndexOf('/') + 1);
  for (const p of PROFILE_PREFIXES) if (id.startsWith(p)) return id.slice(p.length);
  return id;
}

export function parseBedrockPath(path: string): { model: string; op: BedrockOp } | undefined {
  const m = /^\/model\/([^/?]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)(?:\?|$)/.exec(path);
  if (!m) return undefined;
  return { model: normaliseBedrockModel(m[1] as string), op: m[2] as BedrockOp };
}

export function applyConverseUsage(target: TokenUsage, usage: unknown): boolean {
  if (!isRecord(usage)) return false;
  const input = int(usage.inputTokens);
  const output = int(usage.outputTokens);
  if (input === undefined && output === undefined) return false;
  target.inputTokens = input ?? 0;
  target.outputTokens = output ?? 0;
  target.cacheReadTokens = int(usage.cacheReadInputTokens) ?? 0;
  target.cacheWriteTokens = int(usage.cacheWriteInputTokens) ?? 0;
  return true;
}

function applyInvocationMetrics(target: TokenUsage, m: unknown): boolean {
  if (!isRecord(m)) return false;
  const input = int(m.inputTokenCount);
  const output = int(m.outputTokenCount);
  if (input === undefined && output === undefined) return false;
  if (input !== undefined) target.inputTokens = input;
  if (output !== undefined) target.outputTokens = output;
  const cr = int(m.cacheReadInputTokenCount);
  const cw = int(m.cacheWriteInputTokenCount);
  if (cr !== undefined) target.cacheReadTokens = cr;
  if (cw !== undefined) target.cacheWriteTokens = cw;
  return true;
}

export function createBedrockParser(opts: { op: BedrockOp; model: string; headers: Record<string, string | string[] | undefined> }): UsageParser {
  if (opts.op === 'invoke' || opts.op === 'converse') return createBedrockJsonParser(opts);
  return createBedrockStreamParser(opts);
}

function header(h: Record<string, string | string[] | undefined>, name: string): number | undefined {
  const v = h[name];
  return int(Array.isArray(v) ? v[0] : v);
}

function createBedrockJsonParser(opts: { op: BedrockOp; model: string; headers: Record<string, string | string[] | undefined> }): UsageParser {
  const json = createJsonCollector();
  const usage = emptyUsage();
  const snap = (seen: boolean): UsageSnapshot => ({ provider: 'bedrock', model: opts.model, usage: { ...usage }, seen, complete: seen });
  return {
    push: (chunk) => {
      json.push(chunk);
      return undefined;
    },
    end: () => {
      const doc = json.end();
      let seen = false;
      if (opts.op === 'converse') seen = isRecord(doc) && applyConverseUsage(usage, doc.usage);
      else {
        if (isRecord(doc) && isRecord(doc.usage)) seen = applyAnthropicUsage(usage, doc.usage) || true;
        const hin = header(opts.headers, 'x-amzn-bedrock-input-token-count');
        const hout = header(opts.headers, 'x-amzn-bedrock-output-token-count');
        if (hin !== undefined || hout !== undefined) {
          if (hin !== undefined) usage.inputTokens = hin;
          if (hout !== undefined) usage.outputTokens = hout;
          const cr = header(opts.headers, 'x-amzn-bedrock-cache-read-input-token-count');
          const cw = header(opts.headers, 'x-amzn-bedrock-cache-write-input-token-count');
          if (cr !== undefined) usage.cacheReadTokens = cr;
          if (cw !== undefined) usage.cacheWriteTokens = cw;
          seen = true;
        }
      }
      return snap(seen);
    },
  };
}

function createBedrockStreamParser(opts: { op: BedrockOp; model: string }): UsageParser {
  const frames = createEventStreamDecoder();
  const state = createAnthropicEventState(opts.model);
  const usage = state.usage;
  let seen = false;
  let complete = false;
  const snap = (): UsageSnapshot => ({ provider: 'bedrock', model: opts.model, usage: { ...usage }, seen, complete });
  const onFrame = (eventType: unknown, payload: Buffer): boolean => {
    let doc: unknown;
    try {
      doc = JSON.parse(payload.toString('utf8'));
    } catch {
      return false;
    }
    if (!isRecord(doc)) return false;
    if (opts.op === 'converse-stream') {
      if (eventType === 'metadata' && applyConverseUsage(usage, doc.usage)) return (seen = complete = true);
      return false;
    }
    if (eventType !== 'chunk' || typeof doc.bytes !== 'string') return false;
    let inner: unknown;
    try {
      inner = JSON.parse(Buffer.from(doc.bytes, 'base64').toString('utf8'));
    } catch {
      return false;
    }
    let changed = state.apply(inner);
    if (state.seen) seen = true;
    if (state.complete) complete = true;
    if (isRecord(inner) && applyInvocationMetrics(usage, inner['amazon-bedrock-invocationMetrics'])) {
      changed = seen = complete = true;
    }
    return changed;
  };
  return {
    push: (chunk) => {
      let changed = false;
      for (const m of frames.push(chunk)) if (onFrame(m.headers[':event-type'], m.payload)) changed = true;
      return changed ? snap() : undefined;
    },
    end: () => snap(),
  };
}
