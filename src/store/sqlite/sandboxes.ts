/** Sandbox rows: insert with number/alias allocation, lookups, compare-and-set transitions. */
import { toIso } from '../../core/clock.ts';
import { KmError } from '../../core/errors.ts';
import { isAlias, isSandboxId } from '../../core/ids.ts';
import type { SandboxStore } from '../store.ts';
import type { InsertOptions, NewSandbox, SandboxRecord, SandboxStatus, TransitionFields } from '../types.ts';
import type { Db, Row } from './db.ts';
import { bool, json, num, optNum, optStr, placeholders, setClause, str } from './rows.ts';

const SELECT = `SELECT s.*, b.ai_limit_usd, b.compute_limit_usd, b.warning_threshold
  FROM sandboxes s LEFT JOIN budgets b ON b.sandbox_id = s.id`;
const LIVE = `s.status <> 'destroyed'`;
export const DEFAULT_WARNING_THRESHOLD = 0.8;

export function decodeSandbox(r: Row): SandboxRecord {
  return {
    id: str(r, 'id'),
    alias: optStr(r, 'alias'),
    number: num(r, 'number'),
    profileName: str(r, 'profile_name'),
    profile: json(r, 'profile_json'),
    substrate: str(r, 'substrate'),
    region: optStr(r, 'region'),
    status: str(r, 'status') as SandboxStatus,
    statusReason: optStr(r, 'status_reason'),
    pausedBy: optStr(r, 'paused_by') as SandboxRecord['pausedBy'],
    createdAtMs: num(r, 'created_at_ms'),
    updatedAtMs: num(r, 'updated_at_ms'),
    expiresAtMs: optNum(r, 'expires_at_ms'),
    idleTimeoutS: optNum(r, 'idle_timeout_s'),
    maxExpiresAtMs: optNum(r, 'max_expires_at_ms'),
    teardownPolicy: str(r, 'teardown_policy') as SandboxRecord['teardownPolicy'],
    locked: bool(r, 'locked'),
    lockedAtMs: optNum(r, 'locked_at_ms'),
    clonedFrom: optStr(r, 'cloned_from'),
    image: optStr(r, 'image'),
    enforcementRequested: str(r, 'enforcement_requested'),
    enforcementEffective: optStr(r, 'enforcement_effective'),
    aiLimitUsd: optNum(r, 'ai_limit_usd'),
    computeLimitUsd: optNum(r, 'compute_limit_usd'),
    warningThreshold: optNum(r, 'warning_threshold') ?? DEFAULT_WARNING_THRESHOLD,
    emailAddress: optStr(r, 'email_address'),
    createdBy: str(r, 'created_by') as SandboxRecord['createdBy'],
    lastActivityAtMs: optNum(r, 'last_activity_at_ms'),
    lastStartedAtMs: optNum(r, 'last_started_at_ms'),
    destroyedAtMs: optNum(r, 'destroyed_at_ms'),
  };
}

/** `demo` or `sb-5e0c9a12`: how messages name a sandbox. */
export const sandboxLabel = (s: { id: string; alias: string | null }): string => s.alias ?? s.id;

function describeStatus(s: SandboxRecord): string {
  const name = sandboxLabel(s);
  if (s.status === 'destroying') return `${name} is being destroyed`;
  if (s.status === 'creating') return `${name} is still being created`;
  if (s.status === 'destroyed') return `${name} was destroyed at ${toIso(s.destroyedAtMs ?? s.updatedAtMs)}`;
  if (s.status === 'paused' && s.pausedBy) return `${name} is paused (by ${s.pausedBy})`;
  return `${name} is ${s.status}`;
}

export function invalidSandboxState(s: SandboxRecord, expected: readonly SandboxStatus[]): KmError {
  return new KmError('invalid_state', `${describeStatus(s)}; this needs it to be ${expected.join(' or ')}`, {
    details: { sandbox_id: s.id, current_status: s.status, expected: [...expected] },
  });
}

export function lockedError(s: SandboxRecord): KmError {
  const name = sandboxLabel(s);
  return new KmError('sandbox_locked', `${name} is locked (since ${toIso(s.lockedAtMs ?? s.updatedAtMs)}); run km unlock ${name} first`, {
    details: { sandbox_id: s.id, locked_at: s.lockedAtMs === null ? null : toIso(s.lockedAtMs) },
  });
}

