import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { openSqliteStore, type Store, type UsageRow } from '../store/index.ts';
import { startFakeProviders, type FakeProviders, type SentUsage } from './testdata/fake-providers.ts';
import { insertTestSandbox, proxiedRequest, runSdk, startMeteredGateway, PLAIN_HOST, type MeteredGateway } from './testdata/harness.ts';

let dir: string;
let store: Store;
let fake: FakeProviders;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'km-metering-'));
  store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  fake = await startFakeProviders();
});
after(async () => {
  await fake.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function gateway(t: { after: (fn: () => Promise<void>) => void }, id: string, limits: { ai?: number | null; warn?: number } = {}, alias: string | null = null): Promise<MeteredGateway> {
  await insertTestSandbox(store, id, limits, alias);
  const g = await startMeteredGateway({ store, fake, sandboxId: id });
  t.after(() => g.close());
  return g;
}

/** USD per token at the table's list prices (independent of the pricing code). */
const PER_M = 1 / 1_000_000;
const SONNET = { input: 3, output: 15, cw5: 3.75, cw1h: 6, cr: 0.3 };
const GPT41 = { input: 2, cached: 0.5, output: 8 };
const GPT5MINI = { input: 0.25, cached: 0.025, output: 2 };
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

function anthropicCost(u: Record<string, number>, p = SONNET): number {
  const cw1h = u.cache_creation_1h ?? 0;
  const cw5 = (u.cache_creation_input_tokens ?? 0) - cw1h;
  return (u.input_tokens! * p.input + u.output_tokens! * p.output + cw5 * p.cw5 + cw1h * p.cw1h + (u.cache_read_input_tokens ?? 0) * p.cr) * PER_M;
}
const openaiCost = (u: Record<string, number>, p: typeof GPT41, input: number, output: number) => ((input - u.cached_tokens!) * p.input + u.cached_tokens! * p.cached + output * p.output) * PER_M;

const rowsOf = async (id: string): Promise<UsageRow[]> => store.listUsage(id);

test('Anthropic SDK, streaming and JSON: ledger equals what the provider sent, priced by the table', async (t) => {
  const g = await gateway(t, 'sb-a0000001');
  const from = fake.sent.length;
  const res = await runSdk(g, [{ kind: 'anthropic.stream', model: 'claude-sonnet-4-5-20250929' }, { kind: 'anthropic.json', model: 'claude-sonnet-4-5-20250929' }], '20270303T081502Z');
  assert.deepEqual(res.map((r) => [r.ok, r.text]), [[true, 'Hello there.'], [true, 'Hello.']], JSON.stringify(res));
  const sent = fake.sent.slice(from);
  // The SDK asks for gzip/br; the provider would compress the JSON body past the meter.
  assert.deepEqual(fake.requests.slice(-2).map((r) => r.acceptEncoding), ['identity', 'identity'], 'upstream is asked for identity');
  const rows = await rowsOf('sb-a0000001');
  assert.equal(rows.length, 2);
  for (const [i, row] of rows.entries()) {
    const u = sent[i]!.usage;
    assert.deepEqual(
      [row.provider, row.model, row.inputTokens, row.outputTokens, row.cacheWriteTokens, row.cacheReadTokens, row.partial, row.usageMissing, row.priced, row.runId],
      ['anthropic', 'claude-sonnet-4-5-20250929', u.input_tokens, u.output_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens, false, false, 'table', '20270303T081502Z'],
    );
    near(row.costUsd, anthropicCost(u), 'cost');
  }
  const usageEvents = g.events.filter((e) => e.event_type === 'ai.usage');
  assert.equal(usageEvents.length, 2);
  assert.equal(usageEvents[0]!.detail.run_id, '20270303T081502Z');
});

test('OpenAI SDK: chat stream gets include_usage added by the gateway; responses stream; figures exact', async (t) => {
  const g = await gateway(t, 'sb-a0000002');
  const from = fake.sent.length;
  const reqFrom = fake.requests.length;
  const res = await runSdk(g, [{ kind: 'openai.chat', model: 'gpt-4.1' }, { kind: 'openai.responses', model: 'gpt-5-mini' }]);
  assert.ok(res.every((r) => r.ok), JSON.stringify(res));
  const chatBody = fake.requests[reqFrom]!.body as { stream: boolean; stream_options?: { include_usage?: boolean } };
  assert.equal(chatBody.stream, true);
  assert.deepEqual(chatBody.stream_options, { include_usage: true }, 'the gateway asked for the usage chunk');
  const [chat, responses] = fake.sent.slice(from) as [SentUsage, SentUsage];
  assert.deepEqual(res[0]!.usage, { prompt_tokens: chat.usage.prompt_tokens, completion_tokens: chat.usage.completion_tokens, total_tokens: chat.usage.prompt_tokens! + chat.usage.completion_tokens!, prompt_tokens_details: { cached_tokens: chat.usage.cached_tokens }, completion_tokens_details: { reasoning_tokens: chat.usage.reasoning_tokens } });
  const rows = await rowsOf('sb-a0000002');
  const byModel = new Map(rows.map((r) => [r.model, r]));
  const c = byModel.get('gpt-4.1-2025-04-14')!;
  assert.deepEqual([c.provider, c.inputTokens, c.outputTokens, c.cachedInputTokens, c.reasoningTokens, c.partial, c.priced], ['openai', chat.usage.prompt_tokens, chat.usage.completion_tokens, chat.usage.cached_tokens, chat.usage.reasoning_tokens, false, 'table']);
  near(c.costUsd, openaiCost(chat.usage, GPT41, chat.usage.prompt_tokens!, chat.usage.completion_tokens!), 'chat cost');
  const r = byModel.get('gpt-5-mini')!;
  assert.deepEqual([r.inputTokens, r.outputTokens, r.cachedInputTokens, r.reasoningTokens, r.partial], [responses.usage.input_tokens, responses.usage.output_tokens, responses.usage.cached_tokens, responses.usage.reasoning_tokens, false]);
  near(r.costUsd, openaiCost(responses.usage, GPT5MINI, responses.usage.input_tokens!, responses.usage.output_tokens!), 'responses cost');
});

test('Bedrock SDK: ConverseStream and InvokeModelWithResponseStream (binary event-stream) metered exactly', async (t) => {
  const g = await gateway(t, 'sb-a0000003');
  const from = fake.sent.length;
  const model = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
  const res = await runSdk(g, [{ kind: 'bedrock.converse-stream', model }, { kind: 'bedrock.invoke-stream', model }]);
  assert.ok(res.every((r) => r.ok), JSON.stringify(res));
  assert.equal(res[0]!.text, 'Hello');
  assert.deepEqual(res[1]!.events, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  const [conv, inv] = fake.sent.slice(from) as [SentUsage, SentUsage];
  assert.equal(conv.model, model, 'the SDK addressed the inference profile');
  const rows = await rowsOf('sb-a0000003');
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(row.provider, 'bedrock');
    assert.equal(row.model, 'anthropic.claude-sonnet-4-5-20250929-v1:0', 'inference-profile prefix removed');
    assert.equal(row.priced, 'table');
    assert.equal(row.partial, false);
  }
  const [r1, r2] = rows as [UsageRow, UsageRow];
  assert.deepEqual([r1.inputTokens, r1.outputTokens, r1.cacheReadTokens, r1.cacheWriteTokens], [conv.usage.inputTokens, conv.usage.outputTokens, conv.usage.cacheReadInputTokens, conv.usage.cacheWriteInputTokens]);
  near(r1.costUsd, anthropicCost({ input_tokens: conv.usage.inputTokens!, output_tokens: conv.usage.outputTokens!, cache_creation_input_tokens: conv.usage.cacheWriteInputTokens!, cache_read_input_tokens: conv.usage.cacheReadInputTokens! }), 'converse cost');
  assert.deepEqual([r2.inputTokens, r2.outputTokens, r2.cacheReadTokens, r2.cacheWriteTokens], [inv.usage.input_tokens, inv.usage.output_tokens, inv.usage.cache_read_input_tokens, inv.usage.cache_creation_input_tokens]);
  near(r2.costUsd, anthropicCost(inv.usage), 'invoke cost');
});

test('budget stop: warning once, every AI-host request after crossing gets the 403 body, non-AI traffic continues', async (t) => {
  // Each request: 10,000 input + 2,000 output at $3/$15 = $0.06; limit $0.10 → crossed by the 2nd.
  const g = await gateway(t, 'sb-a0000004', { ai: 0.1, warn: 0.5 }, 'demo');
  const per = { input: 10_000, output: 2_000, cacheWrite: 0, cacheWrite1h: 0, cacheRead: 0, cached: 0, reasoning: 0 };
  const results = [];
  for (let i = 0; i < 2; i++) {
    fake.setNext(per);
    results.push(...(await runSdk(g, [{ kind: 'anthropic.stream', model: 'claude-sonnet-4-5-20250929' }], 'run-budget')));
  }
  const sentBefore = fake.sent.length;
  results.push(...(await runSdk(g, [
    { kind: 'anthropic.json', model: 'claude-sonnet-4-5-20250929' },
    { kind: 'openai.chat', model: 'gpt-4.1' },
    // Not a metered API, but on an AI host: refused too (SPEC §6.5 "any request to an AI host").
    { kind: 'plain.get', url: 'https://api.openai.com/v1/models' },
    { kind: 'plain.get', url: `https://${PLAIN_HOST}/status` },
  ], 'run-budget')));
  assert.deepEqual(results.map((r) => [r.ok, r.status ?? null]), [[true, null], [true, null], [false, 403], [false, 403], [true, 403], [true, 200]], JSON.stringify(results));
  assert.equal(fake.sent.length, sentBefore, 'nothing reached the provider after the stop');
  // Billable APIs the meter does not parse (batches, legacy completions) cannot spend past the stop.
  const requestsBefore = fake.requests.length;
  for (const path of ['/v1/messages/batches', '/v1/complete']) {
    const r = await proxiedRequest(g, { host: 'api.anthropic.com', path, body: { model: 'claude-sonnet-4-5-20250929' } });
    assert.deepEqual([r.status, JSON.parse(r.body.toString()).error], [403, 'ai_budget_exhausted'], path);
  }
  assert.equal(fake.requests.length, requestsBefore, 'the provider saw none of them');
  assert.deepEqual(results[2]!.error, {
    error: 'ai_budget_exhausted',
    host: 'api.anthropic.com',
    port: 443,
    rule: 'budget.ai.maxSpendUSD',
    sandbox: 'sb-a0000004',
    spent_usd: 0.12,
    limit_usd: 0.1,
    top_up: 'km budget add demo --ai <usd>',
    message: 'AI budget exhausted for demo ($0.12 of $0.10)',
  });
  near(await store.aiSpentUsd('sb-a0000004'), 0.12, 'spent');
  const types = g.events.filter((e) => e.event_type.startsWith('budget.')).map((e) => [e.event_type, e.detail.dimension]);
  assert.deepEqual(types, [['budget.warning', 'ai'], ['budget.exhausted', 'ai']], 'warning once, exhaustion once');
  const exhausted = g.events.find((e) => e.event_type === 'budget.exhausted')!;
  near(exhausted.detail.overshoot_usd as number, 0.02, 'overshoot');
  const denied = g.events.filter((e) => e.event_type === 'http.request' && e.detail.error === 'ai_budget_exhausted');
  assert.equal(denied.length, 5);
  assert.equal(denied[0]!.detail.run_id, 'run-budget', 'the denial is attributed to the run');
  // A top-up lifts the block.
  await store.addToBudgetLimits('sb-a0000004', { aiUsd: 1 });
  const again = await runSdk(g, [{ kind: 'anthropic.json', model: 'claude-sonnet-4-5-20250929' }]);
  assert.equal(again[0]!.ok, true, JSON.stringify(again));
});

test('a response already streaming when the limit is crossed finishes; the overshoot is recorded', async (t) => {
  const g = await gateway(t, 'sb-a0000005', { ai: 0.1 });
  fake.setEventGapMs(60);
  t.after(() => fake.setEventGapMs(0));
  const body = { model: 'claude-sonnet-4-5-20250929', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] };
  // Both pass the pre-request check (nothing committed yet); each costs $0.06.
  const per = { input: 10_000, output: 2_000, cacheWrite: 0, cacheWrite1h: 0, cacheRead: 0, cached: 0, reasoning: 0 };
  fake.setNext(per);
  fake.setNext(per);
  const a = proxiedRequest(g, { host: 'api.anthropic.com', path: '/v1/messages', body });
  const b = proxiedRequest(g, { host: 'api.anthropic.com', path: '/v1/messages', body });
  const [ra, rb] = await Promise.all([a, b]);
  for (const r of [ra, rb]) {
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /event: message_stop/, 'the stream ran to its end');
  }
  near(await store.aiSpentUsd('sb-a0000005'), 0.12, 'both billed');
  const ex = g.events.filter((e) => e.event_type === 'budget.exhausted');
  assert.equal(ex.length, 1);
  const usage = g.events.filter((e) => e.event_type === 'ai.usage');
  near(usage.at(-1)!.detail.overshoot_usd as number, 0.02, 'overshoot on the finishing exchange');
  const next = await proxiedRequest(g, { host: 'api.anthropic.com', path: '/v1/messages', body });
  assert.equal(next.status, 403);
  assert.equal(next.headers['x-km-deny-reason'], 'ai_budget_exhausted');
  assert.equal(JSON.parse(next.body.toString()).error, 'ai_budget_exhausted');
});

