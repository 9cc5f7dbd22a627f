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
import { bytesAt, createEventStreamDecoder } from './eventstream.ts';
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

/**
 * The base64 text that any encoding of `needle` must contain, one per alignment (the needle
 * may start at any byte offset mod 3): only characters whose 6 bits all come from the
 * needle. A payload containing none of them cannot contain the needle once decoded.
 */
export function base64Patterns(needle: string): Buffer[] {
  const n = Buffer.from(needle);
  const out: Buffer[] = [];
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), n]).toString('base64');
    const first = Math.ceil((8 * k) / 6);
    const last = Math.floor((8 * (k + n.length)) / 6);
    out.push(Buffer.from(b64.slice(first, last)));
  }
  return out;
}

const USAGE = Buffer.from('usage');
const METRICS = Buffer.from('amazon-bedrock-invocationMetrics');
const BYTES_KEY = Buffer.from('"bytes"');
const B64_NEEDLES = [...base64Patterns('usage'), ...base64Patterns('amazon-bedrock-invocationMetrics')];

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Anthropic events that never carry usage, as the base64 their `bytes` value starts with. */
const NO_USAGE_PREFIXES = ['{"type":"content_block_delta"', '{"type":"content_block_start"', '{"type":"content_block_stop"', '{"type":"ping"'].map((t) =>
  Buffer.from(Buffer.from(t).toString('base64').slice(0, Math.floor((8 * t.length) / 6))),
);

const BYTES_OPEN = Buffer.from('{"bytes":"');

/**
 * Whether a `chunk` frame may hold usage, decided on its base64 text without decoding it:
 * token deltas are recognised by their first bytes; anything else must contain an encoding
 * of `usage` or of the invocation metrics key (see base64Patterns). The payload is
 * `frame[start, end)`, read in place.
 */
export function mayCarryUsage(frame: Buffer, start = 0, end = frame.length): boolean {
  // Where the base64 starts: right after `{"bytes":"` as Bedrock writes it, else found.
  let open = -1;
  if (bytesAt(frame, start, BYTES_OPEN.length, BYTES_OPEN)) open = start + BYTES_OPEN.length;
  else {
    const payload = frame.subarray(start, end);
    const key = payload.indexOf(BYTES_KEY);
    const quote = key >= 0 ? payload.indexOf(0x22, key + BYTES_KEY.length) : -1;
    if (quote >= 0) open = start + quote + 1;
  }
  if (open >= 0 && NO_USAGE_PREFIXES.some((p) => open + p.length <= end && bytesAt(frame, open, p.length, p))) return false;
  const payload = frame.subarray(start, end);
  return B64_NEEDLES.some((n) => payload.indexOf(n) >= 0);
}

/**
 * The decoded `bytes` of a `chunk` frame's JSON payload (`{"bytes":"<base64>",…}`), found
 * without parsing the JSON (base64 holds no quotes or escapes); undefined when malformed.
 */
export function chunkBytes(payload: Buffer): Buffer | undefined {
  const key = payload.indexOf(BYTES_KEY);
  if (key < 0) return undefined;
  let i = key + BYTES_KEY.length;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x3a || payload[i] === 0x09 || payload[i] === 0x0a || payload[i] === 0x0d)) i++;
  if (payload[i] !== 0x22) return undefined;
  const end = payload.indexOf(0x22, i + 1);
  if (end < 0) return undefined;
  return Buffer.from(payload.toString('latin1', i + 1, end), 'base64');
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
  const wantedType = opts.op === 'converse-stream' ? 'metadata' : 'chunk';
  const frames = createEventStreamDecoder({ only: { eventType: wantedType, ...(opts.op === 'converse-stream' ? {} : { payload: mayCarryUsage }) } });
  const state = createAnthropicEventState(opts.model);
  const usage = state.usage;
  let seen = false;
  let complete = false;
  const snap = (): UsageSnapshot => ({ provider: 'bedrock', model: opts.model, usage: { ...usage }, seen, complete });
  const onFrame = (eventType: unknown, payload: Buffer): boolean => {
    // Only `metadata` (ConverseStream) and `chunk` frames can carry usage: nothing else is parsed.
    if (eventType !== wantedType) return false;
    if (opts.op === 'converse-stream') {
      const doc = parseJson(payload);
      if (isRecord(doc) && applyConverseUsage(usage, doc.usage)) return (seen = complete = true);
      return false;
    }
    const innerBytes = chunkBytes(payload);
    // Provider events without usage figures (token deltas) are skipped before JSON parsing.
    if (!innerBytes || (innerBytes.indexOf(USAGE) < 0 && innerBytes.indexOf(METRICS) < 0)) return false;
    const inner = parseJson(innerBytes);
    if (inner === undefined) return false;
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
