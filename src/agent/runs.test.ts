/**
 * The run service's decisions against a real SQLite store: usage attribution (exact by run
 * id, else the time window), the mismatch check, denials and budget in the `km` object, the
 * final status (budget_exhausted only after an AI-budget denial), teardown of the sandbox
 * under a run, queued prompts, and the run environment.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createManualClock } from '../core/clock.ts';
import { basicSpec, profileOf } from '../sandbox/test-harness.ts';
import { openSqliteStore, type RunRecord, type SandboxRecord, type Store } from '../store/index.ts';
import type { Substrate } from '../substrate/index.ts';
import { kmObject, meteredUsage, runEvents, usageMismatch } from './compose.ts';
import { exitCodeOf, runningDocument } from './documents.ts';
import { queuePrompts, startNextQueued } from './queue.ts';
import { finalStatus, isOpen, runEnvironment } from './runs.ts';
import { createRunWatcher } from './watcher.ts';
import { parseAgentResult } from './results.ts';

const T0 = Date.parse('2027-03-03T08:15:02Z');

async function setup(t: TestContext, spec = basicSpec()): Promise<{ store: Store; sandbox: SandboxRecord; clock: ReturnType<typeof createManualClock> }> {
  const dir = mkdtempSync(join(tmpdir(), 'km-agent-runs-'));
  const clock = createManualClock(T0);
  const store = await openSqliteStore(join(dir, 'km.db'), { clock });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const p = profileOf('agentunit', spec);
  const sandbox = await store.insertSandbox({
    id: 'sb-5e0c9a12', alias: 'demo', profileName: p.name, profile: p.profile, substrate: 'local', status: 'running',
    createdAtMs: T0 - 60_000, teardownPolicy: 'destroy', enforcementRequested: 'proxy', createdBy: 'cli', aiLimitUsd: 2,
  });
  return { store, sandbox, clock };
}

const usage = (over: Partial<Parameters<Store['upsertUsage']>[2]> = {}) => ({
  provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1200, outputTokens: 34, cacheWriteTokens: 300, cacheReadTokens: 500,
  cachedInputTokens: 0, reasoningTokens: 0, costUsd: 0.0381, priced: 'table' as const, partial: false, atMs: T0 + 1000, ...over,
});

const claudeOut = JSON.stringify({ type: 'result', result: 'All 42 tests pass.', total_cost_usd: 0.0381, usage: { input_tokens: 1200, output_tokens: 34, cache_read_input_tokens: 500, cache_creation_input_tokens: 300 } });

async function started(store: Store, sandbox: SandboxRecord, atMs = T0): Promise<RunRecord> {
  return store.createRun(sandbox.id, { agent: 'claude', prompt: 'run the tests', status: 'running', atMs });
}

test('usage: rows carrying the run id are exact; otherwise the run\'s time window', async (t) => {
  const { store, sandbox } = await setup(t);
  const run = { ...(await started(store, sandbox)), startedAtMs: T0, endedAtMs: T0 + 10_000 };
  await store.upsertUsage(sandbox.id, 'x-other', usage({ atMs: T0 + 2000, inputTokens: 7 }));
  const window = await meteredUsage(store, sandbox.id, run, T0 + 10_000);
  assert.deepEqual([window.attribution, window.requests, window.input_tokens], ['window', 1, 7]);
  await store.upsertUsage(sandbox.id, 'x-run', usage({ runId: run.runId }));
  const exact = await meteredUsage(store, sandbox.id, run, T0 + 10_000);
  assert.deepEqual(
    [exact.attribution, exact.requests, exact.input_tokens, exact.output_tokens, exact.cache_read_tokens, exact.cache_write_tokens, exact.cost_usd],
    ['exact', 1, 1200, 34, 500, 300, 0.0381],
  );
  const parsed = parseAgentResult('claude', claudeOut);
  assert.equal(usageMismatch(parsed.selfReported, exact), false);
  assert.equal(usageMismatch(parsed.selfReported, window), true);
  assert.equal(usageMismatch(null, window), false, 'nothing self-reported: nothing to compare');
});

test('km object: denials in the run\'s window, budget, times; budget_exhausted needs an AI-budget denial', async (t) => {
  const { store, sandbox } = await setup(t);
  const run = { ...(await started(store, sandbox)), startedAtMs: T0, endedAtMs: T0 + 48_210, exitCode: 1 };
  await store.appendEvents([
    { timestampMs: T0 - 5000, sandboxId: sandbox.id, eventType: 'http.request', source: 'gateway', detail: { decision: 'deny', host: 'before.test' } },
    { timestampMs: T0 + 1000, sandboxId: sandbox.id, eventType: 'http.request', source: 'gateway', detail: { decision: 'deny', host: 'evil.test', error: 'host_not_allowed' } },
    { timestampMs: T0 + 2000, sandboxId: sandbox.id, eventType: 'http.request', source: 'gateway', detail: { decision: 'allow', host: 'api.anthropic.com' } },
  ]);
  const events = await runEvents(store, sandbox.id, run, T0 + 48_210);
  assert.equal(finalStatus('failed', 1, events.some((e) => e.detail.error === 'ai_budget_exhausted')), 'failed');
  await store.appendEvents([{ timestampMs: T0 + 3000, sandboxId: sandbox.id, eventType: 'http.request', source: 'gateway', detail: { decision: 'deny', host: 'api.anthropic.com', error: 'ai_budget_exhausted', rule: 'budget.ai.maxSpendUSD' } }]);
  const after = await runEvents(store, sandbox.id, run, T0 + 48_210);
  const metered = await meteredUsage(store, sandbox.id, run, T0 + 48_210);
  const km = kmObject({ sandbox, run: { ...run, status: 'budget_exhausted' }, parsed: null, events: after, metered, budget: { aiSpentUsd: 2.0001, aiLimitUsd: 2, computeSpentUsd: 0.11, computeLimitUsd: 1 } });
  assert.deepEqual(
    [km.policy_denials, km.duration_ms, km.started_at, km.ended_at, km.status],
    [2, 48_210, '2027-03-03T08:15:02Z', '2027-03-03T08:15:50Z', 'budget_exhausted'],
  );
  assert.deepEqual(km.budget, { ai_spent_usd: 2.0001, ai_limit_usd: 2, compute_spent_usd: 0.11, compute_limit_usd: 1, stopped_by: 'ai' });
});

test('final status and --wait exit codes', () => {
  assert.equal(finalStatus('succeeded', 0, true), 'succeeded', 'a denial without a failure changes nothing');
  assert.equal(finalStatus('failed', 1, true), 'budget_exhausted');
  assert.equal(finalStatus('timed_out', 143, true), 'timed_out');
  assert.equal(finalStatus('cancelled', 130, false), 'cancelled');
  assert.equal(finalStatus('garbage', 0, false), 'failed', 'an unknown launcher status is never success');
  assert.deepEqual(['succeeded', 'failed', 'budget_exhausted', 'timed_out', 'cancelled'].map((s) => exitCodeOf(s as RunRecord['status'])), [0, 1, 3, 4, 5]);
});

/** A substrate that cannot reach anything (the sandbox is gone, or exec fails). */
const deadSubstrate = new Proxy({} as Substrate, { get: (_, k) => (k === 'then' ? undefined : () => Promise.reject(new Error('exec failed: no such sandbox'))) });

