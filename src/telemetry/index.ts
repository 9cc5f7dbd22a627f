/** OTLP telemetry (SPEC §13.4): decoding, the receiver, the sandbox environment, the `km otel` views. */
export { decodeLogs, decodeMetrics, decodeTraces } from './otlp-proto.ts';
export { attributes, flatten, plainValue } from './normalise.ts';
export { createOtlpReceiver, OTLP_MAX_BYTES, OtlpError, readBody, signalOfPath, type OtlpReceiver, type OtlpReceiverDeps } from './receiver.ts';
export { telemetryEnv } from './env.ts';
export { claudeEvents, isInternalPrompt, kindOf, selfReported, type ClaudeEvent, type ClaudeEventKind, type SelfReported } from './claude.ts';
export { eventsJson, noTelemetryNote, promptsJson, summaryJson, timelineJson, toolsJson, type OtelView, type SummaryJson } from './views.ts';
export { localTime, renderEvents, renderPrompts, renderSummary, renderTimeline, renderTools } from './views-render.ts';
export { renderSpend, spendJson, type SpendInput } from './spend.ts';
