/** Contract: telemetry rows (SPEC §13.4) — per-sandbox attribution, filters, counts, purge. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fresh, sandboxInput, T0, type OpenStore } from './contract-helpers.ts';
import type { NewTelemetry } from './telemetry.ts';

const rec = (sandboxId: string, signal: NewTelemetry['signal'], name: string, atMs: number, data: Record<string, unknown> = {}): NewTelemetry => ({
  sandboxId,
  signal,
  name,
  timestampMs: atMs,
  receivedAtMs: T0 + 10_000,
  data,
});

export function telemetryContract(open: OpenStore): void {
  test('telemetry: per-sandbox rows in time order, filters by signal, name and time, counts, delete', async (t) => {
    const store = await fresh(t, open);
    assert.equal(await store.appendTelemetry([]), 0);
    const n = await store.appendTelemetry([
      rec('sb-a', 'logs', 'claude_code.api_request', T0 + 3, { attributes: { cost_usd: 0.5, nested: { list: [1, 'x'] } } }),
      rec('sb-a', 'metrics', 'claude_code.cost.usage', T0 + 1, { value: 0.25 }),
      rec('sb-a', 'logs', 'claude_code.user_prompt', T0 + 1, { attributes: { prompt: 'hi' } }),
      rec('sb-b', 'traces', 'span', T0 + 2),
    ]);
    assert.equal(n, 4);
    const all = await store.queryTelemetry({ sandboxId: 'sb-a' });
    assert.deepEqual(all.map((r) => r.name), ['claude_code.cost.usage', 'claude_code.user_prompt', 'claude_code.api_request'], 'time order, ties in append order');
    assert.deepEqual(all[2]?.data, { attributes: { cost_usd: 0.5, nested: { list: [1, 'x'] } } }, 'data round-trips');
    assert.deepEqual((await store.queryTelemetry({ sandboxId: 'sb-a', signals: ['logs'] })).map((r) => r.name), ['claude_code.user_prompt', 'claude_code.api_request']);
    assert.deepEqual((await store.queryTelemetry({ sandboxId: 'sb-a', names: ['claude_code.api_request'] })).length, 1);
    assert.deepEqual((await store.queryTelemetry({ sandboxId: 'sb-a', sinceMs: T0 + 2 })).map((r) => r.name), ['claude_code.api_request']);
    assert.equal((await store.queryTelemetry({ sandboxId: 'sb-a', limit: 1 })).length, 1);
    assert.deepEqual(await store.telemetryCounts('sb-a'), [
      { signal: 'logs', count: 2, lastAtMs: T0 + 3 },
      { signal: 'metrics', count: 1, lastAtMs: T0 + 1 },
    ]);
    assert.deepEqual(await store.telemetryCounts('sb-a', { sinceMs: T0 + 2 }), [{ signal: 'logs', count: 1, lastAtMs: T0 + 3 }]);
    assert.deepEqual(await store.telemetryCounts('sb-c'), []);
    assert.equal(await store.deleteTelemetry('sb-a'), 3);
    assert.deepEqual(await store.queryTelemetry({ sandboxId: 'sb-a' }), []);
    assert.equal((await store.queryTelemetry({ sandboxId: 'sb-b' })).length, 1, 'other sandboxes keep theirs');
  });

  test('telemetry: purgeSandbox removes the sandbox\'s telemetry', async (t) => {
    const store = await fresh(t, open);
    const sb = await store.insertSandbox(sandboxInput());
    const keep = await store.insertSandbox(sandboxInput());
    await store.appendTelemetry([rec(sb.id, 'logs', 'x', T0), rec(keep.id, 'logs', 'y', T0)]);
    await store.purgeSandbox(sb.id);
    assert.deepEqual([(await store.queryTelemetry({ sandboxId: sb.id })).length, (await store.queryTelemetry({ sandboxId: keep.id })).length], [0, 1]);
  });
}
