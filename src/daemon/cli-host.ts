/**
 * kmd hosting `km create`, `km list` and `km status` for the native CLI (native/km-client.c),
 * so that they start no Node process: `GET /v1/cli` upgraded to `km-cli`, then frames
 * (frames.ts):
 *
 *   client → {"t":"cli", argv, environ, cwd, uid, install,
 *             stdin_tty, stdout_tty, stderr_tty, stdout_cols, stdout_rows, stderr_cols, stderr_rows}
 *   kmd    → {"t":"refused", reason} | {"t":"o"|"e", d: base64}… then {"t":"exit", code}
 *
 * The command runs here through `runCli`, the Node CLI's own entry (src/bin/km.ts), with the
 * client's argv, environment and working directory, and streams that report the client's
 * terminals (so colour, NO_COLOR and widths come out the same): the output is byte for byte
 * what the Node CLI prints. Refused (the client runs the Node CLI): commands other than these
 * three, and a create that would read stdin (`--prompt-file -`) or wait for its runs
 * (`--wait`, which would outlive the client's Ctrl-C here). A hosted command is guarded: its
 * exception becomes its own error output, writes after the client has gone are dropped, and
 * a create carries on when the client disconnects, as it does when the Node CLI is killed.
 */
import { Readable, Writable } from 'node:stream';
import type { Clock } from '../core/clock.ts';
import type { CliDeps } from '../cli/main.ts';
import { renderError } from '../cli/output.ts';
import { parseOptions, resolveCommand, type Table } from '../cli/parse.ts';
import { optList, type CommandIO } from '../cli/spec.ts';
import { HELLO_TIMEOUT_MS, notServed, parseHello, type ClientHello, type HostIdentity } from './client-hello.ts';
import { encodeBytes, firstFrame, frameChannel, type Frame, type FrameChannel } from './frames.ts';
import type { UpgradeHandler } from './router.ts';
import type { DaemonLog } from './service.ts';

/** Output frames carry at most this many bytes (the client's line buffer stays small). */
const CHUNK_BYTES = 48 * 1024;

/** The commands kmd runs for the native CLI. */
export const HOSTED_COMMANDS: readonly string[] = ['create', 'list', 'status'];

export type CliRunner = (argv: readonly string[], deps: CliDeps) => Promise<number>;

export interface CliHostDeps {
  self: HostIdentity;
  clock: Clock;
  log: DaemonLog;
  table: () => Table;
  /** The CLI entry (default `runCli`, loaded on first use). */
  runner: () => Promise<CliRunner>;
}

export interface CliHost {
  session: UpgradeHandler;
}

/** Why kmd does not host this command line (the Node CLI runs it), or null. */
export function notHosted(table: Table, argv: readonly string[]): string | null {
  let r: ReturnType<typeof resolveCommand>;
  try {
    r = resolveCommand(table, argv);
  } catch {
    return 'not a command line kmd hosts';
  }
  if (r.spec === undefined || !HOSTED_COMMANDS.includes(r.spec.path.join(' '))) return 'not a command kmd hosts';
  if (r.spec.path[0] !== 'create' || r.global.help) return null;
  let opts: Record<string, unknown>;
  try {
    opts = parseOptions(r.spec, r.remaining).opts;
  } catch {
    return null; // runCli reports the usage error as the Node CLI does
  }
  if (optList(opts['prompt-file']).includes('-')) return '--prompt-file - reads stdin';
  if (opts.wait === true) return '--wait waits for agent runs';
  return null;
}

interface Terminal {
  cols: number;
  rows: number;
}

const terminal = (f: Frame, name: 'stdout' | 'stderr'): Terminal | null =>
  f[`${name}_tty`] === true ? { cols: Number(f[`${name}_cols`]) || 80, rows: Number(f[`${name}_rows`]) || 24 } : null;

/** A stream whose writes become frames of type `t`; like process.stdout, `isTTY` only on a terminal. */
function frameWriter(ch: FrameChannel, t: 'o' | 'e', tty: Terminal | null): CommandIO['stdout'] {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (let i = 0; i < chunk.length; i += CHUNK_BYTES) ch.send({ t, d: encodeBytes(chunk.subarray(i, i + CHUNK_BYTES)) });
      done();
    },
  });
  return tty ? Object.assign(w, { isTTY: true, columns: tty.cols, rows: tty.rows }) : w;
}

function ioFor(ch: FrameChannel, f: Frame): CommandIO {
  const stdin = new Readable({
    read() {
      this.push(null);
    },
  });
  return {
    stdin: f.stdin_tty === true ? Object.assign(stdin, { isTTY: true }) : stdin,
    stdout: frameWriter(ch, 'o', terminal(f, 'stdout')),
    stderr: frameWriter(ch, 'e', terminal(f, 'stderr')),
  };
}

async function host(deps: CliHostDeps, ch: FrameChannel, first: Frame, hello: ClientHello): Promise<void> {
  const io = ioFor(ch, first);
  let code: number;
  try {
    const run = await deps.runner();
    code = await run(hello.argv, { io, env: hello.env, cwd: hello.cwd, clock: deps.clock });
  } catch (e) {
    // runCli renders every error itself; this is a bug in the host, reported like one.
    deps.log('error', 'hosted command failed', { command: hello.argv[0], error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    renderError(io, e, { json: false, debug: false, color: false });
    code = 1;
  }
  ch.end({ t: 'exit', code });
}

export function createCliHost(deps: CliHostDeps): CliHost {
  return {
    async session({ socket, head }) {
      const ch = frameChannel(socket, head);
      const first = await firstFrame(ch, HELLO_TIMEOUT_MS);
      if (first === null) return void socket.destroy();
      const hello = first.t === 'cli' ? parseHello(first) : null;
      const why = hello === null ? 'not a km-cli request' : (notServed(hello, deps.self) ?? notHosted(deps.table(), hello.argv));
      if (why !== null || hello === null) {
        deps.log('debug', 'command not hosted', { reason: why });
        return ch.end({ t: 'refused', reason: why ?? 'malformed' });
      }
      deps.log('debug', 'command hosted', { command: hello.argv[0] });
      await host(deps, ch, first, hello);
    },
  };
}
