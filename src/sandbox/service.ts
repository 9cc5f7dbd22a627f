/**
 * The sandbox service: everything kmd's routes and the reconciler do to sandboxes, through
 * one object, so rules such as the lock hold for every caller (SPEC §17.2).
 */
import type { SandboxRecord } from '../store/index.ts';
import { cloneSandbox, type CloneRequest } from './clone.ts';
import { buildSandbox, prepareCreate } from './create.ts';
import { sandboxPaths } from './files.ts';
import { bakeImage, deleteImage, listImages, type ImageJson } from './images.ts';
import {
  destroySandbox, extendSandbox, lockSandbox, pauseSandbox, resumeSandbox, stopSandbox,
  type ExtendInput, type OpOptions, type OpOutcome,
} from './ops.ts';
import { sandboxJson, type SandboxJson } from './record.ts';
import { resolveSandboxRef, type ResolveRefOptions } from './reference.ts';
import { statusDetail, type GatewayStatsSource, type SandboxStatusJson } from './status.ts';
import type { CreateRequest, OpResult, ProgressSink, SandboxServiceDeps } from './types.ts';
import type { PausedBy } from '../store/index.ts';

export interface SandboxService {
  resolve(ref: string, options?: ResolveRefOptions): Promise<SandboxRecord>;
  create(req: CreateRequest, progress?: ProgressSink): Promise<SandboxJson>;
  clone(ref: string, req: CloneRequest, progress?: ProgressSink): Promise<SandboxJson[]>;
  list(options?: { all?: boolean }): Promise<SandboxJson[]>;
  status(ref: string): Promise<SandboxStatusJson>;
  json(s: SandboxRecord): Promise<SandboxJson>;
  pause(ref: string, o?: OpOptions & { pausedBy?: PausedBy }): Promise<OpResult>;
  resume(ref: string, o?: OpOptions): Promise<OpResult>;
  stop(ref: string, o?: OpOptions): Promise<OpResult>;
  destroy(ref: string, o?: OpOptions & { purge?: boolean }): Promise<OpResult>;
  lock(ref: string, locked: boolean, o?: OpOptions): Promise<OpResult>;
  extend(ref: string, x: ExtendInput, o?: OpOptions): Promise<OpResult>;
  bakeImage(ref: string, opts: { name?: string; description?: string }): Promise<ImageJson>;
  listImages(searchPaths: readonly string[]): Promise<ImageJson[]>;
  deleteImage(name: string): Promise<string>;
  /** The same operations on a record already in hand (the reconciler). */
  readonly ops: {
    pause(s: SandboxRecord, o?: OpOptions & { pausedBy?: PausedBy }): Promise<OpOutcome>;
    stop(s: SandboxRecord, o?: OpOptions): Promise<OpOutcome>;
    destroy(s: SandboxRecord, o?: OpOptions): Promise<OpOutcome>;
  };
}

const noProgress: ProgressSink = () => {};

export function createSandboxService(deps: SandboxServiceDeps, gatewayStats?: GatewayStatsSource): SandboxService {
  const json = async (s: SandboxRecord): Promise<SandboxJson> => {
    const [aiSpentUsd, budget] = await Promise.all([deps.store.aiSpentUsd(s.id), deps.store.getBudget(s.id)]);
    return sandboxJson(s, deps.clock.now(), { aiSpentUsd, budget });
  };
  const result = async (o: OpOutcome): Promise<OpResult> => ({ message: o.message, changed: o.changed, sandbox: await json(o.record) });
  const resolve = (ref: string, options?: ResolveRefOptions) => resolveSandboxRef(deps.store, ref, options);
  return {
    resolve,
    json,
    async create(req, progress = noProgress) {
      const prep = prepareCreate(deps, req);
      return json(await buildSandbox(deps, req, prep, progress));
    },
    async clone(ref, req, progress = noProgress) {
      const src = await resolve(ref);
      const made = await cloneSandbox(deps, src, req, progress);
      return Promise.all(made.map(json));
    },
    async list(options = {}) {
      const rows = await deps.store.listSandboxes({ includeDestroyed: options.all ?? false });
      return Promise.all(rows.map(json));
    },
    async status(ref) {
      const s = await resolve(ref, { allowDestroyed: true });
      const paths = sandboxPaths(deps.kmHome, s.id);
      return statusDetail(await json(s), s, { kmHome: deps.kmHome, store: deps.store, paths, nowMs: deps.clock.now(), gatewayStats });
    },
    pause: async (ref, o) => result(await pauseSandbox(deps, await resolve(ref), o)),
    resume: async (ref, o) => result(await resumeSandbox(deps, await resolve(ref), o)),
    stop: async (ref, o) => result(await stopSandbox(deps, await resolve(ref), o)),
    destroy: async (ref, o) => result(await destroySandbox(deps, await resolve(ref), o)),
    lock: async (ref, locked, o) => result(await lockSandbox(deps, await resolve(ref), locked, o)),
    extend: async (ref, x, o) => result(await extendSandbox(deps, await resolve(ref), x, o)),
    bakeImage: async (ref, opts) => bakeImage(deps, await resolve(ref), opts),
    listImages: (searchPaths) => listImages(deps, searchPaths),
    deleteImage: (name) => deleteImage(deps, name),
    ops: {
      pause: (s, o) => pauseSandbox(deps, s, o),
      stop: (s, o) => stopSandbox(deps, s, o),
      destroy: (s, o) => destroySandbox(deps, s, o),
    },
  };
}
