/**
 * km.internal (SPEC §3.1, §12.5, §13.4): the HTTP API kmd serves to one sandbox on that
 * sandbox's `kmd-internal.sock`. Who is calling is decided by which socket the request came
 * in on, never by the payload. Routes: OTLP (`POST /v1/logs|metrics|traces`), mail
 * (`POST /mail/send`, `GET /mail/messages`, `POST /mail/read`, `POST /mail/messages/:id/read`),
 * `POST /sudo` (sudo.ts).
 * Answers JSON, or plain text for `Accept: text/plain` (what `km-mail` shows).
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { toErrorBody } from '../core/errors.ts';
import { httpStatusFor } from '../daemon/http-errors.ts';
import type { MailService } from '../mail/index.ts';
import { signalOfPath, type OtlpReceiver } from '../telemetry/index.ts';
import { readMail, sendMail, type Answer } from './mail-routes.ts';

export interface InternalApiDeps {
  sandboxId: string;
  /** How messages name this sandbox (`demo`); default the id. */
  label?: string;
  mail: MailService;
  telemetry: OtlpReceiver;
  timeZone?: string;
  /** `POST /sudo` (privileged sandboxes; the handler checks the profile). */
  sudo?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export type InternalApiHandler = (req: IncomingMessage, res: ServerResponse) => void;

function answer(req: IncomingMessage, res: ServerResponse, a: Answer): void {
  const text = (req.headers.accept ?? '').includes('text/plain');
  const body = text ? a.text : JSON.stringify(a.json) + '\n';
  res.writeHead(a.status ?? 200, { 'content-type': text ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store' }).end(body);
}

function fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
  const body = toErrorBody(e);
  const text = (req.headers.accept ?? '').includes('text/plain');
  const out = text ? `km-mail: error: ${body.message}\n${body.hint ? `  hint: ${body.hint}\n` : ''}` : JSON.stringify({ error: body }) + '\n';
  if (res.headersSent) return void res.destroy();
  res.writeHead(httpStatusFor(body), { 'content-type': text ? 'text/plain; charset=utf-8' : 'application/json', connection: 'close' }).end(out);
}

export function createInternalApi(deps: InternalApiDeps): InternalApiHandler {
  const label = deps.label ?? deps.sandboxId;
  const tz = deps.timeZone ?? 'UTC';
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://km.internal');
    const signal = signalOfPath(url.pathname);
    if (signal) return deps.telemetry.handle(deps.sandboxId, signal, req, res);
    const m = `${req.method ?? 'GET'} ${url.pathname}`;
    if ((m === 'POST /sudo' || /^(POST|PUT) \/sudo\/[0-9a-f]{32}\/stdin$/.test(m)) && deps.sudo) return deps.sudo(req, res);
    if (m === 'GET /healthz') return answer(req, res, { json: { ok: true, sandbox_id: deps.sandboxId }, text: 'ok\n' });
    if (m === 'POST /mail/send') return answer(req, res, await sendMail(deps.mail, deps.sandboxId, label, req));
    if (m === 'GET /mail/messages') return answer(req, res, await readMail(deps.mail, deps.sandboxId, label, url.searchParams, false, tz));
    if (m === 'POST /mail/read') return answer(req, res, await readMail(deps.mail, deps.sandboxId, label, url.searchParams, true, tz));
    const mark = /^POST \/mail\/messages\/([^/]+)\/read$/.exec(m);
    if (mark) {
      const id = decodeURIComponent(mark[1]!);
      const views = await deps.mail.read(deps.sandboxId, { messageId: id, markRead: true, label });
      return answer(req, res, { json: { message_id: views[0]?.json.message_id ?? id, read: true }, text: `Marked ${views[0]?.json.message_id ?? id} read\n` });
    }
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: `no route ${m} on km.internal` } }) + '\n');
  };
  return (req, res) => {
    route(req, res).catch((e) => fail(req, res, e));
  };
}

export interface InternalListener {
  /** The socket path or `127.0.0.1:port` it listens on. */
  address: string;
  close(): Promise<void>;
}

/** Serves a handler on a unix socket (mode 0666 inside the sandbox's gateway dir) or, with `port`, on 127.0.0.1. */
export async function listenInternalApi(handler: InternalApiHandler, where: { socketPath: string } | { port: number }): Promise<InternalListener> {
  const server = createServer(handler);
  server.keepAliveTimeout = 5_000;
  if ('socketPath' in where) {
    rmSync(where.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(where.socketPath, resolve));
    chmodSync(where.socketPath, 0o666);
  } else await new Promise<void>((resolve, reject) => server.once('error', reject).listen(where.port, '127.0.0.1', resolve));
  const a = server.address();
  const address = typeof a === 'string' ? a : `127.0.0.1:${a?.port ?? 0}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
