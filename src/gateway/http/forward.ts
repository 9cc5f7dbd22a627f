/**
 * Forwards an admitted request upstream and streams the response back (no buffering,
 * backpressure through pipes), then records one `http.request` event for the exchange.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import { finished, pipeline, Stream, type Readable, type Transform } from 'node:stream';
import { hasRequestBody, readBounded, withContentLength } from './body.ts';
import { MAX_REWRITE_BODY_BYTES, type ExchangeHook, type ResponseTap } from './types.ts';
import { decisionOf, denyAnswer, emit, sendAnswer, type Answer, type Ctx } from './context.ts';
import { classifyUpstreamError, type Target, type UpstreamFailure } from './upstream.ts';
import type { Admission, Exchange } from './admit.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
]);

/** Copies raw headers minus hop-by-hop ones (and those the Connection header names). */
export function endToEndHeaders(raw: string[], keepUpgrade = false): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) named.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const upgradeHeader = keepUpgrade && (k === 'connection' || k === 'upgrade');
    if (k === 'proxy-authorization' || k === 'proxy-connection') continue;
    if (!upgradeHeader && (HOP_BY_HOP.has(k) || named.has(k))) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** The sandbox's requests to kmd (`km.internal`) carry its id, never one the client chose. */
export const SANDBOX_HEADER = 'x-km-sandbox';
const KM_INTERNAL = 'km.internal';

/**
 * Headers sent upstream: end-to-end ones only, exactly one Host (the value that was checked,
 * so a second Host header cannot smuggle another name past the decision), and for kmd the
 * sandbox id.
 */
export function outgoingHeaders(ctx: Ctx, x: Exchange, raw: string[], keepUpgrade = false): string[] {
  const h = endToEndHeaders(raw, keepUpgrade);
  const internal = x.host === KM_INTERNAL;
  const out: string[] = ['Host', x.authority];
  for (let i = 0; i < h.length; i += 2) {
    const k = h[i]!.toLowerCase();
    if (k === 'host' || (internal && k === SANDBOX_HEADER)) continue;
    out.push(h[i]!, h[i + 1]!);
  }
  if (internal) out.push(SANDBOX_HEADER, ctx.deps.sandboxId);
  return out;
}

export function upstreamRequest(ctx: Ctx, x: Exchange, target: Target, headers: string[], pooled: boolean): ClientRequest {
  const base = {
    ...(target.socketPath ? { socketPath: target.socketPath } : { host: target.address, port: target.port }),
    method: x.method,
    path: x.path,
    headers,
    setHost: false,
  };
  if (target.socketPath) return httpRequest({ ...base, agent: false });
  if (x.scheme === 'http') return httpRequest({ ...base, agent: pooled || target.viaParent ? ctx.upstream.agentFor(target, false) : false });
  const host = x.host ?? '';
  const options: HttpsRequestOptions & ConnectionOptions = {
    ...base,
    agent: pooled || target.viaParent ? ctx.upstream.agentFor(target, true) : false,
    ...(isIP(host) ? {} : { servername: host }),
    secureContext: ctx.upstream.tlsContext,
    ALPNProtocols: ['http/1.1'],
  };
  return httpsRequest(options);
}

export function exchangeDetail(x: Exchange, status: number, decision: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    host: x.host,
    port: x.port,
    method: x.method,
    path: x.path.split('?')[0],
    status,
    rule: x.rule,
    decision,
    intercepted: x.intercepted,
    intercept_reason: x.interceptReason,
    ...(x.runId ? { run_id: x.runId } : {}),
    ...x.extraDetail,
    ...extra,
  };
}

/** Answers from the gateway itself (denial, GitHub guard, upstream failure) and records it. */
export function answerRequest(ctx: Ctx, res: ServerResponse, x: Exchange, a: Answer, startMs: number): void {
  const decision = a.error !== null ? decisionOf(a) : (x.guardDecision ?? 'allow');
  if (decision === 'deny') ctx.stats.denied++;
  sendAnswer(res, a);
  emit(ctx, 'http.request', exchangeDetail(x, a.status, decision, {
    ...(a.error ? { error: a.error } : {}),
    bytes_up: 0,
    bytes_down: a.body.length,
    duration_ms: ctx.deps.clock.now() - startMs,
  }));
}

interface Progress {
  status: number;
  failure: string | null;
  bytesUp: number;
  bytesDown: number;
}

function upstreamFailed(ctx: Ctx, res: ServerResponse, x: Exchange, p: Progress, failure: UpstreamFailure): void {
  if (res.headersSent) return void res.destroy();
  ctx.stats.errors++;
  const a = denyAnswer(ctx, { error: failure.error, host: x.host, port: x.port, rule: x.rule, hint: failure.message });
  p.failure = failure.error;
  p.status = a.status;
  sendAnswer(res, a);
}

