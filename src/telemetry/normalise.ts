/**
 * OTLP/JSON-shaped documents (from JSON requests, or decoded protobuf) → flat telemetry
 * records: one per log record, metric data point or span, with attributes as plain values.
 * Pure; tolerant of the JSON encodings OTLP allows (int64 as string or number).
 */
import type { NewTelemetry, TelemetrySignal } from '../store/index.ts';

type Json = Record<string, unknown>;
export type Flat = Omit<NewTelemetry, 'sandboxId' | 'receivedAtMs'>;

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** AnyValue → plain JSON value (int64 beyond 2^53 kept as a string). */
export function plainValue(v: unknown): unknown {
  const a = obj(v);
  if ('stringValue' in a) return String(a.stringValue);
  if ('boolValue' in a) return Boolean(a.boolValue);
  if ('intValue' in a) {
    const n = Number(a.intValue);
    return Number.isSafeInteger(n) ? n : String(a.intValue);
  }
  if ('doubleValue' in a) return Number(a.doubleValue);
  if ('arrayValue' in a) return arr(obj(a.arrayValue).values).map(plainValue);
  if ('kvlistValue' in a) return attributes(obj(a.kvlistValue).values);
  if ('bytesValue' in a) return String(a.bytesValue);
  return null;
}

export function attributes(list: unknown): Json {
  const out: Json = {};
  for (const kv of arr(list)) {
    const k = obj(kv);
    if (typeof k.key === 'string') out[k.key] = plainValue(k.value);
  }
  return out;
}

/** Nanoseconds (string or number) → milliseconds; 0/absent → undefined. */
const nanosToMs = (v: unknown): number | undefined => {
  if (v === undefined || v === null || v === '' || v === 0 || v === '0') return undefined;
  try {
    const ms = Number(BigInt(typeof v === 'number' ? Math.trunc(v) : String(v)) / 1_000_000n);
    return ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
};

function logName(rec: Json, attrs: Json): string {
  if (typeof rec.eventName === 'string' && rec.eventName !== '') return rec.eventName;
  const event = attrs['event.name'];
  if (typeof event === 'string' && event !== '') return event.includes('.') ? event : `claude_code.${event}`;
  const body = plainValue(rec.body);
  return typeof body === 'string' && body.length <= 200 ? body : 'log';
}

function logs(doc: Json, nowMs: number): Flat[] {
  const out: Flat[] = [];
  for (const rl of arr(doc.resourceLogs)) {
    const resource = attributes(obj(obj(rl).resource).attributes);
    for (const sl of arr(obj(rl).scopeLogs)) {
      const scope = obj(obj(sl).scope).name;
      for (const r of arr(obj(sl).logRecords)) {
        const rec = obj(r);
        const attrs = attributes(rec.attributes);
        const ts = nanosToMs(rec.timeUnixNano) ?? nanosToMs(rec.observedTimeUnixNano) ?? nowMs;
        const data: Json = { attributes: attrs, resource, ...(scope ? { scope } : {}) };
        if (rec.body !== undefined) data.body = plainValue(rec.body);
        if (rec.severityText) data.severity = rec.severityText;
        out.push({ signal: 'logs', timestampMs: ts, name: logName(rec, attrs), data });
      }
    }
  }
  return out;
}

function pointsOf(m: Json): { kind: string; temporality: number | undefined; points: Json[] } {
  for (const kind of ['sum', 'gauge', 'histogram', 'summary', 'exponentialHistogram']) {
    if (m[kind] !== undefined) {
      const body = obj(m[kind]);
      const t = body.aggregationTemporality;
      return { kind, temporality: t === undefined ? undefined : Number(t), points: arr(body.dataPoints).map(obj) };
    }
  }
  return { kind: 'unknown', temporality: undefined, points: [] };
}

function metrics(doc: Json, nowMs: number): Flat[] {
  const out: Flat[] = [];
  for (const rm of arr(doc.resourceMetrics)) {
    const resource = attributes(obj(obj(rm).resource).attributes);
    for (const sm of arr(obj(rm).scopeMetrics)) {
      for (const mm of arr(obj(sm).metrics)) {
        const m = obj(mm);
        const { kind, temporality, points } = pointsOf(m);
        for (const p of points) {
          const value = p.asDouble !== undefined ? Number(p.asDouble) : p.asInt !== undefined ? Number(p.asInt) : p.sum !== undefined ? Number(p.sum) : null;
          const data: Json = { kind, value, attributes: attributes(p.attributes), resource, unit: m.unit ?? '' };
          if (temporality !== undefined) data.temporality = temporality === 1 ? 'delta' : temporality === 2 ? 'cumulative' : 'unspecified';
          if (p.count !== undefined) data.count = Number(p.count);
          const start = nanosToMs(p.startTimeUnixNano);
          if (start !== undefined) data.start_ms = start;
          out.push({ signal: 'metrics', timestampMs: nanosToMs(p.timeUnixNano) ?? nowMs, name: String(m.name ?? 'metric'), data });
        }
      }
    }
  }
  return out;
}

function traces(doc: Json, nowMs: number): Flat[] {
  const out: Flat[] = [];
  for (const rs of arr(doc.resourceSpans)) {
    const resource = attributes(obj(obj(rs).resource).attributes);
    for (const ss of arr(obj(rs).scopeSpans)) {
      for (const sp of arr(obj(ss).spans)) {
        const s = obj(sp);
        const start = nanosToMs(s.startTimeUnixNano);
        const end = nanosToMs(s.endTimeUnixNano);
        const data: Json = {
          attributes: attributes(s.attributes),
          resource,
          trace_id: s.traceId ?? null,
          span_id: s.spanId ?? null,
          parent_span_id: s.parentSpanId || null,
          duration_ms: start !== undefined && end !== undefined ? end - start : null,
          status: obj(s.status).code ?? null,
        };
        out.push({ signal: 'traces', timestampMs: start ?? nowMs, name: String(s.name ?? 'span'), data });
      }
    }
  }
  return out;
}

export function flatten(signal: TelemetrySignal, doc: unknown, nowMs: number): Flat[] {
  const d = obj(doc);
  return signal === 'logs' ? logs(d, nowMs) : signal === 'metrics' ? metrics(d, nowMs) : traces(d, nowMs);
}