test('many concurrent streams across several sandboxes: totals exact per sandbox', async (t) => {
  const ids = ['sb-c0000001', 'sb-c0000002', 'sb-c0000003'];
  const gws = await Promise.all(ids.map((id) => gateway(t, id)));
  const from = fake.sent.length;
  const body = (stream: boolean) => ({ model: 'claude-haiku-4-5', max_tokens: 16, stream, messages: [{ role: 'user', content: 'hi' }] });
  const jobs = [];
  for (let i = 0; i < 36; i++) {
    const g = gws[i % 3]!;
    const host = i % 4 === 3 ? 'api.openai.com' : 'api.anthropic.com';
    const path = host === 'api.openai.com' ? '/v1/chat/completions' : '/v1/messages';
    const b = host === 'api.openai.com' ? { model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] } : body(i % 2 === 0);
    jobs.push(proxiedRequest(g, { host, path, body: b, headers: { 'x-test-run': g.sandboxId } }));
  }
  const res = await Promise.all(jobs);
  assert.ok(res.every((r) => r.status === 200), JSON.stringify(res.map((r) => r.status)));
  const sent = fake.sent.slice(from);
  assert.equal(sent.length, 36);
  for (const g of gws) {
    await g.meter.settled();
    const mine = sent.filter((s) => s.runHeader === g.sandboxId);
    const totals = await store.usageTotals(g.sandboxId);
    const sum = (k: string) => mine.reduce((a, s) => a + (s.usage[k] ?? 0), 0);
    const anth = totals.find((x) => x.provider === 'anthropic')!;
    const oai = totals.find((x) => x.provider === 'openai')!;
    assert.equal(anth.requests + oai.requests, mine.length);
    assert.equal(anth.inputTokens, sum('input_tokens'));
    assert.equal(anth.outputTokens, sum('output_tokens'));
    assert.equal(anth.cacheReadTokens, sum('cache_read_input_tokens'));
    assert.equal(anth.cacheWriteTokens, sum('cache_creation_input_tokens'));
    assert.equal(oai.inputTokens, sum('prompt_tokens'));
    assert.equal(oai.outputTokens, sum('completion_tokens'));
    assert.equal(anth.partial + oai.partial, 0);
  }
});

