/**
 * `km clone` (SPEC §8.10): new sandboxes from an existing one's stored resolved profile,
 * each with its own ID, CA and fresh clocks. By default the source's writable layer is
 * copied (a running source is frozen for the copy and thawed after) and init commands are
 * not run; `--no-copy` builds a fresh filesystem and runs them.
 */
import { KmError } from '../core/errors.ts';
import type { Profile } from '../profile/index.ts';
import type { SandboxRecord } from '../store/index.ts';
import { buildSandbox, prepareCreate } from './create.ts';
import type { CreateOverrides } from './overrides.ts';
import type { CreateConfig, ProgressSink, SandboxServiceDeps } from './types.ts';

import { cloneAliases } from './clone-aliases.ts';

export { cloneAliases };

export interface CloneRequest {
  alias?: string | null;
  noCopy?: boolean;
  count?: number;
  overrides?: CreateOverrides;
  config: CreateConfig;
}

export async function cloneSandbox(deps: SandboxServiceDeps, src: SandboxRecord, req: CloneRequest, progress: ProgressSink): Promise<SandboxRecord[]> {
  if (!['running', 'paused', 'stopped'].includes(src.status)) {
    throw new KmError('invalid_state', `${src.alias ?? src.id} is ${src.status}; only running, paused or stopped sandboxes can be cloned`);
  }
  const aliases = cloneAliases(req.alias, req.count ?? 1);
  const active = await deps.store.countActiveSandboxes();
  if (active + aliases.length > req.config.maxSandboxes) {
    throw new KmError('limit_reached', `limit reached: ${active} of ${req.config.maxSandboxes} sandboxes exist and ${aliases.length} more were asked for; destroy some or raise max_sandboxes`);
  }
  const base = { profile: src.profile as Profile, profileName: src.profileName, config: req.config, createdBy: 'clone' as const, overrides: req.overrides ?? {} };
  const prep = prepareCreate(deps, base);
  if (!req.noCopy && prep.substrate.name !== src.substrate) {
    throw new KmError('usage', `cannot copy the filesystem of ${src.substrate} sandbox ${src.id} to ${prep.substrate.name}`, { hint: 'add --no-copy' });
  }
  const out: SandboxRecord[] = [];
  const sub = deps.substrates[src.substrate];
  const freeze = !req.noCopy && src.status === 'running' && sub !== undefined;
  if (freeze) await sub.pause(src.id);
  try {
    for (const alias of aliases) {
      const rec = await buildSandbox(deps, { ...base, alias }, prep, progress, { clonedFrom: src.id, ...(req.noCopy ? {} : { copyFrom: src.id }) });
      out.push(rec);
    }
  } finally {
    if (freeze) await sub.resume(src.id);
  }
  return out;
}
