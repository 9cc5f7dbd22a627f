/**
 * The local substrate (SPEC §9): isolated sandboxes on one Linux machine with bubblewrap.
 *
 * Namespaces: every sandbox gets user, mount, PID, IPC, UTS, cgroup and network namespaces.
 * Root inside (init commands, `exec --root`) is uid 0 of the sandbox's user namespace,
 * limited to CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETUID, SETGID, KILL; the workload is uid
 * 1000 `sandbox` (home /home/sandbox, cwd /workspace) with no capabilities and
 * no_new_privs. No process inside may create further user namespaces. The tree never runs
 * as host root:
 *
 * - root kmd ("dual" ids, userns.ts): one user namespace mapping two dedicated host ids,
 *   `rootHostId` (default 100000) → 0 and `rootHostId + 1` → 1000, so root inside and the
 *   workload own different files (the workload cannot touch the system directories of its
 *   own layer) and its bounding set is empty. cgroup limits apply.
 * - unprivileged kmd: a user namespace can map only kmd's own uid, so two are stacked: the
 *   outer maps it to 0 and owns every other namespace, a nested one maps that 0 to 1000 and
 *   holds the workload. Known limit: root inside and `sandbox` are then the same owner on
 *   disk (and the top of each overlaid base directory, whose owner comes from its upper
 *   dir, is writable by both), so root inside is no boundary against the workload; the
 *   sandbox is.
 *
 * Either way host-root-owned files of the base map to nobody: readable per their mode bits,
 * never modifiable, not even by root inside; package installs into system paths need an
 * imported image (SPEC §9.2, §9.6).
 *
 * Filesystem (layout.ts), network (network.ts), setup (setup-steps.ts, run by km-setup or
 * as init-script.ts), launch and persistence (launch.ts, tree-argv.ts, runtime.ts), exec
 * (exec.ts), pause/stop (lifecycle.ts), cgroups (cgroups.ts, root only). Masked: `kmHome`
 * (state dir, kmd sockets, other sandboxes), the operator's home, /root, host /tmp, /run,
 * /home, plus `extraMasks`.
 *
 * Requirements on neighbours: the gateway's sockets must be connectable by the tree's host
 * uid (mode 0666 is fine: only sandboxes that bind the dir can reach them); read-write
 * operator mounts must be writable by it on the host.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, lstatSync, chownSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { KmError, invalidState, notFound } from '../../core/errors.ts';
import type {
  ExecHandle, ExecOptions, ExecPlan, SandboxHandleInfo, SandboxLimits, SandboxSpec, StopOptions, Substrate, SubstrateStatus,
} from '../index.ts';
import { cgroupsUsable, createCgroups, procsFiles, removeCgroups } from './cgroups.ts';
import type { CgroupPaths } from './cgroups.ts';
import { sandboxEnv } from './etc-files.ts';
import { execPlan, startPlan } from './exec.ts';
import { installedHelper, nativeHelper } from '../../native/index.ts';
import { launch } from './launch.ts';
import { setupHelperFor } from './setup-helper.ts';
import { buildSkeleton, copyWritableLayer, scanBase, statePaths } from './layout.ts';
import { endTree, freezeTree, thawTree } from './lifecycle.ts';
import { isAlive, waitFor } from './proctree.ts';
import type { RuntimeRecord, StoredSpec } from './runtime.ts';
import { readRuntime, readSpec, writeRuntime, writeSpec } from './runtime.ts';
import { configFileCommands } from './config-files.ts';
import { cachedGatekeeperProbe, createSandboxGatekeepers } from './bpf.ts';
import type { GatekeeperDeny } from './bpf.ts';
export { localSubstrateAvailability } from './availability.ts';
export type { LocalAvailability } from './availability.ts';
export type { GatekeeperDeny } from './bpf.ts';
export { gatekeeperUnavailable as localGatekeeperUnavailable } from './bpf.ts';

export interface LocalSubstrateOptions {
  /** The km state dir (KM_HOME); hidden inside every sandbox. */
  kmHome: string;
  /** The operator's home (default: os.homedir()); hidden. */
  hostHome?: string;
  extraMasks?: string[];
  bwrapPath?: string;
  /**
   * Root kmd: host uid/gid that root inside maps to (default 100000); the sandbox user maps
   * to `rootHostId + 1`. Pick ids no host user or subuid range uses.
   */
  rootHostId?: number;
  startTimeoutMs?: number;
  /** km-spawn for exec (tests); default the built helper when there is one, null = never. */
  spawnHelper?: string | null;
  /**
   * km-setup for the sandbox setup; default the built helper (compiled on first use) where it
   * can run, null = the bash setup (init-script.ts).
   */
  setupHelper?: string | null;
  /** Try nftables transparent capture inside the namespace (default true). */
  capture?: boolean;
  /** Connects the BPF gatekeeper refused (at most 50 per 10 s per sandbox; `suppressed` counts the rest). */
  onDeny?: (id: string, deny: GatekeeperDeny & { suppressed?: number }) => void;
}

