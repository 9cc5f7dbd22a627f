/**
 * Transports for the DNS filter: UDP datagrams, TCP-style 2-byte length framing (on TCP
 * or a unix stream socket), and "one raw message per unix stream connection" as produced
 * by `socat UDP4-RECVFROM:53,fork UNIX-CONNECT:path`.
 */
import dgram from 'node:dgram';
import { lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { completeLength } from './wire.ts';

/** Answers one message; null = send nothing. Never rejects. */
export type Answerer = (msg: Buffer, udp: boolean) => Promise<Buffer | null>;

export interface Limits {
  maxInflight: number;
  maxConnections: number;
  idleMs: number;
}

export interface Closer {
  close(): Promise<void>;
}

export async function listenUdp(host: string, port: number, answer: Answerer, limits: Limits): Promise<Closer & { address: { host: string; port: number } }> {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  let inflight = 0;
  let closed = false;
  sock.on('error', () => undefined);
  sock.on('message', (msg, rinfo) => {
    if (inflight >= limits.maxInflight) return;
    inflight++;
    void answer(msg, true).then((reply) => {
      inflight--;
      if (reply === null || closed) return;
      try {
        sock.send(reply, rinfo.port, rinfo.address, () => undefined);
      } catch {
        /* socket closed meanwhile */
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const a = sock.address();
  const close = (): Promise<void> => {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise((r) => sock.close(() => r()));
  };
  return { address: { host: a.address, port: a.port }, close };
}

/** Queries one framed connection may have outstanding (pipelining is allowed, floods are not). */
const PENDING_PER_CONNECTION = 64;

function framed(answer: Answerer, limits: Limits): (c: net.Socket) => void {
  return (c) => {
    let buf = Buffer.alloc(0);
    let pending = 0;
    let ended = false;
    c.setTimeout(limits.idleMs, () => c.destroy());
    c.on('error', () => undefined);
    c.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < len + 2) break;
        const msg = buf.subarray(2, len + 2);
        buf = buf.subarray(len + 2);
        if (++pending > PENDING_PER_CONNECTION) return void c.destroy();
        void answer(Buffer.from(msg), false).then((reply) => {
          pending--;
          if (c.destroyed) return;
          if (reply !== null) {
            const head = Buffer.alloc(2);
            head.writeUInt16BE(reply.length, 0);
            c.write(Buffer.concat([head, reply]));
          }
          if (ended && pending === 0) c.end();
        });
      }
    });
    // The client may half-close after its last query; answer what is pending, then close.
    c.on('end', () => {
      ended = true;
      if (pending === 0) c.end();
    });
  };
}

function perConnection(answer: Answerer, limits: Limits): (c: net.Socket) => void {
  return (c) => {
    let buf = Buffer.alloc(0);
    let started = false;
    c.on('error', () => undefined);
    c.setTimeout(limits.idleMs, () => c.destroy());
    const run = (): void => {
      if (started) return;
      started = true;
      clearTimeout(grace);
      void answer(buf, true).then((reply) => {
        if (c.destroyed) return;
        if (reply === null) c.end();
        else c.end(reply);
      });
    };
    let grace: NodeJS.Timeout | undefined;
    c.on('data', (chunk) => {
      if (started) return;
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > 65535) return void c.destroy();
      const len = completeLength(buf);
      if (len !== null) return run();
      clearTimeout(grace);
      grace = setTimeout(run, 100);
    });
    c.on('end', () => (buf.length > 0 ? run() : c.end()));
    c.on('close', () => clearTimeout(grace));
  };
}

function prepareSocketPath(path: string): void {
  try {
    const st = lstatSync(path);
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export type StreamMode = 'framed' | 'per-connection';

export async function listenStream(
  where: { host: string; port: number } | { path: string },
  mode: StreamMode,
  answer: Answerer,
  limits: Limits,
): Promise<Closer & { address: { host: string; port: number } | { path: string } }> {
  // Half-open: a client's EOF (socat shuts down its write side after the datagram) must not
  // close our side before the answer is written.
  const server = net.createServer({ allowHalfOpen: true }, mode === 'framed' ? framed(answer, limits) : perConnection(answer, limits));
  server.maxConnections = limits.maxConnections;
  server.on('error', () => undefined);
  if ('path' in where) prepareSocketPath(where.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in where) server.listen(where.path, done);
    else server.listen(where.port, where.host, done);
  });
  const a = server.address();
  const address = typeof a === 'string' || a === null ? { path: 'path' in where ? where.path : String(a) } : { host: a.address, port: a.port };
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          if ('path' in where) {
            try {
              unlinkSync(where.path);
            } catch {
              /* already gone */
            }
          }
          resolve();
        });
      }),
  };
}
