/**
 * OTLP protobuf → the OTLP/JSON object shape (camelCase keys, 64-bit integers as strings,
 * ids as hex), so one normaliser serves `application/x-protobuf` and `application/json`.
 * Covers logs, metrics (gauge, sum, histogram, summary) and traces; unknown fields are skipped.
 */
import { double, fields, fixed64, hex, int64, packed64, sfixed64, str, uint, type Field } from './protobuf.ts';

type Json = Record<string, unknown>;
const sub = (f: Field) => f.bytes ?? new Uint8Array();

function anyValue(b: Uint8Array): Json {
  for (const f of fields(b)) {
    switch (f.no) {
      case 1: return { stringValue: str(f) };
      case 2: return { boolValue: uint(f) !== 0 };
      case 3: return { intValue: int64(f) };
      case 4: return { doubleValue: double(f) };
      case 5: return { arrayValue: { values: [...fields(sub(f))].filter((x) => x.no === 1).map((x) => anyValue(sub(x))) } };
      case 6: return { kvlistValue: { values: [...fields(sub(f))].filter((x) => x.no === 1).map((x) => keyValue(sub(x))) } };
      case 7: return { bytesValue: Buffer.from(sub(f)).toString('base64') };
    }
  }
  return {};
}

function keyValue(b: Uint8Array): Json {
  const out: Json = { key: '', value: {} };
  for (const f of fields(b)) {
    if (f.no === 1) out.key = str(f);
    else if (f.no === 2) out.value = anyValue(sub(f));
  }
  return out;
}

/** Decodes a message whose fields map to named decoders; repeated fields collect into arrays. */
function message(b: Uint8Array, spec: Record<number, [string, (f: Field) => unknown, boolean?]>): Json {
  const out: Json = {};
  for (const f of fields(b)) {
    const entry = spec[f.no];
    if (!entry) continue;
    const [name, decode, repeated] = entry;
    const v = decode(f);
    if (repeated) ((out[name] ??= []) as unknown[]).push(...(Array.isArray(v) ? v : [v]));
    else out[name] = v;
  }
  return out;
}

const attrs: [string, (f: Field) => unknown, boolean] = ['attributes', (f) => keyValue(sub(f)), true];
const resource = (f: Field) => message(sub(f), { 1: attrs, 2: ['droppedAttributesCount', uint] });
const scope = (f: Field) => message(sub(f), { 1: ['name', str], 2: ['version', str], 3: attrs });

const logRecord = (f: Field) =>
  message(sub(f), {
    1: ['timeUnixNano', fixed64],
    11: ['observedTimeUnixNano', fixed64],
    2: ['severityNumber', uint],
    3: ['severityText', str],
    5: ['body', (x) => anyValue(sub(x))],
    6: attrs,
    9: ['traceId', hex],
    10: ['spanId', hex],
    12: ['eventName', str],
  });

export function decodeLogs(b: Uint8Array): Json {
  return message(b, {
    1: ['resourceLogs', (rl) => message(sub(rl), {
      1: ['resource', resource],
      2: ['scopeLogs', (sl) => message(sub(sl), { 1: ['scope', scope], 2: ['logRecords', logRecord, true] }), true],
    }), true],
  });
}

const numberPoint = (f: Field) =>
  message(sub(f), { 7: attrs, 2: ['startTimeUnixNano', fixed64], 3: ['timeUnixNano', fixed64], 4: ['asDouble', double], 6: ['asInt', sfixed64] });
const histogramPoint = (f: Field) =>
  message(sub(f), {
    9: attrs,
    2: ['startTimeUnixNano', fixed64],
    3: ['timeUnixNano', fixed64],
    4: ['count', fixed64],
    5: ['sum', double],
    6: ['bucketCounts', (x) => packed64(x, (b) => fixed64({ no: 0, wire: 1, bytes: b })), true],
    7: ['explicitBounds', (x) => packed64(x, (b) => double({ no: 0, wire: 1, bytes: b })), true],
    11: ['min', double],
    12: ['max', double],
  });
const summaryPoint = (f: Field) => message(sub(f), { 7: attrs, 2: ['startTimeUnixNano', fixed64], 3: ['timeUnixNano', fixed64], 4: ['count', fixed64], 5: ['sum', double] });
const points = (point: (f: Field) => Json) => (f: Field) =>
  message(sub(f), { 1: ['dataPoints', point, true], 2: ['aggregationTemporality', uint], 3: ['isMonotonic', (x) => uint(x) !== 0] });

const metric = (f: Field) =>
  message(sub(f), {
    1: ['name', str],
    2: ['description', str],
    3: ['unit', str],
    5: ['gauge', points(numberPoint)],
    7: ['sum', points(numberPoint)],
    9: ['histogram', points(histogramPoint)],
    11: ['summary', points(summaryPoint)],
  });

export function decodeMetrics(b: Uint8Array): Json {
  return message(b, {
    1: ['resourceMetrics', (rm) => message(sub(rm), {
      1: ['resource', resource],
      2: ['scopeMetrics', (sm) => message(sub(sm), { 1: ['scope', scope], 2: ['metrics', metric, true] }), true],
    }), true],
  });
}

const span = (f: Field) =>
  message(sub(f), {
    1: ['traceId', hex],
    2: ['spanId', hex],
    4: ['parentSpanId', hex],
    5: ['name', str],
    6: ['kind', uint],
    7: ['startTimeUnixNano', fixed64],
    8: ['endTimeUnixNano', fixed64],
    9: attrs,
    15: ['status', (x) => message(sub(x), { 2: ['message', str], 3: ['code', uint] })],
  });

export function decodeTraces(b: Uint8Array): Json {
  return message(b, {
    1: ['resourceSpans', (rs) => message(sub(rs), {
      1: ['resource', resource],
      2: ['scopeSpans', (ss) => message(sub(ss), { 1: ['scope', scope], 2: ['spans', span, true] }), true],
    }), true],
  });
}
