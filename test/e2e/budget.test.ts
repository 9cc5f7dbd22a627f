/** `km budget` and `km budget add` through the real CLI against a store in a temp KM_HOME. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { kmAtHome } from './lifecycle-support.ts';

const km = (home: string, args: string[]) => kmAtHome(home, args);

async function home(t: TestContext): Promise<{ dir: string; store: Store }> {
  const dir = await mkdtemp(join(tmpdir(), 'km-budget-e2e-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const base = { profileName: 'test', profile: {}, substrate: 'local', status: 'running' as const, createdAtMs: Date.now(), teardownPolicy: 'destroy' as const, enforcementRequested: 'proxy', createdBy: 'cli' as const };
  await store.insertSandbox({ ...base, id: 'sb-5e0c9a12', alias: 'demo', aiLimitUsd: 1, computeLimitUsd: 1 });
  await store.insertSandbox({ ...base, id: 'sb-00000002', alias: 'free' });
  await store.upsertUsage('sb-5e0c9a12', 'x1', {
    provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 2000, outputTokens: 800, cacheWriteTokens: 400, cacheReadTokens: 1000,
    cachedInputTokens: 0, reasoningTokens: 0, costUsd: 0.97, priced: 'table', partial: false, atMs: Date.now(),
  });
  await store.setBudgetWarned('sb-5e0c9a12', 'ai', true);
  await store.setComputeRate('sb-5e0c9a12', 1.476, 'profile');
  await store.addComputeTime('sb-5e0c9a12', { runningS: 1000 });
  return { dir, store };
}

test('km budget shows spend, limits and the model breakdown (text and JSON)', async (t) => {
  const { dir } = await home(t);
  const text = await km(dir, ['budget', 'demo']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Budget for demo \(sb-5e0c9a12\): ai_exhausted|^Budget for demo \(sb-5e0c9a12\): warning/);
  assert.match(text.stdout, /AI {8}\$0\.97 of \$1\.00 \(97%\), warning, warning sent/);
  assert.match(text.stdout, /compute {3}\$0\.41 of \$1\.00 \(41%\), ok/);
  const json = await km(dir, ['budget', 'demo', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(doc), ['sandbox_id', 'state', 'warning_threshold', 'ai', 'compute', 'price_table_version']);
  assert.deepEqual([doc.sandbox_id, doc.state, doc.ai.limit_usd, doc.ai.spent_usd, doc.ai.by_model[0].input_tokens, doc.compute.rate_source, doc.compute.running_s], ['sb-5e0c9a12', 'warning', 1, 0.97, 2000, 'profile', 1000]);
  const free = await km(dir, ['budget', 'free']);
  assert.match(free.stdout, /AI {8}\$0\.00, no limit/);
  const stray = await km(dir, ['budget', 'demo', '--ai', '5']);
  assert.equal(stray.code, 2, 'a top-up flag without "add" is rejected');
});

test('km budget add: messages for no amount, bad amount, no limit; a top-up raises the limits', async (t) => {
  const { dir, store } = await home(t);
  const none = await km(dir, ['budget', 'add', 'demo']);
  assert.deepEqual([none.code, none.stderr.split('\n')[0]], [2, 'km: error: nothing to add; pass --ai and/or --compute']);
  const bad = await km(dir, ['budget', 'add', 'demo', '--ai', '-3']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid amount for --ai/);
  const nolimit = await km(dir, ['budget', 'add', 'free', '--ai', '2']);
  assert.equal(nolimit.stderr.split('\n')[0], 'km: error: free has no AI limit; nothing to top up');
  const ok = await km(dir, ['budget', 'add', 'demo', '--ai', '2']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'Budget for demo: AI $0.97 / $3.00, compute $0.41 / $1.00\n');
  const b = await store.getBudget('sb-5e0c9a12');
  assert.deepEqual([b!.aiLimitUsd, b!.aiWarned], [3, false], 'limit raised, warning re-armed');
  const js = await km(dir, ['budget', 'add', 'demo', '--compute', '1.5', '--json']);
  const doc = JSON.parse(js.stdout);
  assert.deepEqual([doc.compute.limit_usd, doc.resumed], [2.5, false]);
  const topups = await store.queryEvents({ sandboxId: 'sb-5e0c9a12', types: ['budget.topup'] });
  assert.equal(topups.length, 2);
});
