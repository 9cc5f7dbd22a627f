import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, request as httpsRequest, Agent, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { createLeafCache, createSandboxCa } from '../gateway/tls/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { insertTestSandbox, startMeteredGateway, type MeteredGateway } from './testdata/harness.ts';

const HOST = 'api.anthropic.com';
const sse = (type: string, data: unknown): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...(data as object) })}\n\n`;
const START = sse('message_start', { message: { model: 'claude-sonnet-4-5', usage: { input_tokens: 1500, output_tokens: 1 } } });
const DELTA = sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'partial answer' } });

/**
 * An origin that sends message_start and a delta, then either stalls (the client gives up) or
 * drops the connection (the provider fails mid-stream), behind a metered gateway.
 */
async function setup(t: { after: (fn: () => Promise<void>) => void }, onStall: 'hang' | 'drop') {
  const dir = await mkdtemp(join(tmpdir(), 'km-tap-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  await insertTestSandbox(store, 'sb-7a900001');
  const ca = await createSandboxCa('tap-origin', systemClock);
  const ctx = await createLeafCache(ca, { clock: systemClock }).getSecureContext(HOST);
  const origin: Server = createHttpsServer({ SNICallback: (_n, cb) => cb(null, ctx) }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(START + DELTA);
      if (onStall === 'drop') setTimeout(() => res.socket?.destroy(), 50);
    });
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const g: MeteredGateway = await startMeteredGateway({
    store, fake: null, sandboxId: 'sb-7a900001',
    overrides: { [HOST]: `127.0.0.1:${(origin.address() as AddressInfo).port}` }, extraCaPem: ca.certPem,
  });
  t.after(async () => {
    origin.closeAllConnections();
    origin.close();
    await g.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const agent = new Agent({ proxyEnv: { HTTPS_PROXY: `http://127.0.0.1:${g.port}` }, ca: await readFile(g.caFile, 'utf8') } as ConstructorParameters<typeof Agent>[0]);
  t.after(async () => agent.destroy());
  return { store, g, agent };
}

/** Starts a streaming request; resolves with the first body bytes and how the response ended. */
function stream(agent: Agent, giveUpAfterFirst: boolean): Promise<{ first: string; outcome: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: HOST, path: '/v1/messages', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const outcome = new Promise<string>((done) => {
        res.on('end', () => done('end'));
        res.on('error', () => done('error'));
        res.on('close', () => done(res.complete ? 'end' : 'cut'));
      });
      res.once('data', (c: Buffer) => {
        resolve({ first: c.toString(), outcome });
        if (giveUpAfterFirst) req.destroy();
      });
    });
    req.on('error', (e) => (giveUpAfterFirst ? undefined : reject(e)));
    req.end('{"model":"claude-sonnet-4-5","stream":true,"max_tokens":10,"messages":[]}');
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a client that goes away mid-stream: the usage seen is kept, partial, and the exchange is released', async (t) => {
  const { store, g, agent } = await setup(t, 'hang');
  const { first } = await stream(agent, true);
  assert.ok(first.includes('message_start'));
  await until('the exchange to finish', () => g.meter.inFlight() === 0);
  await g.meter.settled();
  const rows = await store.listUsage('sb-7a900001');
  assert.deepEqual(rows.map((r) => [r.inputTokens, r.outputTokens, r.partial, r.usageMissing]), [[1500, 1, true, false]]);
  const ev = g.events.find((e) => e.event_type === 'ai.usage');
  assert.equal(ev?.detail.partial, true);
});

test('an upstream that drops mid-stream: the client sees the cut, the usage seen is kept, partial', async (t) => {
  const { store, g, agent } = await setup(t, 'drop');
  const { first, outcome } = await stream(agent, false);
  assert.ok(first.includes('message_start'));
  assert.notEqual(await outcome, 'end', 'the body is not passed off as complete');
  await until('the exchange to finish', () => g.meter.inFlight() === 0);
  await g.meter.settled();
  const rows = await store.listUsage('sb-7a900001');
  assert.deepEqual(rows.map((r) => [r.inputTokens, r.outputTokens, r.partial]), [[1500, 1, true]]);
});
