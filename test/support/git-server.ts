/**
 * A real git smart-HTTP server for tests: Node's HTTP(S) server on 127.0.0.1:0 running
 * `git http-backend` as a CGI, with pushes enabled. Repositories live at
 * `{root}/{owner}/{repo}.git` and are served at `/{owner}/{repo}.git`.
 *
 * `onRequest` lets a test put middleware in front (e.g. the GitHub guard): it receives the
 * request and either returns a body stream to hand to http-backend, or writes the response
 * itself and returns null.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitServerOptions {
  root: string;
  tls?: { certPem: string; keyPem: string };
  onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<Readable | null>;
}

export interface GitServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Environment for git commands in tests: no user or system config, no prompts. */
export function gitEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Km Test',
    GIT_AUTHOR_EMAIL: 'test@km.invalid',
    GIT_COMMITTER_NAME: 'Km Test',
    GIT_COMMITTER_EMAIL: 'test@km.invalid',
    GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
    GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
    LANG: 'C',
    LC_ALL: 'C',
    ...extra,
  };
}

function cgiEnv(root: string, req: http.IncomingMessage): NodeJS.ProcessEnv {
  const url = new URL(req.url ?? '/', 'http://git.invalid');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GIT_CONFIG_KEY_1: 'receive.advertisePushOptions',
    GIT_CONFIG_VALUE_1: 'true',
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: url.search.slice(1),
    PATH_INFO: decodeURIComponent(url.pathname),
    REMOTE_USER: 'km-test',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
  };
  const h = req.headers;
  if (typeof h['content-type'] === 'string') env.CONTENT_TYPE = h['content-type'];
  if (typeof h['content-length'] === 'string') env.CONTENT_LENGTH = h['content-length'];
  if (typeof h['content-encoding'] === 'string') env.HTTP_CONTENT_ENCODING = h['content-encoding'];
  if (typeof h['git-protocol'] === 'string') env.GIT_PROTOCOL = h['git-protocol'];
  return env;
}

/** Splits a CGI response head into status and headers. */
function parseCgiHead(head: string): { status: number; headers: Array<[string, string]> } {
  let status = 200;
  const headers: Array<[string, string]> = [];
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers };
}

function runBackend(root: string, req: http.IncomingMessage, res: http.ServerResponse, body: Readable): void {
  const child = spawn('git', ['http-backend'], { env: cgiEnv(root, req), stdio: ['pipe', 'pipe', 'pipe'] });
  body.on('error', () => child.kill());
  child.stdin.on('error', () => undefined); // backend may exit before reading everything
  body.pipe(child.stdin);
  child.stderr.resume();
  let head = Buffer.alloc(0);
  let headDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const m = /\r?\n\r?\n/.exec(head.toString('latin1'));
    if (m === null) return;
    headDone = true;
    const { status, headers } = parseCgiHead(head.toString('latin1', 0, m.index));
    res.writeHead(status, headers.flat());
    const rest = head.subarray(m.index + m[0].length);
    if (rest.length > 0) res.write(rest);
  });
  child.stdout.on('end', () => {
    if (!headDone) res.writeHead(502, { 'content-type': 'text/plain' }).end('http-backend produced no response\n');
    else res.end();
  });
  child.on('error', (e) => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`http-backend failed: ${e.message}\n`);
  });
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const hook = options.onRequest ?? (async (r: http.IncomingMessage) => r);
    hook(req, res).then(
      (body) => {
        if (body !== null) runBackend(options.root, req, res, body);
      },
      (e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`test server hook failed: ${String(e)}\n`);
      },
    );
  };
  const server = options.tls === undefined ? http.createServer(handler) : https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export async function git(args: string[], opts: { cwd?: string; home: string; env?: Record<string, string> }): Promise<{ stdout: string; stderr: string }> {
  return run('git', args, { cwd: opts.cwd, env: gitEnv(opts.home, opts.env), maxBuffer: 64 * 1024 * 1024 });
}

export interface CommitSpec {
  message: string;
  files?: Record<string, string>;
  /** Branch to commit on (created from the current HEAD when missing). Default `main`. */
  branch?: string;
}

/**
 * Creates `{root}/{name}.git` (name = `owner/repo`) with the given commits pushed to it,
 * each on its branch. Returns the bare repository's path.
 */
export async function createBareRepo(root: string, name: string, commits: CommitSpec[] = [{ message: 'initial', files: { 'README.md': '# test\n' } }]): Promise<string> {
  const bare = join(root, `${name}.git`);
  await mkdir(dirname(bare), { recursive: true });
  const home = await mkdtemp(join(tmpdir(), 'km-git-home-'));
  const work = await mkdtemp(join(tmpdir(), 'km-git-work-'));
  try {
    await git(['init', '--bare', '-q', '-b', 'main', bare], { home });
    await git(['init', '-q', '-b', 'main', work], { home });
    for (const [i, c] of commits.entries()) {
      const branch = c.branch ?? 'main';
      if (i > 0) await git(['checkout', '-q', '-B', branch], { cwd: work, home });
      for (const [f, content] of Object.entries(c.files ?? { [`file-${i}.txt`]: `${c.message}\n` })) {
        await mkdir(dirname(join(work, f)), { recursive: true });
        await writeFile(join(work, f), content);
      }
      await git(['add', '-A'], { cwd: work, home });
      await git(['commit', '-q', '--allow-empty', '-m', c.message], { cwd: work, home });
      await git(['push', '-q', bare, `HEAD:refs/heads/${branch}`], { cwd: work, home });
    }
    return bare;
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** The object id a ref points to in a bare repository, or null when it does not exist. */
export async function revParse(bare: string, ref: string, home: string): Promise<string | null> {
  try {
    return (await git(['--git-dir', bare, 'rev-parse', '--verify', '-q', ref], { home })).stdout.trim();
  } catch {
    return null;
  }
}

/**
 * Middleware for `onRequest` that puts a GitHub guard in front of the server, presenting
 * every request to it as addressed to `host` (github.com by default). Events go to `onEvent`.
 */
export function guardHook(
  guard: import('../../src/gateway/github/index.ts').GithubGuard,
  options: { host?: string; onEvent?: (event: Record<string, unknown>) => void } = {},
): NonNullable<GitServerOptions['onRequest']> {
  return async (req, res) => {
    const verdict = await guard.check({ method: req.method ?? 'GET', host: options.host ?? 'github.com', path: req.url ?? '/', headers: req.headers, body: req });
    options.onEvent?.(verdict.event);
    if (verdict.action === 'forward') return verdict.body;
    res.writeHead(verdict.status, verdict.headers);
    res.end(verdict.body);
    return null;
  };
}
