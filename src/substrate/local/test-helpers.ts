/**
 * Test helpers for the local substrate: a throwaway KM_HOME with a gateway dir, a spec
 * factory, a collect-everything exec, and a disposable unprivileged user for running a test
 * file again as non-root.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ExecOptions, SandboxSpec, Substrate } from '../index.ts';

export interface Scratch {
  kmHome: string;
  gatewayDir: string;
  spec(id: string, extra?: Partial<SandboxSpec>): SandboxSpec;
  cleanup(): void;
}

export const TEST_CA = '-----BEGIN CERTIFICATE-----\nMIIBkmtestcertificate\n-----END CERTIFICATE-----\n';

export function scratch(prefix = 'km-substrate-'): Scratch {
  const kmHome = mkdtempSync(join(tmpdir(), prefix));
  const gatewayDir = join(kmHome, 'gw');
  mkdirSync(gatewayDir);
  chmodSync(kmHome, 0o700);
  chmodSync(gatewayDir, 0o755);
  const cleanup = (): void => rmSync(kmHome, { recursive: true, force: true });
  // A suite whose tests a name filter left out runs no after hooks: removed at exit then.
  process.once('exit', cleanup);
  return {
    kmHome,
    gatewayDir,
    spec: (id, extra = {}) => ({
      id,
      stateDir: join(kmHome, 'sandboxes', id),
      gatewayDir,
      env: { KM_TEST_VAR: 'from-profile' },
      workingDir: '/workspace',
      shell: '/bin/bash',
      caPem: TEST_CA,
      hostname: id,
      privileged: false,
      configFiles: [],
      mounts: [],
      ...extra,
    }),
    cleanup,
  };
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runIn(sub: Substrate, id: string, argv: string[], opts: ExecOptions & { input?: string } = {}): Promise<Ran> {
  const h = await sub.exec(id, argv, opts);
  let stdout = '';
  let stderr = '';
  h.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  h.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  h.stdin?.end(opts.input ?? '');
  return { code: await h.exit, stdout, stderr };
}

/** Pids of processes whose real uid is `uid`. */
function pidsOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const line = readFileSync(`/proc/${name}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
      if (Number(line?.split(/\s+/)[1]) === uid) out.push(Number(name));
    } catch {
      // exited
    }
  }
  return out;
}

/**
 * The temp user runs this checkout's Node and sources, so every directory above them must be
 * searchable by others: a checkout under a 0700 directory (e.g. from `mktemp -d`) gets `o+x`
 * added on those directories (search only, never read), and it is left in place so
 * concurrently running test files never race on it.
 */
function reachableForOthers(paths: string[]): void {
  for (const start of paths) {
    for (let dir = dirname(start); ; dir = dirname(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
      if (dir === '/') break;
    }
  }
}

/**
 * Creates a unique non-root user (root only). `remove()` first kills, by pid, every process
 * still running as that user (sandboxes a crashed or timed-out child left behind), then
 * deletes the user and its home.
 */
export function tempUser(): { name: string; uid: number; remove(): void } {
  reachableForOthers([new URL('../../..', import.meta.url).pathname, process.execPath]);
  const name = `kmt${process.pid}${Math.floor(Math.random() * 1e4)}`.slice(0, 30);
  const r = spawnSync('useradd', ['-m', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`useradd failed: ${r.stderr}`);
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  return {
    name,
    uid,
    remove: () => {
      for (let round = 0; round < 5; round += 1) {
        const pids = pidsOfUid(uid);
        if (pids.length === 0) break;
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        spawnSync('sleep', ['0.2']);
      }
      spawnSync('userdel', ['-r', '-f', name], { stdio: 'ignore' });
    },
  };
}

/** argv prefix that runs a command as `user` with its own groups. */
export const asUser = (user: string): string[] => ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--'];

/**
 * A scratch dir under /var/tmp (an overlaid base dir, so masking is exercised) owned by the
 * user, for a child run's TMPDIR / KM_SCRATCH_BASE; removed by the caller with rmSync.
 */
export function userScratch(uid: number): string {
  const dir = mkdtempSync('/var/tmp/km-child-');
  chownSync(dir, uid, uid);
  return dir;
}

/** Set in the environment of a test file run again by `runAsFreshUser`. */
export const CHILD_RUN = 'KM_SUBSTRATE_CHILD';

/** Why a file's "again as a fresh user" test does not apply here, or false. */
export const freshUserSkip = (): string | false =>
  process.getuid?.() !== 0 ? 'already unprivileged' : process.env[CHILD_RUN] ? 'child run' : false;

/**
 * Runs a test file (TAP reporter) as a fresh unprivileged user with its own TMPDIR, then
 * removes the user and everything it left; the caller asserts on the result.
 */
export function runAsFreshUser(file: URL): SpawnSyncReturns<string> {
  const user = tempUser();
  const dir = userScratch(user.uid);
  try {
    return spawnSync(asUser(user.name)[0] as string, [
      ...asUser(user.name).slice(1), process.execPath, '--test', '--test-reporter=tap', file.pathname,
    ], {
      encoding: 'utf8',
      cwd: '/tmp',
      timeout: 120_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: `/home/${user.name}`, TMPDIR: dir, [CHILD_RUN]: '1' },
    });
  } finally {
    user.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
