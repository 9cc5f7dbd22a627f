/**
 * `POST /sudo` on km.internal (SPEC §9.3): the server half of the in-sandbox `sudo` of
 * privileged sandboxes. The calling sandbox is the socket's sandbox; its stored profile must
 * say `execution.privileged: true` (checked on every call, so a profile without it gets a
 * refusal even if the script were copied in). The command runs through the substrate's exec
 * as root of the sandbox (the same confinement as `km exec --root`: uid 0 of the sandbox's
 * user namespace, file-ownership capabilities only), in the caller's directory, with the
 * sandbox's environment.
 *
 * Request: one JSON object (`argv_b64`, `cwd_b64`, `stdin`: whether input follows). Answer,
 * streamed as NDJSON: `{"session":ID}` when input follows, then `{"o":b64}` stdout,
 * `{"e":b64}` stderr, and `{"exit":N}` last. The input goes to `POST /sudo/ID/stdin` on the
 * same sandbox's socket, streamed; it is a separate request so that a command that never
 * reads its input ends the call when it exits (the client then drops the upload). Sessions
 * are unguessable, per sandbox, and gone when the command exits. Each call is a `command`
 * event (source `sudo`, argv redacted).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { Redactor } from '../audit/index.ts';
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { createEventRecorder } from '../sandbox/events.ts';
import { sandboxPaths } from '../sandbox/files.ts';
import type { Store } from '../store/index.ts';
import { createLocalSubstrate } from '../substrate/index.ts';

const MAX_REQUEST = 1024 * 1024;
const UPLOAD_WAIT_MS = 15_000;

export interface SudoDeps {
  kmHome: string;
  store: Store;
  redactor: Redactor;
  clock: Clock;
}

interface SudoRequest {
  argv: string[];
  cwd: string;
  stdin: boolean;
}

async function readJson(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_REQUEST) throw new KmError('usage', 'sudo: the command line is larger than 1 MiB');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

const text = (b64: unknown): string => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('utf8') : '');

function parse(body: Buffer): SudoRequest {
  let j: { argv_b64?: unknown; cwd_b64?: unknown; stdin?: unknown };
  try {
    j = JSON.parse(body.toString('utf8')) as typeof j;
  } catch {
    throw new KmError('usage', 'sudo: the request is not JSON');
  }
  if (!Array.isArray(j.argv_b64) || j.argv_b64.length === 0 || !j.argv_b64.every((a) => typeof a === 'string')) {
    throw new KmError('usage', 'sudo: no command given');
  }
  const cwd = text(j.cwd_b64);
  return { argv: j.argv_b64.map(text), cwd: cwd.startsWith('/') ? cwd : '/', stdin: j.stdin === true };
}

export type SudoHandler = (sandboxId: string, req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createSudoHandler(deps: SudoDeps): SudoHandler {
  const events = createEventRecorder({ store: deps.store, redactor: deps.redactor, clock: deps.clock });
  const sessions = new Map<string, { sandboxId: string; stdin: Writable; unclaimed: NodeJS.Timeout }>();

  const feed = (sandboxId: string, id: string, req: IncomingMessage, res: ServerResponse): void => {
    const s = sessions.get(id);
    if (!s || s.sandboxId !== sandboxId) {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such sudo session' } }) + '\n');
      return;
    }
    sessions.delete(id); // one upload per session
    clearTimeout(s.unclaimed);
    const done = (): void => {
      if (!res.headersSent) res.writeHead(204, { connection: 'close' }).end();
    };
    req.on('end', done);
    s.stdin.once('close', () => {
      done();
      req.destroy();
    });
    req.pipe(s.stdin);
  };

  return async (sandboxId, req, res) => {
    const stdinPath = /^\/sudo\/([0-9a-f]{32})\/stdin$/.exec(new URL(req.url ?? '/', 'http://km.internal').pathname);
    if (stdinPath) return feed(sandboxId, stdinPath[1] as string, req, res);
    const body = await readJson(req);
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
    let session: string | null = null;
    h.stdin?.on('error', () => undefined);
    if (r.stdin && h.stdin) {
      session = randomBytes(16).toString('hex');
      const id = session;
      const stdin = h.stdin;
      // The client connects its upload at once; one that never comes must not leave the command waiting.
      const unclaimed = setTimeout(() => {
        if (sessions.delete(id)) stdin.end();
      }, UPLOAD_WAIT_MS);
      unclaimed.unref();
      sessions.set(session, { sandboxId, stdin, unclaimed });
      res.write(`{"session":"${session}"}\n`);
    } else h.stdin?.end();
    const line = (key: 'o' | 'e') => (b: Buffer) => res.write(`{"${key}":"${b.toString('base64')}"}\n`);
    h.stdout?.on('data', line('o'));
    h.stderr?.on('data', line('e'));
    res.on('close', () => {
      if (!res.writableFinished) h.kill('SIGTERM');
    });
    const code = await h.exit;
    if (session !== null) {
      clearTimeout(sessions.get(session)?.unclaimed);
      sessions.delete(session);
    }
    h.stdin?.destroy();
    res.end(`{"exit":${code}}\n`);
    await events.record(sandboxId, 'command', 'sudo', { argv: r.argv, root: true, exit_code: code, duration_ms: deps.clock.now() - started }, started);
  };
}
