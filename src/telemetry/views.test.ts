import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TelemetryRecord, UsageTotal } from '../store/index.ts';
import { eventsJson, promptsJson, renderSummary, renderTools, selfReported, summaryJson, timelineJson, toolsJson } from './index.ts';

const T = Date.UTC(2027, 2, 3, 8, 0, 0);
let seq = 0;
const log = (at: number, event: string, attributes: Record<string, unknown>, named = true): TelemetryRecord => ({
  seq: ++seq, sandboxId: 'sb-1', signal: 'logs', timestampMs: T + at * 1000, receivedAtMs: T + at * 1000,
  name: named ? `claude_code.${event}` : 'some body text', data: { attributes: { 'event.name': event, 'session.id': 's1', ...attributes }, resource: {} },
});
const metric = (at: number, name: string, value: number, attributes: Record<string, unknown>, temporality: string, startMs = 0): TelemetryRecord => ({
  seq: ++seq, sandboxId: 'sb-1', signal: 'metrics', timestampMs: T + at * 1000, receivedAtMs: T, name, data: { value, attributes, temporality, start_ms: startMs },
});

const session = [
  log(0, 'user_prompt', { prompt: 'fix the failing test', prompt_length: 20 }),
  log(1, 'api_request', { model: 'claude-sonnet-4-5', cost_usd: 0.01, input_tokens: 1000, output_tokens: 50, cache_read_tokens: 200, cache_creation_tokens: 10, duration_ms: 900 }),
  log(2, 'tool_decision', { tool_name: 'Bash', decision: 'accept', source: 'config' }),
  log(3, 'tool_result', { tool_name: 'Bash', success: 'true', duration_ms: 120, tool_result_size_bytes: 512, tool_parameters: JSON.stringify({ command: 'npm test' }) }, false),
  log(4, 'api_error', { model: 'claude-sonnet-4-5', error: 'overloaded', status_code: '529', attempt: 1 }),
  log(5, 'api_request', { model: 'claude-haiku-4-5', cost_usd: 0.002, input_tokens: 300, output_tokens: 20 }),
  log(6, 'user_prompt', { prompt: '<command-name>/cost</command-name>', prompt_length: 30 }),
  log(10, 'user_prompt', { prompt: 'now commit', prompt_length: 10 }),
  log(12, 'tool_result', { tool_name: 'Edit', success: 'false', error: 'file changed', duration_ms: 5, tool_result_size_bytes: 0 }),
  log(13, 'api_request', { model: 'claude-sonnet-4-5', cost_usd: 0.03, input_tokens: 2000, output_tokens: 80 }),
];

const ledger: UsageTotal[] = [{
  provider: 'anthropic', model: 'claude-sonnet-4-5', requests: 3, inputTokens: 3300, outputTokens: 150, cacheWriteTokens: 10, cacheReadTokens: 200,
  cachedInputTokens: 0, reasoningTokens: 0, costUsd: 0.045, priced: 'table', missingUsage: 0, partial: 0,
}];

test('self-reported cost comes from api_request events, else from delta or cumulative metrics', () => {
  const s = selfReported(session)!;
  assert.equal(s.source, 'events');
  assert.ok(Math.abs(s.costUsd - 0.042) < 1e-9);
  assert.deepEqual([s.inputTokens, s.outputTokens, s.cacheReadTokens], [3300, 150, 200]);
  assert.deepEqual(s.models.map((m) => [m.model, m.requests]), [['claude-haiku-4-5', 1], ['claude-sonnet-4-5', 2]]);
  const delta = selfReported([metric(1, 'claude_code.cost.usage', 0.1, { model: 'm' }, 'delta'), metric(2, 'claude_code.cost.usage', 0.2, { model: 'm' }, 'delta')])!;
  assert.equal(delta.source, 'metrics');
  assert.ok(Math.abs(delta.costUsd - 0.3) < 1e-9);
  const cumulative = selfReported([
    metric(1, 'claude_code.cost.usage', 0.1, { model: 'm' }, 'cumulative'),
    metric(2, 'claude_code.cost.usage', 0.25, { model: 'm' }, 'cumulative'),
    metric(2, 'claude_code.token.usage', 700, { model: 'm', type: 'input' }, 'cumulative'),
  ])!;
  assert.ok(Math.abs(cumulative.costUsd - 0.25) < 1e-9, 'a cumulative series counts its latest value once');
  assert.equal(cumulative.inputTokens, 700);
  assert.equal(selfReported([]), undefined);
});

test('summary: ledger next to the agent, counts per signal, the no-telemetry note', () => {
  const s = summaryJson('sb-1', 'demo', ledger, [{ signal: 'logs', count: 10, lastAtMs: T + 13_000 }], session);
  assert.equal(s.ledger.total_usd, 0.045);
  assert.equal(s.self_reported?.cost_usd, 0.042);
  assert.equal(s.self_reported?.difference_usd, -0.003);
  assert.deepEqual(s.telemetry, { logs: { count: 10, latest: '2027-03-03T08:00:13Z' } });
  const text = renderSummary(s, 'demo', 'UTC');
  assert.match(text, /AI spend of demo \(ledger, metered by the gateway\): \$0\.0450/);
  assert.match(text, /Agent self-reported \(from claude_code\.api_request events\): \$0\.0420 \(ledger \$0\.0450, difference -\$0\.0030\)/);
  const none = summaryJson('sb-1', 'demo', ledger, [], []);
  assert.equal(none.note, 'no telemetry received from demo (is observability.claudeTelemetry.enabled set?)');
  assert.match(renderSummary(none, 'demo', 'UTC'), /\$0\.0450\n[\s\S]*no telemetry received from demo \(is observability\.claudeTelemetry\.enabled set\?\)\n$/);
});

test('prompts drop internal ones; events are chronological; tools carry the key parameter; timeline groups turns', () => {
  assert.deepEqual(promptsJson(session).map((p) => p.prompt), ['fix the failing test', 'now commit']);
  const ev = eventsJson(session);
  assert.deepEqual(ev.map((e) => e.event), ['user_prompt', 'api_request', 'tool_decision', 'tool_result', 'api_error', 'api_request', 'user_prompt', 'tool_result', 'api_request']);
  const tools = toolsJson(session);
  assert.deepEqual(tools.map((t) => [t.tool, t.parameter, t.success]), [['Bash', 'npm test', true], ['Edit', null, false]]);
  assert.match(renderTools(tools, 'demo'), /2 tool calls, 1 failed\n$/);
  const tl = timelineJson(session);
  assert.deepEqual(tl.turns.map((t) => [t.prompt, t.api_requests, t.tool_calls, t.errors, t.cost_usd, t.duration_s]), [
    ['fix the failing test', 2, 1, 1, 0.012, 5],
    ['now commit', 1, 1, 0, 0.03, 3],
  ]);
  assert.equal(tl.total_cost_usd, 0.042);
});

test('prompts, tool parameters and errors the agent reported are shown with control characters escaped', () => {
  const records = [
    log(0, 'user_prompt', { prompt: 'hi\x1b[2J', prompt_length: 6 }),
    log(1, 'tool_result', { tool_name: 'Bash\x1b[8m', success: 'false', error: 'bad\x07', duration_ms: 1, tool_result_size_bytes: 0, tool_parameters: JSON.stringify({ command: 'ls\x1b]0;x\x07' }) }),
  ];
  const text = renderTools(toolsJson(records), 'demo');
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f]/, JSON.stringify(text));
  assert.match(text, /Bash\\x1b\[8m/);
  assert.match(text, /ls\\x1b\]0;x\\x07/);
});