test('Bedrock SDK: Converse (JSON usage) and InvokeModel (token-count headers win over the body)', async (t) => {
  const g = await gateway(t, 'sb-a0000006');
  const from = fake.sent.length;
  const res = await runSdk(g, [{ kind: 'bedrock.converse', model: 'amazon.nova-lite-v1:0' }, { kind: 'bedrock.invoke', model: 'anthropic.claude-3-haiku-20240307-v1:0' }]);
  assert.deepEqual(res.map((r) => [r.ok, r.text]), [[true, 'Hello'], [true, 'Hello']], JSON.stringify(res));
  const [conv, inv] = fake.sent.slice(from) as [SentUsage, SentUsage];
  const rows = await rowsOf('sb-a0000006');
  const byModel = new Map(rows.map((r) => [r.model, r]));
  const c = byModel.get('amazon.nova-lite-v1:0')!;
  assert.deepEqual([c.inputTokens, c.outputTokens, c.cacheReadTokens, c.cacheWriteTokens, c.partial, c.priced], [conv.usage.inputTokens, conv.usage.outputTokens, conv.usage.cacheReadInputTokens, conv.usage.cacheWriteInputTokens, false, 'table']);
  const i = byModel.get('anthropic.claude-3-haiku-20240307-v1:0')!;
  assert.deepEqual([i.inputTokens, i.outputTokens, i.partial], [inv.usage.input_tokens, inv.usage.output_tokens, false]);
  near(i.costUsd, (inv.usage.input_tokens! * 0.25 + inv.usage.output_tokens! * 1.25) * PER_M, 'haiku 3 cost');
});
