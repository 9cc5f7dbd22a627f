/** `km agent list` table (SPEC §10.5): RUN ID  AGENT  STATUS  STARTED  DURATION  COST  PROMPT (times in the operator's zone). */
import { formatDuration } from '../core/duration.ts';
import { localMinute } from '../sandbox/index.ts';
import type { RunRecord } from '../store/index.ts';

const PROMPT_WIDTH = 40;

function promptCell(p: string): string {
  const one = p.replace(/\s+/g, ' ').trim();
  return one.length <= PROMPT_WIDTH ? one : `${one.slice(0, PROMPT_WIDTH - 1).trimEnd()}…`;
}

function costOf(r: RunRecord): string {
  const km = (r.result as { km?: { usage?: { cost_usd?: unknown } } } | null)?.km;
  const c = km?.usage?.cost_usd;
  return typeof c === 'number' ? `$${c.toFixed(4)}` : '-';
}

function durationOf(r: RunRecord, nowMs: number): string {
  if (r.startedAtMs === null) return '-';
  const s = Math.max(0, Math.round(((r.endedAtMs ?? nowMs) - r.startedAtMs) / 1000));
  return s === 0 ? '0s' : formatDuration(s);
}

export function renderRuns(runs: readonly RunRecord[], nowMs: number, timeZone = 'UTC'): string {
  const rows = [['RUN ID', 'AGENT', 'STATUS', 'STARTED', 'DURATION', 'COST', 'PROMPT']];
  for (const r of runs) {
    rows.push([r.runId, r.agent, r.status, r.startedAtMs === null ? '-' : localMinute(r.startedAtMs, timeZone), durationOf(r, nowMs), costOf(r), promptCell(r.prompt)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}
