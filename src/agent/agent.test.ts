import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARGV_PROMPT_LIMIT, bedrockEnvironment, buildAgentCommand } from './commands.ts';
import { parseAgentResult } from './results.ts';

const hostile = `it's "quoted" $(rm -rf /) \`id\` ; echo $HOME\nline2 && exit 1`;

test('the prompt is one argv element, verbatim, for every agent', () => {
  const base = { promptPath: '/workspace/.km-agent/runs/r/prompt.txt', profileArgs: ['--model', 'p'], userArgs: ['--model', 'u'] };
  const c = buildAgentCommand({ agent: 'claude', prompt: hostile, ...base });
  assert.deepEqual(c.argv, ['claude', '-p', hostile, '--output-format', 'json', '--dangerously-skip-permissions', '--model', 'p', '--model', 'u']);
  assert.equal(c.stdinPath, null);
  const x = buildAgentCommand({ agent: 'codex', prompt: hostile, ...base });
  assert.deepEqual(x.argv, ['codex', 'exec', '--json', '--dangerously-bypass-approvals-and-sandbox', '--model', 'p', '--model', 'u', hostile]);
  const g = buildAgentCommand({ agent: 'goose', prompt: hostile, gooseJson: true, ...base, profileArgs: [], userArgs: [] });
  assert.deepEqual(g.argv, ['goose', 'run', '--text', hostile, '--output-format', 'json']);
});

test('prompts over 100 KB go through stdin or a file; over 1 MiB are refused', () => {
  const big = 'x'.repeat(ARGV_PROMPT_LIMIT + 1);
  const base = { promptPath: '/p', profileArgs: [], userArgs: [] };
  const c = buildAgentCommand({ agent: 'claude', prompt: big, ...base });
  assert.ok(!c.argv.includes(big));
  assert.equal(c.stdinPath, '/p');
  assert.equal(buildAgentCommand({ agent: 'codex', prompt: big, ...base }).argv.at(-1), '-');
  assert.deepEqual(buildAgentCommand({ agent: 'goose', prompt: big, ...base }).argv.slice(0, 4), ['goose', 'run', '--instructions', '/p']);
  assert.throws(() => buildAgentCommand({ agent: 'claude', prompt: 'y'.repeat(1024 * 1024 + 1), ...base }), RangeError);
});

test('Bedrock variables: injected with useBedrock, all removed by --no-bedrock', () => {
  const on = bedrockEnvironment({}, { useBedrock: true, noBedrock: false, region: 'us-east-1', agent: 'claude' });
  assert.deepEqual(on, { CLAUDE_CODE_USE_BEDROCK: '1', AWS_REGION: 'us-east-1' });
  const profileEnv = {
    CLAUDE_CODE_USE_BEDROCK: '1',
    ANTHROPIC_BASE_URL: 'https://bedrock-runtime.us-east-1.amazonaws.com',
    ANTHROPIC_DEFAULT_OPUS_MODEL: 'us.anthropic.claude-opus-4-6-v1',
    GOOSE_PROVIDER: 'aws_bedrock',
    GOOSE_MODEL: 'us.anthropic.claude-opus-4-6-v1',
    KEEP: 'me',
  };
  assert.deepEqual(bedrockEnvironment(profileEnv, { useBedrock: true, noBedrock: true, region: 'us-east-1', agent: 'goose' }), { KEEP: 'me' });
  assert.deepEqual(bedrockEnvironment({ GOOSE_MODEL: 'gpt-4o', GOOSE_PROVIDER: 'openai' }, { useBedrock: false, noBedrock: true, region: 'r', agent: 'goose' }), { GOOSE_MODEL: 'gpt-4o', GOOSE_PROVIDER: 'openai' });
});

test('Claude Code JSON result is kept untouched and its usage read', () => {
  const out = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'All 42 tests pass.', total_cost_usd: 0.0381, session_id: 's', usage: { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 30, cache_creation_input_tokens: 40 } });
  const r = parseAgentResult('claude', `some noise\n${out}\n`);
  assert.equal(r.parsed, true);
  assert.equal(r.doc.result, 'All 42 tests pass.');
  assert.equal(r.doc.total_cost_usd, 0.0381);
  assert.equal(r.doc.subtype, 'success');
  assert.deepEqual(r.selfReported, { input_tokens: 10, output_tokens: 20, cache_read_tokens: 30, cache_write_tokens: 40 });
});

test('Claude Code self-reported usage: modelUsage summed over every model when present', () => {
  const out = JSON.stringify({
    type: 'result', result: 'ok', usage: { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 30, cache_creation_input_tokens: 40 },
    modelUsage: {
      'claude-opus-5-5': { inputTokens: 10, outputTokens: 20, cacheReadInputTokens: 30, cacheCreationInputTokens: 40, costUSD: 0.1 },
      'claude-haiku-4-5': { inputTokens: 5, outputTokens: 1, cacheReadInputTokens: 0, cacheCreationInputTokens: 2, costUSD: 0.001 },
    },
  });
  assert.deepEqual(parseAgentResult('claude', out).selfReported, { input_tokens: 15, output_tokens: 21, cache_read_tokens: 30, cache_write_tokens: 42 });
});

test('Codex JSONL events normalise to a result with usage (current and older formats)', () => {
  const cur = [
    { type: 'thread.started', thread_id: 't' },
    { type: 'item.completed', item: { id: 'i0', type: 'reasoning', text: 'thinking' } },
    { type: 'item.completed', item: { id: 'i1', type: 'agent_message', text: 'Done: fixed 2 tests' } },
    { type: 'turn.completed', usage: { input_tokens: 100, cached_input_tokens: 40, output_tokens: 7 } },
  ].map((e) => JSON.stringify(e)).join('\n');
  const r = parseAgentResult('codex', cur);
  assert.deepEqual(r.doc, { type: 'result', result: 'Done: fixed 2 tests', usage: { input_tokens: 100, output_tokens: 7, cache_read_tokens: 40, cache_write_tokens: 0 } });
  const old = [{ id: '0', msg: { type: 'agent_message', message: 'old style' } }, { id: '0', msg: { type: 'token_count', input_tokens: 5, output_tokens: 6 } }].map((e) => JSON.stringify(e)).join('\n');
  assert.equal(parseAgentResult('codex', old).doc.result, 'old style');
});

test('unparseable output gives result null and the raw tail', () => {
  const r = parseAgentResult('claude', 'Error: something broke\n');
  assert.equal(r.parsed, false);
  assert.equal(r.doc.result, null);
  assert.equal(r.doc.raw_output_tail, 'Error: something broke\n');
});

test('Goose JSON and text output', () => {
  const j = JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }] }, { role: 'assistant', content: [{ type: 'text', text: 'answer' }] }], metadata: { input_tokens: 3, output_tokens: 4 } });
  const r = parseAgentResult('goose', j);
  assert.equal(r.doc.result, 'answer');
  assert.deepEqual(r.selfReported, { input_tokens: 3, output_tokens: 4, cache_read_tokens: 0, cache_write_tokens: 0 });
  assert.equal(parseAgentResult('goose', '\x1b[32mstarting session\x1b[0m\nThe answer is 4\n').doc.result, 'starting session\nThe answer is 4');
});
