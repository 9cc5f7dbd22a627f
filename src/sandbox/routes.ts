/**
 * kmd's sandbox API (`/v1/sandboxes…`). Create and clone stream NDJSON: progress lines
 * (`{"type":"step"|"warning"|"output",…}`) then one `{"type":"result",…}` or
 * `{"type":"error","error":{…}}`. The other routes answer one JSON document.
 */
import type { ServerResponse } from 'node:http';
import { KmError, toErrorBody } from '../core/errors.ts';
import type { Router } from '../daemon/index.ts';
import type { CloneRequest } from './clone.ts';
import type { OpOptions } from './ops.ts';
import type { SandboxService } from './service.ts';
import type { CreateRequest, Progress } from './types.ts';
import { safeTimeZone } from './when.ts';

type Body = Record<string, unknown>;

const bodyOf = (b: unknown): Body => (b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Body) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function opOptions(b: Body): OpOptions {
  return { actor: b.actor === 'schedule' ? 'schedule' : 'operator', timeZone: safeTimeZone(str(b.time_zone)) };
}

/** Streams progress lines, then the result or the error, as NDJSON. */
async function stream(res: ServerResponse, work: (progress: (p: Progress) => void) => Promise<unknown>): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  const line = (v: unknown) => {
    if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(v) + '\n');
  };
  try {
    const result = await work((p) => line(p));
    line({ type: 'result', result });
  } catch (e) {
    line({ type: 'error', error: toErrorBody(e) });
  }
  res.end();
}

export function registerSandboxRoutes(router: Router, service: SandboxService): void {
  router.add('POST', '/v1/sandboxes', (req) =>
    stream(req.raw.res, (progress) => {
      const b = bodyOf(req.body);
      if (b.profile === undefined || typeof b.profile !== 'object') throw new KmError('usage', 'create needs a resolved profile');
      return service.create(b as unknown as CreateRequest, progress);
    }),
  );
  router.add('GET', '/v1/sandboxes', (req) => service.list({ all: req.query.get('all') === '1' }));
  router.add('GET', '/v1/sandboxes/:ref', (req) => service.status(req.params.ref));
  router.add('POST', '/v1/sandboxes/:ref/clone', (req) =>
    stream(req.raw.res, (progress) => service.clone(req.params.ref, bodyOf(req.body) as unknown as CloneRequest, progress)),
  );
  router.add('POST', '/v1/sandboxes/:ref/pause', (req) => {
    const o = opOptions(bodyOf(req.body));
    return service.pause(req.params.ref, { ...o, pausedBy: o.actor === 'schedule' ? 'schedule' : 'operator' });
  });
  router.add('POST', '/v1/sandboxes/:ref/resume', (req) => service.resume(req.params.ref, opOptions(bodyOf(req.body))));
  router.add('POST', '/v1/sandboxes/:ref/stop', (req) => service.stop(req.params.ref, opOptions(bodyOf(req.body))));
  router.add('POST', '/v1/sandboxes/:ref/lock', (req) => service.lock(req.params.ref, true, opOptions(bodyOf(req.body))));
  router.add('POST', '/v1/sandboxes/:ref/unlock', (req) => service.lock(req.params.ref, false, opOptions(bodyOf(req.body))));
  router.add('POST', '/v1/sandboxes/:ref/extend', (req) => {
    const b = bodyOf(req.body);
    const byS = num(b.by_s);
    const idleS = num(b.idle_s);
    const byText = str(b.by_text);
    return service.extend(req.params.ref, { ...(byS !== undefined ? { byS } : {}), ...(idleS !== undefined ? { idleS } : {}), ...(byText ? { byText } : {}) }, opOptions(b));
  });
  router.add('POST', '/v1/images', (req) => {
    const b = bodyOf(req.body);
    const name = str(b.name);
    const description = str(b.description);
    return service.bakeImage(str(b.sandbox) ?? '', { ...(name ? { name } : {}), ...(description ? { description } : {}) });
  });
  router.add('GET', '/v1/images', (req) => service.listImages(req.query.getAll('search_path')));
  router.add('DELETE', '/v1/images/:name', async (req) => ({ message: await service.deleteImage(req.params.name) }));
  router.add('DELETE', '/v1/sandboxes/:ref', (req) =>
    service.destroy(req.params.ref, { ...opOptions(bodyOf(req.body)), purge: req.query.get('purge') === '1' }),
  );
}
