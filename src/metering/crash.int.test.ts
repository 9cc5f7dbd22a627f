import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock } from '../core/clock.ts';
import { openSqliteStore } from '../store/index.ts';
import { startFakeProviders } from './testdata/fake-providers.ts';
import { insertTestSandbox, proxiedRequest } from './testdata/harness.ts';

const CHILD = new URL('./testdata/crash-gateway.ts', import.meta.url).pathname;

async function startChild(args: string[], kids: ChildProcess[]): Promise<{ child: ChildProcess; port: number; caFile: string }> {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  kids.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`gateway child exited early (${code})`)));
  });
  return { child, ...(JSON.parse(line) as { port: number; caFile: string }) };
}

test('kill -9 mid-stream keeps the usage seen (partial); a replay of the same exchange never double-counts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-crash-'));
  const fake = await startFakeProviders();
  const kids: ChildProcess[] = [];
  const childDirs: string[] = [];
  t.after(async () => {
    for (const k of kids) if (k.exitCode === null && k.signalCode === null) k.kill('SIGKILL');
    await fake.close();
    for (const d of [dir, ...childDirs]) await rm(d, { recursive: true, force: true });
  });
  const db = join(dir, 'km.db');
  const store = await openSqliteStore(db, { clock: systemClock });
  t.after(() => store.close());
  await insertTestSandbox(store, 'sb-d0000001');
  const fakeCa = join(dir, 'fake-ca.pem');
  await writeFile(fakeCa, fake.caPem);
  const args = [db, 'sb-d0000001', String(fake.port), fakeCa, 'x-replayed-1'];
  const body = { model: 'claude-sonnet-4-5-20250929', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] };
  const figures = { input: 4321, output: 987, cacheWrite: 100, cacheWrite1h: 0, cacheRead: 50, cached: 0, reasoning: 0 };

  const first = await startChild(args, kids);
  childDirs.push(dirname(first.caFile));
  fake.setEventGapMs(400);
  fake.setNext(figures);
  let seenStart!: () => void;
  const started = new Promise<void>((r) => (seenStart = r));
  const pending = proxiedRequest(first, {
    host: 'api.anthropic.com', path: '/v1/messages', body,
    onData: (c) => void (c.toString().includes('message_start') && seenStart()),
  }).catch((e: Error) => e);
  await started;
  // The row is committed as soon as message_start's usage is seen.
  for (let i = 0; i < 300 && (await store.listUsage('sb-d0000001')).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  assert.ok((await pending) instanceof Error, 'the client saw the stream cut');
  const afterCrash = await store.listUsage('sb-d0000001');
  assert.equal(afterCrash.length, 1);
  assert.deepEqual(
    [afterCrash[0]!.exchangeId, afterCrash[0]!.partial, afterCrash[0]!.inputTokens, afterCrash[0]!.cacheReadTokens, afterCrash[0]!.cacheWriteTokens, afterCrash[0]!.outputTokens],
    ['x-replayed-1', true, 4321, 50, 100, 1],
  );

  // Re-processing the same exchange after the restart updates the row in place.
  fake.setEventGapMs(0);
  fake.setNext(figures);
  const second = await startChild(args, kids);
  childDirs.push(dirname(second.caFile));
  const r = await proxiedRequest(second, { host: 'api.anthropic.com', path: '/v1/messages', body });
  assert.equal(r.status, 200);
  const rows = await store.listUsage('sb-d0000001');
  assert.equal(rows.length, 1, 'one row per exchange');
  assert.deepEqual([rows[0]!.partial, rows[0]!.inputTokens, rows[0]!.outputTokens], [false, 4321, 987]);
  const [total] = await store.usageTotals('sb-d0000001');
  assert.deepEqual([total!.requests, total!.inputTokens, total!.outputTokens], [1, 4321, 987]);
});
