/** Builds the real DoctorContext and fixers for `km doctor` (and the substrate probes of `km info`). */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import { resolveStateDir, stateFiles } from '../config/index.ts';
import { isKmError } from '../core/errors.ts';
import { clearStaleFiles, ensureDaemon, stopDaemon } from '../daemon/index.ts';
import { probeDaemon, probeSqliteStore, realHost, runCommand, type CaSummary, type ConfigProbe, type DoctorContext, type Fixers, type SandboxSummary, type StoreProbe } from '../doctor/index.ts';
import { loadConfigView, type ConfigView } from './config-view.ts';
import { KM_VERSION } from './version.ts';

const once = <T>(f: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
};

async function configProbe(view: () => Promise<ConfigView>): Promise<ConfigProbe> {
  try {
    const v = await view();
    const message = v.files.length > 0 ? `loaded ${v.files.join(', ')}` : 'no config files; using defaults';
    return { ok: true, files: v.files, message, hint: null, requireEbpf: v.requireEbpf, defaultSubstrate: v.defaultSubstrate };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const hint = isKmError(e) ? (e.hint ?? null) : null;
    return { ok: false, files: [], message, hint, requireEbpf: false, defaultSubstrate: null };
  }
}

export function doctorContext(opts: { env: NodeJS.ProcessEnv; cwd: string; nowMs: number }): DoctorContext {
  const stateDir = resolveStateDir(opts.env);
  const view = once(() => loadConfigView({ env: opts.env, cwd: opts.cwd }));
  /** The configured SQLite store (the default file when the config does not load). */
  const store = async (): Promise<StoreProbe> => {
    const v = await view().catch(() => undefined);
    if (v?.store.kind === 'dynamodb') {
      return { exists: true, location: 'dynamodb', ok: true, message: 'checked with the AWS checks', schemaVersion: null, sandboxes: [] };
    }
    return probeSqliteStore(v?.store.location ?? stateFiles(stateDir).database);
  };
  const storeOnce = once(store);
  return {
    env: opts.env,
    stateDir,
    nodeVersion: process.version,
    cliVersion: KM_VERSION,
    uid: typeof process.geteuid === 'function' ? process.geteuid() : -1,
    nowMs: opts.nowMs,
    run: runCommand,
    host: realHost,
    daemon: once(() => probeDaemon(stateDir)),
    store: storeOnce,
    config: once(() => configProbe(view)),
    cas: async () => sandboxCas(stateDir, (await storeOnce()).sandboxes),
    processes: (sandboxes) => substrateStatuses(stateDir, sandboxes),
    gatekeeper: async () => (await import('../substrate/index.ts')).localGatekeeperUnavailable(),
  };
}

/** The signing CA of every sandbox the store lists (undefined when none has one on disk). */
async function sandboxCas(stateDir: string, sandboxes: readonly SandboxSummary[]): Promise<CaSummary[] | undefined> {
  const { sandboxPaths } = await import('../sandbox/index.ts');
  const out: CaSummary[] = [];
  for (const s of sandboxes) {
    const pem = await readFile(sandboxPaths(stateDir, s.id).caCert, 'utf8').catch(() => undefined);
    if (pem === undefined) continue;
    try {
      out.push({ sandboxId: s.id, notAfterMs: Date.parse(new X509Certificate(pem).validTo) });
    } catch {
      out.push({ sandboxId: s.id, notAfterMs: 0 });
    }
  }
  return out.length === 0 ? undefined : out;
}

/** Asks the local substrate about each local sandbox (a missing state dir is `missing`). */
async function substrateStatuses(stateDir: string, sandboxes: readonly SandboxSummary[]): Promise<Record<string, string>> {
  const local = sandboxes.filter((s) => (s.substrate ?? 'local') === 'local');
  if (local.length === 0) return {};
  const [{ createLocalSubstrate }, { sandboxPaths }] = await Promise.all([import('../substrate/index.ts'), import('../sandbox/index.ts')]);
  const substrate = createLocalSubstrate({ kmHome: stateDir });
  const out: Record<string, string> = {};
  try {
    for (const s of local) {
      const dir = sandboxPaths(stateDir, s.id).stateDir;
      if (!existsSync(dir)) {
        out[s.id] = 'missing';
        continue;
      }
      try {
        await substrate.adopt(s.id, dir);
        out[s.id] = await substrate.status(s.id);
      } catch {
        // Unreadable state (e.g. a root kmd's files): say nothing rather than guess.
      }
    }
  } finally {
    await substrate.close();
  }
  return out;
}

export function doctorFixers(env: NodeJS.ProcessEnv): Fixers {
  const stateDir = resolveStateDir(env);
  return {
    clearStaleDaemonFiles: async () => (await clearStaleFiles(stateDir)).removed,
    restartDaemon: async () => {
      await stopDaemon({ env, stateDir });
      return (await ensureDaemon({ env, stateDir })).health.pid;
    },
    tightenStateDir: () => chmod(stateDir, 0o700),
  };
}
