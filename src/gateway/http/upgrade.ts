/**
 * WebSocket (and other HTTP/1.1 Upgrade) pass-through, plain or inside interception: the
 * request is decided like any other, then both connections are spliced after the 101.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { decisionOf, denyAnswer, emit, rawAnswer, track, type Answer, type Ctx } from './context.ts';
import { classifyUpstreamError } from './upstream.ts';
import { endToEndHeaders, exchangeDetail, outgoingHeaders, upstreamRequest } from './forward.ts';
import type { Admission } from './admit.ts';
import { splice } from './relay.ts';

function rawHead(status: number, message: string | undefined, raw: string[]): Buffer {
  const lines = [`HTTP/1.1 ${status} ${message || STATUS_CODES[status] || 'Unknown'}`];
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}

export function answerUpgrade(ctx: Ctx, socket: Duplex, adm: Admission, a: Answer, startMs: number): void {
  const decision = decisionOf(a);
  if (decision === 'deny') ctx.stats.denied++;
  rawAnswer(socket, a);
  emit(ctx, 'http.request', exchangeDetail(adm.x, a.status, decision, {
    ...(a.error ? { error: a.error } : {}),
    upgrade: true,
    bytes_up: 0,
    bytes_down: a.body.length,
    duration_ms: ctx.deps.clock.now() - startMs,
  }));
}

export function forwardUpgrade(ctx: Ctx, req: IncomingMessage, socket: Duplex, head: Buffer, adm: Admission & { kind: 'forward' }, startMs: number): void {
  const { x } = adm;
  let bytesUp = head.length;
  let bytesDown = 0;
  let status = 0;
  const up = upstreamRequest(ctx, x, x.target!, outgoingHeaders(ctx, x, req.rawHeaders, true), false);
  const finish = (): void => {
    emit(ctx, 'http.request', exchangeDetail(x, status, 'allow', {
      upgrade: true,
      bytes_up: bytesUp,
      bytes_down: bytesDown,
      duration_ms: ctx.deps.clock.now() - startMs,
    }));
  };
  const timer = setTimeout(() => {
    up.destroy(Object.assign(new Error(`no response from ${x.host} within ${ctx.opts.upstreamTimeoutMs} ms`), { code: 'KM_TIMEOUT' }));
  }, ctx.opts.upstreamTimeoutMs);
  socket.once('close', () => {
    clearTimeout(timer);
    if (status === 0) up.destroy();
  });
  up.on('error', (err) => {
    clearTimeout(timer);
    if (status !== 0) return;
    const f = classifyUpstreamError(err);
    answerUpgrade(ctx, socket, adm, denyAnswer(ctx, { error: f.error, host: x.host, port: x.port, rule: x.rule, hint: f.message }), startMs);
  });
  up.on('upgrade', (upRes, upSocket, upHead) => {
    clearTimeout(timer);
    status = upRes.statusCode ?? 101;
    track(ctx, upSocket);
    // The 101 head goes to the client first (it is not counted: bytes are the protocol's).
    const answer = rawHead(status, upRes.statusMessage, upRes.rawHeaders);
    splice(ctx, socket, upSocket, upHead.length ? Buffer.concat([answer, upHead]) : answer, head, (u, d) => {
      bytesUp = u;
      bytesDown = Math.max(0, d - answer.length);
      finish();
    });
  });
  up.on('response', (upRes) => {
    clearTimeout(timer);
    status = upRes.statusCode ?? 502;
    // The body is relayed de-chunked and delimited by closing the connection.
    const headers = endToEndHeaders(upRes.rawHeaders).filter((_, i, a) => a[i - (i % 2)]!.toLowerCase() !== 'transfer-encoding');
    socket.write(rawHead(status, upRes.statusMessage, headers.concat(['connection', 'close'])));
    upRes.on('data', (c: Buffer) => (bytesDown += c.length));
    upRes.on('error', () => socket.destroy());
    upRes.pipe(socket);
    socket.once('close', finish);
  });
  up.end();
}
