export { createHttpGateway } from './server.ts';
export { MAX_REWRITE_BODY_BYTES } from './types.ts';
export type {
  ExchangeHook,
  GatewayEvent,
  GatewayHooks,
  GatewayPolicy,
  ExchangeInfo,
  GithubGuard,
  GithubRequest,
  GithubVerdict,
  HostDecision,
  HostRequest,
  HttpGateway,
  HttpGatewayDeps,
  HttpGatewayOptions,
  HttpGatewayStats,
  InterceptReason,
  ResponseTap,
  UpstreamOptions,
} from './types.ts';
