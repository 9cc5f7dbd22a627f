/**
 * DNS wire handling for the filter: reading a query (header, question, EDNS), building the
 * filter's own answers, and adjusting forwarded answers in place (ID, TTL cap, truncation)
 * so everything else in them is returned exactly as the upstream sent it.
 * Every reader is bounds-checked and returns null instead of throwing on garbage.
 */
import dnsPacket from 'dns-packet';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const TYPE_OPT = 41;
export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;
export const MAX_TTL_S = 300;
/** The UDP payload size we advertise in our own OPT records (DNS flag day 2020). */
export const OUR_UDP_SIZE = 1232;

export interface ParsedQuery {
  id: number;
  flags: number;
  opcode: number;
  /** Presentation form for policy decisions: lowercase, odd bytes escaped as `\DDD`. */
  name: string;
  qtype: number;
  qclass: number;
  /** The raw question section (name + type + class), reused verbatim in answers. */
  question: Buffer;
  edns: { udpSize: number; version: number; doBit: boolean } | null;
}

export type QueryRead = { ok: true; query: ParsedQuery } | { ok: false; headerOk: boolean; id: number; flags: number };

const NAME_BYTE = /[a-z0-9_-]/;

/** Read a name that must not use compression (questions); returns labels' presentation. */
function readQuestionName(buf: Buffer, start: number): { name: string; end: number } | null {
  let off = start;
  const labels: string[] = [];
  let total = 0;
  for (;;) {
    const len = buf[off];
    if (len === undefined || len > 63) return null; // pointers and reserved label types refused
    off += 1;
    if (len === 0) break;
    if (off + len > buf.length) return null;
    total += len + 1;
    if (total > 255) return null;
    let label = '';
    for (let i = 0; i < len; i++) {
      const b = buf[off + i] as number;
      const c = String.fromCharCode(b >= 65 && b <= 90 ? b + 32 : b);
      label += NAME_BYTE.test(c) ? c : `\\${String(b).padStart(3, '0')}`;
    }
    labels.push(label);
    off += len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), end: off };
}

function readEdns(buf: Buffer): ParsedQuery['edns'] | 'bad' {
  let decoded: dnsPacket.Packet;
  try {
    decoded = dnsPacket.decode(buf);
  } catch {
    return 'bad';
  }
  const opts = (decoded.additionals ?? []).filter((a) => a.type === 'OPT');
  if (opts.length > 1) return 'bad';
  const opt = opts[0] as (dnsPacket.OptAnswer & { ednsVersion?: number }) | undefined;
  if (opt === undefined) return null;
  return { udpSize: opt.udpPayloadSize, version: opt.ednsVersion ?? 0, doBit: ((opt.flags ?? 0) & 0x8000) !== 0 };
}

export function readQuery(buf: Buffer): QueryRead {
  if (buf.length < 12) return { ok: false, headerOk: false, id: 0, flags: 0 };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const fail: QueryRead = { ok: false, headerOk: true, id, flags };
  if (buf.readUInt16BE(4) !== 1) return fail;
  const q = readQuestionName(buf, 12);
  if (q === null || q.end + 4 > buf.length) return fail;
  const edns = readEdns(buf);
  if (edns === 'bad') return fail;
  return {
    ok: true,
    query: {
      id,
      flags,
      opcode: (flags >> 11) & 0xf,
      name: q.name,
      qtype: buf.readUInt16BE(q.end),
      qclass: buf.readUInt16BE(q.end + 2),
      question: Buffer.from(buf.subarray(12, q.end + 4)),
      edns,
    },
  };
}

export const isResponse = (buf: Buffer): boolean => buf.length >= 3 && ((buf[2] as number) & 0x80) !== 0;

function optRecord(q: { edns: ParsedQuery['edns'] }, extendedRcode: number, ede: { code: number; text: string } | null): Buffer {
  let rdata = Buffer.alloc(0);
  if (ede !== null) {
    const text = Buffer.from(ede.text, 'utf8');
    rdata = Buffer.alloc(6 + text.length);
    rdata.writeUInt16BE(15, 0); // OPTION-CODE: Extended DNS Error (RFC 8914)
    rdata.writeUInt16BE(2 + text.length, 2);
    rdata.writeUInt16BE(ede.code, 4);
    text.copy(rdata, 6);
  }
  const rr = Buffer.alloc(11);
  rr.writeUInt8(0, 0); // root name
  rr.writeUInt16BE(TYPE_OPT, 1);
  rr.writeUInt16BE(OUR_UDP_SIZE, 3);
  rr.writeUInt8(extendedRcode & 0xff, 5);
  rr.writeUInt8(0, 6); // version
  rr.writeUInt16BE(q.edns?.doBit ? 0x8000 : 0, 7);
  rr.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([rr, rdata]);
}

export interface OwnAnswer {
  rcode: number;
  /** Answer RRs for the question's name (type, class IN, TTL, rdata). */
  answers?: Array<{ type: number; ttl: number; rdata: Buffer }>;
  ede?: { code: number; text: string };
}

