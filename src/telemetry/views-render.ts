/** Text rendering of the `km otel` views. Pure; times in the operator's time zone. */
import { printable } from '../core/printable.ts';
import type { SummaryJson, eventsJson, promptsJson, timelineJson, toolsJson } from './views.ts';

export function localTime(iso: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(iso));
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}:${p('second')}`;
}

/** Aligned columns; every cell made printable (prompts, tools, models and errors come from the sandbox). */
export function table(cells: readonly (readonly string[])[], indent = ''): string {
  if (cells.length === 0) return '';
  const rows = cells.map((r) => r.map((c) => printable(c)));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export const usd = (n: number): string => `$${n.toFixed(4)}`;
const int = (n: number): string => n.toLocaleString('en-US');
const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function renderSummary(s: SummaryJson, label: string, timeZone: string): string {
  let out = `AI spend of ${label} (ledger, metered by the gateway): ${usd(s.ledger.total_usd)}\n`;
  if (s.ledger.models.length > 0) {
    const rows = [['PROVIDER', 'MODEL', 'REQUESTS', 'INPUT', 'OUTPUT', 'CACHE READ', 'CACHE WRITE', 'COST']];
    for (const m of s.ledger.models) rows.push([m.provider, m.model, String(m.requests), int(m.input_tokens), int(m.output_tokens), int(m.cache_read_tokens), int(m.cache_write_tokens), usd(m.cost_usd)]);
    out += table(rows, '  ');
  }
  const signals = Object.entries(s.telemetry);
  if (signals.length === 0) return out + `${s.note ?? ''}\n`;
  out += '\nTelemetry received\n' + table([['SIGNAL', 'RECORDS', 'LATEST'], ...signals.map(([k, v]) => [k, String(v.count), localTime(v.latest, timeZone)])], '  ');
  const self = s.self_reported;
  if (!self) return out + '\nThe agent reported no cost (no claude_code.api_request events or cost metrics).\n';
  out += `\nAgent self-reported (from ${self.source === 'events' ? 'claude_code.api_request events' : 'claude_code.* metrics'}): ${usd(self.cost_usd)}`;
  out += ` (ledger ${usd(s.ledger.total_usd)}, difference ${self.difference_usd >= 0 ? '+' : '-'}${usd(Math.abs(self.difference_usd))})\n`;
  out += `  tokens: input ${int(self.input_tokens)}, output ${int(self.output_tokens)}, cache read ${int(self.cache_read_tokens)}, cache creation ${int(self.cache_creation_tokens)}\n`;
  if (self.models.length > 0) out += table([['MODEL', 'COST', 'REQUESTS'], ...self.models.map((m) => [m.model, usd(m.cost_usd), m.requests ? String(m.requests) : '-'])], '  ');
  return out;
}

export function renderPrompts(list: ReturnType<typeof promptsJson>, label: string, timeZone: string): string {
  if (list.length === 0) return `No prompts recorded for ${label}.\n`;
  return table([['TIME', 'SESSION', 'PROMPT'], ...list.map((p) => [localTime(p.timestamp, timeZone), p.session_id ?? '-', p.prompt === null ? `(not logged, ${p.prompt_length} chars; set observability.claudeTelemetry.logPrompts)` : cut(oneLine(p.prompt), 100)])]);
}

function eventText(e: ReturnType<typeof eventsJson>[number]): string {
  const d = e as Record<string, unknown>;
  switch (e.event) {
    case 'user_prompt':
      return d.prompt ? cut(oneLine(String(d.prompt)), 90) : `(${String(d.prompt_length)} chars)`;
    case 'api_request':
      return `${String(d.model)}  in ${int(Number(d.input_tokens))} out ${int(Number(d.output_tokens))} cache r/w ${int(Number(d.cache_read_tokens))}/${int(Number(d.cache_creation_tokens))}  ${usd(Number(d.cost_usd))}  ${String(d.duration_ms)}ms`;
    case 'api_error':
      return `${String(d.model)}  ${String(d.status_code ?? '')} ${String(d.error ?? '')}  attempt ${String(d.attempt)}`;
    case 'tool_decision':
      return `${String(d.tool)}  ${String(d.decision)} (${String(d.source)})`;
    case 'tool_result':
      return `${String(d.tool)}  ${d.success ? 'ok' : `failed${d.error ? `: ${String(d.error)}` : ''}`}  ${String(d.duration_ms)}ms  ${int(Number(d.result_size_bytes))} bytes`;
  }
}

export function renderEvents(list: ReturnType<typeof eventsJson>, label: string, timeZone: string): string {
  if (list.length === 0) return `No agent events recorded for ${label}.\n`;
  return table([['TIME', 'EVENT', 'DETAIL'], ...list.map((e) => [localTime(e.timestamp, timeZone), e.event, eventText(e)])]);
}

export function renderTools(list: ReturnType<typeof toolsJson>, label: string): string {
  if (list.length === 0) return `No tool calls recorded for ${label}.\n`;
  const rows = [['SESSION', 'TOOL', 'DURATION', 'RESULT', 'STATUS', 'PARAMETER']];
  for (const t of list) rows.push([t.session_id ?? '-', t.tool ?? '-', `${t.duration_ms}ms`, `${int(t.result_size_bytes)} B`, t.success ? 'ok' : `failed${t.error ? `: ${cut(t.error, 40)}` : ''}`, t.parameter ? cut(oneLine(t.parameter), 60) : '-']);
  const failures = list.filter((t) => !t.success).length;
  return table(rows) + `${list.length} tool call${list.length === 1 ? '' : 's'}, ${failures} failed\n`;
}

export function renderTimeline(doc: ReturnType<typeof timelineJson>, label: string, timeZone: string): string {
  if (doc.turns.length === 0) return `No turns recorded for ${label}.\n`;
  const rows = [['TIME', 'SESSION', 'API', 'TOOLS', 'TOKENS IN/OUT', 'COST', 'PROMPT']];
  for (const t of doc.turns) rows.push([localTime(t.timestamp, timeZone), t.session_id ?? '-', String(t.api_requests), String(t.tool_calls), `${int(t.input_tokens)}/${int(t.output_tokens)}`, usd(t.cost_usd), t.prompt ? cut(oneLine(t.prompt), 60) : '(not logged)']);
  return table(rows) + `total ${usd(doc.total_cost_usd)} over ${doc.turns.length} turn${doc.turns.length === 1 ? '' : 's'}\n`;
}
