/**
 * The sandbox network namespace (SPEC §3.5, local column). It contains only `lo`; the
 * gateway is reached through socat bridges inside (127.0.0.1:3128 → proxy.sock,
 * 127.0.0.1:53 UDP/TCP → dns.sock / dns-tcp.sock, 127.0.0.2:80 → kmd-internal.sock).
 *
 * Transparent capture, when nftables works in the namespace: `lo` gets a second address
 * (`LO_CAPTURE_ADDR`) and a `default dev lo` route so that connects to any address get as far
 * as netfilter (without a route they fail with ENETUNREACH before NAT; with a route but only
 * 127.0.0.1 as source they hang). Replies and ICMP errors travel back to that address through
 * the same output hook, so the filter accepts it as a destination. The output NAT chain redirects TCP 80/443 to the
 * transparent bridge (→ transparent.sock; the gateway decides on SNI/Host) and UDP/TCP 53 to
 * the DNS bridge; the filter chain accepts loopback destinations only and rejects the rest
 * (TCP with a reset: ECONNREFUSED at once, since TCP treats ICMP unreachables as soft errors
 * and would retry until its timeout; other protocols with `admin-prohibited`: EPERM). The rules live in a
 * namespace owned by the sandbox's outer user namespace, and no process that runs after
 * setup holds CAP_NET_ADMIN there, so the workload — and root inside — cannot change them.
 */
import { TRANSPARENT_PORT } from './etc-files.ts';

/** From the benchmarking range (RFC 2544), never routed anywhere. */
export const LO_CAPTURE_ADDR = '198.18.0.2';

export function nftRuleset(): string {
  return `table inet km {
  chain nat_out {
    type nat hook output priority -100; policy accept;
    ip daddr 127.0.0.0/8 return
    meta l4proto { tcp, udp } th dport 53 redirect to :53
    tcp dport { 80, 443 } redirect to :${TRANSPARENT_PORT}
  }
  chain filter_out {
    type filter hook output priority 0; policy drop;
    ip daddr 127.0.0.0/8 accept
    ip daddr ${LO_CAPTURE_ADDR} accept
    ip6 daddr ::1 accept
    meta l4proto tcp reject with tcp reset
    reject with icmpx type admin-prohibited
  }
}
`;
}
