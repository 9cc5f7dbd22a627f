/**
 * Sandbox orchestration (SPEC §8): the service kmd's routes and the reconciler use, the
 * per-sandbox gateways, reference resolution and the JSON record.
 */
export { createSandboxService, type SandboxService } from './service.ts';
export { caJson, statusDetail, type CaJson, type GatewayStatsSource, type SandboxStatusJson } from './status.ts';
export { createGatewayManager, type GatewayManager, type GatewayManagerDeps } from './gateways.ts';
export { createEventRecorder, type Actor, type EventRecorder } from './events.ts';
export { resolveSandboxRef, type ResolveRefOptions } from './reference.ts';
export { sandboxJson, labelOf, idleSinceMs, idleRemainingS, ttlRemainingS, type SandboxJson } from './record.ts';
export { readGatewaySettings, sandboxPaths, type SandboxPaths, type StoredGatewaySettings } from './files.ts';
export { applyOverrides, overrideProfile, overridesFromFlags, parseUsd, type CreateOverrides } from './overrides.ts';
export { type CloneRequest } from './clone.ts';
export { cloneAliases } from './clone-aliases.ts';
export { lockRefusal, type ExtendInput, type OpOptions } from './ops.ts';
export { localMinute, localMinuteZone, safeTimeZone } from './when.ts';
export type { CreateConfig, CreateRequest, OpResult, Progress, ProgressSink, SandboxServiceDeps } from './types.ts';
export { sandboxDaemonService } from './daemon-service.ts';
export { registerSandboxRoutes } from './routes.ts';
export { IMAGE_NAME_RE, type ImageJson } from './images.ts';
export { createCaRenewer, writeTrustFiles, type CaRenewal, type CaRenewer, type CaRenewerDeps } from './ca-renewal.ts';
