import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stream, Transform } from 'node:stream';
import type { ResponseTap } from '../gateway/index.ts';
import { createManualClock } from '../core/clock.ts';
import { createPriceBook } from '../pricing/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { createMeter, type Meter } from './meter.ts';
import type { MeterEvent, MeterStore } from './ledger.ts';
import { insertTestSandbox } from './testdata/harness.ts';

const clock = createManualClock(Date.UTC(2027, 2, 3, 8, 15, 2));
const SB = 'sb-e0000001';

async function setup(t: { after: (fn: () => Promise<void>) => void }, limits: { ai?: number | null } = {}, wrap?: (s: Store) => MeterStore) {
  const dir = await mkdtemp(join(tmpdir(), 'km-meter-unit-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await insertTestSandbox(store, SB, limits, 'demo');
  const events: MeterEvent[] = [];
  let n = 0;
  const meter = createMeter(
    { store: wrap ? wrap(store) : store, priceBook: createPriceBook(), clock, onEvent: (e) => events.push(e), sandboxRef: () => 'demo', newExchangeId: () => `x${++n}` },
    SB,
  );
  return { store, meter, events };
}

const info = (host: string, path: string, method = 'POST') => ({ host, method, path, headers: {}, runId: null, interceptReason: 'ai_metering' });
const sse = (event: string, data: unknown) => Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
const START = sse('message_start', { type: 'message_start', message: { model: 'claude-sonnet-4-5', usage: { input_tokens: 2000, cache_creation_input_tokens: 400, cache_read_input_tokens: 1000, output_tokens: 1 } } });
const DELTA = sse('message_delta', { type: 'message_delta', usage: { output_tokens: 800 } });

/**
 * The hook's response meter as a stream, relayed the way the gateway does: a Transform sits in
 * the pipe as is; a tap sees each chunk right after it was forwarded, and the end waits for it.
 */
function asStream(m: Transform | ResponseTap): Transform {
  if (m instanceof Stream) return m;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      this.push(chunk);
      m.data(chunk);
      cb();
    },
    flush(cb) {
      void m.end().then(() => cb());
    },
    destroy(err, cb) {
      if (err) m.abort();
      cb(err);
    },
  });
}

async function anthropicTap(meter: Meter, headers = { 'content-type': 'text/event-stream' }, status = 200): Promise<Transform> {
  const hook = await meter.exchange(info('api.anthropic.com', '/v1/messages?beta=true'));
  assert.ok(hook?.response);
  const tap = hook.response({ status, headers });
  assert.ok(tap);
  // Streams get the synchronous tap (no extra stream layer in the gateway).
  assert.equal(tap instanceof Stream, !/event-stream/.test(headers['content-type']));
  return asStream(tap);
}

test('routes: non-AI requests get no hook; only Chat Completions bodies are read; streaming chat gets include_usage', async (t) => {
  const { meter } = await setup(t);
  assert.equal(await meter.exchange(info('example.com', '/v1/messages')), undefined);
  assert.equal(await meter.exchange(info('api.openai.com', '/v1/models', 'GET')), undefined);
  const bedrock = await meter.exchange(info('bedrock-runtime.us-east-1.amazonaws.com', '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse'));
  assert.ok(bedrock?.response);
  assert.equal(bedrock.rewriteRequestBody, undefined);
  const chat = await meter.exchange(info('api.openai.com', '/v1/chat/completions'));
  const out = chat!.rewriteRequestBody!(Buffer.from(JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [] })));
  assert.deepEqual(JSON.parse(out!.toString()), { model: 'gpt-4.1', stream: true, messages: [], stream_options: { include_usage: true } });
  assert.equal(chat!.rewriteRequestBody!(Buffer.from(JSON.stringify({ model: 'gpt-4.1', stream: false }))), undefined, 'non-streaming left alone');
  const exact = ' {"model":"gpt-4.1", "seed": 12345678901234567890, "stream":true}';
  assert.equal(chat!.rewriteRequestBody!(Buffer.from(exact))!.toString(), ' {"stream_options":{"include_usage":true},"model":"gpt-4.1", "seed": 12345678901234567890, "stream":true}', 'other bytes untouched');
  const partial = JSON.parse(chat!.rewriteRequestBody!(Buffer.from('{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}'))!.toString());
  assert.deepEqual(partial.stream_options, { include_obfuscation: false, include_usage: true });
  assert.equal(chat!.rewriteRequestBody!(Buffer.from('not json')), undefined);
  assert.equal(chat!.rewriteRequestBody!(Buffer.from(JSON.stringify({ model: 'gpt-4.1', messages: [] }))), undefined, 'no stream key: not even parsed');
  const anth = await meter.exchange(info('api.anthropic.com', '/v1/messages'));
  assert.ok(anth?.response);
  assert.equal(anth.rewriteRequestBody, undefined, 'Anthropic bodies (large agent contexts) stream through unread');
  const responses = await meter.exchange(info('api.openai.com', '/v1/responses'));
  assert.equal(responses!.rewriteRequestBody, undefined);
});

