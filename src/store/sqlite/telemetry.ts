/** Telemetry rows (SPEC §13.4): one per log record, metric point or span, per sandbox. */
import { KmError } from '../../core/errors.ts';
import type { TelemetryRecord, TelemetrySignal, TelemetryStore } from '../telemetry.ts';
import type { Db, Param, Row } from './db.ts';
import { num, placeholders, str } from './rows.ts';

function decode(r: Row): TelemetryRecord {
  return {
    seq: num(r, 'seq'),
    sandboxId: str(r, 'sandbox_id'),
    signal: str(r, 'signal') as TelemetrySignal,
    timestampMs: num(r, 'timestamp_ms'),
    receivedAtMs: num(r, 'received_at_ms'),
    name: str(r, 'name'),
    data: JSON.parse(str(r, 'data_json')) as Record<string, unknown>,
  };
}

export function createTelemetryStore(db: Db): TelemetryStore {
  return {
    appendTelemetry: async (records) => {
      if (records.length === 0) return 0;
      const sql = `INSERT INTO telemetry (sandbox_id, signal, timestamp_ms, received_at_ms, name, data_json) VALUES (${placeholders(6)})`;
      return db.tx(() => {
        for (const r of records) db.run(sql, r.sandboxId, r.signal, r.timestampMs, r.receivedAtMs, r.name, JSON.stringify(r.data));
        return records.length;
      });
    },
    queryTelemetry: async (q) => {
      const where = ['sandbox_id = ?'];
      const params: Param[] = [q.sandboxId];
      if (q.signals && q.signals.length > 0) (where.push(`signal IN (${placeholders(q.signals.length)})`), params.push(...q.signals));
      if (q.names && q.names.length > 0) (where.push(`name IN (${placeholders(q.names.length)})`), params.push(...q.names));
      if (q.sinceMs !== undefined) (where.push('timestamp_ms >= ?'), params.push(q.sinceMs));
      let sql = `SELECT * FROM telemetry WHERE ${where.join(' AND ')} ORDER BY timestamp_ms, seq`;
      if (q.limit !== undefined) {
        if (!Number.isSafeInteger(q.limit) || q.limit < 0) throw new KmError('usage', `limit must be a non-negative integer, got ${q.limit}`);
        sql += ' LIMIT ?';
        params.push(q.limit);
      }
      return db.all(sql, ...params).map(decode);
    },
    telemetryCounts: async (sandboxId, options = {}) => {
      const since = options.sinceMs !== undefined ? ' AND timestamp_ms >= ?' : '';
      const params: Param[] = options.sinceMs !== undefined ? [sandboxId, options.sinceMs] : [sandboxId];
      return db
        .all(`SELECT signal, COUNT(*) AS n, MAX(timestamp_ms) AS last FROM telemetry WHERE sandbox_id = ?${since} GROUP BY signal ORDER BY signal`, ...params)
        .map((r) => ({ signal: str(r, 'signal') as TelemetrySignal, count: num(r, 'n'), lastAtMs: num(r, 'last') }));
    },
    deleteTelemetry: async (sandboxId) => db.run('DELETE FROM telemetry WHERE sandbox_id = ?', sandboxId).changes,
  };
}
