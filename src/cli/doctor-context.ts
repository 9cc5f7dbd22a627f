/** Builds the real DoctorContext and fixers for `km doctor` (and the substrate probes of `km info`). */
import { chmod } from 'node:fs/promises';
import { resolveStateDir, stateFiles } from '../config/index.ts';
import { isKmError } from '../core/errors.ts';
import { clearStaleFiles, ensureDaemon, stopDaemon } from '../daemon/index.ts';
import { probeDaemon, probeSqliteStore, realHost, runCommand, type ConfigProbe, type DoctorContext, type Fixers, type StoreProbe } from '../doctor/index.ts';
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
    store: once(store),
    config: once(() => configProbe(view)),
    cas: async () => undefined,
  };
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
