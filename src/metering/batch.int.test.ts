import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { startFakeProviders, type FakeProviders } from './testdata/fake-providers.ts';
import { insertTestSandbox, runSdk, startMeteredGateway, type MeteredGateway } from './testdata/harness.ts';

let dir: string;
let store: Store;
let fake: FakeProviders;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'km-batch-'));
  store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  fake = await startFakeProviders();
});
after(async () => {
  await fake.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function gateway(t: { after: (fn: () => Promise<void>) => void }, id: string, limits: { ai?: number | null } = {}): Promise<MeteredGateway> {
  await insertTestSandbox(store, id, limits);
  const g = await startMeteredGateway({ store, fake, sandboxId: id });
  t.after(() => g.close());
  return g;
}

/** USD per token at the table's list prices (independent of the pricing code); batches cost half. */
const PER_M = 1 / 1_000_000;
const SONNET = { input: 3, output: 15, cw5: 3.75, cr: 0.3 };
const GPT41 = { input: 2, cached: 0.5, output: 8 };
const anthropicBatchCost = (u: Record<string, number>): number =>
  0.5 * (u.input_tokens! * SONNET.input + u.output_tokens! * SONNET.output + u.cache_creation_input_tokens! * SONNET.cw5 + u.cache_read_input_tokens! * SONNET.cr) * PER_M;
const openaiBatchCost = (u: Record<string, number>): number =>
  0.5 * ((u.prompt_tokens! - u.cached_tokens!) * GPT41.input + u.cached_tokens! * GPT41.cached + u.completion_tokens! * GPT41.output) * PER_M;
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

test('Anthropic Message Batches: each succeeded result is a ledger row at batch prices; a second download adds nothing', async (t) => {
  const g = await gateway(t, 'sb-ba000001');
  const from = fake.sent.length;
  const [made] = await runSdk(g, [{ kind: 'anthropic.batch', model: 'claude-sonnet-4-5-20250929', customIds: ['q-1', 'q-fail', 'q-3'] }]);
  assert.equal(made?.ok, true, JSON.stringify(made));
  assert.deepEqual(made!.results, [['q-1', 'succeeded'], ['q-fail', 'errored'], ['q-3', 'succeeded']], 'the SDK read the results through the gateway');
  const sent = fake.sent.slice(from);
  assert.deepEqual(sent.map((s) => s.api), ['anthropic.batch', 'anthropic.batch']);
  const rows = await store.listUsage('sb-ba000001');
  assert.deepEqual(rows.map((r) => r.exchangeId).sort(), [`batch:${made!.id}:q-1`, `batch:${made!.id}:q-3`]);
  for (const [i, cid] of ['q-1', 'q-3'].entries()) {
    const row = rows.find((r) => r.exchangeId.endsWith(`:${cid}`))!;
    const u = sent[i]!.usage;
    assert.deepEqual(
      [row.provider, row.model, row.inputTokens, row.outputTokens, row.cacheWriteTokens, row.cacheReadTokens, row.partial, row.usageMissing, row.priced],
      ['anthropic', 'claude-sonnet-4-5-20250929', u.input_tokens, u.output_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens, false, false, 'table'],
    );
    near(row.costUsd, anthropicBatchCost(u), `${cid} cost`);
  }
  const total = await store.aiSpentUsd('sb-ba000001');
  near(total, anthropicBatchCost(sent[0]!.usage) + anthropicBatchCost(sent[1]!.usage), 'total');
  const events = g.events.filter((e) => e.event_type === 'ai.usage');
  assert.deepEqual(events.map((e) => [e.detail.batch, e.detail.path]), [[true, `/v1/messages/batches/${made!.id}/results`], [true, `/v1/messages/batches/${made!.id}/results`]]);

  const [again] = await runSdk(g, [{ kind: 'anthropic.batch-results', id: made!.id }]);
  assert.equal(again?.results?.length, 3, JSON.stringify(again));
  assert.equal((await store.listUsage('sb-ba000001')).length, 2, 'the same rows, replaced');
  near(await store.aiSpentUsd('sb-ba000001'), total, 'a second download counts nothing twice');
});

test('OpenAI batch output file: each 2xx line is a row at batch prices; failed lines and input files bill nothing; gzip read', async (t) => {
  const g = await gateway(t, 'sb-ba000002');
  const from = fake.sent.length;
  const out = fake.addOpenAiBatchOutput([{ customId: 'a', model: 'gpt-4.1-2025-04-14' }, { customId: 'b', model: 'gpt-4.1-2025-04-14', fail: true }, { customId: 'c', model: 'gpt-4.1-2025-04-14' }]);
  const input = fake.addOpenAiBatchInput([{ customId: 'a', model: 'gpt-4.1' }]);
  const sent = fake.sent.slice(from);
  fake.forceEncoding('gzip');
  t.after(() => fake.forceEncoding(''));
  const res = await runSdk(g, [{ kind: 'openai.file-content', id: out }, { kind: 'openai.file-content', id: input }]);
  assert.deepEqual(res.map((r) => [r.ok, r.lines]), [[true, 3], [true, 1]], JSON.stringify(res));
  const rows = await store.listUsage('sb-ba000002');
  assert.equal(rows.length, 2, 'two billed requests, nothing from the failed line or the input file');
  for (const [i, row] of rows.entries()) {
    const u = sent[i]!.usage;
    assert.match(row.exchangeId, /^batch:batch_req_\d+_[02]$/);
    assert.deepEqual([row.provider, row.model, row.inputTokens, row.outputTokens, row.cachedInputTokens, row.reasoningTokens, row.usageMissing], ['openai', 'gpt-4.1-2025-04-14', u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens, false]);
    near(row.costUsd, openaiBatchCost(u), 'cost');
  }
});

test('at the AI limit: new batches are refused, the results of one created before are still collected and recorded', async (t) => {
  const g = await gateway(t, 'sb-ba000003', { ai: 0.01 });
  const [made] = await runSdk(g, [{ kind: 'anthropic.batch', model: 'claude-sonnet-4-5-20250929', customIds: ['x', 'y'], fetch: false }]);
  assert.equal(made?.ok, true, JSON.stringify(made));
  // A live call spends past the limit.
  fake.setNext({ input: 10_000, output: 1000, cacheWrite: 0, cacheWrite1h: 0, cacheRead: 0, cached: 0, reasoning: 0 });
  const [live] = await runSdk(g, [{ kind: 'anthropic.json', model: 'claude-sonnet-4-5-20250929' }]);
  assert.equal(live?.ok, true, JSON.stringify(live));
  const atLimit = await store.aiSpentUsd('sb-ba000003');
  assert.ok(atLimit >= 0.01, `spent ${atLimit}`);
  const res = await runSdk(g, [
    { kind: 'anthropic.json', model: 'claude-sonnet-4-5-20250929' },
    { kind: 'anthropic.batch', model: 'claude-sonnet-4-5-20250929', customIds: ['z'] },
    { kind: 'anthropic.batch-results', id: made!.id },
  ]);
  assert.deepEqual(res.map((r) => [r.ok, r.status ?? null]), [[false, 403], [false, 403], [true, null]], JSON.stringify(res));
  assert.equal(res[1]!.error?.error, 'ai_budget_exhausted');
  assert.deepEqual(res[2]!.results, [['x', 'succeeded'], ['y', 'succeeded']]);
  const rows = await store.listUsage('sb-ba000003');
  assert.deepEqual(rows.map((r) => r.exchangeId).filter((id) => id.startsWith('batch:')).sort(), [`batch:${made!.id}:x`, `batch:${made!.id}:y`]);
  assert.ok((await store.aiSpentUsd('sb-ba000003')) > atLimit, 'the batch spend is recorded past the limit');
});

test('a provider that compresses anyway: usage is read from the decoded copy; an unknown coding is flagged missing', async (t) => {
  const g = await gateway(t, 'sb-ba000004');
  t.after(() => fake.forceEncoding(''));
  const got: Array<[boolean, number, number, boolean]> = [];
  const want: Array<[boolean, number, number, boolean]> = [];
  for (const coding of ['gzip', 'br', 'gzip, br'] as const) {
    fake.forceEncoding(coding);
    const from = fake.sent.length;
    const [r] = await runSdk(g, [{ kind: 'anthropic.json', model: 'claude-sonnet-4-5-20250929' }]);
    const u = fake.sent[from]!.usage;
    const row = (await store.listUsage('sb-ba000004')).at(-1)!;
    got.push([r!.ok, row.inputTokens, row.outputTokens, row.usageMissing]);
    want.push([true, u.input_tokens!, u.output_tokens!, false]);
  }
  assert.deepEqual(got, want);
  fake.forceEncoding('compress');
  await runSdk(g, [{ kind: 'anthropic.json', model: 'claude-sonnet-4-5-20250929' }]).catch(() => []);
  const last = (await store.listUsage('sb-ba000004')).at(-1)!;
  assert.deepEqual([last.usageMissing, last.costUsd], [true, 0]);
  assert.ok(g.events.some((e) => e.event_type === 'metering.error' && String(e.detail.error).includes('content-encoding compress')));
});
