/**
 * The egress gateway's public surface: the HTTP(S) proxy (forward and transparent), the
 * per-sandbox CA and leaves, and the denial envelope. The compiled policy reaches the proxy
 * as callbacks (`gatewayPolicy`); the gateway never reads a profile.
 */
import type { CompiledPolicy } from '../policy/index.ts';
import { decideHost, decidePath, isDestinationAllowed } from '../policy/index.ts';
import type { GatewayPolicy } from './http/index.ts';

export { createHttpGateway, MAX_REWRITE_BODY_BYTES } from './http/index.ts';
export type {
  ExchangeHook,
  ExchangeInfo,
  GatewayEvent,
  GatewayHooks,
  GatewayPolicy,
  GithubGuard,
  HostDecision,
  HttpGateway,
  HttpGatewayDeps,
  HttpGatewayOptions,
  HttpGatewayStats,
  ResponseTap,
  UpstreamOptions,
} from './http/index.ts';
export { createLeafCache, createSandboxCa, loadSandboxCa, parseClientHello, planCaRenewal } from './tls/index.ts';
export type { CaRenewalPlan, LeafCache, SandboxCa } from './tls/index.ts';
export { denyResponse, hostNotAllowedHint } from './deny.ts';
export type { DenyError, DenyInput, DenyResponse } from './deny.ts';

/** Adapts a compiled policy to the gateway's decision callbacks. */
export function gatewayPolicy(p: CompiledPolicy): GatewayPolicy {
  return {
    decideHost: (req) => decideHost(p, req),
    decidePath: (host, method, path) => decidePath(p, host, method, path),
    isDestinationAllowed: (name, ip) => isDestinationAllowed(p, name, ip),
  };
}

export { openSandboxGateway, GATEWAY_SOCKETS } from './sandbox-gateway.ts';
export type { GatewayUpstreamConfig, OpenSandboxGatewayOptions, SandboxGateway, SandboxGatewayEvent } from './sandbox-gateway.ts';
