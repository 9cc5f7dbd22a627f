/** Starting kmd as a detached process in its own session, output appended to kmd.log. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, statSync } from 'node:fs';
import { stateFiles } from '../config/paths.ts';
import { entryPoint } from '../core/install-root.ts';

/** The kmd entry point (run with the same Node binary as the CLI). */
export const KMD_ENTRY = entryPoint('kmd');

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
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', KMD_ENTRY], {
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
