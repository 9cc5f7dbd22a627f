/**
 * The SQLite connection: `node:sqlite` (`DatabaseSync`), chosen over better-sqlite3 and
 * libsql because it ships with Node 24 (nothing to compile or download on a fresh
 * machine), its synchronous API makes a transaction a plain function call that no other
 * code in the process can interleave with, and SQLite's WAL mode lets several processes
 * (kmd, CLI commands, tests) read while one writes. Cross-process writers serialise on
 * `BEGIN IMMEDIATE` with a busy timeout, so they wait instead of failing.
 *
 * Durability: `synchronous = NORMAL` in WAL mode. A committed write survives the process
 * being killed (kill -9 of kmd loses nothing); only an OS crash or power loss can drop the
 * last commits. FULL would fsync every commit (about 3 ms each here, against 0.07 ms), which
 * the gateway would pay on every metered response.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { KmError } from '../../core/errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';

export type Row = Record<string, SQLInputValue>;
export type Param = SQLInputValue;

export interface Db {
  readonly path: string;
  /** Cached prepared statement. */
  stmt(sql: string): StatementSync;
  get(sql: string, ...params: Param[]): Row | undefined;
  all(sql: string, ...params: Param[]): Row[];
  run(sql: string, ...params: Param[]): { changes: number; lastInsertRowid: number };
  /** Runs `fn` inside `BEGIN IMMEDIATE … COMMIT` (rolled back on throw). Not re-entrant. */
  tx<T>(fn: () => T): T;
  userVersion(): number;
  close(): void;
}

export interface OpenDbOptions {
  /** How long a writer waits for another process's lock (default 10 s). */
  busyTimeoutMs?: number;
}

export function openDb(path: string, options: OpenDbOptions = {}): Db {
  const isFile = path !== ':memory:';
  if (isFile) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const created = isFile && !existsSync(path);
  let raw: DatabaseSync;
  try {
    raw = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 10_000, enableForeignKeyConstraints: true });
  } catch (e) {
    throw new KmError('failed', `cannot open the store at ${path}: ${(e as Error).message}`, {
      hint: 'check that the state directory exists and is writable (KM_HOME)',
      cause: e,
    });
  }
  // Only the operator may read the state (SQLite gives -wal/-shm files the same mode).
  if (created) chmodSync(path, 0o600);
  const cache = new Map<string, StatementSync>();
  let inTx = false;
  const stmt = (sql: string): StatementSync => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = raw.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const timeoutMs = options.busyTimeoutMs ?? 10_000;
  const sqlite = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw translateError(e, path, timeoutMs);
    }
  };
  const db: Db = {
    path,
    stmt,
    get: (sql, ...params) => sqlite(() => stmt(sql).get(...params) as Row | undefined),
    all: (sql, ...params) => sqlite(() => stmt(sql).all(...params) as Row[]),
    run: (sql, ...params) =>
      sqlite(() => {
        const r = stmt(sql).run(...params);
        return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
      }),
    tx: (fn) => {
      if (inTx) throw new KmError('internal', 'nested store transaction');
      sqlite(() => raw.exec('BEGIN IMMEDIATE'));
      inTx = true;
      try {
        const out = fn();
        sqlite(() => raw.exec('COMMIT'));
        return out;
      } catch (e) {
        if (raw.isTransaction) raw.exec('ROLLBACK');
        throw e;
      } finally {
        inTx = false;
      }
    },
    userVersion: () => Number((raw.prepare('PRAGMA user_version').get() as Row).user_version),
    close: () => {
      cache.clear();
      if (raw.isOpen) raw.close();
    },
  };
  try {
    enableWal(raw, options.busyTimeoutMs ?? 10_000);
    raw.exec('PRAGMA synchronous = NORMAL');
    raw.exec('PRAGMA foreign_keys = ON');
    migrate(raw, db);
  } catch (e) {
    db.close();
    if (e instanceof KmError) throw e;
    throw new KmError('failed', `cannot prepare the store at ${path}: ${(e as Error).message}`, { cause: e });
  }
  return db;
}

/**
 * Switching a new database to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY
 * for it without waiting on the busy timeout (processes opening a fresh store at once):
 * retry until the timeout; a database another process already switched is left as it is.
 */
function enableWal(raw: DatabaseSync, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      if (String((raw.prepare('PRAGMA journal_mode').get() as Row).journal_mode).toLowerCase() === 'wal') return;
      raw.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (e) {
      const code = Number((e as { errcode?: unknown }).errcode ?? 0) & 0xff;
      if (code !== 5 || Date.now() >= deadline) throw e;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

function migrate(raw: DatabaseSync, db: Db): void {
  if (db.userVersion() === SCHEMA_VERSION) return;
  db.tx(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const current = db.userVersion();
    if (current > SCHEMA_VERSION) {
      throw new KmError('failed', `the store at ${db.path} has schema version ${current}, newer than this km understands (${SCHEMA_VERSION})`, {
        hint: 'upgrade km, or point KM_HOME at another state directory',
      });
    }
    for (let v = current; v < SCHEMA_VERSION; v++) raw.exec(MIGRATIONS[v] as string);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}

/** SQLite result codes that are operational conditions, not bugs (primary code = errcode & 0xff). */
function translateError(e: unknown, path: string, timeoutMs: number): unknown {
  const code = (e as { errcode?: unknown }).errcode;
  if (typeof code !== 'number') return e;
  const primary = code & 0xff;
  const msg = (e as Error).message;
  if (primary === 5 || primary === 6) {
    return new KmError('timeout', `the store at ${path} stayed locked by another process for over ${timeoutMs} ms`, {
      hint: 'retry; if it persists, look for a stuck km or kmd process (km daemon status)',
      cause: e,
    });
  }
  if (primary === 8) return new KmError('failed', `the store at ${path} is read-only: ${msg}`, { hint: 'check the permissions of the state directory (KM_HOME)', cause: e });
  if (primary === 13) return new KmError('failed', `the disk holding ${path} is full`, { hint: 'free some space (km doctor checks disk space)', cause: e });
  if (primary === 10 || primary === 11 || primary === 26) {
    return new KmError('failed', `the store at ${path} cannot be read or written: ${msg}`, { hint: 'run km doctor; restore km.db from a backup if it is damaged', cause: e });
  }
  return e;
}
