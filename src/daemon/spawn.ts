/** Starting kmd as a detached process in its own session, output appended to kmd.log. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, statSync } from 'node:fs';
import { stateFiles } from '../config/paths.ts';
import { entryPoint } from '../core/install-root.ts';

/** The kmd entry point (run with the same Node binary as the CLI). */
export const KMD_ENTRY = entryPoint('kmd');

/**
 * Node flags kmd runs with (bin/km gives `kmd` the same). The gateway relays AI streams as many
 * short-lived buffers; from V8's default starting limit the old generation was collected every
 * few dozen MB relayed. A 128 MB initial old-space limit leaves that garbage to the scavenger:
 * in bench/metering.ts a gateway's CPU per 1 MB stream fell by a third (3.7 → 2.4 ms, full
 * collections from ~5 to under 1 per 100 streams) with no higher peak RSS; an idle kmd's memory
 * is the same (the limit is not an allocation).
 */
export const KMD_NODE_FLAGS: readonly string[] = ['--disable-warning=ExperimentalWarning', '--initial-old-space-size=128'];

const MAX_LOG_BYTES = 10 * 1024 * 1024;

export interface SpawnedKmd {
  readonly pid: number;
  /** The exit code once the process has exited during our lifetime, else null. */
  exitCode(): number | null;
  /** Ends a kmd that did not become healthy in time. */
  kill(): void;
}

export type SpawnKmd = (opts: { stateDir: string; env: NodeJS.ProcessEnv }) => SpawnedKmd;

function rotateLog(path: string): void {
  try {
    if (statSync(path).size > MAX_LOG_BYTES) renameSync(path, `${path}.1`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export const spawnKmd: SpawnKmd = ({ stateDir, env }) => {
  const logPath = stateFiles(stateDir).daemonLog;
  rotateLog(logPath);
  const fd = openSync(logPath, 'a', 0o600);
  try {
    const child = spawn(process.execPath, [...KMD_NODE_FLAGS, KMD_ENTRY], {
      cwd: stateDir,
      env: { ...env, KM_HOME: stateDir },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.once('error', () => {});
    if (child.pid === undefined) throw new Error(`could not start ${process.execPath} ${KMD_ENTRY}`);
    let code: number | null = null;
    child.once('exit', (c, signal) => {
      code = c ?? (signal ? 128 : 1);
    });
    child.unref();
    const pid = child.pid;
    return {
      pid,
      exitCode: () => code,
      kill: () => {
        if (code === null) child.kill('SIGKILL');
      },
    };
  } finally {
    closeSync(fd);
  }
};
