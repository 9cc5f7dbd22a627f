/**
 * The fake Anthropic API against real clients: the official SDK (JSON and SSE streaming,
 * over HTTPS trusting the fake's certificate) and the real Claude Code CLI over HTTP.
 */
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { startFakeAnthropic } from './fake-anthropic.ts';

const CLAUDE = resolve(import.meta.dirname, '../../node_modules/.bin/claude');

test('official SDK: JSON and streamed messages with the scripted text and usage; requests logged', async (t) => {
  const fake = await startFakeAnthropic({ replies: [{ text: 'first', usage: { input_tokens: 11, output_tokens: 3 } }, { text: 'second reply', usage: { input_tokens: 20, output_tokens: 5, cache_read_input_tokens: 7 } }] });
  t.after(() => fake.close());
  const client = new Anthropic({ apiKey: 'sk-fake', baseURL: fake.httpUrl, maxRetries: 0 });
  const a = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hello "x" $(y)' }] });
  assert.deepEqual([a.content[0]?.type === 'text' ? a.content[0].text : null, a.usage.input_tokens, a.usage.output_tokens], ['first', 11, 3]);
  const s = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'again' }] });
  const final = await s.finalMessage();
  assert.deepEqual([final.content[0]?.type === 'text' ? final.content[0].text : null, final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens], ['second reply', 20, 5, 7]);
  assert.deepEqual(fake.messageCalls().map((r) => [r.scheme, r.stream, (r.body as { messages: Array<{ content: string }> }).messages[0]?.content]), [['http', false, 'hello "x" $(y)'], ['http', true, 'again']]);
  // HTTPS with the fake's certificate as the only trust anchor, SNI api.anthropic.com.
  const body = await new Promise<string>((done, fail) => {
    const req = httpsRequest({ host: '127.0.0.1', port: fake.httpsPort, servername: 'api.anthropic.com', ca: fake.caPem, method: 'POST', path: '/v1/messages?beta=true', headers: { 'content-type': 'application/json' } }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => done(b));
    });
    req.on('error', fail);
    req.end(JSON.stringify({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'tls' }] }));
  });
  assert.equal((JSON.parse(body) as { content: Array<{ text: string }> }).content[0]?.text, 'second reply');
  assert.equal(fake.messageCalls().at(-1)?.scheme, 'https');
});

test('the real Claude Code CLI gets its result from the fake', { skip: existsSync(CLAUDE) ? false : 'needs node_modules/.bin/claude' }, async (t) => {
  const fake = await startFakeAnthropic();
  const home = await mkdtemp(join(tmpdir(), 'km-fake-claude-'));
  t.after(async () => {
    await fake.close();
    await rm(home, { recursive: true, force: true });
  });
  const out = await new Promise<{ code: number | null; stdout: string }>((done) => {
    const c = spawn(CLAUDE, ['-p', 'multi\nline `prompt`', '--output-format', 'json'], {
      env: { PATH: '/usr/bin:/bin', HOME: home, ANTHROPIC_BASE_URL: fake.httpUrl, ANTHROPIC_API_KEY: 'sk-fake', DISABLE_AUTOUPDATER: '1', DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.on('close', (code) => done({ code, stdout }));
  });
  assert.equal(out.code, 0);
  const doc = JSON.parse(out.stdout) as { result: string; usage: Record<string, number> };
  assert.equal(doc.result, 'All 42 tests pass.');
  assert.deepEqual([doc.usage.input_tokens, doc.usage.output_tokens, doc.usage.cache_read_input_tokens, doc.usage.cache_creation_input_tokens], [1200, 34, 500, 300]);
  assert.ok(fake.messageCalls().length >= 1);
});
