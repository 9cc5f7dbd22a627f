/**
 * The OTLP receiver behind km.internal, fed by the real OpenTelemetry JS exporters:
 * protobuf logs and metrics, JSON metrics, protobuf traces (the SDK's own serializer).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createRedactor } from '../audit/index.ts';
import { createInternalApi, listenInternalApi } from '../internal-api/index.ts';
import { mailKit } from '../mail/test-kit.ts';
import { createOtlpReceiver } from './index.ts';

async function endpoint(t: TestContext) {
  const k = await mailKit(t);
  const sb = await k.sandbox('agent');
  const telemetry = createOtlpReceiver({ store: k.store, redactor: createRedactor({ literals: ['operator-literal-xyz'] }), clock: k.clock });
  const l = await listenInternalApi(createInternalApi({ sandboxId: sb.id, mail: k.mail, telemetry }), { port: 0 });
  t.after(() => l.close());
  return { k, sb, url: `http://${l.address}` };
}

test('protobuf logs from the real exporter (gzip) are stored per sandbox, named by event, redacted', async (t) => {
  const { k, sb, url } = await endpoint(t);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'claude-code' }),
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${url}/v1/logs`, compression: 'gzip' as never }) })],
  });
  const logger = provider.getLogger('com.anthropic.claude_code', '2.1.0');
  logger.emit({ body: 'claude_code.user_prompt', attributes: { 'event.name': 'user_prompt', 'session.id': 's1', prompt: 'deploy with operator-literal-xyz and ghp_abcdefghijklmnopqrstuvwxyz012345' } });
  logger.emit({ eventName: 'claude_code.api_request', body: 'claude_code.api_request', attributes: { model: 'claude-sonnet-4-5', cost_usd: 0.0123, input_tokens: 1200 } });
  await provider.forceFlush();
  await provider.shutdown();
  const rows = await k.store.queryTelemetry({ sandboxId: sb.id, signals: ['logs'] });
  assert.deepEqual(rows.map((r) => r.name).sort(), ['claude_code.api_request', 'claude_code.user_prompt']);
  const prompt = rows.find((r) => r.name === 'claude_code.user_prompt')!;
  assert.equal((prompt.data.attributes as Record<string, unknown>).prompt, 'deploy with [REDACTED:literal] and [REDACTED:github_token]');
  assert.deepEqual((prompt.data.resource as Record<string, unknown>)['service.name'], 'claude-code');
  const api = rows.find((r) => r.name === 'claude_code.api_request')!;
  assert.deepEqual(api.data.attributes, { model: 'claude-sonnet-4-5', cost_usd: 0.0123, input_tokens: 1200 });
});

for (const [label, Exporter] of [['protobuf', OTLPMetricExporter], ['JSON', JsonMetricExporter]] as const) {
  test(`${label} metrics from the real exporter become one row per data point with temporality`, async (t) => {
    const { k, sb, url } = await endpoint(t);
    const reader = new PeriodicExportingMetricReader({
      exporter: new Exporter({ url: `${url}/v1/metrics`, temporalityPreference: AggregationTemporality.DELTA as never }),
      exportIntervalMillis: 60_000,
    });
    const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'claude-code' }), readers: [reader] });
    const meter = provider.getMeter('com.anthropic.claude_code');
    meter.createCounter('claude_code.cost.usage', { unit: 'USD' }).add(0.25, { model: 'claude-sonnet-4-5' });
    meter.createCounter('claude_code.token.usage', { unit: 'tokens' }).add(345, { type: 'input', model: 'claude-sonnet-4-5' });
    await provider.forceFlush();
    await provider.shutdown();
    const rows = await k.store.queryTelemetry({ sandboxId: sb.id, signals: ['metrics'] });
    const cost = rows.find((r) => r.name === 'claude_code.cost.usage');
    assert.equal(cost?.data.value, 0.25);
    assert.equal(cost?.data.temporality, 'delta');
    assert.deepEqual(cost?.data.attributes, { model: 'claude-sonnet-4-5' });
    const tokens = rows.find((r) => r.name === 'claude_code.token.usage');
    assert.equal(tokens?.data.value, 345);
    assert.equal((tokens?.data.attributes as Record<string, unknown>).type, 'input');
  });
}

test('protobuf traces serialised by the SDK are stored as spans with durations', async (t) => {
  const { k, sb, url } = await endpoint(t);
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  const span = provider.getTracer('t').startSpan('tool.Bash', { attributes: { command: 'ls' }, startTime: [1_800_000_000, 0] });
  span.end([1_800_000_001, 500_000_000]);
  await provider.forceFlush();
  const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!);
  const status = await new Promise<number>((resolve, reject) => {
    const u = new URL(`${url}/v1/traces`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/x-protobuf' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(status, 200);
  const [row] = await k.store.queryTelemetry({ sandboxId: sb.id, signals: ['traces'] });
  assert.equal(row?.name, 'tool.Bash');
  assert.equal(row?.timestampMs, 1_800_000_000_000);
  assert.equal(row?.data.duration_ms, 1500);
  assert.deepEqual(row?.data.attributes, { command: 'ls' });
});
