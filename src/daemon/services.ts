/**
 * The services kmd runs, in start order (closed in reverse). Gateways, the reconciler, the
 * scheduler and the OTLP receiver are added here as they land; each registers its routes
 * on the router it is given.
 */
import type { DaemonService } from './service.ts';

export function kmdServices(): DaemonService[] {
  return [];
}
