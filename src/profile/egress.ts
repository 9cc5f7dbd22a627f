/**
 * Syntax and meaning of egress entries (SPEC §1.4, §3.2): what an `allowedHosts` or
 * `allowedDNSSuffixes` entry may look like, and whether an entry lets a host through.
 * Pure: the Public Suffix List comes from tldts' bundled copy.
 */
import { domainToASCII } from 'node:url';
import { parse as parseDomain } from 'tldts';

export type EgressList = 'allowedHosts' | 'allowedDNSSuffixes';

/** The hosts GitHub source access covers (SPEC §4.1): one list, kept in the policy engine. */
export { GITHUB_HOSTS } from '../policy/hosts.ts';
import { GITHUB_HOSTS } from '../policy/hosts.ts';

export interface ParsedEntry {
  /** `*` alone. */
  any: boolean;
  /** Leading dot (or any suffix-list entry): the name and every subdomain. */
  suffix: boolean;
  /** Normalised host: lowercase, A-labels, no leading or trailing dot. */
  host: string;
  port?: number;
  ip: boolean;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function isIpv6(text: string): boolean {
  if (!text.includes(':') || !/^[0-9a-fA-F:.]+$/.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

export const isIpLiteral = (text: string): boolean => IPV4.test(text) || isIpv6(text);

/** Splits `host:port`, `[v6]:port`, bare v6. Returns an error message for a bad port. */
function splitPort(entry: string): { host: string; port?: string } {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) return { host: entry };
    const rest = entry.slice(close + 1);
    const host = entry.slice(1, close);
    return rest.startsWith(':') ? { host, port: rest.slice(1) } : { host: rest === '' ? host : entry };
  }
  if (isIpv6(entry)) return { host: entry };
  const i = entry.lastIndexOf(':');
  return i < 0 ? { host: entry } : { host: entry.slice(0, i), port: entry.slice(i + 1) };
}

/** Parses an entry, or returns the message explaining why it is invalid (SPEC §1.4). */
export function parseEgressEntry(entry: string, list: EgressList): { ok: true; entry: ParsedEntry } | { ok: false; message: string } {
  const bad = (message: string) => ({ ok: false as const, message });
  const q = JSON.stringify(entry);
  if (entry.trim() === '') return bad('empty entry; write a host name or remove the entry');
  if (entry !== entry.trim()) return bad(`${q} has surrounding spaces`);
  if (entry === '*') return { ok: true, entry: { any: true, suffix: true, host: '*', ip: false } };
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(entry);
  if (scheme) return bad(`${q} is not a valid host pattern; write the host name only ("${scheme[1]}")`);
  if (/[/?#]/.test(entry)) {
    const host = entry.split(/[/?#]/)[0] ?? '';
    return bad(`${q} is not a valid host pattern; write the host only ("${host}"), paths belong in pathRules`);
  }
  if (entry.startsWith('*.')) {
    return bad(`${q} is not a valid host pattern; write "${entry.slice(1)}" for the domain and its subdomains`);
  }
  if (entry.includes('*')) return bad(`${q} is not a valid host pattern; wildcards are a lone "*" or a leading dot (".example.com")`);
  const { host: rawHost, port: rawPort } = splitPort(entry);
  let port: number | undefined;
  if (rawPort !== undefined) {
    if (list === 'allowedDNSSuffixes') return bad(`${q}: allowedDNSSuffixes entries take no port; put "host:port" in allowedHosts`);
    if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      return bad(`invalid port "${rawPort}" in ${q}; use a number from 1 to 65535`);
    }
    port = Number(rawPort);
  }
  if (isIpLiteral(rawHost)) {
    if (list === 'allowedDNSSuffixes') return bad(`${q} is an IP address; list IP addresses in allowedHosts`);
    return { ok: true, entry: { any: false, suffix: false, host: rawHost.toLowerCase(), ip: true, ...(port ? { port } : {}) } };
  }
  const suffix = rawHost.startsWith('.') || list === 'allowedDNSSuffixes';
  const name = normaliseName(rawHost.startsWith('.') ? rawHost.slice(1) : rawHost);
  if (name === undefined) return bad(`${q} is not a valid host name`);
  const psl = parseDomain(name, { allowPrivateDomains: false });
  if (psl.isIcann === true && psl.publicSuffix === name) {
    return bad(`${q} is a public suffix; it would allow every domain under it, list the specific domains instead`);
  }
  return { ok: true, entry: { any: false, suffix, host: name, ip: false, ...(port ? { port } : {}) } };
}

/** Lowercase, one trailing dot removed, IDN → A-labels; undefined when not a host name. */
export function normaliseName(text: string): string | undefined {
  let s = text.endsWith('.') ? text.slice(0, -1) : text;
  if (s === '' || s.startsWith('.')) return undefined;
  s = /^[\x00-\x7f]*$/.test(s) ? s.toLowerCase() : domainToASCII(s);
  if (s === '' || s.length > 253) return undefined;
  return s.split('.').every((l) => LABEL.test(l)) ? s : undefined;
}

/** Whether a parsed entry lets `host` through (port ignored). */
export function entryMatches(entry: ParsedEntry, host: string): boolean {
  if (entry.any) return true;
  if (!entry.suffix) return entry.host === host;
  return host === entry.host || host.endsWith(`.${entry.host}`);
}

export interface EgressLists {
  allowedHosts: readonly string[];
  allowedDNSSuffixes: readonly string[];
}

/** Answers "which entry lets this host through?" with every entry parsed once. */
export interface EgressMatcher {
  allowing(host: string): string | undefined;
}

export function compileEgress(lists: EgressLists): EgressMatcher {
  const exact = new Map<string, string>();
  const suffixes = new Map<string, string>();
  let any: string | undefined;
  for (const list of ['allowedHosts', 'allowedDNSSuffixes'] as const) {
    lists[list].forEach((e, i) => {
      const p = parseEgressEntry(e, list);
      if (!p.ok) return;
      const rule = `${list}[${i}]`;
      if (p.entry.any) any ??= rule;
      else if (!(p.entry.suffix ? suffixes : exact).has(p.entry.host)) (p.entry.suffix ? suffixes : exact).set(p.entry.host, rule);
    });
  }
  return {
    allowing(host) {
      const candidates: string[] = [];
      const e = exact.get(host);
      if (e !== undefined) candidates.push(e);
      for (let name = host; name !== ''; name = name.includes('.') ? name.slice(name.indexOf('.') + 1) : '') {
        const s = suffixes.get(name);
        if (s !== undefined) candidates.push(s);
      }
      if (any !== undefined) candidates.push(any);
      return candidates.sort(byListOrder)[0];
    },
  };
}

/** allowedHosts before allowedDNSSuffixes, then by index. */
function byListOrder(a: string, b: string): number {
  const rank = (r: string) => [r.startsWith('allowedHosts') ? 0 : 1, Number(/\[(\d+)\]/.exec(r)?.[1] ?? 0)] as const;
  const [ra, ia] = rank(a);
  const [rb, ib] = rank(b);
  return ra - rb || ia - ib;
}

/** The first entry (as a rule path) that lets `host` through, if any. */
export const allowingEntry = (lists: EgressLists, host: string): string | undefined => compileEgress(lists).allowing(host);

/** Repo patterns (SPEC §4.1): owner/repo, owner/*, * — optionally prefixed github.com/. */
export function checkRepoPattern(pattern: string): string | undefined {
  const p = pattern.startsWith('github.com/') ? pattern.slice('github.com/'.length) : pattern;
  if (p === '*') return undefined;
  if (/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?:\*|[A-Za-z0-9._-]{1,100})$/.test(p) && !/\/\.\.?$/.test(p)) return undefined;
  return `${JSON.stringify(pattern)} is not a repository pattern; use owner/repo, owner/* or *`;
}

/** Ref globs (SPEC §1.4): not empty, no spaces, "..", ~ ^ : \ or control characters. */
export function checkRefPattern(pattern: string): string | undefined {
  const q = JSON.stringify(pattern);
  if (pattern === '') return 'empty ref pattern; write a branch name or glob such as "feature/*"';
  if (/[\x00-\x20\x7f]/.test(pattern)) return `${q} contains spaces or control characters; git refs cannot`;
  if (pattern.includes('..')) return `${q} contains ".."; git refs cannot`;
  const ch = /[~^:\\]/.exec(pattern);
  if (ch) return `${q} contains "${ch[0]}"; git refs cannot`;
  return undefined;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*']);

/** A pathRules `allow` entry: "METHOD /glob". */
export function checkPathRule(rule: string): string | undefined {
  const q = JSON.stringify(rule);
  const m = /^(\S+) +(\S.*)$/.exec(rule);
  if (!m) return `${q} is not a path rule; write "METHOD /path" such as "GET /v1/*"`;
  const method = m[1] as string;
  if (!METHODS.has(method)) return `${q}: method "${method}" is not one of GET HEAD POST PUT PATCH DELETE OPTIONS *`;
  if (!(m[2] as string).startsWith('/')) return `${q}: the path must start with "/"`;
  return undefined;
}