export function createSandboxStore(db: Db): SandboxStore {
  const getSync = (id: string): SandboxRecord | undefined => {
    const r = db.get(`${SELECT} WHERE s.id = ?`, id);
    return r ? decodeSandbox(r) : undefined;
  };
  const mustGet = (id: string): SandboxRecord => {
    const s = getSync(id);
    if (!s) throw new KmError('not_found', `no sandbox with id ${id}`, { hint: 'see km list --all' });
    return s;
  };

  return {
    insertSandbox: async (input, options = {}) => db.tx(() => insert(db, input, options, getSync)),
    getSandbox: async (id) => getSync(id),
    getSandboxByAlias: async (alias, options = {}) => {
      const key = alias.toLowerCase();
      const live = db.get(`${SELECT} WHERE s.alias_key = ? AND ${LIVE}`, key);
      if (live) return decodeSandbox(live);
      if (!options.includeDestroyed) return undefined;
      const old = db.get(`${SELECT} WHERE s.alias_key = ? ORDER BY s.destroyed_at_ms DESC, s.created_at_ms DESC LIMIT 1`, key);
      return old ? decodeSandbox(old) : undefined;
    },
    getSandboxByNumber: async (n) => {
      const r = db.get(`${SELECT} WHERE s.number = ? AND ${LIVE}`, n);
      return r ? decodeSandbox(r) : undefined;
    },
    listSandboxes: async (options = {}) => {
      const where: string[] = [];
      const params: string[] = [];
      const statuses = options.statuses ?? [];
      if (!options.includeDestroyed && statuses.length === 0) where.push(LIVE);
      if (statuses.length > 0) {
        where.push(`s.status IN (${placeholders(statuses.length)})`);
        params.push(...statuses);
      }
      const sql = `${SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY (s.status = 'destroyed'), s.number, s.created_at_ms`;
      return db.all(sql, ...params).map(decodeSandbox);
    },
    countActiveSandboxes: async () => num(db.get(`SELECT COUNT(*) AS n FROM sandboxes s WHERE ${LIVE}`) as Row, 'n'),
    transition: async (id, from, to, fields, options) =>
      db.tx(() => {
        const cur = mustGet(id);
        if (!from.includes(cur.status) || (cur.status === 'destroyed' && to !== 'destroyed')) throw invalidSandboxState(cur, from);
        if (options.requireUnlocked && cur.locked) throw lockedError(cur);
        const f: TransitionFields = { ...fields };
        if (f.statusReason === undefined) f.statusReason = null;
        f.pausedBy = to === 'paused' ? (fields.pausedBy ?? cur.pausedBy ?? null) : null;
        const set = setClause(f, {
          statusReason: 'status_reason',
          pausedBy: 'paused_by',
          expiresAtMs: 'expires_at_ms',
          lastStartedAtMs: 'last_started_at_ms',
          enforcementEffective: 'enforcement_effective',
          image: 'image',
          region: 'region',
        });
        const destroyedAt = to === 'destroyed' ? options.atMs : cur.destroyedAtMs;
        const r = db.run(
          `UPDATE sandboxes SET status = ?, updated_at_ms = ?, destroyed_at_ms = ?, ${set.sql} WHERE id = ? AND status = ?`,
          to,
          options.atMs,
          destroyedAt,
          ...set.values,
          id,
          cur.status,
        );
        if (r.changes !== 1) throw new KmError('internal', `transition of ${id} matched ${r.changes} rows`);
        return mustGet(id);
      }),
    setLocked: async (id, locked, atMs) =>
      db.tx(() => {
        const cur = mustGet(id);
        if (cur.status === 'destroyed') throw invalidSandboxState(cur, ['running', 'paused', 'stopped', 'creating', 'failed', 'lost']);
        if (cur.locked === locked) return { changed: false, locked, lockedAtMs: cur.lockedAtMs };
        db.run(
          'UPDATE sandboxes SET locked = ?, locked_at_ms = ?, updated_at_ms = ? WHERE id = ? AND locked = ?',
          locked ? 1 : 0,
          locked ? atMs : null,
          atMs,
          id,
          locked ? 0 : 1,
        );
        return { changed: true, locked, lockedAtMs: locked ? atMs : null };
      }),
    setTimers: async (id, timers, atMs) =>
      db.tx(() => {
        const cur = mustGet(id);
        if (cur.status === 'destroyed' || cur.status === 'destroying') {
          throw invalidSandboxState(cur, ['running', 'paused', 'stopped', 'creating', 'failed', 'lost']);
        }
        const set = setClause(timers, { expiresAtMs: 'expires_at_ms', idleTimeoutS: 'idle_timeout_s' });
        if (set.sql !== '') db.run(`UPDATE sandboxes SET ${set.sql}, updated_at_ms = ? WHERE id = ?`, ...set.values, atMs, id);
        return mustGet(id);
      }),
    recordActivity: async (id, atMs) =>
      db.run(
        'UPDATE sandboxes SET last_activity_at_ms = ? WHERE id = ? AND (last_activity_at_ms IS NULL OR last_activity_at_ms < ?)',
        atMs,
        id,
        atMs,
      ).changes > 0,
  };
}

