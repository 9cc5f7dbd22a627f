/**
 * `km exec` and `km shell` (SPEC §8.9). They run the substrate's exec directly in the CLI
 * process (same user as kmd) for latency: the sandbox is resolved in the store, adopted from
 * its state dir, and the command runs with the sandbox environment. A `command` event
 * (redacted argv) and activity for the idle clock are written to the store. Exit code: the
 * command's; 125 when km fails before the command starts.
 *
 * The native CLI (native/km-client.c) runs `km exec` without Node: kmd makes the plan with
 * the checks exported here (`execSandbox`, `commandArgv`, `execEnv`, `commandDetail`), so
 * both paths refuse, launch and record alike (src/daemon/exec-host.ts).
 *
 * Imports name module files rather than folder index files: the bundled CLI is split by
 * file, and this keeps `km exec`'s load to the config, store and substrate code it runs.
 */
import { createRedactor } from '../audit/redact.ts';
import { sqliteStorePath } from '../config/expand.ts';
import type { LoadedConfig } from '../config/load.ts';
import { loadOperatorConfigCached } from '../config/memo.ts';
import type { Clock } from '../core/clock.ts';
import { KmError, isKmError } from '../core/errors.ts';
import type { Profile } from '../profile/index.ts';
import { createEventRecorder } from '../sandbox/events.ts';
import { sandboxPaths } from '../sandbox/files.ts';
import { labelOf } from '../sandbox/record.ts';
import { resolveSandboxRef } from '../sandbox/reference.ts';
import { openSqliteStore } from '../store/sqlite/index.ts';
import type { SandboxRecord, Store } from '../store/index.ts';
import { createLocalSubstrate } from '../substrate/local/index.ts';
import type { ExecHandle, Substrate } from '../substrate/index.ts';
import { renderError } from './output.ts';
import { optList, type CommandContext, type CommandModule } from './spec.ts';

/** The idle clock needs at most one store write per this interval while output flows. */
export const ACTIVITY_EVERY_MS = 2000;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Prepared {
  store: Store;
  sandbox: SandboxRecord;
  substrate: Substrate;
  c: LoadedConfig;
  /** Marks the sandbox active for the idle clock (a store write at most every 2 s unless forced). */
  activity: (force?: boolean) => void;
}

export function activityOf(store: Store, sandboxId: string, clock: Clock): (force?: boolean) => void {
  let last = 0;
  return (force = false) => {
    const now = clock.now();
    if (!force && now - last < ACTIVITY_EVERY_MS) return;
    last = now;
    void store.recordActivity(sandboxId, now).catch(() => undefined);
  };
}

/** The sandbox `ref` names, when exec may run in it (else the error km exec prints). */
export async function execSandbox(store: Store, ref: string): Promise<SandboxRecord> {
  const sandbox = await resolveSandboxRef(store, ref);
  const name = labelOf(sandbox);
  if (sandbox.status !== 'running') {
    const why = sandbox.status === 'paused' || sandbox.status === 'stopped' ? `run km resume ${name}` : `see km status ${name}`;
    throw new KmError('invalid_state', `${name} is ${sandbox.status}; ${why}`);
  }
  if (sandbox.substrate !== 'local') throw new KmError('substrate_unavailable', `exec on the ${sandbox.substrate} substrate is not available in this version`);
  return sandbox;
}

