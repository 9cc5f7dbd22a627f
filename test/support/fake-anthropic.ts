/**
 * A fake Anthropic API on 127.0.0.1:0 (HTTPS and plain HTTP) speaking the Messages API the
 * way the real one does: `POST /v1/messages` (any query string) answered as JSON or, when the
 * request asks for `stream: true`, as SSE (`message_start`, `content_block_*`,
 * `message_delta`, `message_stop`). Usage figures and text are scripted per response; every
 * request is logged (method, path, headers, parsed body) so tests can assert on what the
 * client really sent. Other paths Claude Code touches at startup get sensible answers.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface FakeReply {
  text: string;
  usage: FakeUsage;
  model?: string;
  /** Delay before answering (ms): lets tests catch a run while it is running. */
  delayMs?: number;
  /** Answer with this HTTP status and error body instead of a message. */
  status?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Whether this was a Messages API call (anything else is logged too). */
  messages: boolean;
  stream: boolean;
  /** What the fake answered (Messages calls only). */
  reply?: FakeReply;
  scheme: 'http' | 'https';
}

export interface FakeAnthropic {
  httpUrl: string;
  httpsUrl: string;
  httpsPort: number;
  /** PEM of the self-signed certificate (CN/SAN api.anthropic.com, 127.0.0.1): the CA to trust. */
  caPem: string;
  requests: LoggedRequest[];
  /** Messages calls only. */
  messageCalls(): LoggedRequest[];
  /** Replies are consumed in order; the last one repeats. */
  script(replies: FakeReply[]): void;
  close(): Promise<void>;
}

export const DEFAULT_REPLY: FakeReply = {
  text: 'All 42 tests pass.',
  usage: { input_tokens: 1200, output_tokens: 34, cache_creation_input_tokens: 300, cache_read_input_tokens: 500 },
};

const MODEL = 'claude-sonnet-4-5-20250929';

async function selfSigned(): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=api.anthropic.com',
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'api.anthropic.com' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return { certPem: cert.toString('pem') + '\n', keyPem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n` };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function messageDoc(reply: FakeReply, model: string): Record<string, unknown> {
  return {
    id: `msg_fake${Math.random().toString(16).slice(2, 12)}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: reply.text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...reply.usage },
  };
}

function sendSse(res: ServerResponse, reply: FakeReply, model: string): void {
  const doc = messageDoc(reply, model);
  const usage = doc.usage as Record<string, number>;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
  const ev = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev('message_start', { message: { ...doc, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  ev('ping', {});
  const half = Math.ceil(reply.text.length / 2);
  for (const part of [reply.text.slice(0, half), reply.text.slice(half)]) {
    if (part !== '') ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: part } });
  }
  ev('content_block_stop', { index: 0 });
  ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  ev('message_stop', {});
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startFakeAnthropic(options: { replies?: FakeReply[] } = {}): Promise<FakeAnthropic> {
  const requests: LoggedRequest[] = [];
  let replies = options.replies ?? [DEFAULT_REPLY];
  let next = 0;
  const take = (): FakeReply => {
    const r = replies[Math.min(next, replies.length - 1)] ?? DEFAULT_REPLY;
    next++;
    return r;
  };
  const handler = (scheme: 'http' | 'https') => async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req);
    let body: unknown = text;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      /* keep the raw text */
    }
    const path = req.url ?? '/';
    const pathname = path.split('?')[0] ?? '';
    const isMessages = req.method === 'POST' && pathname === '/v1/messages';
    const b = (body ?? {}) as Record<string, unknown>;
    const entry: LoggedRequest = { method: req.method ?? '', path, headers: { ...req.headers }, body, messages: isMessages, stream: b.stream === true, scheme };
    requests.push(entry);
    if (isMessages) {
      const reply = take();
      entry.reply = reply;
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (reply.status && reply.status !== 200) return json(res, reply.status, { type: 'error', error: { type: 'api_error', message: reply.text } });
      const model = reply.model ?? (typeof b.model === 'string' ? b.model : MODEL);
      return b.stream === true ? sendSse(res, reply, model) : json(res, 200, messageDoc(reply, model));
    }
    if (req.method === 'POST' && pathname === '/v1/messages/count_tokens') return json(res, 200, { input_tokens: 100 });
    if (req.method === 'GET' && pathname === '/v1/models') return json(res, 200, { data: [{ type: 'model', id: MODEL, display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' }], has_more: false, first_id: MODEL, last_id: MODEL });
    if (req.method === 'HEAD' || (req.method === 'GET' && pathname === '/')) return json(res, 200, {});
    return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: `fake: no ${req.method} ${pathname}` } });
  };
  const tls = await selfSigned();
  const plain: Server = createHttpServer((q, s) => void handler('http')(q, s));
  const secure = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (q, s) => void handler('https')(q, s));
  const listen = (srv: Server) => new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port)));
  const httpPort = await listen(plain);
  const httpsPort = await listen(secure);
  const close = (srv: Server) => new Promise<void>((r) => {
    srv.closeAllConnections();
    srv.close(() => r());
  });
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    httpsPort,
    caPem: tls.certPem,
    requests,
    messageCalls: () => requests.filter((r) => r.messages),
    script(r) {
      replies = r;
      next = 0;
    },
    async close() {
      await Promise.all([close(plain), close(secure)]);
    },
  };
}
