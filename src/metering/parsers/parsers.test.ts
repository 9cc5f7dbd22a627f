import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { classifyAiRequest, createUsageParser, ensureStreamUsage, normaliseBedrockModel, type UsageParser, type UsageSnapshot } from './index.ts';
import { createSseDecoder } from './sse.ts';

const SSE = { 'content-type': 'text/event-stream; charset=utf-8' };
const JSONCT = { 'content-type': 'application/json' };

/** Feeds `body` in chunks of `size` bytes and returns every snapshot plus the final one. */
function run(parser: UsageParser, body: Uint8Array, size: number): { updates: UsageSnapshot[]; final: UsageSnapshot } {
  const updates: UsageSnapshot[] = [];
  for (let i = 0; i < body.byteLength; i += size) {
    const s = parser.push(body.subarray(i, i + size));
    if (s) updates.push(s);
  }
  return { updates, final: parser.end() };
}

const sse = (events: Array<[string, unknown]>): Buffer =>
  Buffer.from(events.map(([e, d]) => `event: ${e}\ndata: ${typeof d === 'string' ? d : JSON.stringify(d)}\n\n`).join(''));

test('SSE decoder handles CRLF, comments, multi-line data and split boundaries', () => {
  const text = ': ping\r\nevent: a\r\ndata: 1\r\ndata: 2\r\n\r\ndata: x\n\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const d = createSseDecoder();
    const got = [...d.push(text.slice(0, cut)), ...d.push(text.slice(cut)), ...d.end()];
    assert.deepEqual(got, [{ event: 'a', data: '1\n2' }, { event: 'message', data: 'x' }], `cut at ${cut}`);
  }
});

test('Anthropic SSE: message_start then cumulative message_delta, any chunking', () => {
  const body = sse([
    ['message_start', { type: 'message_start', message: { id: 'm', model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 2000, cache_creation_input_tokens: 400, cache_read_input_tokens: 1000, output_tokens: 1, cache_creation: { ephemeral_5m_input_tokens: 300, ephemeral_1h_input_tokens: 100 } } } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 800 } }],
    ['message_stop', { type: 'message_stop' }],
  ]);
  for (const size of [1, 7, 64, body.byteLength]) {
    const { updates, final } = run(createUsageParser({ provider: 'anthropic', api: 'messages' }, { status: 200, headers: SSE }), body, size);
    if (size < body.byteLength) {
      assert.ok(updates.length >= 2, 'an update as soon as usage is seen, and again at the delta');
      assert.equal(updates[0]?.complete, false);
    }
    assert.equal(updates[0]?.usage.inputTokens, 2000);
    assert.deepEqual(final.usage, { inputTokens: 2000, outputTokens: 800, cacheWriteTokens: 300, cacheWrite1hTokens: 100, cacheReadTokens: 1000, cachedInputTokens: 0, reasoningTokens: 0 });
    assert.equal(final.model, 'claude-sonnet-4-5-20250929');
    assert.equal(final.complete, true);
  }
});

test('Anthropic JSON response', () => {
  const body = Buffer.from(JSON.stringify({ id: 'm', model: 'claude-haiku-4-5', usage: { input_tokens: 12, output_tokens: 34, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 } }));
  const { updates, final } = run(createUsageParser({ provider: 'anthropic', api: 'messages' }, { status: 200, headers: JSONCT }), body, 10);
  assert.equal(updates.length, 0);
  assert.equal(final.seen, true);
  assert.equal(final.usage.inputTokens, 12);
  assert.equal(final.usage.outputTokens, 34);
  assert.equal(final.usage.cacheReadTokens, 5);
});

test('a response without usage is reported as not seen', () => {
  const { final } = run(createUsageParser({ provider: 'anthropic', api: 'messages' }, { status: 500, headers: JSONCT }), Buffer.from('{"type":"error"}'), 4);
  assert.equal(final.seen, false);
});