export function createLocalSubstrate(options: LocalSubstrateOptions): Substrate {
  const known = new Map<string, string>();
  const gatekeeperProbe = cachedGatekeeperProbe();
  const gatekeepers = createSandboxGatekeepers(options.onDeny, gatekeeperProbe);
  const isRoot = process.getuid?.() === 0;
  // Decided at the first start (null: the bash setup was asked for, or km-setup cannot run).
  let setupHelper = options.setupHelper;
  const setupWith = (): string | null => {
    if (setupHelper === undefined) setupHelper = setupHelperFor(isRoot);
    return setupHelper;
  };
  const paths = (id: string) => {
    const dir = known.get(id);
    if (dir === undefined) throw notFound(`no local sandbox ${id} is known to this substrate`);
    return statePaths(dir);
  };
  const stored = (id: string): StoredSpec => {
    const s = readSpec(paths(id).spec);
    if (!s) throw notFound(`sandbox ${id} has no spec in ${paths(id).stateDir}`);
    return s;
  };
  const runtime = (id: string): RuntimeRecord | null => readRuntime(paths(id).runtime);
  const live = (id: string): RuntimeRecord | null => {
    const rt = runtime(id);
    return rt && isAlive(rt.init) && isAlive(rt.holder) ? rt : null;
  };

  const statusOf = (id: string): SubstrateStatus => {
    if (!known.has(id) || !existsSync(paths(id).spec)) return 'missing';
    const rt = live(id);
    if (!rt) return 'stopped';
    return rt.paused ? 'paused' : 'running';
  };

  const info = (id: string, warnings: string[] = []): SandboxHandleInfo => {
    const rt = live(id);
    const s = stored(id);
    const cg = rt?.cgroups ?? null;
    return {
      id,
      status: statusOf(id),
      stateDir: paths(id).stateDir,
      pid: rt?.init.pid ?? null,
      features: {
        cgroups: cg?.limitsIn ?? 'none',
        freeze: cg?.freeze ?? 'signals',
        transparent: rt?.capture ?? false,
        limits: cg && cg.limitsIn !== 'none' ? (s.spec.limits ?? {}) : {},
        gatekeeper: rt?.gatekeeper ?? false,
      },
      warnings,
    };
  };

  // Each path as given and as the host resolves it: a symlink on the way (/var/tmp/link/km)
  // exists inside as well, and the directory it leads to must be hidden too.
  const masks = (): string[] => {
    const list = [options.kmHome, options.hostHome ?? homedir(), ...(options.extraMasks ?? [])];
    return [...new Set(list.flatMap((p) => [resolve(p), realpathOr(p)]).filter((p) => p !== '/'))];
  };

  const execAs = async (id: string, argv: string[], opts: ExecOptions, stdin?: string): Promise<number> => {
    const h = await api.exec(id, argv, { ...opts, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    h.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    h.stdin?.end(stdin ?? '');
    const code = await h.exit;
    if (code !== 0) throw new KmError('failed', `sandbox ${id}: ${argv.join(' ')} exited ${code}: ${err.trim()}`);
    return code;
  };

  const start = async (id: string): Promise<SandboxHandleInfo> => {
    const status = statusOf(id);
    if (status === 'running' || status === 'paused') return info(id);
    // A half-dead tree (holder gone, PID 1 still reaping) is ended before a fresh start.
    if (runtime(id)?.init && isAlive((runtime(id) as RuntimeRecord).init)) await api.stop(id, { graceMs: 0 });
    const s = stored(id);
    const p = paths(id);
    const warnings: string[] = [];
    const { cgroups, warning } = sandboxCgroups(id, p.stateDir, s.spec.limits ?? {});
    // Build km-spawn now (once) if ./setup did not, so that execs need not move into the cgroup.
    if (cgroups?.v2 && options.spawnHelper === undefined) nativeHelper('km-spawn');
    if (warning) warnings.push(warning);
    // Attached before anything runs in the cgroup: launch prepares its files meanwhile and
    // waits for it just before starting bwrap.
    const attaching = s.spec.gatekeeper ? gatekeepers.attach(id, cgroups?.v2 ?? null, warnings) : Promise.resolve(null);
    let rt: RuntimeRecord;
    try {
      rt = await launch({
        // Masks only ever grow: ones added since create (a newer km, a moved store) apply too.
        stored: { ...s, masks: [...new Set([...s.masks, ...masks()])] },
        paths: p,
        cgroups,
        bwrap: options.bwrapPath ?? 'bwrap',
        capture: options.capture ?? true,
        switchUser: isRoot,
        setupHelper: setupWith(),
        timeoutMs: options.startTimeoutMs ?? 15_000,
        beforeStart: attaching,
      });
    } catch (e) {
      await attaching.catch(() => null);
      const cg = cgroups;
      if (cg) await waitFor(() => removeCgroups(cg), 5000, 25);
      gatekeepers.close(id);
      throw e;
    }
    const gk = await attaching;
    // Captured ports are allowed only once nftables redirects them; until then (or if this fails) it stays strict.
    if (gk && rt.capture) await gk.setCapture(true).catch((e: Error) => warnings.push(`BPF gatekeeper keeps TCP 80/443 and port 53 closed: ${e.message}`));
    rt = { ...rt, gatekeeper: gk !== null };
    writeRuntime(p.runtime, rt);
    if (!rt.capture) warnings.push('transparent capture unavailable (nftables); proxy variables only');
    if (!s.configWritten) {
      for (const c of configFileCommands(s.spec)) await execAs(id, c.argv, { root: c.root, cwd: '/' }, c.stdin);
      writeSpec(p.spec, { ...s, configWritten: true });
    }
    return info(id, warnings);
  };

  const planExec = async (id: string, argv: string[], opts: Omit<ExecOptions, 'stdio'>): Promise<ExecPlan> => {
    if (argv.length === 0) throw new KmError('usage', 'exec needs a command');
    const status = statusOf(id);
    if (status !== 'running') throw invalidState(`${id} is ${status}; run km resume ${id}`);
    const rt = live(id) as RuntimeRecord;
    const s = stored(id);
    const root = opts.root ?? false;
    return execPlan(
      {
        initPid: rt.init.pid,
        holderNsPid: rt.holderNsPid,
        root,
        cwd: opts.cwd ?? s.spec.workingDir,
        env: { ...sandboxEnv(s.spec, root), ...(opts.env ?? {}) },
        dual: (s.sandboxHostUid ?? null) !== null,
        switchTo: isRoot && (s.sandboxHostUid ?? null) === null ? { uid: s.hostUid, gid: s.hostGid } : null,
        cgroupProcs: rt.cgroups ? procsFiles(rt.cgroups) : [],
        spawnHelper: options.spawnHelper === undefined ? installedHelper('km-spawn') : options.spawnHelper,
        cgroupV2Only: rt.cgroups?.v2 && Object.keys(rt.cgroups.v1).length === 0 ? rt.cgroups.v2 : null,
      },
      argv,
      opts,
    );
  };

  const api: Substrate = {
    name: 'local',
    async create(spec: SandboxSpec) {
      if (!isAbsolute(spec.stateDir)) throw new KmError('internal', `stateDir must be absolute: ${spec.stateDir}`);
      if (existsSync(join(spec.stateDir, 'spec.json'))) throw invalidState(`sandbox ${spec.id} already exists in ${spec.stateDir}`);
      const hostUid = isRoot ? (options.rootHostId ?? 100000) : (process.getuid?.() ?? 0);
      const hostGid = isRoot ? (options.rootHostId ?? 100000) : (process.getgid?.() ?? 0);
      const sandboxHostUid = isRoot ? hostUid + 1 : null;
      mkdirSync(spec.stateDir, { recursive: true, mode: 0o700 });
      if (isRoot) chownSync(spec.stateDir, hostUid, hostGid);
      const p = statePaths(spec.stateDir);
      const owner = isRoot ? { uid: hostUid, gid: hostGid } : null;
      const sandboxOwner = sandboxHostUid === null ? null : { uid: sandboxHostUid, gid: sandboxHostUid };
      buildSkeleton(p, scanBase(spec.baseImage ?? '/'), owner, sandboxOwner);
      if (spec.copyLayerFrom !== undefined) copyWritableLayer(statePaths(spec.copyLayerFrom), p);
      writeSpec(p.spec, { version: 1, spec, hostUid, hostGid, sandboxHostUid, masks: masks(), configWritten: false });
      known.set(spec.id, spec.stateDir);
      try {
        return await start(spec.id);
      } catch (e) {
        await api.destroy(spec.id).catch(() => undefined);
        throw e;
      }
    },
    start,
    async pause(id) {
      const status = statusOf(id);
      if (status === 'paused') return;
      if (status !== 'running') throw invalidState(`${id} is ${status}; resume it first`);
      const rt = live(id) as RuntimeRecord;
      await freezeTree(rt);
      writeRuntime(paths(id).runtime, { ...rt, paused: true });
    },
    async resume(id) {
      const status = statusOf(id);
      if (status === 'running') return;
      if (status === 'stopped') {
        await start(id);
        return;
      }
      if (status === 'missing') throw notFound(`sandbox ${id} does not exist`);
      const rt = live(id) as RuntimeRecord;
      await thawTree(rt);
      writeRuntime(paths(id).runtime, { ...rt, paused: false });
    },
    async stop(id, opts: StopOptions) {
      // PID 1 alone decides: a tree whose holder died still has processes to end.
      const rt = runtime(id);
      if (rt && isAlive(rt.init)) {
        if (rt.paused) await thawTree(rt);
        await endTree(rt, opts.graceMs);
      }
      const cg = runtime(id)?.cgroups;
      if (cg) await waitFor(() => removeCgroups(cg), 5000, 25);
      gatekeepers.close(id);
      if (known.has(id) && existsSync(paths(id).stateDir)) writeRuntime(paths(id).runtime, null);
    },
    async destroy(id) {
      if (!known.has(id)) return;
      await api.stop(id, { graceMs: 0 });
      removeTree(paths(id).stateDir);
      known.delete(id);
    },
    async exec(id, argv, opts: ExecOptions = {}): Promise<ExecHandle> {
      return startPlan(await planExec(id, argv, opts), opts.stdio);
    },
    execPlan: (id, argv, opts = {}) => planExec(id, argv, opts),
    async status(id) {
      return statusOf(id);
    },
    async adopt(id, stateDir) {
      if (!existsSync(join(stateDir, 'spec.json'))) throw notFound(`no sandbox state in ${stateDir}`);
      known.set(id, stateDir);
      const dead = statusOf(id) === 'stopped' ? runtime(id) : null;
      if (dead) {
        // A tree that died behind our back: its (now empty) cgroups go with its record.
        if (dead.cgroups) removeCgroups(dead.cgroups);
        writeRuntime(paths(id).runtime, null);
      }
      const rt = live(id);
      const w = rt?.gatekeeper && rt.cgroups?.v2 ? await gatekeepers.watch(id, rt.cgroups.v2) : null;
      return info(id, w ? [w] : []);
    },
    async snapshotLayer(id, toDir) {
      const to = statePaths(toDir);
      // Same owners as the source (cp -a of `dir/.` also copies the directory's own owner).
      const st = stored(id);
      const su = st.sandboxHostUid ?? null;
      buildSkeleton(to, { overlays: [], symlinks: [] }, isRoot ? { uid: st.hostUid, gid: st.hostGid } : null, su === null ? null : { uid: su, gid: su });
      copyWritableLayer(paths(id), to);
    },
    gatekeeperUnavailable: gatekeeperProbe,
    async close() {
      gatekeepers.closeAll();
      known.clear();
    },
  };
  return api;
}

/** Root: the sandbox's cgroups with its limits. Unprivileged (or unusable cgroups): a warning. */
function sandboxCgroups(id: string, stateDir: string, limits: SandboxLimits): { cgroups: CgroupPaths | null; warning: string | null } {
  if (!cgroupsUsable()) {
    return { cgroups: null, warning: Object.keys(limits).length > 0 ? 'resource limits need a root kmd; not applied' : null };
  }
  try {
    const key = `${id}-${createHash('sha256').update(stateDir).digest('hex').slice(0, 8)}`;
    return { cgroups: createCgroups(key, limits), warning: null };
  } catch (e) {
    return { cgroups: null, warning: `cgroups unavailable, limits and cgroup freezing not applied: ${(e as Error).message}` };
  }
}

function realpathOr(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return resolve(p);
  }
}

/** rm -rf that also copes with directories the workload made unreadable (mode 000). */
function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch {
    // fall through: make everything owner-accessible, then retry
  }
  const fix = (p: string): void => {
    try {
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st || !st.isDirectory()) return;
      chmodSync(p, 0o700);
      for (const name of readdirSync(p)) fix(join(p, name));
    } catch {
      // best effort
    }
  };
  fix(dir);
  rmSync(dir, { recursive: true, force: true });
}

