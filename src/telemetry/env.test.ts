import assert from 'node:assert/strict';
import { test } from 'node:test';
import { telemetryEnv } from './index.ts';

const profile = (claudeTelemetry: { enabled: boolean; logPrompts?: boolean; logToolDetails?: boolean }) => ({ spec: { observability: { claudeTelemetry } } });

test('telemetry variables (SPEC §13.4): endpoint km.internal, prompt and tool details per flag, nothing when disabled', () => {
  assert.deepEqual(telemetryEnv(profile({ enabled: false, logPrompts: true })), {});
  assert.deepEqual(telemetryEnv(profile({ enabled: true })), {
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://km.internal',
  });
  const all = telemetryEnv(profile({ enabled: true, logPrompts: true, logToolDetails: true }));
  assert.equal(all.OTEL_LOG_USER_PROMPTS, '1');
  assert.equal(all.OTEL_LOG_TOOL_DETAILS, '1');
});
