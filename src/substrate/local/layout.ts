/**
 * The on-disk layout of one local sandbox and its root filesystem skeleton.
 *
 * The sandbox root is `rootfs/` (a plain directory in the state dir, bind-mounted as `/`
 * inside). Every top-level directory of the base (host `/` or an image) that is not in
 * `NOT_FROM_BASE` is an overlayfs mount point in it: lower = the base directory, upper/work
 * = `upper/<name>` and `work/<name>`. Overlays are per top-level directory because the host
 * root carries locked submounts (/proc, /sys, /dev …) that the kernel refuses to clone as an
 * overlay lower layer from inside a user namespace. Top-level symlinks (`bin -> usr/bin`) are
 * copied. `/home`, `/root`, `/tmp`, `/workspace`, `/mnt` and `/media` live directly in
 * `rootfs/`, so the operator's home, root's home and host /tmp are never visible; whatever
 * the workload writes there persists with the sandbox.
 *
 * Layer format (SPEC §9.6; what `km image bake` snapshots and `clone` copies): the sandbox's
 * filesystem = base + `rootfs/` + `upper/<dir>` for each overlaid `<dir>`. Upper dirs are
 * plain overlayfs upper layers mounted with `userxattr`: deletions are whiteouts (character
 * devices 0/0), opaque directories carry `user.overlay.opaque=y`, so a copy must preserve
 * device nodes and `user.*` xattrs (`cp -a`, `tar --xattrs --xattrs-include='user.*'`). `work/`
 * is overlayfs scratch and is never copied. Every file in the layer belongs to the tree's host
 * uid (kmd's uid, or `rootHostId` under a root kmd). A baked image is a flattened directory
 * (base merged with the layer) passed back as `baseImage`; `spec.json`, `runtime.json`,
 * `etc/`, `ca/`, `setup.plan` (or `init.sh`), `nft.rules` and `sandbox.log` are per-sandbox
 * and not part of it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Base top-level entries that never come from the base. */
const NOT_FROM_BASE = new Set([
  'proc', 'sys', 'dev', 'run', 'tmp', 'home', 'root', 'mnt', 'media', 'boot',
  'lost+found', 'workspace', 'old_root',
]);

/** Directories created directly in rootfs (name → mode). */
const ROOTFS_DIRS: ReadonlyArray<readonly [string, number]> = [
  ['proc', 0o555], ['sys', 0o555], ['dev', 0o755], ['run', 0o755], ['tmp', 0o1777],
  ['home', 0o755], ['home/sandbox', 0o755], ['root', 0o700], ['mnt', 0o755],
  ['media', 0o755], ['workspace', 0o755],
];

export interface StatePaths {
  stateDir: string;
  spec: string;
  runtime: string;
  rootfs: string;
  upper: string;
  work: string;
  etc: string;
  ca: string;
  initScript: string;
  /** km-setup's plan (setup-plan.ts); init.sh where the helper is not built. */
  setupPlan: string;
  log: string;
}

export function statePaths(stateDir: string): StatePaths {
  return {
    stateDir,
    spec: join(stateDir, 'spec.json'),
    runtime: join(stateDir, 'runtime.json'),
    rootfs: join(stateDir, 'rootfs'),
    upper: join(stateDir, 'upper'),
    work: join(stateDir, 'work'),
    etc: join(stateDir, 'etc'),
    ca: join(stateDir, 'ca'),
    initScript: join(stateDir, 'init.sh'),
    setupPlan: join(stateDir, 'setup.plan'),
    log: join(stateDir, 'sandbox.log'),
  };
}

export interface BaseLayout {
  /** Top-level directory names mounted as overlays. */
  overlays: string[];
  /** Top-level symlinks copied into rootfs. */
  symlinks: Array<{ name: string; target: string }>;
}

export function scanBase(baseDir: string): BaseLayout {
  const overlays: string[] = [];
  const symlinks: Array<{ name: string; target: string }> = [];
  for (const name of readdirSync(baseDir).sort()) {
    if (NOT_FROM_BASE.has(name)) continue;
    const st = lstatSync(join(baseDir, name));
    if (st.isSymbolicLink()) symlinks.push({ name, target: readlinkSync(join(baseDir, name)) });
    else if (st.isDirectory()) overlays.push(name);
  }
  return { overlays, symlinks };
}

