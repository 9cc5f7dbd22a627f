/**
 * kmd's side of `km exec` through the native CLI (native/km-client.c), which starts no Node:
 * `GET /v1/exec` upgraded to `km-exec`, then frames (frames.ts):
 *
 *   client → {"t":"exec", argv, environ, cwd, uid, install, tty}   (argv: km's, from `exec`)
 *   kmd    → {"t":"plan", argv, env, signal_depth} | {"t":"refused", reason}
 *   client → {"t":"activity"} (at most every 2 s while output flows), {"t":"exit", code, duration_ms}
 *   kmd    → {"t":"recorded"}, and closes
 *
 * kmd parses the argv with the CLI's own command table, resolves the sandbox in its store and
 * asks the substrate for the plan with the same checks as the Node `km exec`
 * (cli/sandbox-exec.ts); the client then runs that launcher itself. Any problem before the
 * command starts is a refusal, and the client runs the Node CLI, which prints the usual error.
 * The `command` event (argv redacted with the client's config, source `exec`) is written when
 * the client reports the exit, or with `exit_code: null` when the connection ends first (the
 * client was killed, kmd is stopping): a command that ran is never unrecorded.
 */
import { createRedactor } from '../audit/redact.ts';
import { sqliteStorePath } from '../config/expand.ts';
import type { LoadedConfig } from '../config/load.ts';
import { loadOperatorConfigCached } from '../config/memo.ts';
import type { Clock } from '../core/clock.ts';
import { KmError, isKmError } from '../core/errors.ts';
import { activityOf, commandArgv, commandDetail, execEnv, execSandbox } from '../cli/sandbox-exec.ts';
import { parseOptions, resolveCommand, type Table } from '../cli/parse.ts';
import { createEventRecorder } from '../sandbox/events.ts';
import { sandboxPaths } from '../sandbox/files.ts';
import type { Store } from '../store/index.ts';
import type { ExecPlan, Substrate } from '../substrate/index.ts';
import { HELLO_TIMEOUT_MS, notServed, parseHello, type ClientHello, type HostIdentity } from './client-hello.ts';
import { encodeList, firstFrame, frameChannel, type Frame, type FrameChannel } from './frames.ts';
import type { UpgradeHandler } from './router.ts';
import type { DaemonLog } from './service.ts';

export interface ExecHostDeps {
  self: HostIdentity;
  /** kmd's store file: the client's config must resolve to the same one. */
  storePath: string;
  store: Store;
  substrate: Substrate;
  clock: Clock;
  log: DaemonLog;
  /** The CLI's command table (exec's flags are parsed exactly as `km exec` parses them). */
  table: () => Table;
  /** Aborted when kmd begins shutting down: open sessions end (and are recorded) at once. */
  signal: AbortSignal;
  loadConfig?: (o: { env: NodeJS.ProcessEnv; cwd: string }) => Promise<LoadedConfig>;
}

export interface ExecHost {
  session: UpgradeHandler;
  /** Waits for the `command` events still being written. */
  close(): Promise<void>;
}

interface Planned {
  hello: ClientHello;
  config: LoadedConfig;
  sandboxId: string;
  command: string[];
  root: boolean;
  plan: ExecPlan;
}

/** A reason not to serve the client (kmd's own words, shown by `KM_CLIENT=debug`). */
export const refusal = (reason: string): KmError => new KmError('not_available', reason, { details: { refused: true } });

/** What the client is told: a refusal's reason, else only the error's code (a message may name a sandbox). */
export const refusedBecause = (e: unknown): string => (isKmError(e) ? (e.details?.refused === true ? e.message : e.code) : 'internal');

/** `km exec` as the CLI parses it: the reference, the command, root, --env, --workdir, -t. */
function parseExec(table: Table, argv: string[]) {
  const r = resolveCommand(table, argv);
  const g = r.global;
  if (r.spec?.path.join(' ') !== 'exec' || g.json || g.debug || g.noColor || g.help || g.version) throw refusal('not a plain km exec');
  const p = parseOptions(r.spec, r.remaining);
  if (p.rest.length === 0) throw refusal('no command after --');
  const workdir = typeof p.opts.workdir === 'string' && p.opts.workdir !== '' ? p.opts.workdir : undefined;
  return { ref: p.args[0] as string, command: p.rest, root: p.opts.root === true, env: execEnv(p.opts.env), tty: p.opts.tty === true, workdir };
}

