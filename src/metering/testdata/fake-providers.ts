/**
 * Fake AI providers for metering tests, on 127.0.0.1:0 over HTTPS (leaves from a test CA):
 * Anthropic Messages (JSON and SSE), OpenAI Chat Completions (SSE with the usage chunk only
 * when asked for, as the real API does) and Responses (SSE), Bedrock Runtime ConverseStream
 * and InvokeModelWithResponseStream (binary AWS event-stream frames). Each response's usage
 * comes from a counter and is recorded in `sent`, so tests compare the ledger to it exactly.
 * Like the real APIs, JSON bodies are gzip-compressed for a client that accepts gzip.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { SecureContext } from 'node:tls';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { systemClock } from '../../core/clock.ts';
import { createLeafCache, createSandboxCa } from '../../gateway/tls/index.ts';
import { addOpenAiBatchInput, addOpenAiBatchOutput, createAnthropicBatch, serveBatchGet, type BatchCtx, type BatchRequest } from './fake-batches.ts';

export const AI_HOSTS = ['api.anthropic.com', 'api.openai.com', 'bedrock-runtime.us-east-1.amazonaws.com'] as const;

export interface SentUsage {
  api: string;
  model: string;
  /** The usage exactly as the fake reported it, in the provider's own field names. */
  usage: Record<string, number>;
  runHeader: string | null;
}

export interface FakeProviders {
  port: number;
  caPem: string;
  sent: SentUsage[];
  /** Request bodies received, in order (path, parsed JSON, the Accept-Encoding asked for). */
  requests: Array<{ path: string; body: unknown; acceptEncoding?: string }>;
  /** Queues the figures of a coming response (instead of the counter's). */
  setNext(usage: Record<string, number>): void;
  /** Delay between SSE events in ms (default 0). */
  setEventGapMs(ms: number): void;
  /** Compress JSON and JSONL bodies with this coding even when asked for identity ('' = as asked). */
  forceEncoding(coding: '' | 'gzip' | 'br' | 'gzip, br' | 'compress'): void;
  /** A finished OpenAI batch's output file (its requests billed now); returns the file id. */
  addOpenAiBatchOutput(requests: BatchRequest[]): string;
  /** An OpenAI batch input file (nothing billed); returns the file id. */
  addOpenAiBatchInput(requests: BatchRequest[]): string;
  close(): Promise<void>;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** The Content-Encoding of each response's JSON body: gzip when the client accepts it, or forced. */
const CODING = new WeakMap<ServerResponse, string>();

const ENCODERS: Record<string, (b: Buffer) => Buffer> = { gzip: gzipSync, br: brotliCompressSync, compress: (b) => b };

/** A JSON body, compressed when the client accepts it (as the providers' edges do) or when forced. */
function json(res: ServerResponse, headers: Record<string, string>, text: string): void {
  const coding = CODING.get(res);
  if (!coding) return void res.writeHead(200, headers).end(text);
  // Applied in the order listed; 'compress' stands for a coding nobody can decode here.
  const body = coding.split(', ').reduce<Buffer>((b, c) => ENCODERS[c]!(b), Buffer.from(text));
  res.writeHead(200, { ...headers, 'content-encoding': coding, vary: 'Accept-Encoding' });
  // In pieces, so a decoder sees the body arrive in more than one chunk.
  const cut = Math.floor(body.length / 2);
  res.write(body.subarray(0, cut));
  setTimeout(() => res.end(body.subarray(cut)), 5);
}

export function eventFrame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

const sse = (event: string | null, data: unknown): string =>
  `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

interface Ctx {
  n: number;
  next: Array<Record<string, number>>;
  gapMs: number;
  sent: SentUsage[];
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function writeAll(res: ServerResponse, parts: Array<string | Uint8Array>, gapMs: number): Promise<void> {
  for (const p of parts) {
    res.write(p);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  res.end();
}

/** The counter's figures for the n-th response. */
function figures(ctx: Ctx): Record<string, number> {
  const n = ++ctx.n;
  const queued = ctx.next.shift();
  if (queued) return queued;
  return { input: 1000 + 37 * n, output: 200 + 11 * n, cacheWrite: 300 + 7 * n, cacheWrite1h: 40 + n, cacheRead: 500 + 13 * n, cached: 128 * (n % 4), reasoning: 16 * n };
}

function anthropic(ctx: Ctx, body: Record<string, unknown>, res: ServerResponse, run: string | null): Promise<void> {
  const f = figures(ctx);
  const model = String(body.model);
  const cacheCreation = { ephemeral_5m_input_tokens: f.cacheWrite! - f.cacheWrite1h!, ephemeral_1h_input_tokens: f.cacheWrite1h! };
  const startUsage = { input_tokens: f.input!, cache_creation_input_tokens: f.cacheWrite!, cache_read_input_tokens: f.cacheRead!, cache_creation: cacheCreation, output_tokens: 1 };
  ctx.sent.push({ api: body.stream ? 'anthropic.stream' : 'anthropic.json', model, runHeader: run, usage: { input_tokens: f.input!, output_tokens: f.output!, cache_creation_input_tokens: f.cacheWrite!, cache_creation_1h: f.cacheWrite1h!, cache_read_input_tokens: f.cacheRead! } });
  if (!body.stream) {
    json(res, { 'content-type': 'application/json', 'request-id': `req_${ctx.n}` }, JSON.stringify({ id: `msg_${ctx.n}`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'Hello.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { ...startUsage, output_tokens: f.output! } }));
    return Promise.resolve();
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  return writeAll(res, [
    sse('message_start', { type: 'message_start', message: { id: `msg_${ctx.n}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage } }),
    sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    sse('ping', { type: 'ping' }),
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there.' } }),
    sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: f.output! } }),
    sse('message_stop', { type: 'message_stop' }),
  ], ctx.gapMs);
}

