/**
 * Asking an upstream resolver: UDP from a fresh connected socket (so only the upstream's
 * own replies with our random ID are accepted), and over TCP when the answer comes back
 * truncated. Both bounded by a timeout; failures reject.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

const MAX_MESSAGE = 65535;

export function udpExchange(msg: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(up.host) ? 'udp6' : 'udp4');
    const id = msg.readUInt16BE(0);
    let done = false;
    const finish = (err: Error | null, ans?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(ans as Buffer);
    };
    const timer = setTimeout(() => finish(new Error(`upstream ${up.host}:${up.port} timed out`)), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('message', (m) => {
      if (m.length >= 12 && m.readUInt16BE(0) === id) finish(null, m);
    });
    sock.connect(up.port, up.host, () => {
      sock.send(msg, (e) => {
        if (e) finish(e);
      });
    });
  });
}

export function tcpExchange(msg: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, ans?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(ans as Buffer);
    };
    const timer = setTimeout(() => finish(new Error(`upstream ${up.host}:${up.port} (tcp) timed out`)), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error(`upstream ${up.host}:${up.port} closed the connection`)));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length, 0);
      sock.end(Buffer.concat([len, msg]));
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_MESSAGE + 2) return finish(new Error('upstream answer too large'));
      if (buf.length < 2) return;
      const need = buf.readUInt16BE(0);
      if (buf.length >= need + 2) finish(null, buf.subarray(2, need + 2));
    });
  });
}

/** UDP first; a truncated answer (TC=1) is asked again over TCP. */
export async function exchange(msg: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
  const ans = await udpExchange(msg, up, timeoutMs);
  if (ans.length >= 4 && ((ans[2] as number) & 0x02) !== 0) return tcpExchange(msg, up, timeoutMs);
  return ans;
}
