/**
 * Local images (SPEC §9.6): `bake` snapshots a sandbox's writable layer (a running sandbox
 * is frozen for the copy) into `$KM_HOME/images/<name>`, next to `image.json`; a profile
 * with `runtime.ami: <name>` then starts from the same base with that layer copied in.
 * `delete` refuses while a non-destroyed sandbox uses the image.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toIso } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import type { SandboxRecord } from '../store/index.ts';
import { labelOf } from './record.ts';
import type { SandboxServiceDeps } from './types.ts';

export const IMAGE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface ImageMeta {
  name: string;
  /** `host` (the host's root, read-only) — the base the layer applies to. */
  base: string;
  created_at: string;
  source_sandbox: string | null;
  description: string | null;
}

export interface ImageJson extends ImageMeta {
  size_bytes: number;
  used_by: { sandboxes: string[]; profiles: string[] };
}

export const imagesDir = (kmHome: string): string => join(kmHome, 'images');
const imageDir = (kmHome: string, name: string): string => join(imagesDir(kmHome), name);
/** The image's layer, laid out like a substrate state dir (`upper/`, `rootfs/…`). */
export const imageLayerDir = (kmHome: string, name: string): string => join(imageDir(kmHome, name), 'layer');

export function readImage(kmHome: string, name: string): ImageMeta | undefined {
  try {
    return JSON.parse(readFileSync(join(imageDir(kmHome, name), 'image.json'), 'utf8')) as ImageMeta;
  } catch {
    return undefined;
  }
}

function defaultName(s: SandboxRecord, nowMs: number): string {
  const stamp = toIso(nowMs).replace(/[-:]/g, '').replace('T', '-').replace('Z', '');
  return `${labelOf(s)}-${stamp}`;
}

function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split('\t')[0]) || 0 : 0;
}

export async function bakeImage(deps: SandboxServiceDeps, s: SandboxRecord, opts: { name?: string; description?: string }): Promise<ImageJson> {
  const name = opts.name ?? defaultName(s, deps.clock.now());
  if (!IMAGE_NAME_RE.test(name)) throw new KmError('usage', `invalid image name "${name}": use [a-z0-9][a-z0-9._-]{0,62}`);
  if (!['running', 'paused', 'stopped'].includes(s.status)) throw new KmError('invalid_state', `${labelOf(s)} is ${s.status}; only running, paused or stopped sandboxes can be baked`);
  if (readImage(deps.kmHome, name)) throw new KmError('usage', `image ${name} already exists`, { hint: 'choose another --name, or km image delete it first' });
  const sub = deps.substrates[s.substrate];
  if (!sub?.snapshotLayer) throw new KmError('not_available', `baking images of ${s.substrate} sandboxes is not available in this version`);
  const dir = imageDir(deps.kmHome, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const freeze = s.status === 'running';
  try {
    if (freeze) await sub.pause(s.id);
    try {
      await sub.snapshotLayer(s.id, imageLayerDir(deps.kmHome, name));
    } finally {
      if (freeze) await sub.resume(s.id);
    }
    const meta: ImageMeta = { name, base: s.image ? (readImage(deps.kmHome, s.image)?.base ?? 'host') : 'host', created_at: toIso(deps.clock.now()), source_sandbox: s.id, description: opts.description ?? null };
    writeFileSync(join(dir, 'image.json'), JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 });
    await deps.events.record(s.id, 'image.baked', 'kmd', { image: name });
    return { ...meta, size_bytes: duBytes(dir), used_by: { sandboxes: [], profiles: [] } };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Profiles in the search paths that name the image in `runtime.ami` (text scan). */
function profilesUsing(name: string, searchPaths: readonly string[]): string[] {
  const re = new RegExp(`^\\s*ami:\\s*["']?${name.replace(/[.]/g, '\\.')}["']?\\s*(#.*)?$`, 'm');
  const out: string[] = [];
  for (const dir of searchPaths) {
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    } catch {
      continue;
    }
    for (const f of files) {
      try {
        const name = f.replace(/\.ya?ml$/, '');
        if (!out.includes(name) && re.test(readFileSync(join(dir, f), 'utf8'))) out.push(name);
      } catch {
        // unreadable: skip
      }
    }
  }
  return out;
}

export async function listImages(deps: SandboxServiceDeps, searchPaths: readonly string[]): Promise<ImageJson[]> {
  const dir = imagesDir(deps.kmHome);
  if (!existsSync(dir)) return [];
  const live = await deps.store.listSandboxes();
  const out: ImageJson[] = [];
  for (const name of readdirSync(dir).sort()) {
    const meta = readImage(deps.kmHome, name);
    if (!meta) continue;
    const sandboxes = live.filter((s) => s.image === name).map(labelOf);
    out.push({ ...meta, size_bytes: duBytes(imageDir(deps.kmHome, name)), used_by: { sandboxes, profiles: profilesUsing(name, searchPaths) } });
  }
  return out;
}

export async function deleteImage(deps: SandboxServiceDeps, name: string): Promise<string> {
  if (!readImage(deps.kmHome, name)) throw new KmError('not_found', `no local image "${name}" (see km image list)`);
  const users = (await deps.store.listSandboxes()).filter((s) => s.image === name).map(labelOf);
  if (users.length > 0) throw new KmError('invalid_state', `image ${name} is used by ${users.join(', ')}; destroy them first`);
  rmSync(imageDir(deps.kmHome, name), { recursive: true, force: true });
  return `Deleted image ${name}`;
}
