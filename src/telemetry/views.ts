/**
 * `km otel <sb>` views (SPEC §13.4) as JSON documents: the default summary (ledger next to the
 * agent's self-reported figures, telemetry counts), `--prompts`, `--events`, `--tools`,
 * `--timeline`. Pure: stored records and ledger totals in, documents out.
 */
import { toIso } from '../core/clock.ts';
import type { TelemetryCount, TelemetryRecord, UsageTotal } from '../store/index.ts';
import { claudeEvents, isInternalPrompt, num, selfReported, text, type ClaudeEvent } from './claude.ts';

export type OtelView = 'summary' | 'prompts' | 'events' | 'tools' | 'timeline';

const round = (n: number, d = 6): number => Math.round(n * 10 ** d) / 10 ** d;

export function noTelemetryNote(label: string): string {
  return `no telemetry received from ${label} (is observability.claudeTelemetry.enabled set?)`;
}

export function summaryJson(sandboxId: string, label: string, ledger: readonly UsageTotal[], counts: readonly TelemetryCount[], records: readonly TelemetryRecord[]) {
  const ledgerTotal = ledger.reduce((a, t) => a + t.costUsd, 0);
  const self = selfReported(records);
  return {
    sandbox_id: sandboxId,
    ledger: {
      total_usd: round(ledgerTotal),
      models: ledger.map((t) => ({
        provider: t.provider, model: t.model, requests: t.requests, input_tokens: t.inputTokens, output_tokens: t.outputTokens,
        cache_read_tokens: t.cacheReadTokens, cache_write_tokens: t.cacheWriteTokens, cost_usd: round(t.costUsd), priced: t.priced,
      })),
    },
    telemetry: Object.fromEntries(counts.map((c) => [c.signal, { count: c.count, latest: toIso(c.lastAtMs) }])),
    self_reported: self
      ? {
          source: self.source, cost_usd: round(self.costUsd), input_tokens: self.inputTokens, output_tokens: self.outputTokens,
          cache_read_tokens: self.cacheReadTokens, cache_creation_tokens: self.cacheCreationTokens,
          models: self.models.map((m) => ({ model: m.model, cost_usd: round(m.costUsd), requests: m.requests })),
          difference_usd: round(self.costUsd - ledgerTotal),
        }
      : null,
    ...(counts.length === 0 ? { note: noTelemetryNote(label) } : {}),
  };
}

export type SummaryJson = ReturnType<typeof summaryJson>;

const promptText = (e: ClaudeEvent): string | null => text(e.attrs.prompt);

export function promptsJson(records: readonly TelemetryRecord[]) {
  return claudeEvents(records)
    .filter((e) => e.kind === 'user_prompt' && !isInternalPrompt(promptText(e) ?? ''))
    .map((e) => ({ timestamp: toIso(e.timestampMs), session_id: e.sessionId, prompt: promptText(e), prompt_length: num(e.attrs.prompt_length) || (promptText(e)?.length ?? 0) }));
}

function eventDetail(e: ClaudeEvent): Record<string, unknown> {
  const a = e.attrs;
  switch (e.kind) {
    case 'user_prompt':
      return { prompt: promptText(e), prompt_length: num(a.prompt_length) };
    case 'api_request':
      return {
        model: text(a.model), input_tokens: num(a.input_tokens), output_tokens: num(a.output_tokens), cache_read_tokens: num(a.cache_read_tokens),
        cache_creation_tokens: num(a.cache_creation_tokens), cost_usd: num(a.cost_usd), duration_ms: num(a.duration_ms),
      };
    case 'api_error':
      return { model: text(a.model), error: text(a.error), status_code: text(a.status_code), duration_ms: num(a.duration_ms), attempt: num(a.attempt) };
    case 'tool_decision':
      return { tool: text(a.tool_name), decision: text(a.decision), source: text(a.source) };
    case 'tool_result':
      return { tool: text(a.tool_name), success: text(a.success) === 'true', duration_ms: num(a.duration_ms), result_size_bytes: num(a.tool_result_size_bytes), error: text(a.error) };
  }
}

export function eventsJson(records: readonly TelemetryRecord[]) {
  return claudeEvents(records)
    .filter((e) => !(e.kind === 'user_prompt' && isInternalPrompt(promptText(e) ?? '')))
    .map((e) => ({ timestamp: toIso(e.timestampMs), event: e.kind, session_id: e.sessionId, ...eventDetail(e) }));
}

const PARAM_KEYS = ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description', 'skill_name', 'mcp_server_name'];

/** The one parameter that says what a tool call did (needs `logToolDetails`). */
function keyParameter(a: Record<string, unknown>): string | null {
  let params: unknown = a.tool_parameters;
  if (typeof params === 'string') {
    const raw = params;
    try {
      params = JSON.parse(raw);
    } catch {
      return raw.slice(0, 120);
    }
  }
  if (!params || typeof params !== 'object') return null;
  const p = params as Record<string, unknown>;
  for (const k of PARAM_KEYS) if (text(p[k])) return text(p[k])!.slice(0, 120);
  return null;
}

export function toolsJson(records: readonly TelemetryRecord[]) {
  return claudeEvents(records)
    .filter((e) => e.kind === 'tool_result')
    .sort((x, y) => (x.sessionId ?? '').localeCompare(y.sessionId ?? '') || x.timestampMs - y.timestampMs)
    .map((e) => ({
      timestamp: toIso(e.timestampMs), session_id: e.sessionId, tool: text(e.attrs.tool_name), duration_ms: num(e.attrs.duration_ms),
      result_size_bytes: num(e.attrs.tool_result_size_bytes), parameter: keyParameter(e.attrs), success: text(e.attrs.success) === 'true',
      error: text(e.attrs.error), decision: text(e.attrs.decision),
    }));
}

interface Turn {
  timestamp: string;
  session_id: string | null;
  prompt: string | null;
  api_requests: number;
  tool_calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  duration_s: number;
}

/** Turns: a prompt and everything its session did until that session's next prompt. */
export function timelineJson(records: readonly TelemetryRecord[]) {
  const turns: Turn[] = [];
  const open = new Map<string, { turn: Turn; startMs: number }>();
  for (const e of claudeEvents(records)) {
    const session = e.sessionId ?? '';
    if (e.kind === 'user_prompt') {
      if (isInternalPrompt(promptText(e) ?? '')) continue;
      const turn: Turn = { timestamp: toIso(e.timestampMs), session_id: e.sessionId, prompt: promptText(e), api_requests: 0, tool_calls: 0, errors: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, duration_s: 0 };
      turns.push(turn);
      open.set(session, { turn, startMs: e.timestampMs });
      continue;
    }
    const cur = open.get(session);
    if (!cur) continue;
    const t = cur.turn;
    if (e.kind === 'api_request') {
      t.api_requests++;
      t.cost_usd = round(t.cost_usd + num(e.attrs.cost_usd));
      t.input_tokens += num(e.attrs.input_tokens);
      t.output_tokens += num(e.attrs.output_tokens);
    } else if (e.kind === 'tool_result') t.tool_calls++;
    else if (e.kind === 'api_error') t.errors++;
    t.duration_s = Math.round((e.timestampMs - cur.startMs) / 1000);
  }
  return { turns, total_cost_usd: round(turns.reduce((a, t) => a + t.cost_usd, 0)) };
}
