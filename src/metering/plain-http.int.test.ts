/**
 * AI traffic over plain HTTP (an operator's `metering.extra_hosts` entry such as an internal
 * LLM gateway on http://) is metered and budget-stopped like HTTPS: the gateway sees the
 * request in clear, so nothing about it may skip the meter.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { systemClock } from '../core/clock.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { insertTestSandbox, startMeteredGateway } from './testdata/harness.ts';

const HOST = 'llm.corp.test';
const USAGE = { input_tokens: 1234, output_tokens: 56 };
let dir: string;
let store: Store;
let upstream: Server;
let upstreamPort: number;
let served = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'km-plain-meter-'));
  store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  // A plain-HTTP upstream speaking the Anthropic Messages JSON format.
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      served++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage: USAGE }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
});
after(async () => {
  await new Promise<void>((r) => upstream.close(() => r()));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** POST http://HOST/v1/messages through the gateway as a forward proxy (absolute-form). */
function post(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method: 'POST', path: `http://${HOST}/v1/messages`, headers: { host: HOST, 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }));
  });
}

test('plain-HTTP requests to a metered host are metered, and refused at the AI limit', async (t) => {
  const id = 'sb-0a1a0001';
  await insertTestSandbox(store, id, { ai: 0.001 });
  const g = await startMeteredGateway({ store, fake: null, sandboxId: id, overrides: { [HOST]: `127.0.0.1:${upstreamPort}` }, extraHosts: [HOST] });
  t.after(() => g.close());
  const first = await post(g.port);
  assert.equal(first.status, 200, first.body);
  await g.meter.settled();
  const rows = await store.listUsage(id);
  assert.deepEqual(rows.map((r) => [r.provider, r.model, r.inputTokens, r.outputTokens]), [['anthropic', 'claude-sonnet-4-5', 1234, 56]]);
  // $0.0045 spent of $0.001: the next request is refused before it reaches upstream.
  const before = served;
  const second = await post(g.port);
  assert.equal(second.status, 403);
  assert.equal((JSON.parse(second.body) as { error: string }).error, 'ai_budget_exhausted');
  assert.equal(served, before, 'upstream never saw the refused request');
});
