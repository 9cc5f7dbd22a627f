/**
 * km.internal (SPEC §3.1, §12.5, §13.4): the API kmd serves to each sandbox on its
 * `kmd-internal.sock`, the manager keeping one listener per live sandbox, and the kmd service.
 */
export { createInternalApi, listenInternalApi, type InternalApiDeps, type InternalApiHandler, type InternalListener } from './api.ts';
export { createInternalApiManager, gatewaySocketPath, INTERNAL_SOCKET, type InternalApiManager, type InternalApiManagerDeps } from './manager.ts';
export { kmInternalDaemonService } from './daemon-service.ts';

/** The sandbox-side mail client (POSIX sh + curl); make it available inside sandboxes (e.g. read-only at /usr/local/bin/km-mail). */
export const KM_MAIL_SCRIPT: string = new URL('../../bin/km-mail', import.meta.url).pathname;
