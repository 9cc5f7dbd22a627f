/**
 * Several processes write one SQLite database at once: nothing is lost, numbers and aliases
 * stay unique, and each raced transition has exactly one winner.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../core/clock.ts';
import { sandboxInput } from './contract-helpers.ts';
import { openSqliteStore } from './index.ts';

const WORKER = fileURLToPath(new URL('./test-fixtures/race-worker.ts', import.meta.url));
const WORKERS = 4;
const plan = { sandboxes: 15, sharedAliases: 10, exchanges: 40, sharedExchanges: 10, eventBatches: 20, eventsPerBatch: 5 };

interface WorkerResult {
  index: number;
  inserted: string[];
  aliasWins: string[];
  raceWins: string[];
  errors: Record<string, number>;
}

function runWorker(args: string[], t: { after(fn: () => void): void }): Promise<WorkerResult> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker ${args[1]} exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as WorkerResult);
    });
  });
}

test('concurrent writers in separate processes lose nothing and never duplicate', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-store-race-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'km.db');
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  const ledger = await store.insertSandbox(sandboxInput({ alias: 'ledger', status: 'running' }));
  const raceIds: string[] = [];
  for (let i = 0; i < 20; i++) raceIds.push((await store.insertSandbox(sandboxInput({ status: 'running' }))).id);

  const startAt = String(Date.now() + 1500);
  const fullPlan = JSON.stringify({ ...plan, ledgerSandbox: ledger.id, raceIds });
  const results = await Promise.all(Array.from({ length: WORKERS }, (_, i) => runWorker([path, String(i), startAt, fullPlan], t)));

  for (const r of results) {
    for (const code of Object.keys(r.errors)) assert.ok(['usage', 'invalid_state'].includes(code), `worker ${r.index}: ${code}`);
  }
  // Sandboxes: every insert is there, numbers are exactly 1..n, aliases unique.
  const all = await store.listSandboxes({ includeDestroyed: true });
  const expected = 1 + raceIds.length + WORKERS * plan.sandboxes + plan.sharedAliases;
  assert.equal(all.length, expected);
  assert.deepEqual(all.map((s) => s.number).sort((a, b) => a - b), Array.from({ length: expected }, (_, i) => i + 1));
  const aliases = all.map((s) => s.alias).filter((a) => a !== null);
  assert.equal(new Set(aliases).size, aliases.length);
  for (const r of results) for (const id of r.inserted) assert.ok(all.some((s) => s.id === id), `${id} was inserted`);
  const aliasWins = results.flatMap((r) => r.aliasWins).sort();
  assert.deepEqual(aliasWins, Array.from({ length: plan.sharedAliases }, (_, k) => `shared-${k}`).sort(), 'each contested alias has one winner');
  assert.equal(results.reduce((n, r) => n + (r.errors.usage ?? 0), 0), plan.sharedAliases * (WORKERS - 1), 'every loser was told');

  // Races: one winner per sandbox, everyone else got invalid_state, final status matches the winner.
  const wins = results.flatMap((r) => r.raceWins.map((id) => ({ id, worker: r.index })));
  assert.deepEqual(wins.map((w) => w.id).sort(), [...raceIds].sort());
  assert.equal(results.reduce((n, r) => n + (r.errors.invalid_state ?? 0), 0), raceIds.length * (WORKERS - 1));
  for (const w of wins) assert.equal((await store.getSandbox(w.id))?.status, w.worker % 2 === 0 ? 'destroying' : 'stopped');

  // Ledger: one row per exchange id, shared ids counted once, totals exact.
  const rows = await store.listUsage(ledger.id);
  assert.equal(rows.length, WORKERS * plan.exchanges + plan.sharedExchanges);
  const totals = await store.usageTotals(ledger.id);
  assert.equal(totals[0]?.requests, rows.length);
  assert.equal(totals[0]?.inputTokens, rows.length * 10);
  const spent = await store.aiSpentUsd(ledger.id);
  assert.ok(Math.abs(spent - (WORKERS * plan.exchanges * 0.001 + plan.sharedExchanges * 0.5)) < 1e-9, `spent ${spent}`);

  // Events: all there, sequence ids unique and increasing in append order, each batch contiguous.
  const events = await store.queryEvents({ afterSeq: 0 });
  assert.equal(events.length, WORKERS * plan.eventBatches * plan.eventsPerBatch);
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.seq > events[i - 1]!.seq);
  for (let i = 0; i < events.length; i += plan.eventsPerBatch) {
    const batch = events.slice(i, i + plan.eventsPerBatch);
    assert.equal(new Set(batch.map((e) => e.source)).size, 1, 'a batch is appended atomically');
    assert.deepEqual(batch.map((e) => e.detail.j), Array.from({ length: plan.eventsPerBatch }, (_, j) => j));
  }
  const switches = events.filter((e, i) => i > 0 && e.source !== events[i - 1]!.source).length;
  t.diagnostic(`writers interleaved ${switches} times in the event log`);
  assert.equal((await store.checkIntegrity()).ok, true);
});

test('processes opening a brand-new database at once all migrate it safely', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-store-fresh-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'state', 'km.db');
  const small = { sandboxes: 3, sharedAliases: 2, exchanges: 5, sharedExchanges: 0, eventBatches: 2, eventsPerBatch: 2, ledgerSandbox: 'sb-00000000', raceIds: [] };
  const startAt = String(Date.now() + 1500);
  const results = await Promise.all(Array.from({ length: WORKERS }, (_, i) => runWorker([path, String(i), startAt, JSON.stringify(small)], t)));
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  const report = await store.checkIntegrity();
  assert.equal(report.ok, true, report.message);
  assert.equal((await store.listSandboxes()).length, WORKERS * small.sandboxes + small.sharedAliases);
  assert.equal(results.flatMap((r) => r.aliasWins).length, small.sharedAliases);
  assert.equal((await store.listUsage('sb-00000000')).length, WORKERS * small.exchanges);
  assert.equal((await store.queryEvents({})).length, WORKERS * small.eventBatches * small.eventsPerBatch);
});

test('kill -9 of a writer loses no committed ledger row', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-store-kill-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'km.db');
  const writer = fileURLToPath(new URL('./test-fixtures/ledger-writer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', writer, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const acknowledged: string[] = [];
  let buf = '';
  await new Promise<void>((done) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      acknowledged.push(...lines);
      if (acknowledged.length >= 300 && child.signalCode === null) {
        child.kill('SIGKILL');
        done();
      }
    });
  });
  await new Promise((r) => child.on('close', r));
  assert.equal(child.signalCode, 'SIGKILL');
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  const rows = new Set((await store.listUsage('sb-00000001')).map((r) => r.exchangeId));
  for (const id of acknowledged) assert.ok(rows.has(id), `${id} was acknowledged but is missing`);
  assert.ok(rows.size >= acknowledged.length);
  assert.equal((await store.checkIntegrity()).ok, true);
});
