/** The daemon's files in the state directory: socket, pid file, and who a pid belongs to. */
import { readFileSync, unlinkSync } from 'node:fs';
import { KmError } from '../core/errors.ts';

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export function socketPathProblem(path: string): KmError | undefined {
  const n = Buffer.byteLength(path);
  if (n <= MAX_SOCKET_PATH_BYTES) return undefined;
  return new KmError('config_invalid', `the kmd socket path ${path} is ${n} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`, {
    hint: 'set KM_HOME to a shorter directory',
  });
}

function unlinkQuiet(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Removes a socket or pid file; callers hold the kmd instance lock or know kmd is gone. */
export function removeFile(path: string): boolean {
  return unlinkQuiet(path);
}

export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function removePidFileIfOurs(path: string, pid: number): void {
  if (readPidFile(path) === pid) unlinkQuiet(path);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is alive and its command line runs kmd (not a recycled pid). */
export function isKmdProcess(pid: number): boolean {
  if (!processAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  return cmdline.split('\0').some((arg) => /(^|\/)kmd(\.ts)?$/.test(arg));
}