test('OpenAI chat stream: usage in the final chunk, [DONE] ignored', () => {
  const body = Buffer.from(
    [
      { id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null },
      { id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-2024-08-06', choices: [], usage: { prompt_tokens: 900, completion_tokens: 120, total_tokens: 1020, prompt_tokens_details: { cached_tokens: 512 }, completion_tokens_details: { reasoning_tokens: 30 } } },
    ]
      .map((d) => `data: ${JSON.stringify(d)}\n\n`)
      .join('') + 'data: [DONE]\n\n',
  );
  const { final } = run(createUsageParser({ provider: 'openai', api: 'chat' }, { status: 200, headers: SSE }), body, 13);
  assert.deepEqual(final.usage, { inputTokens: 900, outputTokens: 120, cacheWriteTokens: 0, cacheWrite1hTokens: 0, cacheReadTokens: 0, cachedInputTokens: 512, reasoningTokens: 30 });
  assert.equal(final.model, 'gpt-4o-2024-08-06');
});

test('OpenAI Responses stream: response.completed usage', () => {
  const body = sse([
    ['response.created', { type: 'response.created', response: { model: 'gpt-5', usage: null } }],
    ['response.output_text.delta', { type: 'response.output_text.delta', delta: 'x' }],
    ['response.completed', { type: 'response.completed', response: { model: 'gpt-5', usage: { input_tokens: 50, input_tokens_details: { cached_tokens: 10 }, output_tokens: 70, output_tokens_details: { reasoning_tokens: 64 } } } }],
  ]);
  const { final } = run(createUsageParser({ provider: 'openai', api: 'responses' }, { status: 200, headers: SSE }), body, 9);
  assert.equal(final.usage.inputTokens, 50);
  assert.equal(final.usage.cachedInputTokens, 10);
  assert.equal(final.usage.outputTokens, 70);
  assert.equal(final.usage.reasoningTokens, 64);
  assert.equal(final.seen, true);
});

test('ensureStreamUsage adds include_usage only to streaming requests lacking it', () => {
  assert.deepEqual(ensureStreamUsage({ model: 'm', stream: true }), { model: 'm', stream: true, stream_options: { include_usage: true } });
  assert.equal(ensureStreamUsage({ model: 'm', stream: true, stream_options: { include_usage: true } }), undefined);
  assert.equal(ensureStreamUsage({ model: 'm' }), undefined);
});

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const frame = (eventType: string, payload: unknown): Uint8Array =>
  codec.encode({
    headers: { ':event-type': { type: 'string', value: eventType }, ':message-type': { type: 'string', value: 'event' }, ':content-type': { type: 'string', value: 'application/json' } },
    body: fromUtf8(JSON.stringify(payload)),
  });
const chunk = (inner: unknown) => frame('chunk', { bytes: Buffer.from(JSON.stringify(inner)).toString('base64') });

test('Bedrock InvokeModelWithResponseStream: Anthropic events inside event-stream frames', () => {
  const body = Buffer.concat([
    chunk({ type: 'message_start', message: { model: 'claude', usage: { input_tokens: 11, output_tokens: 1, cache_read_input_tokens: 3 } } }),
    chunk({ type: 'content_block_delta', delta: { text: 'x' } }),
    chunk({ type: 'message_delta', usage: { output_tokens: 42 } }),
    chunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 11, outputTokenCount: 42, invocationLatency: 5, firstByteLatency: 2 } }),
  ]);
  for (const size of [1, 5, 100]) {
    const route = classifyAiRequest('bedrock-runtime.us-east-1.amazonaws.com', 'POST', '/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke-with-response-stream');
    assert.deepEqual(route, { provider: 'bedrock', api: 'invoke-with-response-stream', model: 'anthropic.claude-sonnet-4-20250514-v1:0' });
    const { final } = run(createUsageParser(route!, { status: 200, headers: {} }), body, size);
    assert.equal(final.usage.inputTokens, 11);
    assert.equal(final.usage.outputTokens, 42);
    assert.equal(final.usage.cacheReadTokens, 3);
    assert.equal(final.complete, true);
  }
});

