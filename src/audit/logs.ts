/**
 * `km logs` (SPEC §13.3): stored events as JSON Lines or one human line each
 * (`2027-03-03 08:15:02  dns.query  deny  evil.example  (default-deny)`), `--since` as a
 * duration or an RFC 3339 instant, and following new events by sequence cursor.
 */
import { toIso } from '../core/clock.ts';
import { tryParseDuration } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import { printable } from '../core/printable.ts';
import type { EventQuery, EventRecord, EventStore } from '../store/index.ts';

export interface EventJson {
  timestamp: string;
  sandbox_id: string;
  event_type: string;
  source: string;
  detail: Record<string, unknown>;
}

export const eventJson = (e: EventRecord): EventJson => ({ timestamp: toIso(e.timestampMs), sandbox_id: e.sandboxId, event_type: e.eventType, source: e.source, detail: e.detail });

/** `--since 2h` (before now) or `--since 2027-03-03T08:00:00Z`. */
export function parseSince(text: string, nowMs: number): number {
  const d = tryParseDuration(text, { spelled: true });
  if (d.ok) return nowMs - d.seconds * 1000;
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (Number.isFinite(ms)) return ms;
  }
  throw new KmError('usage', `--since: "${text}" is neither a duration nor a time`, { hint: 'use forms like 45m, 2h30m, 1d or 2027-03-03T08:00:00Z' });
}

export function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new KmError('usage', `--limit: "${text}" is not a positive whole number`);
  }
  return Number(text);
}

function localTime(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}:${p('second')}`;
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

/** What the event was about, by type; falls back to the first telling field. */
function subject(type: string, d: Record<string, unknown>): string | undefined {
  if (type === 'dns.query') return [s(d.name), d.type && d.type !== 'A' ? s(d.type) : undefined].filter(Boolean).join(' ');
  if (type === 'http.request') return [s(d.method), `${s(d.host) ?? ''}${s(d.path) ?? ''}`, s(d.status)].filter(Boolean).join(' ');
  if (type === 'http.connect') return [s(d.host), s(d.port)].filter(Boolean).join(':');
  if (type === 'ebpf.deny') {
    const addr = s(d.addr) ?? '?';
    const where = String(d.family) === '6' ? `[${addr}]:${s(d.port) ?? '?'}` : `${addr}:${s(d.port) ?? '?'}`;
    const extra = [s(d.op), s(d.pid) ? `pid ${s(d.pid)}` : undefined, s(d.suppressed) ? `${s(d.suppressed)} more suppressed` : undefined].filter(Boolean).join(', ');
    return `${s(d.proto) ?? ''} ${where} denied${extra ? ` (${extra})` : ''}`.trim();
  }
  if (type.startsWith('mail.')) return [s(d.from) ? `${s(d.from)} → ${Array.isArray(d.to) ? d.to.join(',') : (s(d.to) ?? '')}` : undefined, s(d.subject) ? `"${s(d.subject)}"` : undefined].filter(Boolean).join('  ');
  if (type === 'command' && Array.isArray(d.argv)) {
    const argv = d.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(String(a)) ? String(a) : `'${String(a).replace(/'/g, `'\\''`)}'`)).join(' ');
    return [argv, d.exit_code !== undefined && d.exit_code !== null ? `exit ${s(d.exit_code)}` : undefined].filter(Boolean).join('  ');
  }
  if (type.startsWith('lifecycle.')) return [s(d.actor), s(d.reason)].filter(Boolean).join('  ');
  for (const k of ['command', 'host', 'name', 'repo', 'ref', 'model', 'target', 'message', 'reason']) if (s(d[k])) return s(d[k]);
  return undefined;
}

export function renderEventLine(e: EventRecord, timeZone: string): string {
  const d = e.detail;
  const parts = [localTime(e.timestampMs, timeZone), e.eventType];
  const decision = s(d.decision);
  if (decision) parts.push(decision);
  const what = subject(e.eventType, d);
  if (what) parts.push(what.replace(/\s*\n\s*/g, ' ').slice(0, 200));
  const rule = s(d.rule);
  if (rule) parts.push(`(${rule})`);
  if (e.eventType === 'mail.rejected' && s(d.reason)) parts.push(`(${s(d.reason)})`);
  // Names, subjects and argv come from the sandbox: no control character reaches the terminal.
  return printable(parts.join('  ')) + '\n';
}

export interface FollowOptions {
  store: EventStore;
  query: EventQuery;
  onEvent(e: EventRecord): void;
  signal: AbortSignal;
  pollMs?: number;
}

/**
 * Prints the matching events, then keeps printing new ones (append order) until `signal`
 * aborts. The cursor is taken before the first query so nothing appended meanwhile is lost,
 * and nothing is printed twice.
 */
export async function followEvents(o: FollowOptions): Promise<void> {
  let cursor = await o.store.lastEventSeq();
  const seen = new Set<number>();
  for (const e of await o.store.queryEvents(o.query)) {
    if (e.seq > cursor) seen.add(e.seq);
    o.onEvent(e);
  }
  const { limit: _limit, fromEnd: _fromEnd, sinceMs: _since, ...rest } = o.query;
  while (!o.signal.aborted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.pollMs ?? 500);
      o.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    if (o.signal.aborted) break;
    for (const e of await o.store.queryEvents({ ...rest, afterSeq: cursor })) {
      cursor = Math.max(cursor, e.seq);
      if (seen.delete(e.seq)) continue;
      o.onEvent(e);
    }
  }
}
