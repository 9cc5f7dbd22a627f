/**
 * What a learn session observed (SPEC §7 "Recorded"), read from stored events: the
 * gateway's `dns.query`, `http.connect`, `http.request`, `git.access` and `git.push`, plus
 * `command` events from km shell/exec. Identical on every substrate, because only gateway
 * and session events are read. Pure.
 */
import type { EventRecord } from '../store/index.ts';
import { toIso } from '../core/clock.ts';
import type { Observations } from './generate.ts';
import type { LearnSession } from './sessions.ts';

export const OBSERVED_EVENTS = ['dns.query', 'http.connect', 'http.request', 'git.access', 'git.push', 'command'] as const;

type RefKind = Observations['refs'][number]['kind'];
const REF_KINDS: ReadonlySet<string> = new Set(['create', 'update', 'delete', 'force']);
const GATEWAY = new Set(['dns.query', 'http.connect', 'http.request', 'git.access', 'git.push']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Where the window starts for matching: the session's start, to the millisecond. Every
 * observed event (gateway DNS/HTTP/git events, km's command events) carries millisecond
 * times, so traffic from just before the session — even in the same second — stays out.
 */
export const windowStartMs = (s: LearnSession): number => s.startedAtMs;

/** True when the event falls inside the session window (inclusive). */
export function inWindow(s: LearnSession, atMs: number, nowMs: number): boolean {
  return atMs >= windowStartMs(s) && atMs <= (s.stoppedAtMs ?? nowMs);
}

const shellWord = (w: string): string => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

function commandText(d: Record<string, unknown>): string | undefined {
  const c = str(d.command);
  if (c !== undefined) return c;
  if (Array.isArray(d.argv) && d.argv.every((a) => typeof a === 'string')) return (d.argv as string[]).map(shellWord).join(' ') || undefined;
  return undefined;
}

function refsOf(d: Record<string, unknown>): Observations['refs'] {
  if (!Array.isArray(d.updates)) return [];
  const out: Observations['refs'] = [];
  for (const u of d.updates as unknown[]) {
    if (u === null || typeof u !== 'object') continue;
    const ref = str((u as Record<string, unknown>).ref);
    const kind = str((u as Record<string, unknown>).kind);
    if (ref !== undefined && kind !== undefined && REF_KINDS.has(kind)) out.push({ ref, kind: kind as RefKind });
  }
  return out;
}

const portOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536 ? v : undefined);

/** Folds one event into the observations (events outside the window are the caller's job). */
function fold(o: Observations, denied: Set<string>, e: EventRecord): void {
  const d = e.detail;
  if (GATEWAY.has(e.eventType) && d.decision === 'deny') o.denials++;
  switch (e.eventType) {
    case 'dns.query': {
      const name = str(d.name);
      if (name !== undefined) o.dnsNames.push(name);
      if (name !== undefined && d.decision === 'deny') denied.add(name.toLowerCase().replace(/\.$/, ''));
      return;
    }
    case 'http.connect':
    case 'http.request': {
      const host = str(d.host);
      const port = portOf(d.port);
      if (host === undefined || port === undefined) return;
      o.hosts.push({ host, port });
      // A refused repository or ref is not a refused host: the host itself was allowed.
      const sourceRule = typeof d.rule === 'string' && d.rule.startsWith('sourceAccess.');
      if (d.decision === 'deny' && !sourceRule) denied.add(port === 80 || port === 443 ? host.toLowerCase() : `${host.toLowerCase()}:${port}`);
      return;
    }
    case 'git.access':
    case 'git.push': {
      const repo = str(d.repo);
      if (repo !== undefined) o.repos.push(repo.replace(/\.git$/i, ''));
      if (e.eventType === 'git.push') o.refs.push(...refsOf(d));
      return;
    }
    case 'command': {
      const c = commandText(d);
      if (c !== undefined) o.commands.push(c);
      return;
    }
  }
}

/** The observations of `session` from the sandbox's events (any order; filtered to the window). */
export function observe(sandboxId: string, session: LearnSession, events: readonly EventRecord[], nowMs: number): Observations {
  const o: Observations = {
    sandboxId,
    sessionId: session.id,
    startedAt: toIso(session.startedAtMs),
    endedAt: session.stoppedAtMs === null ? null : toIso(session.stoppedAtMs),
    dnsNames: [], hosts: [], repos: [], refs: [], commands: [], denials: 0,
  };
  const denied = new Set<string>();
  const ordered = [...events].sort((a, b) => a.timestampMs - b.timestampMs || a.seq - b.seq);
  for (const e of ordered) {
    if (e.sandboxId === sandboxId && inWindow(session, e.timestampMs, nowMs)) fold(o, denied, e);
  }
  o.denied = [...denied].sort();
  return o;
}