async function planFor(deps: ExecHostDeps, first: Frame): Promise<Planned> {
  const hello = first.t === 'exec' ? parseHello(first) : null;
  if (hello === null) throw refusal('not an exec request');
  const why = notServed(hello, deps.self);
  if (why !== null) throw refusal(why);
  const x = parseExec(deps.table(), hello.argv);
  if (x.tty !== (first.tty === true)) throw refusal('the client read -t differently');
  const config = await (deps.loadConfig ?? loadOperatorConfigCached)({ env: hello.env, cwd: hello.cwd });
  const where = { stateDir: config.stateDir, cwd: hello.cwd, env: hello.env };
  if (config.stateDir !== deps.self.stateDir || sqliteStorePath(config.config, where) !== deps.storePath) throw refusal('the client uses another store');
  const sandbox = await execSandbox(deps.store, x.ref);
  await deps.substrate.adopt(sandbox.id, sandboxPaths(deps.self.stateDir, sandbox.id).stateDir);
  if (deps.substrate.execPlan === undefined) throw refusal('the substrate makes no exec plans');
  const plan = await deps.substrate.execPlan(sandbox.id, commandArgv(x.command, x.tty), { root: x.root, env: x.env, ...(x.workdir ? { cwd: x.workdir } : {}) });
  // Node refuses to spawn with a NUL in argv or env; the error it prints is the Node CLI's to print.
  if ([...plan.argv, ...Object.entries(plan.env).flat()].some((s) => s.includes('\0'))) throw refusal('a NUL in the plan');
  return { hello, config, sandboxId: sandbox.id, command: x.command, root: x.root, plan };
}

export function createExecHost(deps: ExecHostDeps): ExecHost {
  const writing = new Set<Promise<void>>();
  const sockets = new Set<{ destroy(): void }>();
  deps.signal.addEventListener('abort', () => {
    for (const s of sockets) s.destroy();
  }, { once: true });

  const run = (ch: FrameChannel, p: Planned): void => {
    const events = createEventRecorder({
      store: deps.store,
      redactor: createRedactor({ literals: p.config.config.audit.redact_literals }),
      clock: deps.clock,
      onError: (e) => deps.log('error', 'command event write failed', { error: String(e) }),
    });
    const activity = activityOf(deps.store, p.sandboxId, deps.clock);
    activity(true);
    const started = deps.clock.now();
    let recorded: Promise<void> | null = null;
    const record = (code: number | null, durationMs: number): Promise<void> => {
      if (recorded !== null) return recorded;
      activity(true);
      recorded = events.record(p.sandboxId, 'command', 'exec', commandDetail(p.command, p.root, code, durationMs), started);
      writing.add(recorded);
      void recorded.finally(() => writing.delete(recorded as Promise<void>));
      return recorded;
    };
    ch.send({ t: 'plan', argv: encodeList(p.plan.argv), env: encodeList(Object.entries(p.plan.env).map(([k, v]) => `${k}=${v}`)), signal_depth: p.plan.signalDepth });
    ch.onFrame((f) => {
      if (f.t === 'activity') activity();
      if (f.t !== 'exit') return;
      const code = Number.isInteger(f.code) && (f.code as number) >= 0 && (f.code as number) <= 255 ? (f.code as number) : null;
      const ms = typeof f.duration_ms === 'number' && f.duration_ms >= 0 ? Math.round(f.duration_ms) : deps.clock.now() - started;
      void record(code, ms).then(() => ch.end({ t: 'recorded' }));
    });
    ch.onClose(() => void record(null, deps.clock.now() - started));
  };

  return {
    async session({ socket, head }) {
      const ch = frameChannel(socket, head);
      sockets.add(socket);
      ch.onClose(() => sockets.delete(socket));
      if (deps.signal.aborted) return void socket.destroy();
      const first = await firstFrame(ch, HELLO_TIMEOUT_MS);
      if (first === null) return void socket.destroy();
      let planned: Planned;
      try {
        planned = await planFor(deps, first);
      } catch (e) {
        if (!isKmError(e)) deps.log('warn', 'exec plan failed', { error: e instanceof Error ? e.message : String(e) });
        deps.log('debug', 'exec not served', { reason: refusedBecause(e) });
        return ch.end({ t: 'refused', reason: refusedBecause(e) });
      }
      if (!ch.open) return;
      deps.log('debug', 'exec served', { sandbox_id: planned.sandboxId });
      run(ch, planned);
    },
    async close() {
      await Promise.all([...writing]);
    },
  };
}