test('chunks pass through before any ledger write; the last bytes wait for the final commit', async (t) => {
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { store, meter } = await setup(t, {}, (s) => ({
    aiBudget: (id) => s.aiBudget(id),
    setBudgetWarned: (id, d, w) => s.setBudgetWarned(id, d, w),
    commitUsage: async (id, x, u) => {
      log.push(`write partial=${u.partial}`);
      if (!u.partial) await gate;
      const state = await s.commitUsage(id, x, u);
      log.push(`committed partial=${u.partial}`);
      return state;
    },
  }));
  const tap = await anthropicTap(meter);
  tap.on('data', (c: Buffer) => log.push(`data ${c.length}`));
  tap.on('end', () => log.push('end'));
  tap.write(START);
  assert.deepEqual(log, [`data ${START.length}`], 'forwarded synchronously, before any write');
  while (!log.includes('committed partial=true')) await new Promise((r) => setImmediate(r));
  tap.write(DELTA);
  tap.end();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(!log.includes('end'), `held until the final commit: ${log.join(', ')}`);
  release();
  await new Promise<void>((r) => tap.once('end', () => r()));
  assert.deepEqual(log.filter((l) => !l.startsWith('data')), ['write partial=true', 'committed partial=true', 'write partial=false', 'committed partial=false', 'end']);
  const [row] = await store.listUsage(SB);
  assert.deepEqual([row!.inputTokens, row!.cacheWriteTokens, row!.cacheReadTokens, row!.outputTokens, row!.partial], [2000, 400, 1000, 800, false]);
  assert.equal(row!.costUsd, 0.0198, 'SPEC §6.2 worked example');
});

test('an aborted stream keeps what was seen, partial', async (t) => {
  const { store, meter, events } = await setup(t);
  const tap = await anthropicTap(meter);
  const errors: Error[] = [];
  tap.on('error', (e) => errors.push(e));
  tap.resume();
  tap.write(START);
  await meter.settled();
  tap.destroy(new Error('client went away'));
  await new Promise((r) => setTimeout(r, 20));
  await meter.settled();
  const [row] = await store.listUsage(SB);
  assert.deepEqual([row!.inputTokens, row!.outputTokens, row!.partial], [2000, 1, true]);
  assert.equal(errors[0]?.message, 'client went away');
  const ev = events.find((e) => e.event_type === 'ai.usage')!;
  assert.equal(ev.detail.partial, true);
  assert.equal(meter.inFlight(), 0);
});

test('usage missing from a successful response is recorded and reported; an error response is not', async (t) => {
  const { store, meter, events } = await setup(t);
  const tap = await anthropicTap(meter, { 'content-type': 'application/json' });
  tap.resume();
  tap.end(Buffer.from('{"id":"msg_1","type":"message","content":[]}'));
  await new Promise((r) => tap.once('end', r));
  const err = await anthropicTap(meter, { 'content-type': 'application/json' }, 429);
  err.resume();
  err.end(Buffer.from('{"type":"error","error":{"type":"rate_limit_error"}}'));
  await new Promise((r) => err.once('end', r));
  const rows = await store.listUsage(SB);
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0]!.usageMissing, rows[0]!.costUsd, rows[0]!.partial], [true, 0, false]);
  const ev = events.filter((e) => e.event_type === 'ai.usage');
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.detail.usage, 'missing');
  const [total] = await store.usageTotals(SB);
  assert.equal(total!.missingUsage, 1);
});

test('a failing ledger never holds the response; the failure is reported', async (t) => {
  const { meter, events } = await setup(t, {}, (s) => ({ aiBudget: (id) => s.aiBudget(id), setBudgetWarned: (id, d, w) => s.setBudgetWarned(id, d, w), commitUsage: async () => Promise.reject(new Error('disk full')) }));
  const tap = await anthropicTap(meter);
  const out: Buffer[] = [];
  tap.on('data', (c: Buffer) => out.push(c));
  tap.write(START);
  tap.end(DELTA);
  await new Promise((r) => tap.once('end', r));
  assert.equal(Buffer.concat(out).length, START.length + DELTA.length);
  assert.ok(events.some((e) => e.event_type === 'metering.error' && String(e.detail.error).includes('disk full')));
});

