/** HTTP plumbing for kmd: JSON bodies in, route dispatch, JSON (or error) bodies out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { toHttpError } from './http-errors.ts';
import { isReply, type Method, type Router } from './router.ts';
import type { DaemonLog } from './service.ts';

export const MAX_BODY_BYTES = 1 << 20;

export function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new KmError('usage', `request body exceeds ${limit} bytes`, { details: { http_status: 413 } }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new KmError('usage', `request body is not valid JSON: ${(e as Error).message}`));
      }
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (body === undefined) {
    res.writeHead(status === 200 ? 204 : status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface DispatchDeps {
  router: Router;
  clock: Clock;
  log: DaemonLog;
  /** Aborted when the daemon shuts down. */
  shutdown: AbortSignal;
}

/** Handles one request end to end; never throws. */
export async function dispatch(deps: DispatchDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = deps.clock.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://kmd');
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(new KmError('failed', 'client disconnected'));
  };
  res.on('close', onClose);
  const signal = AbortSignal.any([abort.signal, deps.shutdown]);
  let pattern = url.pathname;
  let status = 500;
  try {
    const match = deps.router.match(method, url.pathname);
    pattern = match.pattern;
    const body = await readJsonBody(req);
    const result = await match.handler({
      method: method as Method,
      path: url.pathname,
      params: match.params,
      query: url.searchParams,
      body,
      signal,
      raw: { req, res },
    });
    if (res.headersSent || res.writableEnded) {
      status = res.statusCode;
      return;
    }
    status = isReply(result) ? result.status : 200;
    sendJson(res, status, isReply(result) ? result.body : result);
  } catch (e) {
    const err = toHttpError(e);
    status = err.status;
    if (err.payload.error.code === 'internal') {
      deps.log('error', 'request failed', { method, route: pattern, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
    sendJson(res, err.status, err.payload);
  } finally {
    deps.log('debug', 'request', { method, route: pattern, status, ms: deps.clock.now() - started });
  }
}
