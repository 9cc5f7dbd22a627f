/** Raw DNS clients for tests: one UDP datagram, or TCP framing over TCP or a unix socket. */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export function query(name: string, type: string, opts: { id?: number; edns?: number; klass?: string } = {}): Buffer {
  return dnsPacket.encode({
    id: opts.id ?? 4242,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: opts.klass ?? 'IN' }],
    additionals: opts.edns !== undefined ? [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns }] : [],
  } as dnsPacket.Packet);
}

/** Send one datagram; resolves with the reply, or null when none arrives within waitMs. */
export function udpAsk(port: number, msg: Buffer, waitMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, waitMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** One framed exchange over TCP (port) or a unix stream socket (path). */
export function streamAsk(where: number | string, msg: Buffer, waitMs = 3000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const c = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
    let buf = Buffer.alloc(0);
    const done = (v: Buffer | null): void => {
      clearTimeout(t);
      c.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(null), waitMs);
    c.on('error', () => done(null));
    c.on('connect', () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(msg.length, 0);
      c.write(Buffer.concat([head, msg]));
    });
    c.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) done(buf.subarray(2, buf.readUInt16BE(0) + 2));
    });
  });
}

export const rcodeOf = (ans: Buffer): number => ans.readUInt16BE(2) & 0xf;
export const tcOf = (ans: Buffer): boolean => (ans.readUInt16BE(2) & 0x0200) !== 0;

/** The Extended DNS Error of an answer's OPT record, if any. */
export function edeOf(ans: Buffer): { code: number; text: string } | null {
  const p = dnsPacket.decode(ans);
  const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const options = (opt?.options ?? []) as Array<{ code: number; data?: Buffer }>;
  const o = options.find((x) => x.code === 15);
  if (!o?.data) return null;
  return { code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString('utf8') };
}
