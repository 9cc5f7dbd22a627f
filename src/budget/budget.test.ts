import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { openSqliteStore, type SandboxRecord, type Store, type UsageUpdate } from '../store/index.ts';
import { accrueCompute, budgetResumeRefusal, computeBudgetAction, computeRateFor, rateInputOf } from './compute.ts';
import { budgetJson, budgetView, renderBudget } from './report.ts';
import { createComputeAccruer } from './accruer.ts';
import { topUpBudget, topUpJson, topUpMessage } from './topup.ts';

const T0 = Date.UTC(2027, 2, 3, 8, 15, 2);
const clock = createManualClock(T0);
type Ev = { event_type: string; detail: Record<string, unknown> };

async function fresh(t: { after: (fn: () => Promise<void>) => void }): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'km-budget-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return store;
}

async function sandbox(store: Store, id: string, o: { ai?: number | null; compute?: number | null; status?: 'running' | 'paused'; alias?: string } = {}): Promise<SandboxRecord> {
  return store.insertSandbox({
    id, alias: o.alias ?? 'demo', profileName: 'test', profile: {}, substrate: 'local', status: o.status ?? 'running', createdAtMs: T0,
    teardownPolicy: 'destroy', enforcementRequested: 'proxy', aiLimitUsd: o.ai ?? null, computeLimitUsd: o.compute ?? null, createdBy: 'cli',
  });
}

const usage = (over: Partial<UsageUpdate>): UsageUpdate => ({
  provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0,
  cachedInputTokens: 0, reasoningTokens: 0, costUsd: 0, priced: 'table', partial: false, atMs: T0, ...over,
});

test('compute rate precedence: profile rate, then the instance type list price, else 0', () => {
  assert.deepEqual(computeRateFor({ ratePerHourUsd: 0.5, instanceType: 't3.medium' }), { ratePerHourUsd: 0.5, source: 'profile' });
  assert.deepEqual(computeRateFor({ ratePerHourUsd: 0 }), { ratePerHourUsd: 0, source: 'profile' }, 'an explicit 0 wins');
  assert.deepEqual(computeRateFor({ instanceType: 't3.medium' }), { ratePerHourUsd: 0.0416, source: 'list_price:t3.medium' });
  assert.deepEqual(computeRateFor({ instanceType: 'm5.xlarge' }), { ratePerHourUsd: 0.192, source: 'list_price:m5.xlarge' });
  assert.deepEqual(computeRateFor({ instanceType: 'z9.huge' }), { ratePerHourUsd: 0, source: 'none' });
  assert.deepEqual(computeRateFor({}), { ratePerHourUsd: 0, source: 'none' });
  assert.deepEqual(rateInputOf({ spec: { budget: { compute: { ratePerHourUSD: 0.3 } }, runtime: { instanceType: 'c5.large' } } }), { ratePerHourUsd: 0.3, instanceType: 'c5.large' });
  assert.deepEqual(rateInputOf({ spec: { runtime: {} } }), {});
});

test('compute accrual: warning once, exhaustion at the crossing, pause unless locked', async (t) => {
  const store = await fresh(t);
  await sandbox(store, 'sb-b0000001', { compute: 1 });
  await store.setComputeRate('sb-b0000001', 3.6, 'profile'); // $0.001 per second
  const events: Ev[] = [];
  const deps = { store, clock, onEvent: (e: Ev) => void events.push(e) };
  const sb = { id: 'sb-b0000001', status: 'running' as const, locked: false };
  let r = await accrueCompute(deps, sb, { runningS: 500 });
  assert.deepEqual([r.action, r.crossed, events.length], ['none', false, 0]);
  r = await accrueCompute(deps, sb, { runningS: 300, pausedS: 60 });
  assert.deepEqual(events.map((e) => e.event_type), ['budget.warning']);
  assert.equal(r.budget.pausedS, 60);
  r = await accrueCompute(deps, sb, { runningS: 100 });
  assert.deepEqual(events.map((e) => e.event_type), ['budget.warning'], 'warned once');
  r = await accrueCompute(deps, { ...sb, locked: true }, { runningS: 150 });
  assert.deepEqual([r.action, r.crossed], ['locked', true]);
  assert.deepEqual(events.at(-1), { timestamp: '2027-03-03T08:15:02Z', sandbox_id: 'sb-b0000001', event_type: 'budget.exhausted', source: 'budget', detail: { dimension: 'compute', spent_usd: 1.05, limit_usd: 1, action: 'not_paused_locked' } });
  r = await accrueCompute(deps, sb, { runningS: 60 });
  assert.deepEqual([r.action, r.crossed], ['pause', false], 'unlocked later: paused at the next accrual, no second event');
  assert.equal(events.filter((e) => e.event_type === 'budget.exhausted').length, 1);
  assert.equal(computeBudgetAction(r.budget, { status: 'paused', locked: false }), 'none');
  const refusal = budgetResumeRefusal('demo', { pausedBy: 'budget' }, r.budget);
  assert.ok(refusal instanceof KmError);
  assert.equal(refusal.message, 'demo was paused because its compute budget is spent ($1.11 of $1.00)');
  assert.equal(refusal.hint, 'km budget add demo --compute <usd>');
  assert.equal(budgetResumeRefusal('demo', { pausedBy: 'operator' }, r.budget), undefined);
});

