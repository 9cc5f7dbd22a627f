/**
 * The batch side of the fake providers: Anthropic Message Batches (create, retrieve, results
 * as JSONL) and OpenAI batch files (an output file's content, as a finished batch leaves it).
 * A batch's requests are billed when it is created, so their usage is recorded in `sent`
 * then; the results keep the same figures however often they are downloaded.
 */
import type { ServerResponse } from 'node:http';
import type { SentUsage } from './fake-providers.ts';

export interface BatchCtx {
  /** The fake's response counter (ids are numbered from it). */
  counter: { n: number };
  sent: SentUsage[];
  /** Figures for the next billed request. */
  figures(): Record<string, number>;
  /** Results files by id (an Anthropic batch id, or an OpenAI file id). */
  files: Map<string, string[]>;
  /** A Content-Encoding applied to bodies whatever the client asked for ('' = none). */
  encode(res: ServerResponse, headers: Record<string, string>, body: string): void;
}

export interface BatchRequest {
  customId: string;
  model: string;
  /** The request fails (an errored line: nothing billed). */
  fail?: boolean;
}

const batchObject = (id: string, count: number) => ({
  id,
  type: 'message_batch',
  processing_status: 'ended',
  request_counts: { processing: 0, succeeded: count, errored: 0, canceled: 0, expired: 0 },
  ended_at: '2026-12-01T00:00:00Z',
  created_at: '2026-12-01T00:00:00Z',
  expires_at: '2026-12-02T00:00:00Z',
  archived_at: null,
  cancel_initiated_at: null,
  results_url: `https://api.anthropic.com/v1/messages/batches/${id}/results`,
});

/** POST /v1/messages/batches: runs (bills) every request at once and keeps the results. */
export function createAnthropicBatch(ctx: BatchCtx, body: Record<string, unknown>, res: ServerResponse): void {
  const requests = Array.isArray(body.requests) ? (body.requests as Array<{ custom_id: string; params: { model: string } }>) : [];
  const id = `msgbatch_${String(++ctx.counter.n).padStart(6, '0')}`;
  const lines = requests.map((r) => {
    if (r.custom_id.includes('fail')) return JSON.stringify({ custom_id: r.custom_id, result: { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: 'bad request' } } } });
    const f = ctx.figures();
    const usage = { input_tokens: f.input!, cache_creation_input_tokens: f.cacheWrite!, cache_read_input_tokens: f.cacheRead!, output_tokens: f.output! };
    ctx.sent.push({ api: 'anthropic.batch', model: r.params.model, runHeader: null, usage });
    const message = { id: `msg_b${ctx.counter.n}`, type: 'message', role: 'assistant', model: r.params.model, content: [{ type: 'text', text: `Answer for ${r.custom_id}.` }], stop_reason: 'end_turn', stop_sequence: null, usage };
    return JSON.stringify({ custom_id: r.custom_id, result: { type: 'succeeded', message } });
  });
  ctx.files.set(id, lines);
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...batchObject(id, requests.length), processing_status: 'in_progress' }));
}

/** An OpenAI batch that ran: its output file, one line per request (failed ones with status 500). */
export function addOpenAiBatchOutput(ctx: BatchCtx, requests: BatchRequest[]): string {
  const fileId = `file-out${String(++ctx.counter.n).padStart(6, '0')}`;
  ctx.files.set(fileId, requests.map((r, i) => {
    const id = `batch_req_${ctx.counter.n}_${i}`;
    if (r.fail) return JSON.stringify({ id, custom_id: r.customId, response: { status_code: 500, request_id: `req_${i}`, body: { error: { message: 'server error' } } }, error: null });
    const f = ctx.figures();
    const usage = { prompt_tokens: f.input!, completion_tokens: f.output!, total_tokens: f.input! + f.output!, prompt_tokens_details: { cached_tokens: f.cached! }, completion_tokens_details: { reasoning_tokens: f.reasoning! } };
    ctx.sent.push({ api: 'openai.batch', model: r.model, runHeader: null, usage: { prompt_tokens: f.input!, completion_tokens: f.output!, cached_tokens: f.cached!, reasoning_tokens: f.reasoning! } });
    const body = { id: `chatcmpl-b${i}`, object: 'chat.completion', created: 1_700_000_000, model: r.model, choices: [{ index: 0, message: { role: 'assistant', content: 'Hi!' }, finish_reason: 'stop' }], usage };
    return JSON.stringify({ id, custom_id: r.customId, response: { status_code: 200, request_id: `req_${i}`, body }, error: null });
  }));
  return fileId;
}

/** An OpenAI batch input file (request lines: nothing billed in it). */
export function addOpenAiBatchInput(ctx: BatchCtx, requests: BatchRequest[]): string {
  const fileId = `file-in${String(++ctx.counter.n).padStart(6, '0')}`;
  ctx.files.set(fileId, requests.map((r) => JSON.stringify({ custom_id: r.customId, method: 'POST', url: '/v1/chat/completions', body: { model: r.model, messages: [{ role: 'user', content: 'Say hello.' }] } })));
  return fileId;
}

/** The batch GETs; false when the path is not one of them. */
export function serveBatchGet(ctx: BatchCtx, host: string, path: string, res: ServerResponse): boolean {
  const anthropic = host === 'api.anthropic.com' ? /^\/v1\/messages\/batches\/([^/]+)(\/results)?$/.exec(path) : null;
  const openai = host === 'api.openai.com' ? /^\/v1\/files\/([^/]+)\/content$/.exec(path) : null;
  const id = anthropic?.[1] ?? openai?.[1];
  if (id === undefined) return false;
  const lines = ctx.files.get(id);
  if (!lines) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"type":"not_found_error","message":"no such batch"}}');
    return true;
  }
  if (anthropic && !anthropic[2]) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(batchObject(id, lines.length)));
    return true;
  }
  ctx.encode(res, { 'content-type': anthropic ? 'application/binary' : 'application/octet-stream' }, lines.map((l) => `${l}\n`).join(''));
  return true;
}
