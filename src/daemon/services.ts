/**
 * The services kmd runs, in start order (closed in reverse). Gateways, the reconciler, the
 * scheduler and the OTLP receiver are added here as they land; each registers its routes
 * on the router it is given.
 */
import { agentRunsDaemonService } from '../agent/watcher.ts';
import { kmInternalDaemonService } from '../internal-api/index.ts';
import { notifyDaemonService } from '../notify/index.ts';
import { sandboxDaemonService } from '../sandbox/daemon-service.ts';
import { schedulerDaemonService } from '../scheduler/daemon-service.ts';
import { fastPathDaemonService } from './fast-path.ts';
import type { DaemonService } from './service.ts';

export function kmdServices(): DaemonService[] {
  return [sandboxDaemonService(), schedulerDaemonService(), kmInternalDaemonService(), agentRunsDaemonService(), notifyDaemonService(), fastPathDaemonService()];
}
