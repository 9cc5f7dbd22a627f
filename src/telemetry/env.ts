/** The variables that point Claude Code (and Goose) at km.internal's OTLP receiver (SPEC §13.4). Pure. */

export interface ClaudeTelemetrySettings {
  enabled: boolean;
  logPrompts?: boolean;
  logToolDetails?: boolean;
}

/** Empty when telemetry is disabled. `OTEL_EXPORTER_OTLP_ENDPOINT` is reserved (a profile cannot set it). */
export function telemetryEnv(profile: { spec: { observability: { claudeTelemetry: ClaudeTelemetrySettings } } }): Record<string, string> {
  const t = profile.spec.observability.claudeTelemetry;
  if (!t.enabled) return {};
  return {
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://km.internal',
    ...(t.logPrompts ? { OTEL_LOG_USER_PROMPTS: '1' } : {}),
    ...(t.logToolDetails ? { OTEL_LOG_TOOL_DETAILS: '1' } : {}),
  };
}
