/**
 * What the run service does inside a sandbox, always through the substrate's `exec` as the
 * sandbox user (never by touching the sandbox's files from the host, where a symlink planted
 * inside could point anywhere): write a run directory (one `tar -x` from stdin), read the
 * run's state files, read its output, run tmux commands, signal the agent.
 */
import type { ExecOptions, Substrate } from '../substrate/index.ts';
import { RUNS_DIR, TMUX_SOCKET, runDirOf, sessionOf } from './launcher.ts';

export interface ExecResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs argv in the sandbox, feeding `input` on stdin, collecting output (capped). */
export async function run(substrate: Substrate, id: string, argv: string[], input?: Buffer, opts: ExecOptions = {}): Promise<ExecResult> {
  const h = await substrate.exec(id, argv, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  h.stdout?.on('data', (b: Buffer) => out.push(b));
  h.stderr?.on('data', (b: Buffer) => {
    if (err.length < 8192) err += b.toString('utf8');
  });
  h.stdin?.end(input ?? Buffer.alloc(0));
  const code = await h.exit;
  return { code, stdout: Buffer.concat(out), stderr: err.trim() };
}

// ── a minimal ustar writer (regular files and their directories) ─────────────────────────

function header(name: string, size: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(512);
  if (Buffer.byteLength(name) > 99) throw new RangeError(`tar name too long: ${name}`);
  h.write(name, 0, 'utf8');
  h.write(type === '5' ? '0000700\0' : '0000600\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  h.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0' + '00', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

export function tarOf(files: ReadonlyMap<string, string>): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const name of files.keys()) {
    const segs = name.split('/');
    for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) parts.push(header(`${d}/`, 0, '5'));
  for (const [name, content] of files) {
    const body = Buffer.from(content, 'utf8');
    parts.push(header(name, body.length, '0'), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Creates the run directory with its files (fails if it already exists). */
export async function writeRunDir(substrate: Substrate, id: string, runId: string, files: ReadonlyMap<string, string>): Promise<void> {
  const script = 'umask 077 && mkdir -p "$1" && chmod 700 "${1%/*}" "$1" && mkdir "$2" && exec tar -x --no-same-owner -C "$2"';
  const r = await run(substrate, id, ['/bin/sh', '-c', script, 'km-agent', RUNS_DIR, runDirOf(runId)], tarOf(files), { cwd: '/' });
  if (r.code !== 0) throw new Error(`could not write the run directory (exit ${r.code}): ${r.stderr}`);
}

export interface RunState {
  status?: string;
  exitCode?: number;
  startedAtMs?: number;
  endedAtMs?: number;
  agentPid?: number;
  stopReason?: string;
  /** The run directory exists. */
  present: boolean;
}

const STATE_FILES = ['status', 'exit_code', 'started_at', 'ended_at', 'agent.pid', 'stop_reason'] as const;

const intOf = (v: string | undefined): number | undefined => (v !== undefined && /^-?\d{1,16}$/.test(v) ? Number(v) : undefined);

export async function readRunState(substrate: Substrate, id: string, runId: string): Promise<RunState> {
  const script = 'cd "$1" 2>/dev/null || exit 3; shift; for f; do printf "%s=" "$f"; head -c 64 "$f" 2>/dev/null | tr -d "\\n="; echo; done';
  const r = await run(substrate, id, ['/bin/sh', '-c', script, 'km-agent', runDirOf(runId), ...STATE_FILES], undefined, { cwd: '/' });
  if (r.code === 3) return { present: false };
  if (r.code !== 0) throw new Error(`could not read the run state (exit ${r.code}): ${r.stderr}`);
  const v: Record<string, string> = {};
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && line.length > i + 1) v[line.slice(0, i)] = line.slice(i + 1);
  }
  const s: RunState = { present: true };
  if (v.status !== undefined) s.status = v.status;
  if (v.stop_reason !== undefined) s.stopReason = v.stop_reason;
  const n = { exitCode: intOf(v.exit_code), startedAtMs: intOf(v.started_at), endedAtMs: intOf(v.ended_at), agentPid: intOf(v['agent.pid']) };
  for (const [k, x] of Object.entries(n)) if (x !== undefined) (s as unknown as Record<string, number>)[k] = x;
  return s;
}

/** A run file's content (at most `max` bytes from its end when `tail`, else from its start). */
export async function readRunFile(substrate: Substrate, id: string, runId: string, name: string, max: number, tail = false): Promise<string> {
  const r = await run(substrate, id, [tail ? 'tail' : 'head', '-c', String(max), `${runDirOf(runId)}/${name}`], undefined, { cwd: '/' });
  return r.code === 0 ? r.stdout.toString('utf8') : '';
}

export async function writeRunFile(substrate: Substrate, id: string, runId: string, name: string, content: string): Promise<void> {
  const script = 'umask 077 && cat > "$1.tmp" && mv -f "$1.tmp" "$1"';
  await run(substrate, id, ['/bin/sh', '-c', script, 'km-agent', `${runDirOf(runId)}/${name}`], Buffer.from(content, 'utf8'), { cwd: '/' });
}

export const tmuxArgv = (...args: string[]): string[] => ['tmux', '-S', TMUX_SOCKET, ...args];

export async function startSession(substrate: Substrate, id: string, runId: string, cwd: string): Promise<void> {
  const dir = runDirOf(runId);
  const argv = tmuxArgv('new-session', '-d', '-s', sessionOf(runId), '-x', '200', '-y', '50', '-c', cwd, '--', '/bin/sh', `${dir}/launch.sh`, dir);
  const r = await run(substrate, id, argv, undefined, { cwd: '/' });
  if (r.code !== 0) throw new Error(`tmux could not start ${sessionOf(runId)} (exit ${r.code}): ${r.stderr}`);
}

export async function hasSession(substrate: Substrate, id: string, runId: string): Promise<boolean> {
  const r = await run(substrate, id, tmuxArgv('has-session', '-t', `=${sessionOf(runId)}`), undefined, { cwd: '/' });
  return r.code === 0;
}

/** Sends a signal to the agent process (by the pid the launcher recorded). */
export async function signalAgent(substrate: Substrate, id: string, pid: number, signal: 'INT' | 'TERM' | 'KILL'): Promise<boolean> {
  const r = await run(substrate, id, ['kill', `-${signal}`, String(pid)], undefined, { cwd: '/' });
  return r.code === 0;
}

export async function agentAlive(substrate: Substrate, id: string, pid: number): Promise<boolean> {
  const r = await run(substrate, id, ['kill', '-0', String(pid)], undefined, { cwd: '/' });
  return r.code === 0;
}
