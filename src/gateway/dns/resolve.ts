/**
 * The filter's answer to one DNS message (SPEC §3.3), independent of transport:
 * decide on the name, then deny (NXDOMAIN + Extended DNS Error "Blocked"), answer locally
 * (reserved names, operator overrides, empty AAAA) or forward to the upstreams.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { exchange, type Upstream } from './upstream.ts';
import {
  CLASS_IN, RCODE, TYPE_A, TYPE_AAAA, adoptUpstreamAnswer, answerAddresses, buildResponse, isResponse, readQuery, truncated, typeName,
  type OwnAnswer, type ParsedQuery,
} from './wire.ts';

export interface DnsQueryEvent {
  event_type: 'dns.query';
  detail: { name: string; type: string; decision: 'allow' | 'deny'; rule: string; rcode: number; upstream_ms?: number };
}

export interface DnsFilterDeps {
  decide: (name: string) => { allow: boolean; rule: string };
  onEvent: (e: DnsQueryEvent) => void;
  clock: Clock;
  /** The IPv4 addresses (and TTL) an upstream answered for an allowed A query. */
  onAddresses?: (name: string, answers: Array<{ address: string; ttl: number }>) => void;
}

export interface ResolverConfig {
  upstreams: readonly Upstream[];
  timeoutMs: number;
  aaaaEmpty: boolean;
  /** name → IPv4 answered for A queries without asking upstream (stand-ins, km.internal). */
  localA: ReadonlyMap<string, string>;
}

export const BLOCKED_TEXT = 'km: not allowed by profile';
const EDE_BLOCKED = 15;
const LOCAL_TTL_S = 60;

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function localAnswer(q: ParsedQuery, ip: string): OwnAnswer {
  return q.qtype === TYPE_A ? { rcode: RCODE.NOERROR, answers: [{ type: TYPE_A, ttl: LOCAL_TTL_S, rdata: ipv4Bytes(ip) }] } : { rcode: RCODE.NOERROR };
}

async function forward(q: ParsedQuery, raw: Buffer, cfg: ResolverConfig): Promise<Buffer | null> {
  for (const up of cfg.upstreams) {
    const upstreamId = randomInt(0, 65536);
    const msg = Buffer.from(raw);
    msg.writeUInt16BE(upstreamId, 0);
    try {
      const ans = adoptUpstreamAnswer(await exchange(msg, up, cfg.timeoutMs), upstreamId, q);
      if (ans !== null) return ans;
    } catch {
      /* try the next upstream; all failing means SERVFAIL */
    }
  }
  return null;
}

/** Fit an answer into a UDP client's buffer (512 without EDNS), setting TC when it does not. */
function fitUdp(q: ParsedQuery, ans: Buffer, udp: boolean): Buffer {
  if (!udp) return ans;
  const limit = Math.max(512, q.edns?.udpSize ?? 512);
  return ans.length <= limit ? ans : truncated(q, ans);
}

/**
 * Answer one message. Returns null when nothing should be sent (not a parseable header,
 * or a response rather than a query).
 */
export async function answerMessage(raw: Buffer, udp: boolean, deps: DnsFilterDeps, cfg: ResolverConfig): Promise<Buffer | null> {
  if (isResponse(raw)) return null;
  const read = readQuery(raw);
  if (!read.ok) return read.headerOk ? buildResponse(null, read.id, read.flags, { rcode: RCODE.FORMERR }) : null;
  const q = read.query;
  const emit = (decision: 'allow' | 'deny', rule: string, rcode: number, upstreamMs?: number): void => {
    const detail: DnsQueryEvent['detail'] = { name: q.name, type: typeName(q.qtype), decision, rule, rcode };
    if (upstreamMs !== undefined) detail.upstream_ms = upstreamMs;
    try {
      deps.onEvent({ event_type: 'dns.query', detail });
    } catch {
      /* a failing recorder must not take DNS down */
    }
  };
  if (q.opcode !== 0) return buildResponse(q, q.id, q.flags, { rcode: RCODE.NOTIMP });
  if (q.edns && q.edns.version !== 0) return buildResponse(q, q.id, q.flags, { rcode: 16 }); // BADVERS
  if (q.qclass !== CLASS_IN) {
    emit('deny', 'class-not-in', RCODE.REFUSED);
    return buildResponse(q, q.id, q.flags, { rcode: RCODE.REFUSED });
  }
  let d: { allow: boolean; rule: string };
  try {
    d = deps.decide(q.name);
  } catch {
    d = { allow: false, rule: 'default-deny' };
  }
  if (!d.allow) {
    emit('deny', d.rule, RCODE.NXDOMAIN);
    const ede = q.edns ? { ede: { code: EDE_BLOCKED, text: BLOCKED_TEXT } } : {};
    return buildResponse(q, q.id, q.flags, { rcode: RCODE.NXDOMAIN, ...ede });
  }
  const local = cfg.localA.get(q.name);
  if (local !== undefined || (cfg.aaaaEmpty && q.qtype === TYPE_AAAA)) {
    emit('allow', d.rule, RCODE.NOERROR);
    return fitUdp(q, buildResponse(q, q.id, q.flags, local !== undefined ? localAnswer(q, local) : { rcode: RCODE.NOERROR }), udp);
  }
  const started = deps.clock.now();
  const ans = await forward(q, raw, cfg);
  const ms = deps.clock.now() - started;
  if (ans === null) {
    emit('allow', d.rule, RCODE.SERVFAIL, ms);
    return buildResponse(q, q.id, q.flags, { rcode: RCODE.SERVFAIL });
  }
  emit('allow', d.rule, ans.readUInt16BE(2) & 0xf, ms);
  if (deps.onAddresses && q.qtype === TYPE_A) {
    try {
      const answers = answerAddresses(ans, q);
      if (answers.length > 0) deps.onAddresses(q.name, answers);
    } catch {
      /* a failing listener must not take DNS down */
    }
  }
  return fitUdp(q, ans, udp);
}