test('a sandbox torn down under a run ends it cancelled with the reason; a paused one leaves it running', async (t) => {
  const { store, sandbox, clock } = await setup(t);
  const run = await started(store, sandbox);
  const watcher = createRunWatcher({ store, clock, substrateFor: async () => deadSubstrate });
  await store.transition(sandbox.id, ['running'], 'paused', { pausedBy: 'operator' }, { atMs: T0 + 1000 });
  assert.equal(await watcher.sweep(), 0);
  assert.equal((await store.getRun(sandbox.id, run.runId))?.status, 'running');
  await store.transition(sandbox.id, ['paused'], 'destroying', { statusReason: 'ttl expired' }, { atMs: T0 + 2000 });
  await store.transition(sandbox.id, ['destroying'], 'destroyed', { statusReason: 'ttl expired' }, { atMs: T0 + 3000 });
  clock.set(T0 + 4000);
  assert.equal(await watcher.sweep(), 1);
  const after = await store.getRun(sandbox.id, run.runId);
  assert.deepEqual([after?.status, after?.statusReason, after?.endedAtMs], ['cancelled', 'ttl', T0 + 4000]);
  const doc = runningDocument(sandbox, after!, T0 + 5000) as { km: Record<string, unknown> };
  assert.deepEqual([doc.km.status, doc.km.status_reason, doc.km.duration_ms], ['cancelled', 'ttl', 4000]);
});