test('km budget view: JSON shape, text with no-limit and per-model rows', async (t) => {
  const store = await fresh(t);
  const s = await sandbox(store, 'sb-b0000002', { ai: 3 });
  await store.upsertUsage(s.id, 'x1', usage({ inputTokens: 2000, outputTokens: 800, cacheWriteTokens: 400, cacheReadTokens: 1000, costUsd: 0.0198 }));
  await store.upsertUsage(s.id, 'x2', usage({ provider: 'openai', model: 'mystery-1', inputTokens: 10, outputTokens: 5, cachedInputTokens: 4, reasoningTokens: 2, costUsd: 0.00054, priced: 'fallback' }));
  await store.upsertUsage(s.id, 'x3', usage({ usageMissing: true }));
  await store.setComputeRate(s.id, 0.0416, 'list_price:t3.medium');
  await store.addComputeTime(s.id, { runningS: 3600, pausedS: 125 });
  const v = await budgetView(store, s, '2026-11-01');
  assert.deepEqual(budgetJson(v), {
    sandbox_id: 'sb-b0000002', state: 'ok', warning_threshold: 0.8,
    ai: {
      limit_usd: 3, spent_usd: 0.02034,
      by_model: [
        { provider: 'anthropic', model: 'claude-sonnet-4-5', requests: 2, input_tokens: 2000, output_tokens: 800, cache_write_tokens: 400, cache_read_tokens: 1000, cached_input_tokens: 0, reasoning_tokens: 0, cost_usd: 0.0198, priced: 'table', missing_usage: 1 },
        { provider: 'openai', model: 'mystery-1', requests: 1, input_tokens: 10, output_tokens: 5, cache_write_tokens: 0, cache_read_tokens: 0, cached_input_tokens: 4, reasoning_tokens: 2, cost_usd: 0.00054, priced: 'fallback', missing_usage: 0 },
      ],
    },
    compute: { limit_usd: null, spent_usd: 0.0416, rate_per_hour_usd: 0.0416, rate_source: 'list_price:t3.medium', running_s: 3600, paused_s: 125 },
    price_table_version: '2026-11-01',
  });
  const text = renderBudget(v);
  assert.match(text, /^Budget for demo \(sb-b0000002\): ok\n/);
  assert.match(text, /\n {2}AI {8}\$0\.0203 of \$3\.00 \(0%\), ok\n/);
  assert.match(text, /\n {2}compute {3}\$0\.0416, no limit\n/);
  assert.match(text, /rate \$0\.0416\/h \(list_price:t3\.medium\), running 1h00m, paused 2m05s/);
  assert.match(text, /price table 2026-11-01/);
  assert.match(text, /\nanthropic +claude-sonnet-4-5 +2 +2,000 +800 +400 +1,000 +0 +0 +\$0\.0198 +table\n/);
  assert.match(text, /1 response without usage figures/);
  assert.match(text, /fallback rate \(not in the price table\): mystery-1/);
});

