/**
 * Learn sessions (SPEC §7) derived from `learn.started` / `learn.stopped` events. Pure.
 * A profile with `observability.learnMode: true` has an implicit session `ls-1` that starts
 * when the sandbox was created; explicit sessions are numbered after it.
 */
import type { EventRecord } from '../store/index.ts';

export const SESSION_EVENTS = ['learn.started', 'learn.stopped'] as const;

export interface LearnSession {
  id: string;
  startedAtMs: number;
  stoppedAtMs: number | null;
  /** `create` (learnMode profile), `cli` (km learn start) or `shell` (km shell --learn). */
  origin: string;
}

export interface SessionSandbox {
  id: string;
  createdAtMs: number;
  learnMode: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Every session of a sandbox, oldest first. */
export function learnSessions(sb: SessionSandbox, events: readonly EventRecord[]): LearnSession[] {
  const out: LearnSession[] = [];
  if (sb.learnMode) out.push({ id: 'ls-1', startedAtMs: sb.createdAtMs, stoppedAtMs: null, origin: 'create' });
  for (const e of events) {
    if (e.sandboxId !== sb.id) continue;
    const id = str(e.detail.session_id);
    if (id === undefined) continue;
    if (e.eventType === 'learn.started' && !out.some((s) => s.id === id)) {
      out.push({ id, startedAtMs: e.timestampMs, stoppedAtMs: null, origin: str(e.detail.origin) ?? 'cli' });
    } else if (e.eventType === 'learn.stopped') {
      const s = out.find((x) => x.id === id);
      if (s && s.stoppedAtMs === null) s.stoppedAtMs = Math.max(e.timestampMs, s.startedAtMs);
    }
  }
  return out.sort((a, b) => a.startedAtMs - b.startedAtMs);
}

/** The session that is recording now, if any (the newest open one). */
export function openSession(sessions: readonly LearnSession[]): LearnSession | undefined {
  return [...sessions].reverse().find((s) => s.stoppedAtMs === null);
}

/** The next explicit session id: one past the highest `ls-N`. */
export function nextSessionId(sessions: readonly LearnSession[]): string {
  let max = 0;
  for (const s of sessions) {
    const m = /^ls-(\d+)$/.exec(s.id);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return `ls-${max + 1}`;
}

/** The session `id` names, or the latest one. */
export function pickSession(sessions: readonly LearnSession[], id?: string): LearnSession | undefined {
  if (id !== undefined) return sessions.find((s) => s.id === id);
  return sessions[sessions.length - 1];
}
