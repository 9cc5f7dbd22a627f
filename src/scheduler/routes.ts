/**
 * kmd's schedule API: `POST /v1/schedules` (save), `GET /v1/schedules[?all=1]` (list),
 * `GET /v1/schedules/:name`, `DELETE /v1/schedules/:name` (cancel) and
 * `GET /v1/schedules/:name/history` (fires, oldest first).
 */
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { reply, type Router } from '../daemon/index.ts';
import type { ScheduleStore } from '../store/index.ts';
import { newScheduleFrom } from './definition.ts';
import { fireJson, scheduleJson, type FireJson, type ScheduleJson } from './json.ts';
import type { Scheduler } from './scheduler.ts';

export interface ScheduleRouteDeps {
  scheduler: Scheduler;
  store: ScheduleStore;
  clock: Clock;
}

const unknown = (name: string): KmError =>
  new KmError('not_found', `no schedule named "${name}"`, { hint: 'see km at list (km at list --all shows finished ones)' });

export function registerScheduleRoutes(router: Router, deps: ScheduleRouteDeps): void {
  router.add('POST', '/v1/schedules', async (req) => {
    const rec = await deps.scheduler.add(newScheduleFrom(req.body, deps.clock.now()));
    return reply(201, scheduleJson(rec));
  });
  router.add('GET', '/v1/schedules', async (req): Promise<ScheduleJson[]> => {
    const all = req.query.get('all') === '1';
    return (await deps.store.listSchedules({ includeFinished: all })).map(scheduleJson);
  });
  router.add('GET', '/v1/schedules/:name', async (req): Promise<ScheduleJson> => {
    const rec = await deps.store.getSchedule(req.params.name);
    if (!rec) throw unknown(req.params.name);
    return scheduleJson(rec);
  });
  router.add('DELETE', '/v1/schedules/:name', async (req): Promise<ScheduleJson> => scheduleJson(await deps.scheduler.cancel(req.params.name)));
  router.add('GET', '/v1/schedules/:name/history', async (req): Promise<FireJson[]> => {
    if (!(await deps.store.getSchedule(req.params.name))) throw unknown(req.params.name);
    return (await deps.store.fireHistory(req.params.name)).map(fireJson);
  });
}