function relayResponse(ctx: Ctx, res: ServerResponse, up: ClientRequest, upRes: IncomingMessage, x: Exchange, p: Progress, hook: ExchangeHook | undefined): void {
  up.setTimeout(ctx.opts.idleTimeoutMs, () => up.destroy());
  p.status = upRes.statusCode ?? 502;
  let tap: Transform | ResponseTap | undefined;
  try {
    const r = hook?.response;
    tap = typeof r === 'function' ? r({ status: p.status, headers: upRes.headers }) : r;
    res.writeHead(p.status, upRes.statusMessage, endToEndHeaders(upRes.rawHeaders));
  } catch (err) {
    upRes.destroy();
    return upstreamFailed(ctx, res, x, p, { error: 'upstream_unreachable', message: `invalid upstream response: ${(err as Error).message}` });
  }
  upRes.on('data', (c: Buffer) => (p.bytesDown += c.length));
  const done = (err: Error | null | undefined): void => {
    if (!err) return;
    up.destroy();
    res.destroy();
  };
  if (tap instanceof Stream) pipeline(upRes, tap, res, done);
  else if (tap) relayTapped(upRes, res, tap, done);
  else pipeline(upRes, res, done);
}

/**
 * Like `pipeline(upRes, res)` with a synchronous tap on the data path: each chunk goes to the
 * client first, then to the tap; the end of the body waits for `tap.end()`.
 */
function relayTapped(upRes: IncomingMessage, res: ServerResponse, tap: ResponseTap, done: (err: Error) => void): void {
  let over = false;
  let ended = false;
  const abort = (err: Error): void => {
    if (over) return;
    over = true;
    if (!ended) tap.abort();
    done(err);
  };
  upRes.pipe(res, { end: false });
  upRes.on('data', (c: Buffer) => tap.data(c));
  finished(upRes, (err) => {
    if (err) return abort(err);
    if (over) return;
    ended = true;
    const end = (): void => {
      if (over) return;
      over = true;
      res.end();
    };
    tap.end().then(end, end);
  });
  finished(res, (err) => {
    if (err) abort(err);
    else if (!res.writableFinished) abort(new Error('client closed the response'));
  });
}

/** `headers` asking for an uncompressed body: every Accept-Encoding replaced by `identity`. */
export function identityEncoding(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() !== 'accept-encoding') out.push(headers[i]!, headers[i + 1]!);
  out.push('Accept-Encoding', 'identity');
  return out;
}

/** The body to send upstream: rewritten by the hook when it asks and the body is small. */
async function requestBody(req: IncomingMessage, body: Readable, headers: string[], hook: ExchangeHook | undefined): Promise<{ body: Readable | Buffer; headers: string[] }> {
  const rewrite = hook?.rewriteRequestBody;
  if (!rewrite || !hasRequestBody(req.headers) || Number(req.headers['content-length'] ?? 0) > MAX_REWRITE_BODY_BYTES) return { body, headers };
  const r = await readBounded(body, MAX_REWRITE_BODY_BYTES);
  if (!r.complete) return { body: r.stream, headers };
  const out = rewrite(r.body) ?? r.body;
  return { body: out, headers: withContentLength(headers, out.length) };
}

export async function forwardRequest(ctx: Ctx, req: IncomingMessage, res: ServerResponse, adm: Admission & { kind: 'forward' }, startMs: number): Promise<void> {
  const { x, hook } = adm;
  const p: Progress = { status: 0, failure: null, bytesUp: 0, bytesDown: 0 };
  const headers = outgoingHeaders(ctx, x, req.rawHeaders);
  const prepared = await requestBody(req, adm.body, hook?.identityEncoding ? identityEncoding(headers) : headers, hook);
  const up = upstreamRequest(ctx, x, x.target!, prepared.headers, true);
  const timer = setTimeout(() => {
    up.destroy(Object.assign(new Error(`no response from ${x.host} within ${ctx.opts.upstreamTimeoutMs} ms`), { code: 'KM_TIMEOUT' }));
  }, ctx.opts.upstreamTimeoutMs);
  up.on('error', (err) => {
    clearTimeout(timer);
    upstreamFailed(ctx, res, x, p, classifyUpstreamError(err));
  });
  up.on('response', (upRes) => {
    clearTimeout(timer);
    relayResponse(ctx, res, up, upRes, x, p, hook);
  });
  res.once('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) up.destroy();
    emit(ctx, 'http.request', exchangeDetail(x, p.status, p.failure ? 'error' : 'allow', {
      ...(p.failure ? { error: p.failure } : {}),
      bytes_up: p.bytesUp,
      bytes_down: p.bytesDown,
      duration_ms: ctx.deps.clock.now() - startMs,
    }));
  });
  if (Buffer.isBuffer(prepared.body)) {
    p.bytesUp = prepared.body.length;
    up.end(prepared.body);
    return;
  }
  const body = prepared.body;
  body.on('data', (c: Buffer) => (p.bytesUp += c.length));
  body.on('error', () => up.destroy());
  body.pipe(up);
}