export interface Owner {
  uid: number;
  gid: number;
}

function mkdirOwned(path: string, mode: number, owner: Owner | null): void {
  mkdirSync(path, { recursive: true });
  chmodSync(path, mode);
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/** Directories the sandbox user owns (when it has its own host id). */
const SANDBOX_OWNED = ['workspace', 'home/sandbox'];

/**
 * Creates (idempotently) the rootfs skeleton plus upper/work dirs for every overlay, owned by
 * `owner` (root inside) except /workspace and /home/sandbox (`sandboxOwner`, if given).
 */
export function buildSkeleton(paths: StatePaths, layout: BaseLayout, owner: Owner | null, sandboxOwner: Owner | null = null): void {
  for (const dir of [paths.rootfs, paths.upper, paths.work, paths.etc, paths.ca]) {
    mkdirOwned(dir, 0o755, owner);
  }
  for (const [name, mode] of ROOTFS_DIRS) {
    mkdirOwned(join(paths.rootfs, name), mode, sandboxOwner && SANDBOX_OWNED.includes(name) ? sandboxOwner : owner);
  }
  for (const name of layout.overlays) {
    mkdirOwned(join(paths.rootfs, name), 0o755, owner);
    mkdirOwned(join(paths.upper, name), 0o755, owner);
    mkdirOwned(join(paths.work, name), 0o755, owner);
  }
  for (const { name, target } of layout.symlinks) {
    const at = join(paths.rootfs, name);
    try {
      lstatSync(at);
    } catch {
      symlinkSync(target, at);
      if (owner) lchownSync(at, owner.uid, owner.gid);
    }
  }
}

/** Directories of `rootfs/` that hold sandbox data directly (not overlay mount points). */
const WRITABLE_ROOTFS_DIRS = ['home', 'root', 'tmp', 'workspace', 'mnt', 'media'];

/**
 * Clone support: copies another sandbox's writable layer (overlay upper dirs and the
 * rootfs-resident directories) into a freshly built skeleton, preserving owners, modes and
 * overlay whiteouts (`cp -a`).
 *
 * The source is the workload's: root inside may have replaced `/home`, `/mnt` … with a
 * symlink, which the host would resolve against its own root (`/mnt -> /root/.ssh` would copy
 * the host's files into the clone). So no path of the source is ever followed: each directory
 * is opened with O_NOFOLLOW and copied through that descriptor (`/proc/self/fd/3/.` in cp);
 * an entry that is not a directory (a planted symlink) is copied as itself, unresolved.
 */
export function copyWritableLayer(from: StatePaths, to: StatePaths): void {
  const pairs: Array<[string, string]> = [[from.upper, to.upper], ...WRITABLE_ROOTFS_DIRS.map((d): [string, string] => [join(from.rootfs, d), join(to.rootfs, d)])];
  for (const [src, dst] of pairs) {
    let fd: number;
    try {
      fd = openSync(src, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code !== 'ELOOP' && code !== 'ENOTDIR') throw new Error(`copying ${src} to ${dst} failed: ${(e as Error).message}`);
      // A symlink or a file where the skeleton has a directory: the entry itself replaces it.
      rmSync(dst, { recursive: true, force: true });
      runCp(['-a', '-T', src, dst], src, dst);
      continue;
    }
    try {
      runCp(['-a', '--reflink=auto', '/proc/self/fd/3/.', `${dst}/`], src, dst, fd);
    } finally {
      closeSync(fd);
    }
  }
}

function runCp(args: string[], src: string, dst: string, fd?: number): void {
  const r = spawnSync('cp', args, { encoding: 'utf8', stdio: fd === undefined ? 'pipe' : ['ignore', 'pipe', 'pipe', fd] });
  if (r.status !== 0) throw new Error(`copying ${src} to ${dst} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}
