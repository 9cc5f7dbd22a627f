/** Pure renderers for the sandbox commands (SPEC §8.4, §8.5). */
import { formatRemaining } from '../core/duration.ts';
import type { SandboxJson, SandboxStatusJson } from '../sandbox/index.ts';

export function createdLine(j: SandboxJson, verb = 'Created'): string {
  const names = j.alias ? `${j.alias}, #${j.number}` : `#${j.number}`;
  const ttlS = j.expires_at === null ? null : Math.round((Date.parse(j.expires_at) - Date.parse(j.created_at)) / 1000);
  const exp = ttlS === null ? 'never expires' : `expires in ${formatRemaining(ttlS)}`;
  const from = j.cloned_from ? `cloned from ${j.cloned_from}` : `from ${j.profile}`;
  return `${verb} ${j.id} (${names}) ${from} on ${j.substrate}; ${exp}`;
}

export function ttlText(j: SandboxJson): string {
  if (j.ttl_remaining_s === null) return '-';
  return j.ttl_remaining_s === 0 ? 'expired' : formatRemaining(j.ttl_remaining_s);
}

const statusText = (j: SandboxJson): string => (j.status === 'paused' && j.paused_by ? `paused(${j.paused_by})` : j.status);
const money = (d: { spent_usd: number; limit_usd: number | null }): string =>
  `$${d.spent_usd.toFixed(2)}/${d.limit_usd === null ? '-' : `$${d.limit_usd.toFixed(2)}`}`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

export function renderList(items: readonly SandboxJson[], nowMs: number, wide: boolean): string {
  if (items.length === 0) return 'No sandboxes. Try: km create learn --alias demo\n';
  const head = ['#', 'ALIAS', 'ID', 'STATUS', 'TTL', 'AGE'];
  if (wide) head.push('PROFILE', 'SUBSTRATE', 'IDLE', 'AI', 'COMPUTE', 'LOCK', 'FROM');
  const rows = items.map((j) => {
    const age = formatRemaining((nowMs - Date.parse(j.created_at)) / 1000);
    const status = statusText(j) + (!wide && j.locked ? ' [locked]' : '');
    const r = [String(j.number), j.alias ?? '-', j.id, status, ttlText(j), age];
    if (wide) {
      const idle = j.idle_remaining_s === null ? '-' : formatRemaining(j.idle_remaining_s);
      r.push(j.profile, j.substrate, idle, money(j.budget.ai), money(j.budget.compute), j.locked ? 'locked' : '-', j.cloned_from ?? '-');
    }
    return r;
  });
  return table([head, ...rows]);
}

function caText(s: SandboxStatusJson): string {
  if (!s.ca) return '-';
  const prev = s.ca.previous.map((p) => `; also trusted: sha256 ${p.fingerprint_sha256} until ${p.not_after}`).join('');
  return `sha256 ${s.ca.fingerprint_sha256}, expires ${s.ca.not_after}${prev}`;
}

function activityText(s: SandboxStatusJson): string {
  const kinds = Object.entries(s.last_activity).filter(([, at]) => at !== null).map(([k, at]) => `${k} ${at}`);
  return `${s.last_activity_at ?? '-'}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`;
}

function limitsText(l: SandboxStatusJson['limits']): string {
  if (!l) return 'none (no runtime.instanceType)';
  const parts = [
    l.cpus !== null ? `${l.cpus} cpu` : '',
    l.memory_bytes !== null ? `${Math.round(l.memory_bytes / 1024 ** 2)} MiB memory` : '',
    l.pids !== null ? `${l.pids} pids` : '',
  ].filter(Boolean);
  return parts.join(', ');
}

export function renderStatus(s: SandboxStatusJson): string {
  const lines: Array<[string, string]> = [
    ['sandbox', `${s.id}${s.alias ? ` (${s.alias}, #${s.number})` : ` (#${s.number})`}`],
    ['status', `${statusText(s)}${s.status_reason ? ` (${s.status_reason})` : ''}${s.locked ? ` [locked since ${s.locked_at}]` : ''}`],
    ['profile', `${s.profile} on ${s.substrate}${s.region ? ` (${s.region})` : ''}`],
    ['created', `${s.created_at} by ${s.created_by}${s.cloned_from ? `, cloned from ${s.cloned_from}` : ''}`],
    ['expires', s.expires_at ? `${s.expires_at} (${ttlText(s)})` : 'never'],
    ['idle timeout', s.idle_timeout_s ? `${formatRemaining(s.idle_timeout_s)}${s.idle_remaining_s !== null ? ` (${formatRemaining(s.idle_remaining_s)} left)` : ''}` : 'off'],
    ['teardown', s.teardown_policy + (s.max_expires_at ? `, lifetime cap ${s.max_expires_at}` : '')],
    ['enforcement', `${s.enforcement.requested} requested, ${s.enforcement.effective ?? '-'} effective`],
    ['budget', `${s.budget.state}: ai ${money(s.budget.ai)}, compute ${money(s.budget.compute)}`],
    ['email', s.email_address ?? '-'],
    ['ca', caText(s)],
    ['gateway', s.gateway ? `open: ${s.gateway.allowed} allowed, ${s.gateway.denied} denied, last ${s.gateway.last_activity_at ?? '-'}` : 'closed'],
    ['last activity', activityText(s)],
    ['agent runs', s.active_runs.length === 0 ? 'none active' : s.active_runs.map((r) => `${r.run_id} ${r.agent} ${r.status}`).join(', ')],
    ['learn', s.learn.recording ? `recording (${s.learn.session_id})` : s.learn.session_id ? `not recording (last ${s.learn.session_id})` : 'not recording'],
    ['mounts', s.mounts.length === 0 ? '-' : s.mounts.map((m) => `${m.host_path} -> ${m.path}${m.read_only ? ' (ro)' : ''}`).join(', ')],
    ['limits', limitsText(s.limits)],
  ];
  const w = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(w)}${v}`).join('\n') + '\n';
}
