/** Routes every kmd has: health, version, shutdown. */
import type { Clock } from '../core/clock.ts';
import { toIso } from '../core/clock.ts';
import { reply, type Router } from './router.ts';

export const API_VERSION = 'v1';

export interface HealthBody {
  ok: true;
  version: string;
  pid: number;
  started_at: string;
  uptime_s: number;
}

export interface VersionBody {
  version: string;
  api: string;
}

export interface ShutdownBody {
  ok: true;
  pid: number;
}

export interface CoreRouteDeps {
  version: string;
  pid: number;
  startedAt: number;
  clock: Clock;
  /** Called after the shutdown response has been sent. */
  requestShutdown: () => void;
}

export function registerCoreRoutes(router: Router, deps: CoreRouteDeps): void {
  router.add('GET', '/v1/health', (): HealthBody => ({
    ok: true,
    version: deps.version,
    pid: deps.pid,
    started_at: toIso(deps.startedAt),
    uptime_s: Math.max(0, Math.floor((deps.clock.now() - deps.startedAt) / 1000)),
  }));
  router.add('GET', '/v1/version', (): VersionBody => ({ version: deps.version, api: API_VERSION }));
  router.add('POST', '/v1/shutdown', (req) => {
    req.raw.res.once('finish', () => setImmediate(deps.requestShutdown));
    const body: ShutdownBody = { ok: true, pid: deps.pid };
    return reply(202, body);
  });
}
