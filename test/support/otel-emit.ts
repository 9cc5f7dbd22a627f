/**
 * Emits Claude Code-shaped telemetry with the real OpenTelemetry protobuf exporters,
 * configured only by the standard OTEL_* environment (as Claude Code is inside a sandbox).
 * Used by the end-to-end tests; prints nothing on success.
 */
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

const logs = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() })] });
const logger = logs.getLogger('com.anthropic.claude_code');
logger.emit({ eventName: 'claude_code.user_prompt', body: 'claude_code.user_prompt', attributes: { 'event.name': 'user_prompt', 'session.id': 'e2e', prompt: process.argv[2] ?? 'hello', prompt_length: 5 } });
logger.emit({ eventName: 'claude_code.api_request', body: 'claude_code.api_request', attributes: { 'event.name': 'api_request', 'session.id': 'e2e', model: 'claude-sonnet-4-5', cost_usd: 0.0125, input_tokens: 900, output_tokens: 40 } });
const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: 60_000 });
const metrics = new MeterProvider({ readers: [reader] });
metrics.getMeter('com.anthropic.claude_code').createCounter('claude_code.cost.usage').add(0.0125, { model: 'claude-sonnet-4-5' });
await logs.forceFlush();
await metrics.forceFlush();
await logs.shutdown();
await metrics.shutdown();
