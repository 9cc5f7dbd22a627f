/** `km doctor` (SPEC §14.3): named checks, each probed for real through injectable runners. */

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  hint: string | null;
}

export type CheckOutcome = Omit<CheckResult, 'name'>;

export interface RunResult {
  /** Exit code, or null when the process was killed by a signal or did not start. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (`ENOENT`, `EACCES`) or timed out (`ETIMEDOUT`). */
  error?: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

export type CommandRunner = (cmd: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

/** Filesystem probes (real ones in host.ts; fakes in tests). */
export interface HostProbe {
  readText(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  /** access(W_OK). */
  writable(path: string): Promise<boolean>;
  /** access(X_OK) on a regular file. */
  executable(path: string): Promise<boolean>;
  /** The path with every symlink resolved (undefined when it does not resolve); absent: no resolution. */
  realPath?(path: string): Promise<string | undefined>;
  /** Creates and deletes a temp file in `dir`; returns an error message, or undefined on success. */
  writeProbe(dir: string): Promise<string | undefined>;
  /** Permission bits and owner of a path, or undefined when missing. */
  stat(path: string): Promise<{ mode: number; uid: number } | undefined>;
  /** Bytes available to unprivileged users on the filesystem holding `path`. */
  freeBytes(path: string): Promise<number>;
  /** A fresh directory under `parent` (default: the system temp dir). */
  makeTempDir(parent?: string): Promise<string>;
  removeDir(path: string): Promise<void>;
}

export interface DaemonProbe {
  running: boolean;
  pid: number | null;
  version: string | null;
  /** Leftovers of a crashed kmd (no live daemon holds the instance lock). */
  staleSocket: boolean;
  stalePidFile: boolean;
  /** A kmd holds the instance lock but does not answer. */
  hung: boolean;
}

export interface SandboxSummary {
  id: string;
  status: string;
  expiresAtMs: number | null;
  updatedAtMs: number;
  substrate?: string;
  teardownPolicy?: string;
  locked?: boolean;
}

export interface StoreProbe {
  /** False when the database has not been created yet. */
  exists: boolean;
  location: string;
  ok: boolean;
  message: string;
  schemaVersion: number | null;
  /** Non-destroyed sandboxes; empty when the store does not exist. */
  sandboxes: SandboxSummary[];
}

export interface ConfigProbe {
  ok: boolean;
  files: string[];
  message: string;
  hint: string | null;
  requireEbpf: boolean;
  defaultSubstrate: string | null;
}

export interface CaSummary {
  sandboxId: string;
  notAfterMs: number;
}

export interface DoctorContext {
  env: NodeJS.ProcessEnv;
  stateDir: string;
  nodeVersion: string;
  cliVersion: string;
  /** Effective uid (0 = root). */
  uid: number;
  nowMs: number;
  run: CommandRunner;
  host: HostProbe;
  daemon(): Promise<DaemonProbe>;
  store(): Promise<StoreProbe>;
  config(): Promise<ConfigProbe>;
  /** Sandbox CAs, or undefined when this install keeps none. */
  cas(): Promise<CaSummary[] | undefined>;
  /**
   * What the substrate reports for sandboxes the store calls running or paused
   * (`running|paused|stopped|missing`); ids it cannot tell about are left out.
   */
  processes?(sandboxes: readonly SandboxSummary[]): Promise<Record<string, string>>;
  /** Null when the local BPF connect gatekeeper loads here (`km-bpf probe`), else why not. */
  gatekeeper?(): Promise<string | null>;
}

export interface Check {
  name: string;
  run(ctx: DoctorContext): Promise<CheckOutcome>;
}

export const pass = (message: string, hint: string | null = null): CheckOutcome => ({ status: 'pass', message, hint });
export const warn = (message: string, hint: string | null = null): CheckOutcome => ({ status: 'warn', message, hint });
export const fail = (message: string, hint: string | null = null): CheckOutcome => ({ status: 'fail', message, hint });
export const skip = (message: string, hint: string | null = null): CheckOutcome => ({ status: 'skip', message, hint });

/** First meaningful line of a failed command's output, for messages. */
export function firstLine(r: RunResult): string {
  const text = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).find((l) => l !== '');
  if (r.error === 'ETIMEDOUT') return 'timed out';
  return text ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.code ?? 'unknown'}`);
}
