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
import { sandboxInput } from './contract-helpers.ts';

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
