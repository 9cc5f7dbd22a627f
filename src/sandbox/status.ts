/**
 * The detail `km status <sb>` adds to the sandbox record (SPEC §8.5, §5): the CA (and the
 * older CA still trusted after a renewal), gateway counters, last activity by kind, active
 * agent runs, the learn session, mounts and resource limits.
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { toIso } from '../core/clock.ts';
import { learnSessions, openSession, pickSession } from '../learn/index.ts';
import type { Profile } from '../profile/index.ts';
import type { SandboxRecord, Store } from '../store/index.ts';
import { readPreviousCaCerts, readSandboxCa, type SandboxPaths } from './files.ts';
import type { SandboxJson } from './record.ts';
import { limitsOf, mountsOf } from './spec.ts';

export interface CaJson {
  fingerprint_sha256: string;
  not_after: string;
}

export interface SandboxStatusJson extends SandboxJson {
  ca: (CaJson & { previous: CaJson[] }) | null;
  gateway: { open: boolean; allowed: number; denied: number; last_activity_at: string | null } | null;
  last_activity_at: string | null;
  last_activity: { shell: string | null; exec: string | null; gateway: string | null; agent: string | null };
  last_started_at: string | null;
  active_runs: Array<{ run_id: string; agent: string; status: string; started_at: string | null }>;
  learn: { recording: boolean; session_id: string | null };
  mounts: Array<{ host_path: string; path: string; read_only: boolean }>;
  limits: { cpus: number | null; memory_bytes: number | null; pids: number | null } | null;
  state_dir: string;
}

export interface GatewayStatsSource {
  stats(id: string): { allowed: number; denied: number; lastActivityAtMs: number | null } | undefined;
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : toIso(ms));

export function caJson(certPem: string): CaJson {
  const cert = new X509Certificate(certPem);
  return { fingerprint_sha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(), not_after: toIso(Date.parse(cert.validTo)) };
}

function caOf(paths: SandboxPaths, nowMs: number): SandboxStatusJson['ca'] {
  const current = readSandboxCa(paths);
  if (!current) return null;
  const previous = readPreviousCaCerts(paths).map(caJson).filter((c) => Date.parse(c.not_after) > nowMs);
  return { ...caJson(current.certPem), previous };
}

/** The latest shell and exec command ends (`command` events carry the start and the duration). */
async function commandActivity(store: Store, id: string): Promise<{ shell: number | null; exec: number | null }> {
  const rows = await store.queryEvents({ sandboxId: id, types: ['command'], limit: 200, fromEnd: true });
  const out: { shell: number | null; exec: number | null } = { shell: null, exec: null };
  for (const e of rows) {
    if (e.source !== 'shell' && e.source !== 'exec') continue;
    const d = Number((e.detail as { duration_ms?: unknown }).duration_ms);
    const end = e.timestampMs + (Number.isFinite(d) && d > 0 ? d : 0);
    out[e.source] = Math.max(out[e.source] ?? 0, end);
  }
  return out;
}

async function learnOf(store: Store, s: SandboxRecord): Promise<SandboxStatusJson['learn']> {
  const learnMode = (s.profile as Profile | null)?.spec?.observability?.learnMode === true;
  const events = await store.queryEvents({ sandboxId: s.id, types: ['learn.started', 'learn.stopped'] });
  const all = learnSessions({ id: s.id, createdAtMs: s.createdAtMs, learnMode }, events);
  const open = openSession(all);
  return { recording: open !== undefined, session_id: (open ?? pickSession(all))?.id ?? null };
}

export interface StatusInput {
  kmHome: string;
  store: Store;
  paths: SandboxPaths;
  nowMs: number;
  gatewayStats?: GatewayStatsSource | undefined;
}

export async function statusDetail(base: SandboxJson, s: SandboxRecord, i: StatusInput): Promise<SandboxStatusJson> {
  const g = i.gatewayStats?.stats(s.id);
  const [commands, runs, learn] = await Promise.all([commandActivity(i.store, s.id), i.store.listRuns(s.id), learnOf(i.store, s)]);
  const agentAt = runs.reduce<number | null>((m, r) => Math.max(m ?? 0, r.endedAtMs ?? r.startedAtMs ?? r.createdAtMs), null);
  const profile = s.profile as Profile;
  const limits = profile?.spec ? limitsOf(profile) : undefined;
  const mounts = profile?.spec ? mountsOf({ id: s.id, alias: s.alias, emailAddress: '', profile, sharedDir: join(i.kmHome, 'shared') }) : [];
  return {
    ...base,
    ca: caOf(i.paths, i.nowMs),
    gateway: g ? { open: true, allowed: g.allowed, denied: g.denied, last_activity_at: iso(g.lastActivityAtMs) } : null,
    last_activity_at: iso(s.lastActivityAtMs),
    last_activity: { shell: iso(commands.shell), exec: iso(commands.exec), gateway: iso(g?.lastActivityAtMs), agent: iso(agentAt) },
    last_started_at: iso(s.lastStartedAtMs),
    active_runs: runs
      .filter((r) => r.status === 'queued' || r.status === 'running')
      .map((r) => ({ run_id: r.runId, agent: r.agent, status: r.status, started_at: iso(r.startedAtMs) })),
    learn,
    mounts: mounts.map((m) => ({ host_path: m.hostPath, path: m.path, read_only: m.readOnly })),
    limits: limits ? { cpus: limits.cpus ?? null, memory_bytes: limits.memoryBytes ?? null, pids: limits.pids ?? null } : null,
    state_dir: i.paths.stateDir,
  };
}
