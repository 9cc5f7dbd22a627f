/**
 * km.internal (SPEC §3.1, §12.5, §13.4): the API kmd serves to each sandbox on its
 * `kmd-internal.sock`, the manager keeping one listener per live sandbox, and the kmd service.
 */
export { createInternalApi, listenInternalApi, type InternalApiDeps, type InternalApiHandler, type InternalListener } from './api.ts';
export { createInternalApiManager, gatewaySocketPath, INTERNAL_SOCKET, type InternalApiManager, type InternalApiManagerDeps } from './manager.ts';
export { kmInternalDaemonService } from './daemon-service.ts';

/** The sandbox-side mail client (POSIX sh + curl), mounted read-only into every sandbox on its PATH. */
export { KM_MAIL_SCRIPT, SANDBOX_BIN_DIR, SANDBOX_BIN_MOUNT } from './paths.ts';
