/** Contract: ledger and budget rows (SPEC §6.3–6.5). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { close, fresh, kmError, sandboxInput, T0, usage, type OpenStore } from './contract-helpers.ts';

export function ledgerContract(open: OpenStore): void {
  test('upsertUsage is idempotent per exchange id and updates figures in place', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput());
    await store.upsertUsage(sb.id, 'x1', usage({ inputTokens: 2000, outputTokens: 1, costUsd: 0.006, partial: true, atMs: T0 }));
    await store.upsertUsage(sb.id, 'x1', usage({ inputTokens: 2000, outputTokens: 800, costUsd: 0.018, atMs: T0 + 500 }));
    await store.upsertUsage(sb.id, 'x1', usage({ inputTokens: 2000, outputTokens: 800, costUsd: 0.018, atMs: T0 + 500 }));
    const rows = await store.listUsage(sb.id);
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]?.outputTokens, rows[0]?.partial, rows[0]?.firstAtMs, rows[0]?.atMs], [800, false, T0, T0 + 500]);
    close(await store.aiSpentUsd(sb.id), 0.018);
  });

  test('concurrent upserts of one exchange never add a second row', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput());
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.upsertUsage(sb.id, 'same', usage({ outputTokens: i + 1, costUsd: 0.001 }))));
    const totals = await store.usageTotals(sb.id);
    assert.equal(totals.length, 1);
    assert.equal(totals[0]?.requests, 1);
    close(await store.aiSpentUsd(sb.id), 0.001);
  });

  test('totals are derived per provider and model, with the weakest pricing source', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput());
    const other = await store.insertSandbox(sandboxInput());
    await store.upsertUsage(sb.id, 'a', usage({ inputTokens: 10, outputTokens: 1, cacheReadTokens: 5, costUsd: 0.5, runId: 'r1' }));
    await store.upsertUsage(sb.id, 'b', usage({ inputTokens: 20, outputTokens: 2, cacheWriteTokens: 7, costUsd: 0.25, priced: 'override', atMs: T0 + 10_000 }));
    await store.upsertUsage(sb.id, 'c', usage({ provider: 'openai', model: 'gpt-5', cachedInputTokens: 3, reasoningTokens: 4, costUsd: 1, priced: 'fallback', partial: true }));
    await store.upsertUsage(sb.id, 'd', usage({ provider: 'openai', model: 'gpt-5', inputTokens: 0, outputTokens: 0, costUsd: 0, usageMissing: true }));
    await store.upsertUsage(other.id, 'a', usage({ costUsd: 100 }));
    const totals = await store.usageTotals(sb.id);
    assert.deepEqual(
      totals.map((x) => [x.provider, x.model, x.requests, x.inputTokens, x.outputTokens, x.cacheWriteTokens, x.cacheReadTokens, x.priced]),
      [
        ['anthropic', 'claude-sonnet-4-5', 2, 30, 3, 7, 5, 'override'],
        ['openai', 'gpt-5', 2, 100, 10, 0, 0, 'fallback'],
      ],
    );
    assert.deepEqual([totals[1]?.cachedInputTokens, totals[1]?.reasoningTokens, totals[1]?.missingUsage, totals[1]?.partial], [3, 4, 1, 1]);
    close(totals[0]!.costUsd, 0.75);
    close(await store.aiSpentUsd(sb.id), 1.75);
    close(await store.aiSpentUsd(other.id), 100);
    assert.deepEqual((await store.usageTotals(sb.id, { runId: 'r1' })).map((x) => x.requests), [1]);
    assert.deepEqual((await store.listUsage(sb.id, { sinceMs: T0 + 1, untilMs: T0 + 20_000 })).map((x) => x.exchangeId), ['b']);
    assert.equal(await store.aiSpentUsd('sb-ffffffff'), 0);
  });

  test('a later upsert without a run id keeps the attributed run', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput());
    await store.upsertUsage(sb.id, 'x', usage({ runId: '20270303T081500Z' }));
    await store.upsertUsage(sb.id, 'x', usage({ outputTokens: 50 }));
    assert.equal((await store.listUsage(sb.id))[0]?.runId, '20270303T081500Z');
  });

  test('budget limits come from the sandbox and top-ups are atomic adds', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput({ alias: 'demo', aiLimitUsd: 1, computeLimitUsd: null }));
    const b = await store.getBudget(sb.id);
    assert.deepEqual([b?.aiLimitUsd, b?.computeLimitUsd, b?.aiWarned, b?.computeSpentUsd], [1, null, false, 0]);
    await Promise.all([store.addToBudgetLimits(sb.id, { aiUsd: 2 }), store.addToBudgetLimits(sb.id, { aiUsd: 0.5 })]);
    close((await store.getBudget(sb.id))!.aiLimitUsd!, 3.5);
    await assert.rejects(store.addToBudgetLimits(sb.id, { aiUsd: 1, computeUsd: 1 }), kmError('invalid_state', /demo has no compute limit; nothing to top up/));
    close((await store.getBudget(sb.id))!.aiLimitUsd!, 3.5);
    await assert.rejects(store.addToBudgetLimits(sb.id, {}), kmError('usage', /nothing to add/));
    await assert.rejects(store.addToBudgetLimits(sb.id, { aiUsd: -1 }), kmError('usage', /positive/));
    await assert.rejects(store.addToBudgetLimits('sb-ffffffff', { aiUsd: 1 }), kmError('not_found'));
    assert.equal((await store.getSandbox(sb.id))?.aiLimitUsd, 3.5, 'the sandbox record shows current limits');
    const set = await store.setBudgetLimits(sb.id, { computeLimitUsd: 4, warningThreshold: 0.5 });
    assert.deepEqual([set.computeLimitUsd, set.warningThreshold, set.aiLimitUsd], [4, 0.5, 3.5]);
  });

  test('commitUsage writes like upsertUsage and returns the budget with the AI total as of that commit', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput({ aiLimitUsd: 2 }));
    assert.equal(await store.aiBudget('sb-ffffffff'), undefined, 'no sandbox, no budget');
    const first = await store.commitUsage(sb.id, 'x1', usage({ costUsd: 0.25, partial: true }));
    assert.deepEqual(first?.budget, await store.getBudget(sb.id));
    close(first!.aiSpentUsd, 0.25);
    close(first!.deltaUsd, 0.25);
    const replaced = await store.commitUsage(sb.id, 'x1', usage({ costUsd: 0.75 }));
    close(replaced!.aiSpentUsd, 0.75);
    close(replaced!.deltaUsd, 0.5);
    const again = await store.commitUsage(sb.id, 'x1', usage({ costUsd: 0.75 }));
    close(again!.deltaUsd, 0);
    const second = await store.commitUsage(sb.id, 'x2', usage({ costUsd: 0.5 }));
    close(second!.aiSpentUsd, 1.25);
    close(second!.deltaUsd, 0.5);
    assert.deepEqual((await store.listUsage(sb.id)).map((r) => [r.exchangeId, r.costUsd, r.partial]), [['x1', 0.75, false], ['x2', 0.5, false]]);
    const read = await store.aiBudget(sb.id);
    close(read!.aiSpentUsd, await store.aiSpentUsd(sb.id));
    assert.equal(read!.budget.aiLimitUsd, 2);
    // Invalid figures are refused before anything is written.
    await assert.rejects(store.commitUsage(sb.id, 'x3', usage({ costUsd: -1 })), /costUsd/);
    assert.equal((await store.listUsage(sb.id)).length, 2);
  });

  test('warning flags flip once per caller', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput({ aiLimitUsd: 1 }));
    const flips = await Promise.all([1, 2, 3].map(() => store.setBudgetWarned(sb.id, 'ai', true)));
    assert.deepEqual(flips.filter(Boolean).length, 1);
    assert.equal((await store.getBudget(sb.id))?.aiWarned, true);
    assert.equal((await store.getBudget(sb.id))?.computeWarned, false);
    assert.equal(await store.setBudgetWarned(sb.id, 'ai', false), true, 're-armed');
    assert.equal(await store.setBudgetWarned(sb.id, 'ai', false), false);
  });

  test('compute time is charged at the current rate', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput({ computeLimitUsd: 1 }));
    await store.addComputeTime(sb.id, { runningS: 3600 });
    await store.setComputeRate(sb.id, 0.36, 'profile');
    await store.addComputeTime(sb.id, { runningS: 1800, pausedS: 600 });
    const b = await store.addComputeTime(sb.id, { runningS: 1800 });
    assert.deepEqual([b.runningS, b.pausedS, b.computeRatePerHourUsd, b.computeRateSource], [7200, 600, 0.36, 'profile']);
    close(b.computeSpentUsd, 0.36);
    await assert.rejects(store.setComputeRate('sb-ffffffff', 1, 'x'), kmError('not_found'));
  });
}
