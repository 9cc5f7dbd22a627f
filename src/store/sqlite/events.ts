/**
 * The event log (SPEC §13.1). Events are stored as given: redaction happens before they
 * reach the store. `seq` is an AUTOINCREMENT key, so it only grows (a follow cursor).
 */
import { KmError } from '../../core/errors.ts';
import type { EventStore } from '../store.ts';
import type { EventQuery, EventRecord } from '../types.ts';
import type { Db, Param, Row } from './db.ts';
import { num, str } from './rows.ts';

function decodeEvent(r: Row): EventRecord {
  return {
    seq: num(r, 'seq'),
    timestampMs: num(r, 'timestamp_ms'),
    sandboxId: str(r, 'sandbox_id'),
    eventType: str(r, 'event_type'),
    source: str(r, 'source'),
    detail: JSON.parse(str(r, 'detail_json')) as Record<string, unknown>,
  };
}

/** `lifecycle.*` and `lifecycle.` match by prefix; anything else exactly. */
function typeFilter(types: readonly string[], params: Param[]): string {
  const parts = types.map((t) => {
    const prefix = t.endsWith('.*') ? t.slice(0, -1) : t.endsWith('.') ? t : undefined;
    if (prefix === undefined) {
      params.push(t);
      return 'event_type = ?';
    }
    params.push(prefix.length, prefix);
    return 'substr(event_type, 1, ?) = ?';
  });
  return `(${parts.join(' OR ')})`;
}

function buildQuery(q: EventQuery): { sql: string; params: Param[] } {
  const where: string[] = [];
  const params: Param[] = [];
  if (q.sandboxId !== undefined) (where.push('sandbox_id = ?'), params.push(q.sandboxId));
  if (q.types !== undefined && q.types.length > 0) where.push(typeFilter(q.types, params));
  if (q.sinceMs !== undefined) (where.push('timestamp_ms >= ?'), params.push(q.sinceMs));
  if (q.afterSeq !== undefined) (where.push('seq > ?'), params.push(q.afterSeq));
  const order = q.afterSeq !== undefined ? ['seq'] : ['timestamp_ms', 'seq'];
  const asc = order.join(', ');
  const desc = order.map((c) => `${c} DESC`).join(', ');
  let sql = `SELECT * FROM events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
  if (q.limit !== undefined) {
    if (!Number.isSafeInteger(q.limit) || q.limit < 0) throw new KmError('usage', `--limit must be a non-negative integer, got ${q.limit}`);
    params.push(q.limit);
    sql = q.fromEnd ? `SELECT * FROM (${sql} ORDER BY ${desc} LIMIT ?) ORDER BY ${asc}` : `${sql} ORDER BY ${asc} LIMIT ?`;
  } else sql += ` ORDER BY ${asc}`;
  return { sql, params };
}

export function createEventStore(db: Db): EventStore {
  return {
    appendEvents: async (events) => {
      if (events.length === 0) return [];
      return db.tx(() =>
        events.map(
          (e) =>
            db.run(
              'INSERT INTO events (timestamp_ms, sandbox_id, event_type, source, detail_json) VALUES (?, ?, ?, ?, ?)',
              e.timestampMs,
              e.sandboxId,
              e.eventType,
              e.source,
              JSON.stringify(e.detail ?? {}),
            ).lastInsertRowid,
        ),
      );
    },
    queryEvents: async (q) => {
      const { sql, params } = buildQuery(q);
      return db.all(sql, ...params).map(decodeEvent);
    },
    lastEventSeq: async () => num(db.get('SELECT COALESCE(MAX(seq), 0) AS s FROM events') as Row, 's'),
  };
}