test('km budget add: errors, re-arm, resume only a budget pause, works when locked', async (t) => {
  const store = await fresh(t);
  const s = await sandbox(store, 'sb-b0000003', { ai: 1, compute: 1, status: 'paused' });
  await store.setLocked(s.id, true, T0);
  const rec = (await store.getSandbox(s.id))!;
  assert.equal(rec.locked, true);
  await store.upsertUsage(s.id, 'x1', usage({ costUsd: 0.97 }));
  await store.setComputeRate(s.id, 3.6, 'profile');
  await store.addComputeTime(s.id, { runningS: 1000 });
  await store.setBudgetWarned(s.id, 'ai', true);
  const resumed: string[] = [];
  const events: Ev[] = [];
  const deps = { store, clock, onEvent: (e: Ev) => void events.push(e), resume: async (x: SandboxRecord) => void resumed.push(x.id) };
  await assert.rejects(topUpBudget(deps, rec, {}, 'v'), { code: 'usage', message: 'nothing to add; pass --ai and/or --compute' });
  // Only AI: compute is still spent, so the sandbox stays paused.
  let r = await topUpBudget(deps, { ...rec, pausedBy: 'budget', status: 'paused' }, { aiUsd: 2 }, 'v');
  assert.deepEqual([r.resumed, r.stillPaused, resumed.length], [false, true, 0]);
  assert.equal(topUpMessage(r), 'Budget for demo: AI $0.97 / $3.00, compute $1.00 / $1.00 — still paused: its compute budget is spent ($1.00 of $1.00)');
  assert.equal((await store.getBudget(s.id))!.aiWarned, false, 'AI warning re-armed below the threshold');
  r = await topUpBudget(deps, { ...rec, pausedBy: 'budget', status: 'paused', locked: true }, { computeUsd: 1 }, 'v');
  assert.deepEqual([r.resumed, resumed], [true, ['sb-b0000003']]);
  assert.equal(topUpMessage(r), 'Budget for demo: AI $0.97 / $3.00, compute $1.00 / $2.00 — resumed (was paused by budget)');
  assert.equal(topUpJson(r).resumed, true);
  assert.deepEqual(events.map((e) => [e.event_type, e.detail.resumed]), [['budget.topup', false], ['budget.topup', true]]);
  // An operator pause is not lifted by a top-up.
  r = await topUpBudget(deps, { ...rec, pausedBy: 'operator', status: 'paused' }, { aiUsd: 1 }, 'v');
  assert.deepEqual([r.resumed, r.stillPaused, resumed.length], [false, false, 1]);
  const none = await sandbox(store, 'sb-b0000004', { ai: null, compute: 1, alias: 'nolimit' });
  await assert.rejects(topUpBudget(deps, none, { aiUsd: 1 }, 'v'), { code: 'invalid_state', message: 'nolimit has no AI limit; nothing to top up' });
  assert.equal((await store.getBudget(none.id))!.computeLimitUsd, 1, 'nothing changed');
});

test('compute clock: running time charged at the rate, paused time recorded, first sight starts the clock', async (t) => {
  const store = await fresh(t);
  await sandbox(store, 'sb-b0000005', { compute: 10 });
  await store.setComputeRate('sb-b0000005', 36, 'profile'); // $0.01 per second
  const clk = createManualClock(T0);
  const acc = createComputeAccruer({ store, clock: clk, onEvent: () => undefined });
  const rec = { id: 'sb-b0000005', status: 'running' as const, locked: false, lastStartedAtMs: T0 - 500_000 };
  assert.equal(await acc.tick(rec), undefined, 'first sight: nothing charged for time before kmd saw it');
  clk.advance(60_000);
  let r = await acc.tick(rec);
  assert.deepEqual([r!.budget.runningS, r!.budget.pausedS, r!.budget.computeSpentUsd], [60, 0, 0.6]);
  clk.advance(30_000);
  r = await acc.tick({ ...rec, status: 'paused' });
  assert.deepEqual([r!.budget.runningS, r!.budget.pausedS], [60, 30]);
  // Resumed 10 s before the next tick, without a tick at the resume.
  clk.advance(20_000);
  r = await acc.tick({ ...rec, lastStartedAtMs: clk.now() - 10_000 });
  assert.deepEqual([r!.budget.runningS, r!.budget.pausedS], [70, 40]);
  assert.ok(Math.abs(r!.budget.computeSpentUsd - 0.7) < 1e-9);
  acc.forget('sb-b0000005');
  assert.equal(await acc.tick(rec), undefined);
});

test('km budget text escapes control characters in model names (they come from requests and responses)', async (t) => {
  const store = await fresh(t);
  const s = await sandbox(store, 'sb-b0000003', { ai: 3 });
  await store.upsertUsage(s.id, 'x1', usage({ model: 'evil\x1b[2K\rclaude', costUsd: 0.01, priced: 'fallback' }));
  const text = renderBudget(await budgetView(store, s, '2026-11-01'));
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f]/, JSON.stringify(text));
  assert.match(text, /anthropic +evil\\x1b\[2K\\x0dclaude /);
  assert.match(text, /fallback rate \(not in the price table\): evil\\x1b\[2K\\x0dclaude\./);
});