test('pre-request check: at or above the limit → the 403 envelope; no limit → never', async (t) => {
  const { store, meter } = await setup(t, { ai: 0.0198 });
  assert.equal((await meter.exchange(info('api.anthropic.com', '/v1/messages')))?.deny, undefined);
  const tap = await anthropicTap(meter);
  tap.resume();
  tap.write(START);
  tap.end(DELTA);
  await new Promise((r) => tap.once('end', r));
  const hook = await meter.exchange(info('api.anthropic.com', '/v1/messages'));
  assert.ok(hook?.deny);
  assert.equal(hook.deny.status, 403);
  assert.equal(hook.deny.headers['x-km-deny-reason'], 'ai_budget_exhausted');
  assert.equal(hook.deny.headers['x-km-rule'], 'budget.ai.maxSpendUSD');
  assert.deepEqual(JSON.parse(hook.deny.body.toString()), {
    error: 'ai_budget_exhausted', host: 'api.anthropic.com', port: 443, rule: 'budget.ai.maxSpendUSD', sandbox: SB,
    spent_usd: 0.0198, limit_usd: 0.0198, top_up: 'km budget add demo --ai <usd>', message: 'AI budget exhausted for demo ($0.0198 of $0.0198)',
  });
  await store.setBudgetLimits(SB, { aiLimitUsd: null });
  assert.equal((await meter.exchange(info('api.anthropic.com', '/v1/messages')))?.deny, undefined);
});

test('the pre-request check reads the committed total over every model (SPEC §17.3)', async (t) => {
  const { store, meter } = await setup(t, { ai: 0.01 });
  const row = (provider: string, model: string, costUsd: number) => ({
    provider, model, inputTokens: 1, outputTokens: 1, cacheWriteTokens: 0, cacheReadTokens: 0, cachedInputTokens: 0, reasoningTokens: 0,
    costUsd, priced: 'table' as const, partial: false, atMs: clock.now(),
  });
  await store.upsertUsage(SB, 'a', row('anthropic', 'claude-haiku-4-5', 0.006));
  assert.equal((await meter.exchange(info('api.openai.com', '/v1/responses')))?.deny, undefined);
  await store.upsertUsage(SB, 'b', row('openai', 'gpt-5-mini', 0.004));
  const denied = await meter.exchange(info('bedrock-runtime.us-east-1.amazonaws.com', '/model/amazon.nova-lite-v1%3A0/converse'));
  assert.equal(denied?.deny?.status, 403, 'neither model alone reaches the limit; together they do');
  assert.equal(JSON.parse(denied!.deny!.body.toString()).spent_usd, 0.01);
});

test('a whole JSON body: its last byte waits for the final commit', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { meter } = await setup(t, {}, (s) => ({
    aiBudget: (id) => s.aiBudget(id), setBudgetWarned: (id, d, w) => s.setBudgetWarned(id, d, w),
    commitUsage: async (id, x, u) => {
      await gate;
      return s.commitUsage(id, x, u);
    },
  }));
  const body = Buffer.from(JSON.stringify({ id: 'msg_1', type: 'message', model: 'claude-haiku-4-5', usage: { input_tokens: 10, output_tokens: 2 } }));
  const tap = await anthropicTap(meter, { 'content-type': 'application/json' });
  const out: Buffer[] = [];
  tap.on('data', (c: Buffer) => out.push(c));
  tap.write(body.subarray(0, 20));
  tap.end(body.subarray(20));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(Buffer.concat(out).length, body.length - 1, 'all but the last byte');
  release();
  await new Promise((r) => tap.once('end', r));
  assert.deepEqual(Buffer.concat(out), body);
});

test('the kmd meter: operator price overrides, extra hosts, events in the store shape', async (t) => {
  const { store } = await setup(t, { ai: 1 });
  const { createSandboxMeter } = await import('./sandbox-meter.ts');
  const recorded: Array<{ eventType: string; sandboxId: string; timestampMs: number; detail: Record<string, unknown> }> = [];
  const meter = createSandboxMeter(
    { store, clock, record: (evs) => void recorded.push(...evs) },
    { pricing: { overrides: [{ provider: 'anthropic', model: 'claude-sonnet-4-5', input: 1, output: 1 }], fallback: { input: 100, output: 100 } }, extraHosts: ['llm.corp.example'] },
    SB,
  );
  const hook = await meter.exchange(info('llm.corp.example', '/v1/messages'));
  const tap = asStream(hook!.response!({ status: 200, headers: { 'content-type': 'text/event-stream' } })!);
  tap.resume();
  tap.write(START);
  tap.end(DELTA);
  await new Promise((r) => tap.once('end', r));
  const [row] = await store.listUsage(SB);
  assert.equal(row!.priced, 'override');
  // 2000×1 + 800×1 + 400×1.25 + 1000×0.1 per MTok (cache rates default to multiples of input)
  assert.equal(row!.costUsd, 0.0034);
  assert.deepEqual(recorded.map((e) => [e.eventType, e.sandboxId, e.timestampMs]), [['ai.usage', SB, clock.now()]]);
});
