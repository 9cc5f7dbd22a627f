import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatchResultsParser, type BatchResult } from './batch.ts';
import { classifyAiRequest, isBatchRead } from './index.ts';

const anthropicLine = (id: string, type: string, usage: Record<string, number> | null) =>
  JSON.stringify({ custom_id: id, result: type === 'succeeded' ? { type, message: { model: 'claude-haiku-4-5', content: [{ type: 'text', text: 'x\ny' }], ...(usage ? { usage } : {}) } } : { type } });

function feed(parser: ReturnType<typeof createBatchResultsParser>, body: Buffer, size: number): BatchResult[] {
  const out: BatchResult[] = [];
  for (let i = 0; i < body.length; i += size) out.push(...parser.push(body.subarray(i, i + size)));
  return [...out, ...parser.end()];
}

test('Anthropic results: one result per succeeded line, whatever the chunking; other lines bill nothing', () => {
  const body = Buffer.from(
    [
      anthropicLine('a', 'succeeded', { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 5, cache_creation_input_tokens: 7 }),
      anthropicLine('b', 'errored', null),
      anthropicLine('c', 'canceled', null),
      anthropicLine('d', 'succeeded', null),
      'not json',
      '',
      anthropicLine('e', 'succeeded', { input_tokens: 1, output_tokens: 2 }),
    ].join('\r\n'), // no final line feed: the last line still counts
  );
  for (const size of [1, 3, 17, 64, body.length]) {
    const got = feed(createBatchResultsParser({ provider: 'anthropic', batchId: 'msgbatch_1' }), body, size);
    assert.deepEqual(got.map((r) => [r.key, r.model, r.usage.inputTokens, r.usage.outputTokens, r.usage.cacheReadTokens, r.usage.cacheWriteTokens]), [
      ['batch:msgbatch_1:a', 'claude-haiku-4-5', 10, 20, 5, 7],
      ['batch:msgbatch_1:e', 'claude-haiku-4-5', 1, 2, 0, 0],
    ], `chunks of ${size}`);
  }
});

test('OpenAI output lines: 2xx responses with usage; keyed by the batch request id, else the file and custom id', () => {
  const line = (o: Record<string, unknown>) => JSON.stringify(o);
  const body = Buffer.from([
    line({ id: 'batch_req_1', custom_id: 'r1', response: { status_code: 200, body: { model: 'gpt-4.1', usage: { prompt_tokens: 9, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } } } } }),
    line({ id: 'batch_req_2', custom_id: 'r2', response: { status_code: 429, body: { error: {} } } }),
    line({ custom_id: 'r3', response: { status_code: 200, body: { model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } } } }),
    line({ custom_id: 'r4', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4.1' } }),
  ].join('\n') + '\n');
  const got = feed(createBatchResultsParser({ provider: 'openai', fileId: 'file-9' }), body, 5);
  assert.deepEqual(got.map((r) => [r.key, r.model, r.usage.inputTokens, r.usage.outputTokens, r.usage.cachedInputTokens]), [
    ['batch:batch_req_1', 'gpt-4.1', 9, 3, 4],
    ['batch:file-9:r3', 'text-embedding-3-small', 8, 0, 0],
  ]);
});

test('a line over the bound is skipped and counted, the next one still parses', () => {
  const parser = createBatchResultsParser({ provider: 'anthropic', batchId: 'b' }, 200);
  const long = anthropicLine('big', 'succeeded', { input_tokens: 1, output_tokens: 1 }).replace('x\\ny', 'z'.repeat(500));
  const ok = anthropicLine('ok', 'succeeded', { input_tokens: 3, output_tokens: 4 });
  const got = feed(parser, Buffer.from(`${long}\n${ok}\n`), 64);
  assert.deepEqual(got.map((r) => r.key), ['batch:b:ok']);
  assert.equal(parser.oversized(), 1);
});

test('batch downloads are classified (GET), creating and listing is not; batch reads pass the AI stop', () => {
  assert.deepEqual(classifyAiRequest('api.anthropic.com', 'GET', '/v1/messages/batches/msgbatch_01%3Ax/results'), { provider: 'anthropic', api: 'batch-results', source: { provider: 'anthropic', batchId: 'msgbatch_01:x' } });
  assert.deepEqual(classifyAiRequest('api.openai.com', 'GET', '/v1/files/file-abc/content?x=1'), { provider: 'openai', api: 'batch-results', source: { provider: 'openai', fileId: 'file-abc' } });
  assert.equal(classifyAiRequest('api.openai.com', 'GET', '/v1/files/file-abc/content/x'), undefined);
  assert.equal(classifyAiRequest('api.anthropic.com', 'GET', '/v1/messages/batches'), undefined);
  assert.equal(classifyAiRequest('api.openai.com', 'GET', '/v1/messages/batches/b/results'), undefined, 'each provider on its own host');
  assert.deepEqual(classifyAiRequest('llm.corp.test', 'GET', '/v1/files/f/content', ['llm.corp.test'])?.api, 'batch-results');
  assert.equal(isBatchRead('api.anthropic.com', 'GET', '/v1/messages/batches/b'), true);
  assert.equal(isBatchRead('api.anthropic.com', 'GET', '/v1/messages/batches/b/results'), true);
  assert.equal(isBatchRead('api.openai.com', 'GET', '/v1/batches/batch_1'), true);
  assert.equal(isBatchRead('api.anthropic.com', 'POST', '/v1/messages/batches/b/results'), false);
  assert.equal(isBatchRead('api.anthropic.com', 'GET', '/v1/messages/batches'), false, 'listing is not a read of one batch');
  assert.equal(isBatchRead('api.anthropic.com', 'GET', '/v1/models'), false);
  assert.equal(isBatchRead('api.openai.com', 'GET', '/v1/messages/batches/b'), false);
});
