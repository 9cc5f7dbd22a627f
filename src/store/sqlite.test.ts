import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { systemClock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { runStoreContract } from './contract.ts';
import { openSqliteStore, SCHEMA_VERSION } from './index.ts';
import { MIGRATIONS } from './sqlite/schema.ts';
import { sandboxInput, usage } from './contract-helpers.ts';

runStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'km-store-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'km-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('sqlite: the database is in WAL mode with the current schema version, and data survives reopening', async (t) => {
  const path = join(await tempDir(t), 'state', 'km.db');
  const store = await openSqliteStore(path, { clock: systemClock });
  const sb = await store.insertSandbox(sandboxInput({ alias: 'demo' }));
  assert.deepEqual(store.describe(), { kind: 'sqlite', location: path });
  await store.close();
  await store.close();
  assert.equal((await stat(path)).mode & 0o777, 0o600, 'only the operator can read the state');
  assert.equal((await stat(join(path, '..'))).mode & 0o777, 0o700);
  const raw = new DatabaseSync(path, { readOnly: true });
  t.after(() => raw.close());
  assert.equal((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  assert.equal((raw.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SCHEMA_VERSION);
  const again = await openSqliteStore(path, { clock: systemClock });
  t.after(() => again.close());
  assert.equal((await again.getSandboxByAlias('demo'))?.id, sb.id);
});

test('sqlite: a database from a newer km is refused with a hint', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  const raw = new DatabaseSync(path);
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
  raw.close();
  await assert.rejects(openSqliteStore(path, { clock: systemClock }), (e: unknown) => {
    assert.ok(e instanceof KmError);
    assert.match(e.message, new RegExp(`schema version ${SCHEMA_VERSION + 5}, newer than this km understands`));
    assert.match(e.hint ?? '', /upgrade km/);
    return true;
  });
});

test('sqlite: a file that is not a database is reported, not overwritten', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  await writeFile(path, 'this is not sqlite '.repeat(100));
  await assert.rejects(openSqliteStore(path, { clock: systemClock }), (e: unknown) => e instanceof KmError && /km\.db/.test(e.message));
});

test('sqlite: an older database is migrated in place and keeps its rows', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  const raw = new DatabaseSync(path);
  raw.exec(MIGRATIONS[0] as string);
  raw.exec('PRAGMA user_version = 1');
  raw.exec(`INSERT INTO events (timestamp_ms, sandbox_id, event_type, source, detail_json) VALUES (1, 'sb-00000001', 'x', 'km', '{"a":1}')`);
  raw.close();
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  assert.deepEqual((await store.queryEvents({ sandboxId: 'sb-00000001' })).map((e) => e.detail), [{ a: 1 }]);
  assert.equal((await store.checkIntegrity()).schemaVersion, SCHEMA_VERSION);
  assert.ok(SCHEMA_VERSION >= 2);
  assert.deepEqual(await store.listMail('operator'), [], 'tables of later steps exist');
});

test('sqlite: a writer that cannot get the lock in time gets a timeout error, and nothing is half-applied', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  const store = await openSqliteStore(path, { clock: systemClock, busyTimeoutMs: 50 });
  t.after(() => store.close());
  const holder = new DatabaseSync(path);
  t.after(() => holder.close());
  holder.exec('BEGIN IMMEDIATE');
  await assert.rejects(store.insertSandbox(sandboxInput()), (e: unknown) => e instanceof KmError && e.code === 'timeout' && /stayed locked by another process for over 50 ms/.test(e.message));
  assert.deepEqual(await store.listSandboxes(), [], 'readers are not blocked in WAL mode');
  holder.exec('ROLLBACK');
  assert.equal((await store.insertSandbox(sandboxInput())).number, 1);
});

test('sqlite: foreign keys are enforced (budget and run rows belong to a sandbox)', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  const sb = await store.insertSandbox(sandboxInput());
  await store.createRun(sb.id, { agent: 'claude', prompt: 'p', atMs: 0 });
  const raw = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  t.after(() => raw.close());
  assert.throws(() => raw.exec(`INSERT INTO budgets (sandbox_id, warning_threshold) VALUES ('sb-ffffffff', 0.8)`), /FOREIGN KEY/);
  raw.exec(`DELETE FROM sandboxes WHERE id = '${sb.id}'`);
  assert.equal(await store.getBudget(sb.id), undefined);
  assert.deepEqual(await store.listRuns(sb.id), []);
});

/** The ledger's own sum (what the running total must always equal), straight from SQLite. */
function ledgerSum(path: string, sandboxId: string): number {
  const raw = new DatabaseSync(path, { readOnly: true });
  try {
    return Number((raw.prepare('SELECT COALESCE(SUM(cost_usd), 0) AS t FROM ledger WHERE sandbox_id = ?').get(sandboxId) as { t: number }).t);
  } finally {
    raw.close();
  }
}

