/**
 * Destinations after resolution (SPEC §3.2): whatever the name, the gateway never connects
 * to loopback, link-local (cloud metadata included), unspecified, broadcast/multicast or the
 * host's own addresses — unless the operator mapped the name there (host override) or the
 * profile lists that IP exactly. Private ranges are fine when the name is allowed.
 */
import type { CompiledPolicy } from './compile.ts';
import { parseIPv4, parseIPv6, ipKey } from './ip.ts';
import { normaliseDnsName } from './normalise.ts';

function v4Reason(b: number[]): string | null {
  const [a, b1] = [b[0] ?? 0, b[1] ?? 0];
  if (a === 127) return 'loopback';
  if (a === 169 && b1 === 254) return 'link-local';
  if (a === 0) return 'unspecified';
  if (a >= 224) return 'multicast or broadcast';
  return null;
}

const startsWith = (b: number[], prefix: number[]): boolean => prefix.every((v, i) => b[i] === v);

function v6Reason(b: number[]): string | null {
  const zero10 = b.slice(0, 10).every((v) => v === 0);
  if (zero10 && b[10] === 0xff && b[11] === 0xff) return v4Reason(b.slice(12)); // IPv4-mapped
  if (b.slice(0, 12).every((v) => v === 0)) {
    if (b.slice(12).every((v) => v === 0)) return 'unspecified';
    if (b.slice(12, 15).every((v) => v === 0) && b[15] === 1) return 'loopback';
    return v4Reason(b.slice(12)); // IPv4-compatible (deprecated, still routable by some stacks)
  }
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b]) && b.slice(4, 12).every((v) => v === 0)) return v4Reason(b.slice(12)); // NAT64
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xff) return 'multicast';
  // AWS instance metadata over IPv6: fd00:ec2::254
  if (startsWith(b, [0xfd, 0x00, 0x0e, 0xc2]) && b.slice(4, 14).every((v) => v === 0) && b[14] === 0x02 && b[15] === 0x54) {
    return 'link-local';
  }
  return null;
}

export function isDestinationAllowed(p: CompiledPolicy, name: string, ip: string): { allow: boolean; reason?: string } {
  const v4 = parseIPv4(ip);
  const v6 = v4 === null ? parseIPv6(ip) : null;
  const k = ipKey(ip);
  if (k === null || (v4 === null && v6 === null)) return { allow: false, reason: 'not an IP address' };
  if (p.hostOverrides.has(normaliseDnsName(name))) return { allow: true, reason: 'host override' };
  if (p.listedIps.has(k)) return { allow: true, reason: 'listed in allowedHosts' };
  if (p.ownAddresses.has(k)) return { allow: false, reason: 'the gateway host itself' };
  const reason = v4 !== null ? v4Reason(v4) : v6Reason(v6 as number[]);
  return reason === null ? { allow: true } : { allow: false, reason };
}
