/**
 * The substrate interface: where a sandbox's process tree and filesystem live. The
 * orchestration layer (`src/sandbox/`) drives every substrate through this surface only;
 * substrates know nothing of each other. Status, pause/resume/stop and exec semantics are
 * SPEC §8.7 and §8.9 at the substrate level:
 *
 * - `create` builds the filesystem and leaves the sandbox running (env, CA bundle and
 *   `configFiles` in place); init commands are the caller's (run them with `exec({root})`).
 * - `pause` freezes the whole tree, `resume` thaws it or, when stopped, starts a fresh tree
 *   over the same filesystem; `stop` ends every process (SIGTERM, grace, SIGKILL) and keeps
 *   the filesystem; `destroy` removes everything the substrate owns for the sandbox.
 *   Pausing a paused sandbox, resuming a running one, stopping a stopped one are no-ops.
 * - `exec` runs argv directly (no shell) and resolves `exit` with the command's exit code,
 *   `128+N` when killed by signal N, 127 not found, 126 not executable.
 * - `adopt` re-attaches to a tree started by an earlier daemon from the runtime record the
 *   substrate persisted in the sandbox's state directory.
 */
import type { Readable, Writable } from 'node:stream';
import type { StdioOptions } from 'node:child_process';

export type SubstrateStatus = 'running' | 'paused' | 'stopped' | 'missing';

export interface SandboxLimits {
  memoryBytes?: number;
  /** Fractional CPUs (e.g. 0.5, 2). */
  cpus?: number;
  /** Max tasks (processes and threads). Node needs >= 64. */
  pids?: number;
}

export interface SandboxMount {
  hostPath: string;
  /** Absolute path inside the sandbox. */
  path: string;
  readOnly: boolean;
}

export interface ConfigFile {
  /** Absolute path inside the sandbox. */
  path: string;
  content: string;
}

export interface SandboxSpec {
  id: string;
  /** Per-sandbox directory owned by the substrate (created if missing, removed on destroy). */
  stateDir: string;
  /** Host dir with the gateway's unix sockets (proxy.sock, dns.sock, dns-tcp.sock, ...). */
  gatewayDir: string;
  env: Record<string, string>;
  workingDir: string;
  shell: string;
  caPem: string;
  hostname: string;
  limits?: SandboxLimits;
  privileged: boolean;
  configFiles: ConfigFile[];
  mounts: SandboxMount[];
  /** A root filesystem directory to use as the read-only base instead of the host's `/`. */
  baseImage?: string;
  /**
   * Clone: the state dir of another sandbox of this substrate whose writable layer is copied
   * before the first start (the caller freezes that sandbox during the copy).
   */
  copyLayerFrom?: string;
  /** Attach the BPF connect gatekeeper (SPEC §3.5, `enforcement: ebpf|both`) when the host allows it. */
  gatekeeper?: boolean;
}

export type CgroupMode = 'v1' | 'v2' | 'none';
export type FreezeMethod = 'cgroup-v2' | 'cgroup-v1' | 'signals';

export interface SandboxFeatures {
  /** Which cgroup hierarchy carries the resource limits (none when unprivileged). */
  cgroups: CgroupMode;
  freeze: FreezeMethod;
  /** nftables redirect of TCP 80/443 and UDP/TCP 53 inside the namespace is active. */
  transparent: boolean;
  /** The limits that were actually applied. */
  limits: SandboxLimits;
  /** The BPF connect gatekeeper is attached to the sandbox's cgroup. */
  gatekeeper?: boolean;
}

export interface SandboxHandleInfo {
  id: string;
  status: SubstrateStatus;
  stateDir: string;
  /** Host pid of the sandbox's PID 1 (null when not running). */
  pid: number | null;
  features: SandboxFeatures;
  /** Things the operator should know (e.g. limits requested but not enforceable). */
  warnings: string[];
}

export interface ExecOptions {
  /** uid 0 of the sandbox's user namespace with file-ownership capabilities only. */
  root?: boolean;
  /** Extra variables on top of the sandbox environment. */
  env?: Record<string, string>;
  /** Working directory inside the sandbox (default: the spec's workingDir). */
  cwd?: string;
  /** Default: pipes for all three. */
  stdio?: StdioOptions;
  /**
   * Run the command on a pseudo-terminal allocated *inside* the sandbox (its own devpts),
   * so the operator's terminal is never handed to sandbox code (no TIOCSTI reach); the
   * caller relays bytes through the stdio pipes and puts its own terminal in raw mode.
   */
  tty?: { cols: number; rows: number };
}

/**
 * What `exec` runs, decided without running it, so that a process other than the one that
 * asked (the native CLI, given the plan by kmd) can start the very same launcher.
 */
export interface ExecPlan {
  /** The launcher's argv; `argv[0]` is an absolute path. */
  argv: string[];
  /** The launcher's whole environment (nothing is inherited). */
  env: Record<string, string>;
  /**
   * Which descendant of the launcher (parents before children, as `/proc` lists them) is the
   * command, to which forwarded signals go; the launcher itself when there is none yet.
   */
  signalDepth: number;
}

export interface ExecHandle {
  /** Host pid of the launcher process. */
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Exit code per SPEC §8.9 (128+N for signal N). */
  readonly exit: Promise<number>;
  /** Delivers the signal to the command inside the sandbox. */
  kill(signal?: NodeJS.Signals): void;
  /**
   * After the command has exited, stops waiting for output from processes it left behind
   * (a background job holding stdout open) so that `exit` resolves; false while it runs.
   */
  detach?(): boolean;
}

export interface StopOptions {
  /** Time between SIGTERM and SIGKILL (SPEC §8.7: 10 s). */
  graceMs: number;
}

export interface Substrate {
  readonly name: string;
  create(spec: SandboxSpec): Promise<SandboxHandleInfo>;
  start(id: string): Promise<SandboxHandleInfo>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  stop(id: string, options: StopOptions): Promise<void>;
  destroy(id: string): Promise<void>;
  exec(id: string, argv: string[], options?: ExecOptions): Promise<ExecHandle>;
  /**
   * The plan `exec` would start (same checks, same errors), for a caller that spawns it
   * itself in its own process group, stdin inherited and stdout/stderr on pipes.
   */
  execPlan?(id: string, argv: string[], options?: Omit<ExecOptions, 'stdio'>): Promise<ExecPlan>;
  status(id: string): Promise<SubstrateStatus>;
  /** After a daemon restart: re-attach from the runtime record in `stateDir`. */
  adopt(id: string, stateDir: string): Promise<SandboxHandleInfo>;
  /**
   * Images: copies the sandbox's writable layer into `toDir` (laid out like a state dir, so
   * a later `create` can name it in `copyLayerFrom`). The caller freezes a running sandbox.
   */
  snapshotLayer?(id: string, toDir: string): Promise<void>;
  /** Null when `SandboxSpec.gatekeeper` can be honoured on this host, else why not. */
  gatekeeperUnavailable?(): string | null;
  close(): Promise<void>;
}

export { createLocalSubstrate, localGatekeeperUnavailable, localSubstrateAvailability } from './local/index.ts';
export type { LocalSubstrateOptions, LocalAvailability, GatekeeperDeny } from './local/index.ts';