function openaiChat(ctx: Ctx, body: Record<string, unknown>, res: ServerResponse, run: string | null): Promise<void> {
  const f = figures(ctx);
  const model = `${String(body.model)}-2025-04-14`;
  const usage = { prompt_tokens: f.input!, completion_tokens: f.output!, total_tokens: f.input! + f.output!, prompt_tokens_details: { cached_tokens: f.cached! }, completion_tokens_details: { reasoning_tokens: f.reasoning! } };
  const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  ctx.sent.push({ api: 'openai.chat', model, runHeader: run, usage: wantsUsage ? { prompt_tokens: f.input!, completion_tokens: f.output!, cached_tokens: f.cached!, reasoning_tokens: f.reasoning! } : {} });
  const base = { id: `chatcmpl-${ctx.n}`, object: 'chat.completion.chunk', created: 1_700_000_000, model, system_fingerprint: 'fp_1' };
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  return writeAll(res, [
    sse(null, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
    sse(null, { ...base, choices: [{ index: 0, delta: { content: 'Hi!' }, finish_reason: null }] }),
    sse(null, { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    ...(wantsUsage ? [sse(null, { ...base, choices: [], usage })] : []),
    sse(null, '[DONE]'),
  ], ctx.gapMs);
}

function openaiResponses(ctx: Ctx, body: Record<string, unknown>, res: ServerResponse, run: string | null): Promise<void> {
  const f = figures(ctx);
  const model = String(body.model);
  const usage = { input_tokens: f.input!, input_tokens_details: { cached_tokens: f.cached! }, output_tokens: f.output!, output_tokens_details: { reasoning_tokens: f.reasoning! }, total_tokens: f.input! + f.output! };
  ctx.sent.push({ api: 'openai.responses', model, runHeader: run, usage: { input_tokens: f.input!, output_tokens: f.output!, cached_tokens: f.cached!, reasoning_tokens: f.reasoning! } });
  const response = { id: `resp_${ctx.n}`, object: 'response', created_at: 1_700_000_000, status: 'in_progress', model, output: [] as unknown[], usage: null as unknown };
  const item = { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi!', annotations: [] }] };
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let seq = 0;
  const ev = (type: string, extra: Record<string, unknown>) => sse(type, { type, sequence_number: seq++, ...extra });
  return writeAll(res, [
    ev('response.created', { response }),
    ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi!' }),
    ev('response.completed', { response: { ...response, status: 'completed', output: [item], usage } }),
  ], ctx.gapMs);
}

function bedrock(ctx: Ctx, path: string, res: ServerResponse, run: string | null): Promise<void> {
  const m = /^\/model\/([^/]+)\/(converse-stream|invoke-with-response-stream|converse|invoke)$/.exec(path);
  if (!m) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"message":"unknown operation"}');
    return Promise.resolve();
  }
  const f = figures(ctx);
  const model = decodeURIComponent(m[1]!);
  if (m[2] === 'converse') {
    const usage = { inputTokens: f.input!, outputTokens: f.output!, totalTokens: f.input! + f.output!, cacheReadInputTokens: f.cacheRead!, cacheWriteInputTokens: f.cacheWrite! };
    ctx.sent.push({ api: 'bedrock.converse', model, runHeader: run, usage });
    json(res, { 'content-type': 'application/json', 'x-amzn-requestid': `req-${ctx.n}` }, JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'Hello' }] } }, stopReason: 'end_turn', usage, metrics: { latencyMs: 42 } }));
    return Promise.resolve();
  }
  if (m[2] === 'invoke') {
    // The token counts travel in headers; the body's own usage is deliberately different.
    ctx.sent.push({ api: 'bedrock.invoke', model, runHeader: run, usage: { input_tokens: f.input!, output_tokens: f.output! } });
    json(res, {
      'content-type': 'application/json',
      'x-amzn-requestid': `req-${ctx.n}`,
      'x-amzn-bedrock-input-token-count': String(f.input!),
      'x-amzn-bedrock-output-token-count': String(f.output!),
    }, JSON.stringify({ id: `msg_${ctx.n}`, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hello' }], usage: { input_tokens: 1, output_tokens: 1 } }));
    return Promise.resolve();
  }
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': `req-${ctx.n}` });
  if (m[2] === 'converse-stream') {
    const usage = { inputTokens: f.input!, outputTokens: f.output!, totalTokens: f.input! + f.output! + f.cacheRead! + f.cacheWrite!, cacheReadInputTokens: f.cacheRead!, cacheWriteInputTokens: f.cacheWrite! };
    ctx.sent.push({ api: 'bedrock.converse-stream', model, runHeader: run, usage });
    return writeAll(res, [
      eventFrame('messageStart', { role: 'assistant' }),
      eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello' } }),
      eventFrame('contentBlockStop', { contentBlockIndex: 0 }),
      eventFrame('messageStop', { stopReason: 'end_turn' }),
      eventFrame('metadata', { usage, metrics: { latencyMs: 42 } }),
    ], ctx.gapMs);
  }
  const chunk = (inner: Record<string, unknown>) => eventFrame('chunk', { bytes: Buffer.from(JSON.stringify(inner)).toString('base64') });
  const metrics = { inputTokenCount: f.input!, outputTokenCount: f.output!, invocationLatency: 120, firstByteLatency: 40, cacheReadInputTokenCount: f.cacheRead!, cacheWriteInputTokenCount: f.cacheWrite! };
  ctx.sent.push({ api: 'bedrock.invoke-stream', model, runHeader: run, usage: { input_tokens: f.input!, output_tokens: f.output!, cache_read_input_tokens: f.cacheRead!, cache_creation_input_tokens: f.cacheWrite! } });
  return writeAll(res, [
    chunk({ type: 'message_start', message: { id: `msg_${ctx.n}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], usage: { input_tokens: f.input!, cache_creation_input_tokens: f.cacheWrite!, cache_read_input_tokens: f.cacheRead!, output_tokens: 1 } } }),
    chunk({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }),
    chunk({ type: 'content_block_stop', index: 0 }),
    chunk({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: f.output! } }),
    chunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': metrics }),
  ], ctx.gapMs);
}

export async function startFakeProviders(): Promise<FakeProviders> {
  const ca = await createSandboxCa('fake-providers', systemClock);
  const leafs = createLeafCache(ca, { clock: systemClock });
  const ctxs = new Map<string, SecureContext>();
  for (const h of [...AI_HOSTS, 'plain.example.test']) ctxs.set(h, await leafs.getSecureContext(h));
  const ctx: Ctx = { n: 0, next: [], gapMs: 0, sent: [] };
  let forced = '';
  const batches: BatchCtx = {
    counter: ctx,
    sent: ctx.sent,
    figures: () => figures(ctx),
    files: new Map(),
    encode: json,
  };
  const requests: FakeProviders['requests'] = [];
  const server: Server = createServer({ SNICallback: (name, cb) => cb(null, ctxs.get(name) ?? ctxs.get(AI_HOSTS[0])) }, (req, res) => {
    const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
    const path = (req.url ?? '/').split('?')[0]!;
    const run = typeof req.headers['x-test-run'] === 'string' ? req.headers['x-test-run'] : null;
    const acceptEncoding = req.headers['accept-encoding'];
    if (forced) CODING.set(res, forced);
    else if (/\bgzip\b/i.test(acceptEncoding ?? '')) CODING.set(res, 'gzip');
    void (async () => {
      if (req.method === 'GET') {
        requests.push({ path, body: null, ...(acceptEncoding ? { acceptEncoding } : {}) });
        if (serveBatchGet(batches, host, path, res)) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [] }));
      }
      if (host.startsWith('bedrock-runtime.')) {
        for await (const _ of req) void _;
        requests.push({ path, body: null, ...(acceptEncoding ? { acceptEncoding } : {}) });
        return bedrock(ctx, path, res, run);
      }
      const body = await readJson(req);
      requests.push({ path, body, ...(acceptEncoding ? { acceptEncoding } : {}) });
      if (host === 'api.anthropic.com' && path === '/v1/messages') return anthropic(ctx, body, res, run);
      if (host === 'api.anthropic.com' && path === '/v1/messages/batches') return createAnthropicBatch(batches, body, res);
      if (host === 'api.openai.com' && path === '/v1/chat/completions') return openaiChat(ctx, body, res, run);
      if (host === 'api.openai.com' && path === '/v1/responses') return openaiResponses(ctx, body, res, run);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found"}}');
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    caPem: ca.certPem,
    sent: ctx.sent,
    requests,
    setNext: (u) => void ctx.next.push(u),
    setEventGapMs: (ms) => void (ctx.gapMs = ms),
    forceEncoding: (coding) => void (forced = coding),
    addOpenAiBatchOutput: (r) => addOpenAiBatchOutput(batches, r),
    addOpenAiBatchInput: (r) => addOpenAiBatchInput(batches, r),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
