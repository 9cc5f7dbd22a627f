/**
 * Agent results (SPEC §10.4). Claude Code's own JSON result is kept with its fields untouched;
 * Codex JSONL events and Goose output are normalised to `{type:"result", result, usage}`.
 * Unparseable output gives `result: null` and the tail of the raw output.
 */
import type { AgentKind } from './commands.ts';

export interface AgentUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

export interface ParsedResult {
  /** The agent's document, with at least `type` and `result`. */
  doc: Record<string, unknown>;
  /** What the agent says it used, when it says (for the usage_mismatch check). */
  selfReported: AgentUsage | null;
  parsed: boolean;
}

const TAIL = 4000;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function unparsed(raw: string): ParsedResult {
  return { doc: { type: 'result', result: null, raw_output_tail: raw.slice(-TAIL) }, selfReported: null, parsed: false };
}

/** The last line (or the whole text) that parses as a JSON object. */
function lastJsonObject(raw: string): Record<string, unknown> | undefined {
  const trimmed = raw.trim();
  try {
    const whole = JSON.parse(trimmed) as unknown;
    if (isRecord(whole)) return whole;
    if (Array.isArray(whole)) {
      const last = [...whole].reverse().find((x) => isRecord(x) && x.type === 'result');
      if (isRecord(last)) return last;
    }
  } catch {
    /* fall through to line scan */
  }
  const lines = trimmed.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines[i] as string) as unknown;
      if (isRecord(v)) return v;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/**
 * Claude Code's `modelUsage` totals every request of the run, per model (background and
 * subagent models included), which is what the gateway meters; `usage` is the fallback.
 */
function claudeSelfReported(doc: Record<string, unknown>): AgentUsage {
  const models = isRecord(doc.modelUsage) ? Object.values(doc.modelUsage).filter(isRecord) : [];
  if (models.length > 0) {
    const sum = (k: string) => models.reduce((a, m) => a + n(m[k]), 0);
    return { input_tokens: sum('inputTokens'), output_tokens: sum('outputTokens'), cache_read_tokens: sum('cacheReadInputTokens'), cache_write_tokens: sum('cacheCreationInputTokens') };
  }
  const u = isRecord(doc.usage) ? doc.usage : {};
  return { input_tokens: n(u.input_tokens), output_tokens: n(u.output_tokens), cache_read_tokens: n(u.cache_read_input_tokens), cache_write_tokens: n(u.cache_creation_input_tokens) };
}

export function parseClaudeResult(raw: string): ParsedResult {
  const doc = lastJsonObject(raw);
  if (!doc || doc.type !== 'result') return unparsed(raw);
  return { doc, parsed: true, selfReported: claudeSelfReported(doc) };
}

/** Codex `exec --json`: current (`item.completed` / `turn.completed`) and older (`msg`) events. */
export function parseCodexResult(raw: string): ParsedResult {
  let message: string | null = null;
  const usage: AgentUsage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 };
  let sawUsage = false;
  let sawEvent = false;
  for (const line of raw.split('\n')) {
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isRecord(ev)) continue;
    sawEvent = true;
    const item = isRecord(ev.item) ? ev.item : undefined;
    if (ev.type === 'item.completed' && item && (item.type === 'agent_message' || item.item_type === 'assistant_message') && typeof item.text === 'string') message = item.text;
    if (ev.type === 'turn.completed' && isRecord(ev.usage)) {
      usage.input_tokens += n(ev.usage.input_tokens);
      usage.output_tokens += n(ev.usage.output_tokens);
      usage.cache_read_tokens += n(ev.usage.cached_input_tokens);
      sawUsage = true;
    }
    const msg = isRecord(ev.msg) ? ev.msg : undefined;
    if (msg?.type === 'agent_message' && typeof msg.message === 'string') message = msg.message;
    if (msg?.type === 'task_complete' && typeof msg.last_agent_message === 'string') message = msg.last_agent_message;
    if (msg?.type === 'token_count') {
      const info = isRecord(msg.info) && isRecord(msg.info.total_token_usage) ? msg.info.total_token_usage : msg;
      usage.input_tokens = n(info.input_tokens);
      usage.output_tokens = n(info.output_tokens);
      usage.cache_read_tokens = n(info.cached_input_tokens);
      sawUsage = true;
    }
  }
  if (!sawEvent) return unparsed(raw);
  const doc: Record<string, unknown> = { type: 'result', result: message, usage };
  if (message === null) doc.raw_output_tail = raw.slice(-TAIL);
  return { doc, parsed: message !== null, selfReported: sawUsage ? usage : null };
}

/** Goose: `--output-format json` documents when available, else the text output's tail. */
export function parseGooseResult(raw: string): ParsedResult {
  const doc = lastJsonObject(raw);
  if (doc) {
    const messages = Array.isArray(doc.messages) ? doc.messages : [];
    const last = [...messages].reverse().find((m) => isRecord(m) && m.role === 'assistant');
    const content = isRecord(last) && Array.isArray(last.content) ? last.content : [];
    const text = content.filter((c): c is Record<string, unknown> => isRecord(c) && c.type === 'text').map((c) => String(c.text)).join('\n');
    const meta = isRecord(doc.metadata) ? doc.metadata : {};
    const usage: AgentUsage = { input_tokens: n(meta.input_tokens), output_tokens: n(meta.output_tokens), cache_read_tokens: 0, cache_write_tokens: 0 };
    return { doc: { type: 'result', result: text || null, usage }, parsed: text !== '', selfReported: meta.input_tokens !== undefined ? usage : null };
  }
  const text = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim();
  if (text === '') return unparsed(raw);
  return { doc: { type: 'result', result: text.slice(-TAIL) }, parsed: true, selfReported: null };
}

export function parseAgentResult(agent: AgentKind, raw: string): ParsedResult {
  if (agent === 'claude') return parseClaudeResult(raw);
  if (agent === 'codex') return parseCodexResult(raw);
  return parseGooseResult(raw);
}