const near = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≈ ${expected}`);

test('sqlite: the running AI total follows every ledger write (new rows, partial figures replaced, retries, other sandboxes)', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  const a = await store.insertSandbox(sandboxInput());
  const b = await store.insertSandbox(sandboxInput());
  // A fixed pseudo-random sequence: partial rows later replaced by larger or smaller figures,
  // identical retries, and rows of two sandboxes interleaved.
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
  const cost = (): number => Math.round(rnd() * 2e6) / 1e9;
  for (let i = 0; i < 400; i++) {
    const sb = rnd() < 0.7 ? a.id : b.id;
    const id = `x${Math.floor(rnd() * 150)}`;
    await store.upsertUsage(sb, id, usage({ costUsd: cost(), partial: rnd() < 0.5 }));
  }
  const expectA = ledgerSum(path, a.id);
  const expectB = ledgerSum(path, b.id);
  assert.ok(expectA > 0.05 && expectB > 0.01, 'the sequence wrote real spend to both');
  near(await store.aiSpentUsd(a.id), expectA, 'sandbox a');
  near(await store.aiSpentUsd(b.id), expectB, 'sandbox b');
  // A retry with the same figures changes nothing; a final figure replaces the partial one.
  const rows = await store.listUsage(a.id);
  const first = rows[0]!;
  await store.upsertUsage(a.id, first.exchangeId, usage({ costUsd: first.costUsd }));
  near(await store.aiSpentUsd(a.id), expectA, 'after an identical retry');
  await store.upsertUsage(a.id, first.exchangeId, usage({ costUsd: first.costUsd + 0.25 }));
  near(await store.aiSpentUsd(a.id), expectA + 0.25, 'after a larger final figure');
  near(await store.aiSpentUsd(a.id), ledgerSum(path, a.id), 'still the ledger sum');
  assert.equal(await store.aiSpentUsd('sb-ffffffff'), 0, 'no ledger, no spend');
});

test('sqlite: rows written or removed outside km keep the running AI total equal to the ledger', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  const sb = await store.insertSandbox(sandboxInput());
  await store.upsertUsage(sb.id, 'x1', usage({ costUsd: 0.5 }));
  await store.upsertUsage(sb.id, 'x2', usage({ costUsd: 0.25 }));
  const raw = new DatabaseSync(path);
  t.after(() => raw.close());
  raw.exec(`DELETE FROM ledger WHERE exchange_id = 'x1'`);
  near(await store.aiSpentUsd(sb.id), 0.25, 'after a delete');
  raw.exec(`UPDATE ledger SET sandbox_id = 'sb-other' WHERE exchange_id = 'x2'`);
  assert.equal(await store.aiSpentUsd(sb.id), 0, 'moved away');
  near(await store.aiSpentUsd('sb-other'), 0.25, 'moved to');
  await store.upsertUsage(sb.id, 'x3', usage({ costUsd: 0.125 }));
  await store.purgeSandbox(sb.id);
  assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM ai_spend WHERE sandbox_id = ?').get(sb.id) as { n: number }).n, 0, 'purge leaves no total behind');
  assert.equal(await store.aiSpentUsd(sb.id), 0);
});

test('sqlite: a store from before running AI totals gets them from its existing ledger', async (t) => {
  const path = join(await tempDir(t), 'km.db');
  const raw = new DatabaseSync(path);
  for (const m of MIGRATIONS.slice(0, 3)) raw.exec(m);
  raw.exec('PRAGMA user_version = 3');
  const insert = raw.prepare(`INSERT INTO ledger (sandbox_id, exchange_id, provider, model, input_tokens, output_tokens, cache_write_tokens,
    cache_read_tokens, cached_input_tokens, reasoning_tokens, cost_usd, priced, partial, usage_missing, run_id, first_at_ms, at_ms)
    VALUES (?, ?, 'anthropic', 'claude-sonnet-4-5', 1, 1, 0, 0, 0, 0, ?, 'table', 0, 0, NULL, 1, 1)`);
  for (let i = 0; i < 30; i++) insert.run('sb-00000001', `e${i}`, 0.001 * (i + 1));
  insert.run('sb-00000002', 'e0', 2);
  raw.close();
  const store = await openSqliteStore(path, { clock: systemClock });
  t.after(() => store.close());
  near(await store.aiSpentUsd('sb-00000001'), 0.465, 'backfilled from the ledger');
  near(await store.aiSpentUsd('sb-00000002'), 2, 'each sandbox on its own');
  await store.upsertUsage('sb-00000001', 'e0', usage({ costUsd: 0.101 }));
  near(await store.aiSpentUsd('sb-00000001'), 0.565, 'and kept from then on');
});
