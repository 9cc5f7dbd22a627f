/**
 * The typed client the CLI uses to talk to kmd over its unix socket. Daemon error bodies
 * come back as the same KmError; connection problems are `daemon_unavailable`.
 */
import { request as httpRequest } from 'node:http';
import { KmError } from '../core/errors.ts';
import type { HealthBody } from './core-routes.ts';
import { socketPathProblem } from './files.ts';
import { errorFromPayload } from './http-errors.ts';
import type { Method } from './router.ts';

export interface DaemonClientOptions {
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Shown in hints so the user can read why kmd is unhappy. */
  logPath?: string;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface DaemonClient {
  readonly socketPath: string;
  request<T>(method: Method, path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  health(options?: RequestOptions): Promise<HealthBody>;
}

const CONNECT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EACCES', 'ENOTSOCK', 'ENOTDIR']);

function connectError(e: NodeJS.ErrnoException, socketPath: string, logPath: string | undefined): KmError {
  const logHint = logPath ? `; see ${logPath}` : '';
  const message =
    e.code === 'ENOENT'
      ? `kmd is not running (no socket at ${socketPath})`
      : e.code === 'ECONNREFUSED'
        ? `kmd is not accepting connections on ${socketPath} (stale socket?)`
        : e.code === 'EACCES'
          ? `permission denied connecting to ${socketPath}`
          : `lost the connection to kmd on ${socketPath} (${e.code ?? e.message})`;
  return new KmError('daemon_unavailable', message, {
    hint: `start it with \`km daemon start\` or run \`km doctor --fix\`${logHint}`,
    cause: e,
  });
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function responseError(status: number, payload: unknown, method: string, path: string): KmError {
  const fromBody = errorFromPayload(payload);
  if (fromBody) return fromBody;
  return new KmError('internal', `kmd answered ${method} ${path} with HTTP ${status} and no error body`, {
    hint: 'this is a bug; rerun with --debug and report the output',
  });
}

export function createDaemonClient(socketPath: string, options: DaemonClientOptions = {}): DaemonClient {
  const defaultTimeout = options.timeoutMs ?? 30_000;

  function request<T>(method: Method, path: string, body?: unknown, reqOpts: RequestOptions = {}): Promise<T> {
    const tooLong = socketPathProblem(socketPath);
    if (tooLong) return Promise.reject(tooLong);
    const timeoutMs = reqOpts.timeoutMs ?? defaultTimeout;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise<T>((resolve, reject) => {
      const req = httpRequest({ socketPath, method, path, headers, agent: false, signal: reqOpts.signal });
      const timer = setTimeout(() => {
        req.destroy(
          new KmError('timeout', `kmd did not answer ${method} ${path} within ${timeoutMs} ms`, {
            hint: `check kmd with \`km daemon status\`${options.logPath ? ` and ${options.logPath}` : ''}`,
          }),
        );
      }, timeoutMs);
      req.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e instanceof KmError || e.name === 'AbortError') return reject(e);
        reject(CONNECT_CODES.has(e.code ?? '') || e.message === 'socket hang up' ? connectError(e, socketPath, options.logPath) : e);
      });
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', (e) => {
          clearTimeout(timer);
          reject(connectError(e as NodeJS.ErrnoException, socketPath, options.logPath));
        });
        res.once('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          const parsed = parseBody(Buffer.concat(chunks).toString('utf8'));
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(responseError(status, parsed, method, path));
        });
      });
      req.end(payload);
    });
  }

  return {
    socketPath,
    request,
    health: (opts) => request<HealthBody>('GET', '/v1/health', undefined, opts),
  };
}
