/** kmd: the local daemon (server, router, services), its typed client and its lifecycle. */
export { createDaemon, type DaemonDeps, type DaemonHandle, type DaemonOptions } from './server.ts';
export {
  createRouter,
  reply,
  type Method,
  type PathParams,
  type Reply,
  type RouteHandler,
  type RouteRequest,
  type Router,
  type UpgradeHandler,
  type UpgradeSession,
} from './router.ts';
export {
  jsonLineLog,
  silentLog,
  type DaemonLog,
  type DaemonService,
  type LogLevel,
  type ServiceContext,
  type ServiceHandle,
} from './service.ts';
export { createDaemonClient, type DaemonClient, type DaemonClientOptions, type RequestOptions } from './client.ts';
export { STATUS_BY_CODE, httpStatusFor } from './http-errors.ts';
export { API_VERSION, type HealthBody, type VersionBody } from './core-routes.ts';
export {
  clearStaleFiles,
  daemonStatus,
  ensureDaemon,
  probe,
  stopDaemon,
  type DaemonStatus,
  type EnsuredDaemon,
  type LifecycleOptions,
  type StaleCleanup,
  type StopMethod,
  type StopResult,
} from './lifecycle.ts';
export { MAX_SOCKET_PATH_BYTES, isKmdProcess, processAlive, readPidFile, socketPathProblem } from './files.ts';
export { existingLockName, isHeld, lockName } from './lock.ts';
export { runKmd, type RunKmdOptions } from './kmd.ts';
export { KMD_ENTRY, KMD_NODE_FLAGS, spawnKmd, type SpawnKmd, type SpawnedKmd } from './spawn.ts';
