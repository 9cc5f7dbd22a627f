/**
 * A small TLS ClientHello reader: enough to decide on the SNI (and see the ALPN offer)
 * before any byte reaches an upstream. Handles a handshake message split across records.
 */
export type ClientHelloResult =
  | { kind: 'incomplete' }
  | { kind: 'not_tls' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'hello'; sni: string | null; alpn: string[] };

/** The most we buffer while waiting for a complete ClientHello. */
export const MAX_CLIENT_HELLO_BYTES = 65_536;

/** True when the first byte could start a TLS handshake record. */
export const looksLikeTls = (firstByte: number): boolean => firstByte === 0x16;

export function parseClientHello(buf: Buffer): ClientHelloResult {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] !== 0x16) return { kind: 'not_tls' };
  const handshake: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  while (need < 0 || have < need) {
    if (buf.length < off + 5) return tooBig(buf) ?? { kind: 'incomplete' };
    if (buf[off] !== 0x16) return { kind: 'malformed', reason: 'non-handshake record before ClientHello end' };
    if (buf[off + 1] !== 0x03) return { kind: 'malformed', reason: 'unknown record version' };
    const len = buf.readUInt16BE(off + 3);
    if (buf.length < off + 5 + len) return tooBig(buf) ?? { kind: 'incomplete' };
    handshake.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const h = Buffer.concat(handshake);
      if (h[0] !== 0x01) return { kind: 'malformed', reason: 'first handshake message is not a ClientHello' };
      need = 4 + h.readUIntBE(1, 3);
    }
  }
  return parseBody(Buffer.concat(handshake).subarray(4, need));
}

function tooBig(buf: Buffer): ClientHelloResult | null {
  return buf.length > MAX_CLIENT_HELLO_BYTES ? { kind: 'malformed', reason: 'ClientHello too large' } : null;
}

function parseBody(b: Buffer): ClientHelloResult {
  try {
    let p = 2 + 32; // legacy_version, random
    p += 1 + b.readUInt8(p); // session id
    p += 2 + b.readUInt16BE(p); // cipher suites
    p += 1 + b.readUInt8(p); // compression methods
    if (p === b.length) return { kind: 'hello', sni: null, alpn: [] };
    const end = p + 2 + b.readUInt16BE(p);
    if (end > b.length) return { kind: 'malformed', reason: 'extensions overrun the ClientHello' };
    p += 2;
    let sni: string | null = null;
    let alpn: string[] = [];
    while (p + 4 <= end) {
      const type = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      const data = b.subarray(p + 4, p + 4 + len);
      if (data.length !== len) return { kind: 'malformed', reason: 'extension overruns the ClientHello' };
      if (type === 0) sni = readServerName(data);
      if (type === 16) alpn = readAlpn(data);
      p += 4 + len;
    }
    return { kind: 'hello', sni, alpn };
  } catch {
    return { kind: 'malformed', reason: 'truncated ClientHello' };
  }
}

function readServerName(d: Buffer): string | null {
  let p = 2;
  const end = Math.min(d.length, 2 + d.readUInt16BE(0));
  while (p + 3 <= end) {
    const type = d.readUInt8(p);
    const len = d.readUInt16BE(p + 1);
    if (type === 0) {
      if (p + 3 + len > end) throw new RangeError('server name overrun');
      return d.subarray(p + 3, p + 3 + len).toString('latin1');
    }
    p += 3 + len;
  }
  return null;
}

function readAlpn(d: Buffer): string[] {
  const out: string[] = [];
  let p = 2;
  const end = Math.min(d.length, 2 + d.readUInt16BE(0));
  while (p < end) {
    const len = d.readUInt8(p);
    out.push(d.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  return out;
}
