/**
 * Shared pieces of the gateway's integration tests: a small hand-written policy, fake
 * upstreams on 127.0.0.1:0 (HTTP, HTTPS with a test CA, WebSocket echo, h2), curl, and a
 * gateway wired to all of them through host overrides.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer as createH2Server, type Http2SecureServer } from 'node:http2';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../core/clock.ts';
import { createSandboxCa, type SandboxCa } from '../tls/ca.ts';
import { createLeafCache } from '../tls/leaf.ts';
import { createHttpGateway } from './server.ts';
import type { GatewayEvent, GatewayHooks, GatewayPolicy, HostDecision, HttpGateway, HttpGatewayOptions, InterceptReason, UpstreamOptions } from './types.ts';

export interface HostRule {
  ports?: number[];
  intercept?: InterceptReason;
  /** Allowed path prefixes (pathRules); absent = any path. */
  paths?: string[];
  httpsOnly?: boolean;
}

/** Exact-host policy for tests: hosts listed are allowed (80/443 unless ports given). */
export function testPolicy(hosts: Record<string, HostRule>): GatewayPolicy {
  return {
    decideHost({ host, port, scheme }): HostDecision {
      const h = host.toLowerCase().replace(/\.$/, '');
      const base = { host: h, port, intercept: false, interceptReason: null };
      const rule = hosts[h];
      if (/^[\d.]+$|:/.test(h) && !rule) return { ...base, allow: false, rule: 'default-deny', error: 'ip_literal_not_allowed' };
      if (!rule) return { ...base, allow: false, rule: 'default-deny', error: 'host_not_allowed' };
      const r = `allowedHosts["${h}"]`;
      if (!(rule.ports ?? [80, 443]).includes(port)) return { ...base, allow: false, rule: r, error: 'port_not_allowed' };
      if (rule.httpsOnly && scheme === 'http') return { ...base, allow: false, rule: 'httpsOnly', error: 'https_required' };
      return { ...base, allow: true, rule: r, intercept: rule.intercept !== undefined, interceptReason: rule.intercept ?? null };
    },
    decidePath(host, _method, path) {
      const paths = hosts[host]?.paths;
      if (!paths) return { allow: true, rule: 'no-path-rules' };
      return paths.some((p) => path.startsWith(p)) ? { allow: true, rule: `pathRules["${host}"]` } : { allow: false, rule: `pathRules["${host}"]` };
    },
    isDestinationAllowed(_name, ip) {
      return ip.startsWith('127.') || ip === '::1' ? { allow: false, reason: 'loopback' } : { allow: true };
    },
  };
}

export const BIG: Buffer = Buffer.from(Buffer.alloc(1_500_000, 0).map((_, i) => (i * 7 + (i >> 9)) & 255));
export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The fake origin: same routes over HTTP, HTTPS and h2. */
export function originHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/stream') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const tick = (): void => {
      res.write(`chunk-${n}\n`);
      if (++n < 3) setTimeout(tick, 300);
      else res.end(`last-sent-at ${Date.now()}\n`);
    };
    return tick();
  }
  if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) });
    return void res.end(BIG);
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const out = JSON.stringify({
      method: req.method,
      path: req.url,
      host: req.headers.host,
      host_headers: req.rawHeaders.filter((_, i, a) => i % 2 === 1 && a[i - 1]!.toLowerCase() === 'host'),
      headers: req.headers,
      body_sha256: sha256(body),
      body_length: body.length,
      remote_port: req.socket.remotePort,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'fake' });
    res.end(out);
  });
}

/** Hand-rolled WebSocket echo: accepts the upgrade and echoes raw bytes after it. */
export function attachWsEcho(server: Server): void {
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    if (req.url === '/no-ws') {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnope!\r\n0\r\n\r\n');
      return;
    }
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
}

export interface Origins {
  http: Server;
  https: Server;
  h2: Http2SecureServer;
  httpPort: number;
  httpsPort: number;
  h2Port: number;
  testCa: SandboxCa;
  close(): Promise<void>;
}

const listen = (s: Server | Http2SecureServer): Promise<number> =>
  new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

/** Origin servers; TLS ones present a leaf for `names` signed by a separate test CA. */
export async function startOrigins(names: string[]): Promise<Origins> {
  const testCa = await createSandboxCa('upstream-test', systemClock);
  const leafs = createLeafCache(testCa, { clock: systemClock });
  const ctxs = new Map(await Promise.all(names.map(async (n) => [n, await leafs.getSecureContext(n)] as const)));
  const SNICallback = (name: string, cb: (e: Error | null, c?: import('node:tls').SecureContext) => void): void => cb(null, ctxs.get(name) ?? ctxs.get(names[0]!));
  const http = createHttpServer(originHandler);
  attachWsEcho(http);
  const https = createHttpsServer({ SNICallback }, originHandler);
  attachWsEcho(https);
  const h2 = createH2Server({ SNICallback, allowHTTP1: false }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`h2 ok ${req.httpVersion}`);
  });
  const [httpPort, httpsPort, h2Port] = [await listen(http), await listen(https), await listen(h2)];
  return {
    http, https, h2, httpPort, httpsPort, h2Port, testCa,
    close: async () => {
      for (const s of [http, https]) s.closeAllConnections();
      await Promise.all([http, https, h2].map((s) => new Promise((r) => s.close(() => r(null)))));
    },
  };
}

export interface TestGateway {
  gw: HttpGateway;
  ca: SandboxCa;
  caFile: string;
  dir: string;
  events: GatewayEvent[];
  proxyUrl: string;
  port: number;
  close(): Promise<void>;
}

export async function startGateway(
  policy: GatewayPolicy,
  overrides: Record<string, string>,
  extraCaPem: string | undefined,
  options: HttpGatewayOptions = {},
  extra: { hooks?: GatewayHooks; resolve?: (n: string) => Promise<string[]>; originalDestination?: () => { ip: string; port: number }; upstream?: Partial<UpstreamOptions> } = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'km-gw-'));
  const ca = await createSandboxCa('sb-test0001', systemClock);
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  const events: GatewayEvent[] = [];
  const gw = await createHttpGateway(
    {
      sandboxId: 'sb-test0001',
      policy,
      leafs: createLeafCache(ca, { clock: systemClock }),
      upstream: { hostOverrides: overrides, ...(extraCaPem ? { extraCaPem } : {}), ...(extra.resolve ? { resolve: extra.resolve } : {}), ...extra.upstream },
      onEvent: (e) => events.push(e),
      clock: systemClock,
      ...(extra.hooks ? { hooks: extra.hooks } : {}),
      ...(extra.originalDestination ? { originalDestination: extra.originalDestination } : {}),
    },
    options,
  ).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const port = 'port' in gw.address ? gw.address.port : 0;
  return {
    gw, ca, caFile, dir, events, port, proxyUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await gw.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function curl(args: string[], timeoutMs = 15_000): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', String(timeoutMs / 1000), ...args], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout: stdout.toString('latin1'), stderr: stderr.toString() });
    });
  });
}

/** Waits until `pred` holds for the recorded events (they are emitted when exchanges end). */
export async function waitForEvent(events: GatewayEvent[], pred: (e: GatewayEvent) => boolean, ms = 3000): Promise<GatewayEvent> {
  const end = Date.now() + ms;
  for (;;) {
    const e = events.find(pred);
    if (e) return e;
    if (Date.now() > end) throw new Error(`no matching event among ${JSON.stringify(events.map((x) => [x.event_type, x.detail.host, x.detail.status]))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
