/**
 * Claude Code's telemetry (events `claude_code.user_prompt|api_request|api_error|
 * tool_decision|tool_result`, metrics `claude_code.cost.usage|token.usage`) read from stored
 * records into typed items. Pure.
 */
import type { TelemetryRecord } from '../store/index.ts';

type Attrs = Record<string, unknown>;

export type ClaudeEventKind = 'user_prompt' | 'api_request' | 'api_error' | 'tool_decision' | 'tool_result';
const KINDS: ReadonlySet<string> = new Set(['user_prompt', 'api_request', 'api_error', 'tool_decision', 'tool_result']);

export interface ClaudeEvent {
  kind: ClaudeEventKind;
  timestampMs: number;
  sessionId: string | null;
  promptId: string | null;
  attrs: Attrs;
}

const attrsOf = (r: TelemetryRecord): Attrs => (r.data.attributes && typeof r.data.attributes === 'object' ? (r.data.attributes as Attrs) : {});
const resourceOf = (r: TelemetryRecord): Attrs => (r.data.resource && typeof r.data.resource === 'object' ? (r.data.resource as Attrs) : {});

export const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
};
export const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);

/** The event kind of a log record: by name (`claude_code.x`) or the `event.name` attribute. */
export function kindOf(r: TelemetryRecord): ClaudeEventKind | undefined {
  const byName = r.name.startsWith('claude_code.') ? r.name.slice('claude_code.'.length) : undefined;
  if (byName && KINDS.has(byName)) return byName as ClaudeEventKind;
  const attr = text(attrsOf(r)['event.name']);
  const k = attr?.replace(/^claude_code\./, '');
  return k && KINDS.has(k) ? (k as ClaudeEventKind) : undefined;
}

export function claudeEvents(records: readonly TelemetryRecord[]): ClaudeEvent[] {
  const out: ClaudeEvent[] = [];
  for (const r of records) {
    if (r.signal !== 'logs') continue;
    const kind = kindOf(r);
    if (!kind) continue;
    const a = attrsOf(r);
    const ts = Date.parse(String(a['event.timestamp'] ?? ''));
    out.push({
      kind,
      timestampMs: Number.isFinite(ts) ? ts : r.timestampMs,
      sessionId: text(a['session.id']) ?? text(resourceOf(r)['session.id']),
      promptId: text(a['prompt.id']),
      attrs: a,
    });
  }
  return out.sort((x, y) => x.timestampMs - y.timestampMs);
}

/** Prompts Claude Code sends on its own (slash-command wrappers, reminders, caveats). */
export const isInternalPrompt = (p: string): boolean =>
  /^\s*<(command-|local-command-|system-reminder|bash-|user-memory-input)/.test(p) || /^Caveat: The messages below were generated/.test(p);

export interface SelfReported {
  source: 'events' | 'metrics';
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  models: Array<{ model: string; costUsd: number; requests: number }>;
}

function fromEvents(events: readonly ClaudeEvent[]): SelfReported | undefined {
  const req = events.filter((e) => e.kind === 'api_request');
  if (req.length === 0) return undefined;
  const models = new Map<string, { model: string; costUsd: number; requests: number }>();
  const s: SelfReported = { source: 'events', costUsd: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, models: [] };
  for (const e of req) {
    const cost = num(e.attrs.cost_usd);
    s.costUsd += cost;
    s.inputTokens += num(e.attrs.input_tokens);
    s.outputTokens += num(e.attrs.output_tokens);
    s.cacheReadTokens += num(e.attrs.cache_read_tokens);
    s.cacheCreationTokens += num(e.attrs.cache_creation_tokens);
    const model = text(e.attrs.model) ?? 'unknown';
    const m = models.get(model) ?? { model, costUsd: 0, requests: 0 };
    m.costUsd += cost;
    m.requests += 1;
    models.set(model, m);
  }
  s.models = [...models.values()].sort((a, b) => a.model.localeCompare(b.model));
  return s;
}

/** Sums a counter: delta points add up; cumulative series contribute their latest value. */
function counterTotal(points: readonly TelemetryRecord[], key: (p: TelemetryRecord) => string): Map<string, number> {
  const latest = new Map<string, { at: number; v: number }>();
  const out = new Map<string, number>();
  for (const p of points) {
    const v = num(p.data.value);
    if (p.data.temporality === 'cumulative') {
      const series = `${key(p)}|${JSON.stringify(p.data.attributes)}|${String(p.data.start_ms ?? '')}`;
      const prev = latest.get(series);
      if (!prev || prev.at <= p.timestampMs) latest.set(series, { at: p.timestampMs, v });
    } else out.set(key(p), (out.get(key(p)) ?? 0) + v);
  }
  for (const [series, { v }] of latest) {
    const k = series.slice(0, series.indexOf('|'));
    out.set(k, (out.get(k) ?? 0) + v);
  }
  return out;
}

function fromMetrics(records: readonly TelemetryRecord[]): SelfReported | undefined {
  const cost = records.filter((r) => r.signal === 'metrics' && r.name === 'claude_code.cost.usage');
  const tokens = records.filter((r) => r.signal === 'metrics' && r.name === 'claude_code.token.usage');
  if (cost.length === 0 && tokens.length === 0) return undefined;
  const byModel = counterTotal(cost, (p) => text(attrsOf(p).model) ?? 'unknown');
  const byType = counterTotal(tokens, (p) => text(attrsOf(p).type) ?? 'unknown');
  return {
    source: 'metrics',
    costUsd: [...byModel.values()].reduce((a, b) => a + b, 0),
    inputTokens: byType.get('input') ?? 0,
    outputTokens: byType.get('output') ?? 0,
    cacheReadTokens: byType.get('cacheRead') ?? 0,
    cacheCreationTokens: byType.get('cacheCreation') ?? 0,
    models: [...byModel].map(([model, costUsd]) => ({ model, costUsd, requests: 0 })).sort((a, b) => a.model.localeCompare(b.model)),
  };
}

/** The agent's own cost and token figures: api_request events when present, else the metrics. */
export function selfReported(records: readonly TelemetryRecord[]): SelfReported | undefined {
  return fromEvents(claudeEvents(records)) ?? fromMetrics(records);
}
