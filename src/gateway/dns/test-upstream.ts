/**
 * A fake upstream resolver for tests: UDP and TCP on the same 127.0.0.1 port, answering
 * from a table, counting queries, and able to truncate over UDP, stall or stay silent.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface FakeRecord {
  type: string;
  data: unknown;
  ttl?: number;
}

export interface FakeUpstream {
  port: number;
  /** Queries received, by transport. */
  counts: { udp: number; tcp: number };
  /** Names (lowercase) asked, in order. */
  asked: string[];
  records: Map<string, FakeRecord[]>;
  /** Names answered over UDP with TC=1 and no records (the full answer is given over TCP). */
  truncateUdp: Set<string>;
  /** Names never answered. */
  silent: Set<string>;
  /** Delay before every answer. */
  delayMs: number;
  close(): Promise<void>;
}

function answerFor(up: FakeUpstream, query: Buffer, overUdp: boolean): Buffer | null {
  let q: dnsPacket.DecodedPacket;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return null;
  }
  const question = q.questions?.[0];
  if (!question) return null;
  const name = question.name.toLowerCase();
  up.asked.push(name);
  if (up.silent.has(name)) return null;
  const truncate = overUdp && up.truncateUdp.has(name);
  const recs = (up.records.get(name) ?? []).filter((r) => r.type === question.type || r.type === 'CNAME');
  const exists = up.records.has(name);
  return dnsPacket.encode({
    id: q.id,
    type: 'response',
    // dns-packet encodes the RCODE only through the low bits of `flags`
    flags: (truncate ? dnsPacket.TRUNCATED_RESPONSE : 0) | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (exists ? 0 : 3),
    questions: [question],
    answers: truncate ? [] : (recs.map((r) => ({ name: question.name, type: r.type, ttl: r.ttl ?? 3600, class: 'IN', data: r.data })) as dnsPacket.Answer[]),
    additionals: (q.additionals ?? []).filter((a) => a.type === 'OPT').map(() => ({ type: 'OPT', name: '.', udpPayloadSize: 4096 }) as dnsPacket.Answer),
  } as dnsPacket.Packet);
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const port = udp.address().port;
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(port, '127.0.0.1', () => r(true));
    });
    if (!ok) {
      udp.close();
      continue;
    }
    const sockets = new Set<net.Socket>();
    const up: FakeUpstream = {
      port,
      counts: { udp: 0, tcp: 0 },
      asked: [],
      records: new Map(),
      truncateUdp: new Set(),
      silent: new Set(),
      delayMs: 0,
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
    const later = (fn: () => void): void => void (up.delayMs > 0 ? setTimeout(fn, up.delayMs) : fn());
    udp.on('message', (msg, rinfo) => {
      up.counts.udp++;
      later(() => {
        const ans = answerFor(up, msg, true);
        if (ans) udp.send(ans, rinfo.port, rinfo.address);
      });
    });
    tcp.on('connection', (c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
      c.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      c.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
          const msg = buf.subarray(2, buf.readUInt16BE(0) + 2);
          buf = buf.subarray(msg.length + 2);
          up.counts.tcp++;
          later(() => {
            const ans = answerFor(up, Buffer.from(msg), false);
            if (!ans || c.destroyed) return;
            const head = Buffer.alloc(2);
            head.writeUInt16BE(ans.length, 0);
            c.write(Buffer.concat([head, ans]));
          });
        }
      });
    });
    return up;
  }
  throw new Error('could not bind a fake upstream on one UDP+TCP port');
}
