import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { decodeLogs, decodeMetrics } from './otlp-proto.ts';
import { ProtobufError } from './protobuf.ts';

/** A loopback collector that keeps each request's raw (un-gzipped) body and content type. */
async function collector(t: { after(fn: () => unknown): void }) {
  const bodies: Array<{ path: string; type: string; body: Buffer }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body = Buffer.concat(parts);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      bodies.push({ path: req.url ?? '', type: String(req.headers['content-type']), body });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

const attr = (attrs: unknown, key: string) => (attrs as Array<{ key: string; value: Record<string, unknown> }>).find((a) => a.key === key)?.value;

test('logs from the real OpenTelemetry protobuf exporter decode to the OTLP/JSON shape', async (t) => {
  const c = await collector(t);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'claude-code', 'session.id': 's-1' }),
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${c.url}/v1/logs` }) })],
  });
  provider.getLogger('com.anthropic.claude_code', '2.1.0').emit({
    eventName: 'claude_code.api_request',
    body: 'claude_code.api_request',
    severityNumber: 9,
    severityText: 'INFO',
    attributes: { model: 'claude-sonnet-4-5', input_tokens: 1200, cost_usd: 0.0123, success: true, tags: ['a', 'b'] },
  });
  await provider.forceFlush();
  await provider.shutdown();
  assert.equal(c.bodies.length, 1);
  assert.equal(c.bodies[0]?.type, 'application/x-protobuf');
  const doc = decodeLogs(c.bodies[0]!.body) as any;
  const rl = doc.resourceLogs[0];
  assert.deepEqual(attr(rl.resource.attributes, 'service.name'), { stringValue: 'claude-code' });
  const sl = rl.scopeLogs[0];
  assert.equal(sl.scope.name, 'com.anthropic.claude_code');
  assert.equal(sl.scope.version, '2.1.0');
  const rec = sl.logRecords[0];
  assert.equal(rec.severityNumber, 9);
  assert.equal(rec.eventName, 'claude_code.api_request');
  assert.deepEqual(rec.body, { stringValue: 'claude_code.api_request' });
  assert.deepEqual(attr(rec.attributes, 'input_tokens'), { intValue: '1200' });
  assert.deepEqual(attr(rec.attributes, 'cost_usd'), { doubleValue: 0.0123 });
  assert.deepEqual(attr(rec.attributes, 'success'), { boolValue: true });
  assert.deepEqual(attr(rec.attributes, 'tags'), { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
  assert.match(rec.timeUnixNano, /^\d{18,}$/);
});

test('metrics (sum and histogram) from the real exporter decode', async (t) => {
  const c = await collector(t);
  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${c.url}/v1/metrics` }), exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'claude-code' }), readers: [reader] });
  const meter = provider.getMeter('com.anthropic.claude_code');
  meter.createCounter('claude_code.token.usage', { unit: 'tokens' }).add(345, { type: 'input', model: 'claude-sonnet-4-5' });
  meter.createCounter('claude_code.cost.usage', { unit: 'USD' }).add(0.25, { model: 'claude-sonnet-4-5' });
  meter.createHistogram('latency', { unit: 'ms' }).record(12.5);
  await provider.forceFlush();
  await provider.shutdown();
  assert.ok(c.bodies.length >= 1);
  const doc = decodeMetrics(c.bodies[0]!.body) as any;
  const metrics = doc.resourceMetrics[0].scopeMetrics[0].metrics as any[];
  const tokens = metrics.find((m) => m.name === 'claude_code.token.usage');
  assert.equal(tokens.unit, 'tokens');
  assert.equal(tokens.sum.isMonotonic, true);
  const p = tokens.sum.dataPoints[0];
  assert.equal(Number(p.asInt ?? p.asDouble), 345);
  assert.deepEqual(attr(p.attributes, 'type'), { stringValue: 'input' });
  const cost = metrics.find((m) => m.name === 'claude_code.cost.usage');
  assert.equal(cost.sum.dataPoints[0].asDouble, 0.25);
  const h = metrics.find((m) => m.name === 'latency').histogram.dataPoints[0];
  assert.equal(h.count, '1');
  assert.equal(h.sum, 12.5);
  assert.ok(Array.isArray(h.explicitBounds) && h.explicitBounds.length > 0);
  assert.equal(h.bucketCounts.length, h.explicitBounds.length + 1);
});

test('garbage input raises a ProtobufError, never hangs', () => {
  assert.throws(() => decodeLogs(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), ProtobufError);
  assert.throws(() => decodeLogs(Buffer.from([0x0b])), ProtobufError);
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + (i % 64) }, (_, j) => (i * 31 + j * 7) & 0xff));
    try {
      decodeMetrics(junk);
    } catch (e) {
      assert.ok(e instanceof ProtobufError || e instanceof RangeError, String(e));
    }
  }
});