/** A response built by the filter itself (denials, errors, synthesised answers). */
export function buildResponse(q: Pick<ParsedQuery, 'id' | 'flags' | 'question' | 'edns'> | null, id: number, reqFlags: number, a: OwnAnswer): Buffer {
  const answers = q === null ? [] : (a.answers ?? []);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  const opcode = reqFlags & 0x7800;
  const rd = reqFlags & 0x0100;
  header.writeUInt16BE(0x8000 | opcode | rd | 0x0080 | (a.rcode & 0xf), 2);
  header.writeUInt16BE(q === null ? 0 : 1, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(q?.edns ? 1 : 0, 10);
  parts.push(header);
  if (q !== null) parts.push(q.question);
  for (const rr of answers) {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // pointer to the question name
    fixed.writeUInt16BE(rr.type, 2);
    fixed.writeUInt16BE(CLASS_IN, 4);
    fixed.writeUInt32BE(rr.ttl, 6);
    fixed.writeUInt16BE(rr.rdata.length, 10);
    parts.push(fixed, rr.rdata);
  }
  if (q?.edns) parts.push(optRecord(q, a.rcode >> 4, a.ede ?? null));
  return Buffer.concat(parts);
}

/** Skip a (possibly compressed) name; returns the offset after it or -1. */
function skipName(buf: Buffer, start: number): number {
  let off = start;
  for (let guard = 0; guard < 128; guard++) {
    const len = buf[off];
    if (len === undefined) return -1;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1;
    if (len > 63) return -1;
    off += 1 + len;
  }
  return -1;
}

/**
 * Check that a forwarded answer belongs to the query (ID, QR, same question ignoring case),
 * then rewrite its ID to the client's and cap every TTL at MAX_TTL_S. Returns null when the
 * answer is malformed or does not match.
 */
export function adoptUpstreamAnswer(ans: Buffer, upstreamId: number, q: ParsedQuery): Buffer | null {
  if (ans.length < 12 || ans.readUInt16BE(0) !== upstreamId || !isResponse(ans)) return null;
  if (ans.readUInt16BE(4) !== 1) return null;
  const qEnd = 12 + q.question.length;
  if (qEnd > ans.length || !ans.subarray(12, qEnd).equals(q.question)) {
    if (qEnd > ans.length || ans.subarray(12, qEnd).toString('latin1').toLowerCase() !== q.question.toString('latin1').toLowerCase()) return null;
  }
  const out = Buffer.from(ans);
  out.writeUInt16BE(q.id, 0);
  const rrs = out.readUInt16BE(6) + out.readUInt16BE(8) + out.readUInt16BE(10);
  let off = qEnd;
  for (let i = 0; i < rrs; i++) {
    off = skipName(out, off);
    if (off < 0 || off + 10 > out.length) return null;
    const type = out.readUInt16BE(off);
    if (type !== TYPE_OPT && out.readUInt32BE(off + 4) > MAX_TTL_S) out.writeUInt32BE(MAX_TTL_S, off + 4);
    off += 10 + out.readUInt16BE(off + 8);
    if (off > out.length) return null;
  }
  return out;
}

/**
 * The IPv4 addresses in an answer's answer section (following CNAMEs: every A record counts)
 * with the shortest TTL of that section; none when the answer is not NOERROR or malformed.
 */
export function answerAddresses(ans: Buffer, q: ParsedQuery): Array<{ address: string; ttl: number }> {
  if (ans.length < 12 || (ans.readUInt16BE(2) & 0xf) !== RCODE.NOERROR) return [];
  const count = ans.readUInt16BE(6);
  const addresses: string[] = [];
  let ttl = Infinity;
  let off = 12 + q.question.length;
  for (let i = 0; i < count; i++) {
    off = skipName(ans, off);
    if (off < 0 || off + 10 > ans.length) return [];
    const type = ans.readUInt16BE(off);
    const len = ans.readUInt16BE(off + 8);
    if (off + 10 + len > ans.length) return [];
    ttl = Math.min(ttl, ans.readUInt32BE(off + 4));
    if (type === TYPE_A && ans.readUInt16BE(off + 2) === CLASS_IN && len === 4) addresses.push(ans.subarray(off + 10, off + 14).join('.'));
    off += 10 + len;
  }
  return addresses.map((address) => ({ address, ttl }));
}

/** The answer cut to header + question (+ OPT) with TC set, for UDP clients with a smaller buffer. */
export function truncated(q: ParsedQuery, answer: Buffer): Buffer {
  const rcode = answer.length >= 4 ? (answer.readUInt16BE(2) & 0xf) : RCODE.SERVFAIL;
  const out = buildResponse(q, q.id, q.flags, { rcode });
  out.writeUInt16BE(out.readUInt16BE(2) | 0x0200 | (answer.readUInt16BE(2) & 0x0400), 2); // TC, keep AA
  return out;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV',
  35: 'NAPTR', 39: 'DNAME', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 52: 'TLSA', 64: 'SVCB', 65: 'HTTPS',
  99: 'SPF', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};

/** Mnemonic of a query type, or `TYPEnnn` (RFC 3597) for the rest. */
export function typeName(qtype: number): string {
  return TYPE_NAMES[qtype] ?? `TYPE${qtype}`;
}

/**
 * For unframed streams: the length of the DNS message at the start of `buf` when it is
 * complete, `null` when more bytes are needed.
 */
export function completeLength(buf: Buffer): number | null {
  if (buf.length < 12) return null;
  let off = 12;
  const qd = buf.readUInt16BE(4);
  const rrs = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  for (let i = 0; i < qd + rrs; i++) {
    off = skipName(buf, off);
    if (off < 0) return null;
    if (i >= qd) {
      if (off + 10 > buf.length) return null;
      off += 10 + buf.readUInt16BE(off + 8);
    } else off += 4;
    if (off > buf.length) return null;
  }
  return off;
}