test('Bedrock ConverseStream metadata and Converse JSON usage', () => {
  const body = Buffer.concat([
    frame('messageStart', { role: 'assistant' }),
    frame('contentBlockDelta', { delta: { text: 'x' }, contentBlockIndex: 0 }),
    frame('metadata', { usage: { inputTokens: 7, outputTokens: 9, totalTokens: 16, cacheReadInputTokens: 2, cacheWriteInputTokens: 4 }, metrics: { latencyMs: 3 } }),
  ]);
  const route = classifyAiRequest('bedrock-runtime.eu-west-1.amazonaws.com', 'POST', '/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream')!;
  const { final } = run(createUsageParser(route, { status: 200, headers: {} }), body, 3);
  assert.deepEqual([final.usage.inputTokens, final.usage.outputTokens, final.usage.cacheReadTokens, final.usage.cacheWriteTokens], [7, 9, 2, 4]);
  const conv = classifyAiRequest('bedrock-runtime.eu-west-1.amazonaws.com', 'POST', '/model/eu.amazon.nova-pro-v1:0/converse')!;
  const j = run(createUsageParser(conv, { status: 200, headers: JSONCT }), Buffer.from(JSON.stringify({ output: {}, usage: { inputTokens: 5, outputTokens: 6, totalTokens: 11 } })), 4).final;
  assert.equal(j.model, 'amazon.nova-pro-v1:0');
  assert.deepEqual([j.usage.inputTokens, j.usage.outputTokens], [5, 6]);
});

test('Bedrock InvokeModel prefers the token-count headers', () => {
  const route = classifyAiRequest('bedrock-runtime.us-east-1.amazonaws.com', 'POST', '/model/anthropic.claude-sonnet-4-20250514-v1:0/invoke')!;
  const headers = { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': '100', 'x-amzn-bedrock-output-token-count': '200' };
  const { final } = run(createUsageParser(route, { status: 200, headers }), Buffer.from('{"usage":{"input_tokens":1,"output_tokens":2}}'), 8);
  assert.deepEqual([final.usage.inputTokens, final.usage.outputTokens], [100, 200]);
});

test('a corrupted event-stream frame is skipped, later frames still count', () => {
  const good = frame('metadata', { usage: { inputTokens: 1, outputTokens: 2 } });
  const bad = Buffer.from(frame('metadata', { usage: { inputTokens: 99, outputTokens: 99 } }));
  bad[bad.length - 6] = (bad[bad.length - 6] as number) ^ 0xff; // payload byte flipped: message CRC fails
  const route = { provider: 'bedrock', api: 'converse-stream', model: 'm' } as const;
  const { final } = run(createUsageParser(route, { status: 200, headers: {} }), Buffer.concat([bad, good]), 7);
  assert.deepEqual([final.usage.inputTokens, final.usage.outputTokens], [1, 2]);
});

test('request classification', () => {
  assert.deepEqual(classifyAiRequest('api.anthropic.com', 'POST', '/v1/messages?beta=true'), { provider: 'anthropic', api: 'messages' });
  assert.equal(classifyAiRequest('api.anthropic.com', 'GET', '/v1/messages'), undefined);
  assert.equal(classifyAiRequest('api.anthropic.com', 'POST', '/v1/messages/count_tokens'), undefined);
  assert.deepEqual(classifyAiRequest('api.openai.com', 'POST', '/v1/chat/completions'), { provider: 'openai', api: 'chat' });
  assert.deepEqual(classifyAiRequest('api.openai.com', 'POST', '/v1/responses'), { provider: 'openai', api: 'responses' });
  assert.deepEqual(classifyAiRequest('api.openai.com', 'POST', '/v1/embeddings'), { provider: 'openai', api: 'generic' });
  assert.equal(classifyAiRequest('example.com', 'POST', '/v1/messages'), undefined);
  assert.deepEqual(classifyAiRequest('llm.corp.example', 'POST', '/v1/messages', ['llm.corp.example']), { provider: 'anthropic', api: 'messages' });
  assert.equal(normaliseBedrockModel('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-6-v1'), 'anthropic.claude-opus-4-6-v1');
  assert.equal(normaliseBedrockModel('global.anthropic.claude-sonnet-4-5-20250929-v1%3A0'), 'anthropic.claude-sonnet-4-5-20250929-v1:0');
});
