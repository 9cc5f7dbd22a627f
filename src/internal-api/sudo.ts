/**
 * `POST /sudo` on km.internal (SPEC §9.3): the server half of the in-sandbox `sudo` of
 * privileged sandboxes. The calling sandbox is the socket's sandbox; its stored profile must
 * say `execution.privileged: true` (checked on every call, so a profile without it gets a
 * 403 even if the script were copied in). The command runs through the substrate's exec as
 * root of the sandbox (the same confinement as `km exec --root`: uid 0 of the sandbox's user
 * namespace, file-ownership capabilities only), in the caller's directory, with the
 * sandbox's environment. The answer streams NDJSON: `{"o":b64}` stdout, `{"e":b64}` stderr,
 * then `{"exit":N}`. Each call is a `command` event (source `sudo`, argv redacted).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redactor } from '../audit/index.ts';
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { createEventRecorder } from '../sandbox/events.ts';
import { sandboxPaths } from '../sandbox/files.ts';
import type { Store } from '../store/index.ts';
import { createLocalSubstrate } from '../substrate/index.ts';

const MAX_BODY = 12 * 1024 * 1024;

export interface SudoDeps {
  kmHome: string;
  store: Store;
  redactor: Redactor;
  clock: Clock;
}

interface SudoRequest {
  argv: string[];
  cwd: string;
  stdin: Buffer | null;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new KmError('usage', 'sudo: standard input is larger than 8 MiB', { hint: 'write the data to a file in the sandbox and pass its name' });
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

const text = (b64: unknown): string => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('utf8') : '');

function parse(body: Buffer): SudoRequest {
  let j: { argv_b64?: unknown; cwd_b64?: unknown; stdin_b64?: unknown };
  try {
    j = JSON.parse(body.toString('utf8')) as typeof j;
  } catch {
    throw new KmError('usage', 'sudo: the request is not JSON');
  }
  if (!Array.isArray(j.argv_b64) || j.argv_b64.length === 0 || !j.argv_b64.every((a) => typeof a === 'string')) {
    throw new KmError('usage', 'sudo: no command given');
  }
  const cwd = text(j.cwd_b64);
  return {
    argv: j.argv_b64.map(text),
    cwd: cwd.startsWith('/') ? cwd : '/',
    stdin: typeof j.stdin_b64 === 'string' ? Buffer.from(j.stdin_b64, 'base64') : null,
  };
}

export function createSudoHandler(deps: SudoDeps): (sandboxId: string, req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const events = createEventRecorder({ store: deps.store, redactor: deps.redactor, clock: deps.clock });
  return async (sandboxId, req, res) => {
    const body = await readBody(req);
    const sb = await deps.store.getSandbox(sandboxId);
    const privileged = (sb?.profile as { spec?: { execution?: { privileged?: boolean } } } | null)?.spec?.execution?.privileged === true;
    if (!sb || !privileged) {
      throw new KmError('not_available', 'sudo is not enabled in this sandbox (its profile has execution.privileged: false)', { hint: 'the operator can run km exec --root' });
    }
    if (sb.status !== 'running') throw new KmError('invalid_state', `sudo: the sandbox is ${sb.status}`);
    const r = parse(body);
    const substrate = createLocalSubstrate({ kmHome: deps.kmHome });
    await substrate.adopt(sandboxId, sandboxPaths(deps.kmHome, sandboxId).stateDir);
    const started = deps.clock.now();
    const h = await substrate.exec(sandboxId, r.argv, { root: true, cwd: r.cwd, env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    h.stdin?.on('error', () => undefined);
    h.stdin?.end(r.stdin ?? undefined);
    const line = (key: 'o' | 'e') => (b: Buffer) => res.write(`{"${key}":"${b.toString('base64')}"}\n`);
    h.stdout?.on('data', line('o'));
    h.stderr?.on('data', line('e'));
    res.on('close', () => {
      if (!res.writableFinished) h.kill('SIGTERM');
    });
    const code = await h.exit;
    res.end(`{"exit":${code}}\n`);
    await events.record(sandboxId, 'command', 'sudo', { argv: r.argv, root: true, exit_code: code, duration_ms: deps.clock.now() - started }, started);
  };
}
