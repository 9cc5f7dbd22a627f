/**
 * The recording side of learn mode (SPEC §7): open and close sessions (as `learn.started` /
 * `learn.stopped` events), report status, and gather a session's observations from the
 * store. Works on any store holding the gateway's events, so it is the same on every
 * substrate.
 */
import type { Clock } from '../core/clock.ts';
import { toIso } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import type { EventStore, SandboxRecord } from '../store/index.ts';
import { countObservations, type Counts, type Observations } from './generate.ts';
import { observe, OBSERVED_EVENTS, windowStartMs } from './observe.ts';
import { learnSessions, nextSessionId, openSession, pickSession, SESSION_EVENTS, type LearnSession } from './sessions.ts';

export interface LearnServiceDeps {
  store: Pick<EventStore, 'queryEvents'>;
  /** Writes one event (redacted by the caller's recorder). */
  record(sandboxId: string, eventType: string, source: string, detail: Record<string, unknown>, atMs?: number): Promise<void>;
  clock: Clock;
  /** How long gateway events may take to reach the store (they are flushed in batches). */
  settleMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface LearnStatus {
  sandbox_id: string;
  recording: boolean;
  session_id: string | null;
  started_at: string | null;
  stopped_at: string | null;
  counts: Counts;
}

export interface SessionObservations {
  session: LearnSession;
  observations: Observations;
}

export interface LearnService {
  sessions(sb: SandboxRecord): Promise<LearnSession[]>;
  /** Opens a session; `started: false` with the open one when already recording. */
  start(sb: SandboxRecord, origin: 'cli' | 'shell'): Promise<{ started: boolean; session: LearnSession }>;
  /** Closes the open session; `stopped: false` when none was recording. */
  stop(sb: SandboxRecord, origin?: 'cli' | 'shell'): Promise<{ stopped: boolean; session: LearnSession | undefined }>;
  status(sb: SandboxRecord): Promise<LearnStatus>;
  /** The latest (or named) session's observations; waits for in-flight gateway events. */
  observations(sb: SandboxRecord, sessionId?: string): Promise<SessionObservations>;
}

const EMPTY: Counts = { dns_names: 0, hosts: 0, repos: 0, refs: 0, commands: 0, denials: 0 };
const label = (sb: SandboxRecord): string => sb.alias ?? sb.id;

function learnModeOf(profile: unknown): boolean {
  const spec = (profile as { spec?: { observability?: { learnMode?: unknown } } } | null)?.spec;
  return spec?.observability?.learnMode === true;
}

export function noSessionError(sb: SandboxRecord): KmError {
  const l = label(sb);
  return new KmError('invalid_state', `${l} has no learn session; start one with km learn start ${l} or km shell --learn ${l}`);
}

export function createLearnService(deps: LearnServiceDeps): LearnService {
  const settleMs = deps.settleMs ?? 1000;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const sessions = async (sb: SandboxRecord): Promise<LearnSession[]> => {
    const events = await deps.store.queryEvents({ sandboxId: sb.id, types: [...SESSION_EVENTS] });
    return learnSessions({ id: sb.id, createdAtMs: sb.createdAtMs, learnMode: learnModeOf(sb.profile) }, events);
  };
  const gather = async (sb: SandboxRecord, s: LearnSession): Promise<Observations> => {
    const events = await deps.store.queryEvents({ sandboxId: sb.id, types: [...OBSERVED_EVENTS], sinceMs: windowStartMs(s) });
    return observe(sb.id, s, events, deps.clock.now());
  };
  return {
    sessions,
    async start(sb, origin) {
      if (sb.status === 'destroyed') throw new KmError('invalid_state', `${label(sb)} is destroyed; nothing can be recorded`);
      const all = await sessions(sb);
      const open = openSession(all);
      if (open) return { started: false, session: open };
      const session: LearnSession = { id: nextSessionId(all), startedAtMs: deps.clock.now(), stoppedAtMs: null, origin };
      await deps.record(sb.id, 'learn.started', origin === 'shell' ? 'shell' : 'cli', { session_id: session.id, origin }, session.startedAtMs);
      return { started: true, session };
    },
    async stop(sb, origin = 'cli') {
      const open = openSession(await sessions(sb));
      if (!open) return { stopped: false, session: undefined };
      const at = deps.clock.now();
      await deps.record(sb.id, 'learn.stopped', origin === 'shell' ? 'shell' : 'cli', { session_id: open.id, origin }, at);
      return { stopped: true, session: { ...open, stoppedAtMs: at } };
    },
    async status(sb) {
      const all = await sessions(sb);
      const s = openSession(all) ?? pickSession(all);
      if (!s) return { sandbox_id: sb.id, recording: false, session_id: null, started_at: null, stopped_at: null, counts: { ...EMPTY } };
      const counts = countObservations(await gather(sb, s));
      return {
        sandbox_id: sb.id, recording: s.stoppedAtMs === null, session_id: s.id, started_at: toIso(s.startedAtMs),
        stopped_at: s.stoppedAtMs === null ? null : toIso(s.stoppedAtMs), counts,
      };
    },
    async observations(sb, sessionId) {
      const all = await sessions(sb);
      const s = pickSession(all, sessionId);
      if (!s && sessionId !== undefined && all.length > 0) {
        throw new KmError('not_found', `${label(sb)} has no learn session ${sessionId}`, { hint: `its sessions: ${all.map((x) => x.id).join(', ')}` });
      }
      if (!s) throw noSessionError(sb);
      const end = s.stoppedAtMs ?? deps.clock.now();
      const wait = end + settleMs - deps.clock.now();
      if (wait > 0) await sleep(wait);
      return { session: s, observations: await gather(sb, s) };
    },
  };
}