test('a budget pause during a run makes it budget_exhausted (not ended): --wait returns, the watcher keeps it open', async (t) => {
  const { store, sandbox, clock } = await setup(t);
  const run = await started(store, sandbox);
  const watcher = createRunWatcher({ store, clock, substrateFor: async () => deadSubstrate });
  await store.transition(sandbox.id, ['running'], 'paused', { pausedBy: 'budget' }, { atMs: T0 + 1000 });
  assert.equal(await watcher.sweep(), 1);
  const r = await store.getRun(sandbox.id, run.runId);
  assert.deepEqual([r?.status, r?.endedAtMs, r?.statusReason], ['budget_exhausted', null, 'the sandbox was paused by its compute budget']);
  assert.equal(isOpen(r!), true);
  assert.equal(exitCodeOf(r!.status), 3);
  await store.transition(sandbox.id, ['paused'], 'stopped', { statusReason: 'operator' }, { atMs: T0 + 2000 });
  await watcher.sweep();
  const after = await store.getRun(sandbox.id, run.runId);
  assert.deepEqual([after?.status, after?.statusReason], ['cancelled', 'sandbox stopped (operator)']);
  assert.equal(isOpen(after!), false);
});

test('queued prompts start in order, one at a time; a failure cancels the rest with "previous run failed"', async (t) => {
  const { store, sandbox, clock } = await setup(t);
  const queued = await queuePrompts(store, sandbox, [{ prompt: 'first' }, { prompt: 'second' }, { prompt: 'third', agent: 'codex' }], clock);
  assert.deepEqual(queued.map((r) => [r.status, r.agent]), [['queued', 'claude'], ['queued', 'claude'], ['queued', 'codex']]);
  assert.equal(new Set(queued.map((r) => r.runId)).size, 3, 'distinct run ids');
  const watcher = createRunWatcher({ store, clock, substrateFor: async () => deadSubstrate });
  assert.equal(await watcher.sweep(), 1, 'the first queued run is tried (and cannot start here)');
  const first = await store.getRun(sandbox.id, queued[0]!.runId);
  assert.equal(first?.status, 'failed');
  assert.match(String(first?.statusReason), /^could not start: exec failed/);
  assert.equal(await watcher.sweep(), 2);
  const rest = await store.listRuns(sandbox.id, { statuses: ['cancelled'] });
  assert.deepEqual(rest.map((r) => [r.runId, r.statusReason]), queued.slice(1).map((r) => [r.runId, 'previous run failed']));
  assert.equal(await watcher.sweep(), 0, 'nothing left to do');
});

test('a queued run waits while another run is running', async (t) => {
  const { store, sandbox, clock } = await setup(t);
  const running = await started(store, sandbox, T0 - 1000);
  const [q] = await queuePrompts(store, sandbox, [{ prompt: 'later' }], clock);
  assert.deepEqual(await startNextQueued({ store, substrate: deadSubstrate, clock }, sandbox), []);
  assert.equal((await store.getRun(sandbox.id, q!.runId))?.status, 'queued');
  assert.equal((await store.getRun(sandbox.id, running.runId))?.status, 'running');
});

test('run environment: the run id as proxy user; Bedrock on with useBedrock, all of it off with --no-bedrock', () => {
  const plain = profileOf('p', basicSpec()).profile;
  const e = runEnvironment(plain, '20270303T081502Z', 'claude', false);
  assert.equal(e.env.HTTPS_PROXY, 'http://20270303T081502Z:x@127.0.0.1:3128');
  assert.equal(e.env.http_proxy, e.env.HTTPS_PROXY);
  assert.equal(e.env.CLAUDE_CODE_USE_BEDROCK, undefined);
  const bedrock = profileOf('b', `${basicSpec()}  execution:\n    useBedrock: true\n    env:\n      ANTHROPIC_DEFAULT_OPUS_MODEL: us.anthropic.claude-opus-4-6-v1\n  runtime:\n    region: eu-west-1\n`).profile;
  const on = runEnvironment(bedrock, 'r', 'goose', false);
  assert.equal(on.env.GOOSE_PROVIDER, 'aws_bedrock');
  assert.deepEqual(on.unset, []);
  const off = runEnvironment(bedrock, 'r', 'claude', true);
  assert.deepEqual(off.unset.sort(), ['ANTHROPIC_DEFAULT_OPUS_MODEL', 'CLAUDE_CODE_USE_BEDROCK']);
  assert.equal(off.env.CLAUDE_CODE_USE_BEDROCK, undefined);
});