function insert(db: Db, input: NewSandbox, options: InsertOptions, getSync: (id: string) => SandboxRecord | undefined): SandboxRecord {
  if (!isSandboxId(input.id)) throw new KmError('usage', `invalid sandbox id "${input.id}"`);
  const alias = input.alias ?? null;
  if (alias !== null && !isAlias(alias)) {
    throw new KmError('usage', `invalid alias "${alias}": use lowercase letters, digits and -, starting with a letter (at most 32), not shaped like an id`);
  }
  const active = db.get(`SELECT COUNT(*) AS n, MAX(number) AS max FROM sandboxes s WHERE ${LIVE}`) as Row;
  const activeCount = num(active, 'n');
  if (options.maxActive !== undefined && activeCount >= options.maxActive) {
    throw new KmError('limit_reached', `limit reached: ${activeCount} of ${options.maxActive} sandboxes exist; destroy one or raise max_sandboxes`, {
      details: { active: activeCount, max_sandboxes: options.maxActive },
    });
  }
  if (getSync(input.id)) throw new KmError('invalid_state', `sandbox id ${input.id} already exists; ids are never reused`);
  if (alias !== null) {
    const holder = db.get('SELECT id, number FROM sandboxes s WHERE s.alias_key = ? AND ' + LIVE, alias.toLowerCase());
    if (holder) {
      throw new KmError('usage', `alias "${alias}" is already used by ${str(holder, 'id')} (#${num(holder, 'number')})`, {
        hint: `choose another alias, or destroy ${str(holder, 'id')} first`,
        details: { alias, holder: str(holder, 'id') },
      });
    }
  }
  const number = allocateNumber(db, activeCount, optNum(active, 'max'));
  db.run(
    `INSERT INTO sandboxes (id, alias, alias_key, number, profile_name, profile_json, substrate, region, status, created_at_ms,
       updated_at_ms, expires_at_ms, idle_timeout_s, max_expires_at_ms, teardown_policy, cloned_from, image,
       enforcement_requested, enforcement_effective, email_address, created_by)
     VALUES (${placeholders(21)})`,
    input.id,
    alias,
    alias?.toLowerCase() ?? null,
    number,
    input.profileName,
    JSON.stringify(input.profile ?? null),
    input.substrate,
    input.region ?? null,
    input.status ?? 'creating',
    input.createdAtMs,
    input.createdAtMs,
    input.expiresAtMs ?? null,
    input.idleTimeoutS ?? null,
    input.maxExpiresAtMs ?? null,
    input.teardownPolicy,
    input.clonedFrom ?? null,
    input.image ?? null,
    input.enforcementRequested,
    input.enforcementEffective ?? null,
    input.emailAddress ?? null,
    input.createdBy,
  );
  db.run(
    'INSERT INTO budgets (sandbox_id, ai_limit_usd, compute_limit_usd, warning_threshold) VALUES (?, ?, ?, ?)',
    input.id,
    input.aiLimitUsd ?? null,
    input.computeLimitUsd ?? null,
    input.warningThreshold ?? DEFAULT_WARNING_THRESHOLD,
  );
  return getSync(input.id) as SandboxRecord;
}

/** §8.2: restart at 1 when no sandbox exists; otherwise never reuse a number. */
function allocateNumber(db: Db, activeCount: number, maxActive: number | null): number {
  const counter = db.get("SELECT value FROM meta WHERE key = 'next_number'");
  const next = counter ? Number(counter.value) : 1;
  const number = activeCount === 0 ? 1 : Math.max(next, (maxActive ?? 0) + 1);
  db.run("INSERT INTO meta (key, value) VALUES ('next_number', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(number + 1));
  return number;
}