async function prepare(ctx: CommandContext): Promise<Prepared> {
  const c = await loadOperatorConfigCached({ env: ctx.env, cwd: ctx.cwd });
  const store = await openSqliteStore(sqliteStorePath(c.config, { stateDir: c.stateDir, cwd: ctx.cwd, env: ctx.env }), { clock: ctx.clock });
  try {
    const sandbox = await execSandbox(store, ctx.args[0] as string);
    const substrate = createLocalSubstrate({ kmHome: c.stateDir });
    await substrate.adopt(sandbox.id, sandboxPaths(c.stateDir, sandbox.id).stateDir);
    return { store, sandbox, substrate, c, activity: activityOf(store, sandbox.id, ctx.clock) };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** `--env K=V` values (one string or several) as variables; a malformed one is a usage error. */
export function execEnv(list: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of optList(list)) {
    const i = kv.indexOf('=');
    const key = i > 0 ? kv.slice(0, i) : '';
    if (!ENV_KEY.test(key)) throw new KmError('usage', `invalid --env "${kv}": use K=V with K a variable name`);
    env[key] = kv.slice(i + 1);
  }
  return env;
}

/** Quotes argv for `sh -c` (used to run a command under `script` for a PTY). */
const shQuote = (s: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** What runs inside: argv itself, or with `-t` argv under script(1) on a pty of the sandbox. */
export const commandArgv = (argv: string[], tty: boolean): string[] => (tty ? ['script', '-qefc', argv.map(shQuote).join(' '), '/dev/null'] : argv);

/** The `command` event's detail (redacted by the recorder); `exitCode` null when km never learnt it. */
export const commandDetail = (argv: string[], root: boolean, exitCode: number | null, durationMs: number): Record<string, unknown> => ({
  argv, root, exit_code: exitCode, duration_ms: durationMs,
});

interface RunSpec {
  argv: string[];
  root: boolean;
  env: Record<string, string>;
  cwd?: string;
  tty: boolean;
  source: 'exec' | 'shell';
}

async function runIn(ctx: CommandContext, p: Prepared, r: RunSpec): Promise<number> {
  const redactor = createRedactor({ literals: p.c.config.audit.redact_literals });
  const events = createEventRecorder({ store: p.store, redactor, clock: ctx.clock });
  p.activity(true);
  const argv = commandArgv(r.argv, r.tty);
  const stdin = ctx.io.stdin as NodeJS.ReadStream;
  const raw = r.tty && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const started = ctx.clock.now();
  let h: ExecHandle;
  try {
    h = await p.substrate.exec(p.sandbox.id, argv, {
      root: r.root,
      env: r.env,
      ...(r.cwd ? { cwd: r.cwd } : {}),
      stdio: ['inherit', 'pipe', 'pipe'],
    });
  } catch (e) {
    throw isKmError(e) ? new KmError(e.code, e.message, { hint: e.hint, exitCode: 125 }) : e;
  }
  if (raw) stdin.setRawMode(true);
  h.stdout?.on('data', (b: Buffer) => {
    ctx.io.stdout.write(b);
    p.activity();
  });
  h.stderr?.on('data', (b: Buffer) => {
    ctx.io.stderr.write(b);
    p.activity();
  });
  // A signal after the command has exited (output held open by a job it left running) ends
  // the wait instead: km returns the command's exit code.
  const forward = (sig: NodeJS.Signals) => () => {
    if (h.detach?.() !== true) h.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  if (!raw) process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const code = await h.exit;
    p.activity(true);
    await events.record(p.sandbox.id, 'command', r.source, commandDetail(r.argv, r.root, code, ctx.clock.now() - started), started);
    return code;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    if (raw) stdin.setRawMode(false);
  }
}

/** Errors before the command starts exit 125 (printed here, since main would use 1 or 2). */
async function guarded(ctx: CommandContext, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    renderError(ctx.io, e, ctx.global);
    return 125;
  }
}

export const execCommand: CommandModule = {
  run: (ctx) =>
    guarded(ctx, async () => {
      if (ctx.rest.length === 0) throw new KmError('usage', 'exec needs a command after --', { hint: 'e.g. km exec demo -- ls -la' });
      const env = execEnv(ctx.opts.env);
      const p = await prepare(ctx);
      try {
        const cwd = typeof ctx.opts.workdir === 'string' ? ctx.opts.workdir : undefined;
        return await runIn(ctx, p, { argv: ctx.rest, root: ctx.opts.root === true, env, ...(cwd ? { cwd } : {}), tty: ctx.opts.tty === true, source: 'exec' });
      } finally {
        await p.store.close();
      }
    }),
};

export const shellCommand: CommandModule = {
  run: (ctx) =>
    guarded(ctx, async () => {
      const mappings = typeof ctx.opts.ports === 'string' ? (await import('./port-forward.ts')).parsePorts(ctx.opts.ports) : [];
      const p = await prepare(ctx);
      let forwards: { close(): Promise<void> } | null = null;
      try {
        if (mappings.length > 0) {
          const { startPortForwards } = await import('./port-forward.ts');
          const warn = (line: string) => ctx.io.stderr.write(`warning: ${line}\n`);
          forwards = await startPortForwards({ substrate: p.substrate, sandboxId: p.sandbox.id, activity: () => p.activity(), warn }, mappings);
          ctx.io.stderr.write(`forwarding ${mappings.map((m) => `127.0.0.1:${m.host} -> ${m.sandbox}`).join(', ')}\n`);
        }
        const shell = (p.sandbox.profile as Profile).spec.execution.shell;
        const tty = ctx.io.stdin.isTTY === true;
        const run = () => runIn(ctx, p, { argv: [shell, '-l'], root: ctx.opts.root === true, env: {}, tty, source: 'shell' });
        if (ctx.opts.learn !== true) {
          const stray = ['output', 'base', 'exact'].find((k) => ctx.opts[k] !== undefined);
          if (stray) throw new KmError('usage', `--${stray} applies to km shell --learn only`, { hint: `add --learn, e.g. km shell --learn ${ctx.args[0]}` });
          return await run();
        }
        return await (await import('./learn-session.ts')).withLearnSession(ctx, p.sandbox.id, run);
      } finally {
        await forwards?.close();
        await p.store.close();
      }
    }),
};
