import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createUsageParser, type MeterRoute, type UsageSnapshot } from './index.ts';
import { chunked } from '../testdata/chunks.ts';

const SSE = { status: 200, headers: { 'content-type': 'text/event-stream' } };

function parse(route: MeterRoute, chunks: Buffer[]): { updates: UsageSnapshot[]; final: UsageSnapshot } {
  const p = createUsageParser(route, SSE);
  const updates: UsageSnapshot[] = [];
  for (const c of chunks) {
    const s = p.push(c);
    if (s) updates.push(s);
  }
  return { updates, final: p.end() };
}

const texts = fc.array(fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('usage', 'ünïcödé ✓ 🚀', '"usage":{"output_tokens":1}', 'data: x\n\nevent: y', '\r\n\r\n')), { maxLength: 40 });

/** A Messages stream as the API sends it: usage at the start and at the end, deltas between. */
function anthropicBody(deltas: string[], eol: string, pings: boolean): Buffer {
  const ev = (type: string, data: unknown): string => `event: ${type}${eol}data: ${JSON.stringify(data)}${eol}${eol}`;
  const parts = [ev('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 1234, cache_creation_input_tokens: 56, cache_read_input_tokens: 789, output_tokens: 1 } } })];
  parts.push(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  for (const text of deltas) {
    if (pings) parts.push(`: keep-alive${eol}`, ev('ping', { type: 'ping' }));
    parts.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }));
  }
  parts.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
  parts.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 4321 } }));
  parts.push(ev('message_stop', { type: 'message_stop' }));
  return Buffer.from(parts.join(''));
}

const ANTHROPIC_FINAL = { inputTokens: 1234, outputTokens: 4321, cacheWriteTokens: 56, cacheWrite1hTokens: 0, cacheReadTokens: 789, cachedInputTokens: 0, reasoningTokens: 0 };

test('Anthropic stream split at random points: identical usage, updates at the start and at the end', () => {
  fc.assert(
    fc.property(texts, fc.constantFrom('\n', '\r\n', '\r'), fc.boolean(), fc.array(fc.nat(), { maxLength: 60 }), (deltas, eol, pings, cuts) => {
      const body = anthropicBody(deltas, eol, pings);
      const { updates, final } = parse({ provider: 'anthropic', api: 'messages' }, chunked(body, cuts));
      assert.deepEqual(final.usage, ANTHROPIC_FINAL);
      assert.equal(final.model, 'claude-sonnet-4-5');
      assert.equal(final.complete, true);
      // The message_start figures are reported while the body still streams (unless one chunk holds it all).
      if (updates.length > 0) assert.equal(updates[0]!.usage.inputTokens, 1234);
      assert.deepEqual(updates.at(-1)?.usage, ANTHROPIC_FINAL);
    }),
    { numRuns: 300 },
  );
});

test('Anthropic stream split at every byte boundary (two chunks) and in one-byte chunks', () => {
  const body = anthropicBody(['Hello', ' wörld', 'usage is high', ''], '\n', true);
  for (let cut = 0; cut <= body.length; cut++) {
    const { final } = parse({ provider: 'anthropic', api: 'messages' }, chunked(body, [cut]));
    assert.deepEqual(final.usage, ANTHROPIC_FINAL, `cut at ${cut}`);
  }
  const { updates, final } = parse({ provider: 'anthropic', api: 'messages' }, [...body].map((b) => Buffer.of(b)));
  assert.deepEqual(final.usage, ANTHROPIC_FINAL);
  assert.equal(updates[0]!.complete, false, 'message_start seen before the end');
});

test('OpenAI chat and Responses streams split at random points: identical usage', () => {
  fc.assert(
    fc.property(texts, fc.constantFrom('\n', '\r\n'), fc.array(fc.nat(), { maxLength: 40 }), (deltas, eol, cuts) => {
      const chat = Buffer.from(
        [
          ...deltas.map((content) => ({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta: { content } }], usage: null })),
          { id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o', choices: [], usage: { prompt_tokens: 900, completion_tokens: 120, prompt_tokens_details: { cached_tokens: 512 }, completion_tokens_details: { reasoning_tokens: 30 } } },
        ]
          .map((d) => `data: ${JSON.stringify(d)}${eol}${eol}`)
          .join('') + `data: [DONE]${eol}${eol}`,
      );
      const c = parse({ provider: 'openai', api: 'chat' }, chunked(chat, cuts)).final;
      assert.deepEqual([c.usage.inputTokens, c.usage.outputTokens, c.usage.cachedInputTokens, c.usage.reasoningTokens, c.model], [900, 120, 512, 30, 'gpt-4o']);
      const ev = (type: string, data: unknown): string => `event: ${type}${eol}data: ${JSON.stringify({ type, ...(data as object) })}${eol}${eol}`;
      const responses = Buffer.from(
        [
          ev('response.created', { response: { model: 'gpt-5', usage: null } }),
          ...deltas.map((delta) => ev('response.output_text.delta', { delta })),
          ev('response.completed', { response: { model: 'gpt-5', usage: { input_tokens: 50, input_tokens_details: { cached_tokens: 10 }, output_tokens: 70, output_tokens_details: { reasoning_tokens: 64 } } } }),
        ].join(''),
      );
      const r = parse({ provider: 'openai', api: 'responses' }, chunked(responses, cuts)).final;
      assert.deepEqual([r.usage.inputTokens, r.usage.outputTokens, r.usage.cachedInputTokens, r.usage.reasoningTokens, r.model, r.seen], [50, 70, 10, 64, 'gpt-5', true]);
    }),
    { numRuns: 200 },
  );
});
