/**
 * The operator config for latency-sensitive commands (`km exec`, `km list`, …): the same
 * result as `loadOperatorConfig`, remembered in `$KM_HOME/cache/config.json` keyed by a
 * digest of everything the result depends on (this build, the paths and bytes of the config
 * files that exist, the KM_* variables, HOME). A hit skips YAML parsing and schema validation (and
 * loading the code for them); any change to an input is a miss, and a miss loads and
 * validates as usual, so an invalid config is reported exactly as before. Nothing is cached
 * when running from source (the schema may change under it), when a reader is injected, or
 * when the config holds a secret (anything `km info` masks: passwords, tokens, redaction
 * literals, proxy credentials, webhook URLs), which km never writes anywhere: such configs
 * are loaded in full every time.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_ID } from '../core/install-root.ts';
import type { LoadConfigOptions, LoadedConfig } from './load.ts';
import { configFiles } from './paths.ts';

interface CacheFile {
  key: string;
  loaded: LoadedConfig;
}

/** The file's bytes, null when it does not exist; other read errors propagate (no caching then). */
async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function cacheKey(options: LoadConfigOptions, build: string): Promise<{ key: string; bytes: Map<string, Buffer | null> }> {
  const where = configFiles(options.env, options.cwd);
  // The working directory matters only through a project file that exists there.
  const h = createHash('sha256').update(`${build}\0${options.env.HOME ?? ''}\0`);
  const bytes = new Map<string, Buffer | null>();
  for (const [role, file] of [['user', where.user], ['project', where.project]] as const) {
    const b = bytes.has(file) ? (bytes.get(file) ?? null) : await readOrNull(file);
    bytes.set(file, b);
    h.update(b === null ? `${role}:absent\0` : `${role}:${file}\0${createHash('sha256').update(b).digest('hex')}\0`);
  }
  for (const [k, v] of Object.entries(options.env).filter(([k]) => k.startsWith('KM_')).sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(`${k}=${v ?? ''}\0`);
  }
  return { key: h.digest('hex'), bytes };
}

function readCache(path: string, key: string): LoadedConfig | null {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
    return c.key === key ? c.loaded : null;
  } catch {
    return null;
  }
}

/** Best effort: only into an existing state directory, written whole (rename), private. */
function writeCache(stateDir: string, path: string, body: CacheFile): void {
  if (!existsSync(stateDir)) return;
  try {
    mkdirSync(join(stateDir, 'cache'), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(body), { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    /* a read-only or full state directory only loses the speed-up */
  }
}

/** Whatever `km info` would mask (SECRET_PATHS, proxy passwords, webhook URL paths) is a secret. */
async function holdsSecret(config: LoadedConfig['config']): Promise<boolean> {
  const { maskSecrets } = await import('./mask.ts');
  return JSON.stringify(maskSecrets(config)) !== JSON.stringify(config);
}

/** `build` is this build's id (tests pass one; null means never cache). */
export async function loadOperatorConfigCached(options: LoadConfigOptions, build: string | null = BUILD_ID): Promise<LoadedConfig> {
  const load = async (reader?: LoadConfigOptions['reader']) => (await import('./load.ts')).loadOperatorConfig(reader ? { ...options, reader } : options);
  if (build === null || options.reader !== undefined) return load();
  let made: Awaited<ReturnType<typeof cacheKey>>;
  try {
    made = await cacheKey(options, build);
  } catch {
    return load(); // an unreadable file: reported by the full load
  }
  const { key, bytes } = made;
  const stateDir = configFiles(options.env, options.cwd).stateDir;
  const path = join(stateDir, 'cache', 'config.json');
  const hit = readCache(path, key);
  if (hit !== null) return hit;
  // Validate exactly the bytes the key was made from.
  const loaded = await load(async (file) => (bytes.has(file) ? (bytes.get(file) ?? undefined) : ((await readOrNull(file)) ?? undefined)));
  if (!(await holdsSecret(loaded.config))) writeCache(stateDir, path, { key, loaded });
  return loaded;
}
