/**
 * Host and name normalisation (SPEC §3.2): lowercase, one trailing dot removed, IDNs to
 * A-labels, `host:port` and `[v6]:port` split, IPv4 shorthands (`127.1`, `0x7f.1`) and
 * IPv6 spellings canonicalised the way a URL parser and a resolver would read them.
 * Pure: no I/O.
 */
import { domainToASCII } from 'node:url';
import { KmError } from '../core/errors.ts';

export interface NormalisedHost {
  host: string;
  port?: number;
  isIp: boolean;
}

const NAME_CHARS = /^[\p{L}\p{M}\p{N}._\-*]+$/u;
const V6_CHARS = /^[0-9a-fA-F:.]+$/;
const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

/** Canonical IPv6 text (compressed, lowercase, no brackets) or null. */
function canonicalV6(text: string): string | null {
  if (!V6_CHARS.test(text) || !text.includes(':')) return null;
  const ascii = domainToASCII(`[${text}]`);
  return ascii.startsWith('[') && ascii.endsWith(']') ? ascii.slice(1, -1) : null;
}

function canonicalName(text: string): NormalisedHost | null {
  let h = text.endsWith('.') && text.length > 1 ? text.slice(0, -1) : text;
  if (h === '*') return { host: '*', isIp: false };
  if (h === '' || !NAME_CHARS.test(h) || h.includes('*')) return null;
  h = domainToASCII(h);
  if (h === '' || h.length > 253) return null;
  if (DOTTED_QUAD.test(h)) return { host: h, isIp: true };
  for (const label of h.split('.')) if (label === '' || label.length > 63) return null;
  return { host: h, isIp: false };
}

/** Like `normaliseHost` but returns null for anything that is not a usable host. */
export function tryNormaliseHost(input: string): NormalisedHost | null {
  if (input.length === 0 || input.length > 300) return null;
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0) return null;
    const v6 = canonicalV6(input.slice(1, close));
    if (v6 === null) return null;
    const rest = input.slice(close + 1);
    if (rest === '') return { host: v6, isIp: true };
    if (!rest.startsWith(':')) return null;
    const port = parsePort(rest.slice(1));
    return port === null ? null : { host: v6, port, isIp: true };
  }
  const colons = input.split(':').length - 1;
  if (colons > 1) {
    const v6 = canonicalV6(input);
    return v6 === null ? null : { host: v6, isIp: true };
  }
  if (colons === 1) {
    const at = input.indexOf(':');
    const port = parsePort(input.slice(at + 1));
    const name = canonicalName(input.slice(0, at));
    if (port === null || name === null) return null;
    return { ...name, port };
  }
  return canonicalName(input);
}

/**
 * Normalise a host as written in a URL, a CONNECT target, an SNI or a profile entry.
 * Throws `usage` for text that is not a host.
 */
export function normaliseHost(h: string): NormalisedHost {
  const n = tryNormaliseHost(h);
  if (n === null) {
    throw new KmError('usage', `"${h}" is not a valid host`, {
      hint: 'write a host name, an IP address, or host:port (IPv6 as [addr]:port)',
    });
  }
  return n;
}

/**
 * A DNS query name as the policy compares it: lowercase, trailing dot removed, IDN to
 * A-labels. Names from the wire are ASCII already (the DNS filter escapes odd bytes as
 * `\DDD`, which then match no entry but `*`).
 */
export function normaliseDnsName(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith('.') && n.length > 1) n = n.slice(0, -1);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(n)) {
    const ascii = domainToASCII(n);
    if (ascii !== '') n = ascii;
  }
  return n;
}

/** True when a DNS name is spelled like an IP address (never matched by suffix rules). */
export function looksLikeIp(name: string): boolean {
  return name.includes(':') || DOTTED_QUAD.test(name);
}
