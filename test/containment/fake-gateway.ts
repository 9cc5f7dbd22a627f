/**
 * A tiny stand-in for the egress gateway, listening on the unix sockets a local sandbox
 * expects in its gateway dir: proxy.sock (HTTP forward proxy: 403 for `denied.test`, every
 * other request forwarded to a loopback upstream), dns.sock (one DNS message per
 * connection), dns-tcp.sock (2-byte length framing) and transparent.sock (records what
 * arrives). `allowed.test` resolves to 10.200.0.10; everything else is NXDOMAIN.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';

export interface FakeGateway {
  dir: string;
  upstreamPort: number;
  /** Request lines the proxy saw (`GET http://host/path`). */
  seen: string[];
  /** First bytes of each transparent connection. */
  transparent: string[];
  close(): Promise<void>;
}

export const ALLOWED_HOST = 'allowed.test';
export const ALLOWED_IP = '10.200.0.10';
export const UPSTREAM_BODY = 'hello from the loopback upstream';

function answerDns(msg: Buffer): Buffer {
  const q = dnsPacket.decode(msg);
  const question = q.questions?.[0];
  const name = question?.name.toLowerCase() ?? '';
  const allowed = name === ALLOWED_HOST && question?.type === 'A';
  return dnsPacket.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (name === ALLOWED_HOST ? 0 : 3),
    questions: q.questions ?? [],
    answers: allowed ? [{ type: 'A', name, ttl: 30, data: ALLOWED_IP }] : [],
  });
}

async function listen(server: net.Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o666);
}

export async function startFakeGateway(dir: string): Promise<FakeGateway> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const seen: string[] = [];
  const transparent: string[] = [];
  const upstream = http.createServer((req, res) => res.end(`${UPSTREAM_BODY} ${req.url}\n`));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upstreamPort = (upstream.address() as net.AddressInfo).port;

  const proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://invalid');
    if (url.hostname !== ALLOWED_HOST) {
      res.writeHead(403, { 'content-type': 'application/json', 'x-km-deny-reason': 'host_not_allowed' });
      res.end(`{"error":"host_not_allowed","host":"${url.hostname}"}\n`);
      return;
    }
    const out = http.request({ host: '127.0.0.1', port: upstreamPort, path: url.pathname, method: req.method }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  const dnsRaw = net.createServer((c) => {
    c.on('error', () => undefined);
    c.once('data', (msg) => c.end(answerDns(msg)));
  });
  const dnsTcp = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('error', () => undefined);
    c.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const reply = answerDns(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const head = Buffer.alloc(2);
        head.writeUInt16BE(reply.length);
        c.write(Buffer.concat([head, reply]));
      }
    });
  });
  const trans = net.createServer((c) => {
    c.on('error', () => undefined);
    c.once('data', (d) => {
      transparent.push(d.subarray(0, 80).toString('latin1'));
      c.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 12\r\nconnection: close\r\n\r\ntransparent\n');
    });
  });
  const servers = [proxy, dnsRaw, dnsTcp, trans];
  await listen(proxy, join(dir, 'proxy.sock'));
  await listen(dnsRaw, join(dir, 'dns.sock'));
  await listen(dnsTcp, join(dir, 'dns-tcp.sock'));
  await listen(trans, join(dir, 'transparent.sock'));
  return {
    dir,
    upstreamPort,
    seen,
    transparent,
    async close() {
      proxy.closeAllConnections();
      upstream.closeAllConnections();
      await Promise.all([...servers, upstream].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
