/**
 * The sandbox's setup as data: one list of steps (what init-script.ts describes), rendered
 * either as a plan for km-setup (setup-plan.ts, direct system calls) or as the bash script
 * (init-script.ts) where the helper is not built. Targets are paths inside the sandbox root;
 * sources are paths in the setup view.
 */
import type { SandboxMount } from '../index.ts';
import { CA_DIR, ETC_FILES, GATEWAY_MOUNT, KM_INTERNAL_ADDR, PROXY_PORT, SANDBOX_UID, TRANSPARENT_PORT } from './etc-files.ts';
import { LO_CAPTURE_ADDR } from './network.ts';

export const SETUP = '/run/kmsetup';
/** The sandbox's state dir in the setup view. */
export const SETUP_STATE = `${SETUP}/state`;
/** Where the new root is assembled. */
export const NEW_ROOT = `${SETUP}/root`;

export interface InitScriptInput {
  /** Base root inside the setup view: `/` (host) or `${SETUP}/base`. */
  base: string;
  overlays: string[];
  /** Absolute sandbox paths to hide (tmpfs for dirs, /dev/null for files). */
  masks: string[];
  mounts: SandboxMount[];
  /** Try nftables capture. */
  capture: boolean;
  /** Root kmd: uid 1000 exists in the outer namespace (no nested workload namespace). */
  dual: boolean;
}

/** What a failed step means: the setup fails (the default), a warning, or nothing. */
export type OnFail = { warn: string } | { fail: string } | 'ignore';
export type MountAttr = 'ro' | 'nosuid' | 'nodev' | 'noexec';

export type SetupStep =
  | { op: 'root'; source: string }
  | { op: 'overlay'; name: string; lower: string; upper: string; work: string; target: string; onFail: OnFail }
  | { op: 'mask'; target: string }
  | { op: 'fs'; fstype: 'proc' | 'tmpfs'; source: string; attrs: MountAttr[]; data: string[]; target: string }
  /** `optional`: nothing when the target does not exist. */
  | { op: 'bind'; source: string; target: string; recursive: boolean; attrs: MountAttr[]; optional?: boolean; onFail?: OnFail }
  | { op: 'mkdir'; target: string; onFail?: OnFail }
  | { op: 'chmod'; mode: number; target: string }
  /** Bound only onto a regular file that is not a symlink, else the warning. */
  | { op: 'etc'; source: string; target: string; attrs: MountAttr[]; warning: string }
  /** Best effort: the CA into the system trust store and bundle, where the base allows it. */
  | { op: 'trust'; ca: string; target: string; bundle: string }
  | { op: 'lo-up' }
  /** Second lo address, `default dev lo`, the nftables ruleset; a warning when any fails. */
  | { op: 'capture'; addr: string; rules: string; onFail: OnFail }
  /**
   * A background process with every capability dropped (`keepBind`: NET_BIND_SERVICE kept);
   * `listen`: `tcp|udp:IPV4:PORT`, where it listens (`ready` waits until it does).
   */
  | { op: 'bridge'; keepBind: boolean; onlyWithCapture: boolean; listen: string; argv: string[] }
  | { op: 'holder'; dual: boolean; uid: number; onFail: OnFail }
  | { op: 'pivot'; onFail: OnFail }
  | { op: 'ready' };

const S = SETUP_STATE;
const RO_BIND: MountAttr[] = ['ro', 'nosuid', 'nodev'];

function rootSteps(input: InitScriptInput): SetupStep[] {
  const steps: SetupStep[] = [{ op: 'root', source: `${S}/rootfs` }];
  for (const name of input.overlays) {
    steps.push({
      op: 'overlay', name, target: `/${name}`,
      lower: input.base === '/' ? `/${name}` : `${input.base}/${name}`, upper: `${S}/upper/${name}`, work: `${S}/work/${name}`,
      onFail: { warn: `overlay for /${name} failed` },
    });
  }
  // Only paths inside a base overlay can be visible at all (home, root, tmp, run are km's own).
  for (const p of input.masks.filter((m) => input.overlays.includes(m.split('/')[1] ?? ''))) steps.push({ op: 'mask', target: p });
  steps.push(
    { op: 'fs', fstype: 'proc', source: 'proc', attrs: ['nosuid', 'nodev', 'noexec'], data: [], target: '/proc' },
    // bwrap's /dev: device nodes bound from the host belong to host root, which is never
    // mapped inside, so they cannot be chmod'ed or replaced; pts and shm are private.
    { op: 'bind', source: '/dev', target: '/dev', recursive: true, attrs: [] },
    { op: 'bind', source: '/sys', target: '/sys', recursive: true, attrs: [] },
    { op: 'fs', fstype: 'tmpfs', source: 'km-run', attrs: ['nosuid', 'nodev'], data: ['mode=0755', 'size=64m'], target: '/run' },
    { op: 'mkdir', target: GATEWAY_MOUNT },
    { op: 'mkdir', target: CA_DIR },
    { op: 'bind', source: `${SETUP}/gw`, target: GATEWAY_MOUNT, recursive: false, attrs: RO_BIND },
    { op: 'bind', source: `${S}/ca`, target: CA_DIR, recursive: false, attrs: RO_BIND },
    { op: 'mkdir', target: '/run/lock' },
    { op: 'mkdir', target: '/run/user' },
    { op: 'chmod', mode: 0o1777, target: '/run/lock' },
  );
  for (const f of ETC_FILES) steps.push({ op: 'etc', source: `${S}/etc/${f}`, target: `/etc/${f}`, attrs: RO_BIND, warning: `cannot place /etc/${f}` });
  steps.push({ op: 'trust', ca: `${S}/ca/km-sandbox.crt`, target: '/usr/local/share/ca-certificates/km-sandbox.crt', bundle: '/etc/ssl/certs/ca-certificates.crt' });
  input.mounts.forEach((m, i) => {
    const onFail = { fail: `cannot mount ${m.path}` };
    steps.push(
      { op: 'mkdir', target: m.path, onFail },
      { op: 'bind', source: `${SETUP}/m/${i}`, target: m.path, recursive: true, attrs: m.readOnly ? RO_BIND : [], onFail },
    );
  });
  return steps;
}

const bridge = (keepBind: boolean, listen: string, sock: string, onlyWithCapture = false): SetupStep => {
  const m = /(TCP4-LISTEN|UDP4-RECVFROM):(\d+),bind=([\d.]+)/.exec(listen);
  if (!m) throw new Error(`bridge address without a port and bind address: ${listen}`);
  return {
    op: 'bridge', keepBind, onlyWithCapture, listen: `${m[1] === 'TCP4-LISTEN' ? 'tcp' : 'udp'}:${m[3]}:${m[2]}`,
    argv: ['socat', ...listen.split(' '), `UNIX-CONNECT:${GATEWAY_MOUNT}/${sock}`],
  };
};

/**
 * Loopback and the bridges come first, so that socat's start can overlap the mounts before
 * `ready` waits for every bridge to listen (measured here: no clear difference either way).
 */
function bridgeSteps(): SetupStep[] {
  return [
    { op: 'lo-up' },
    bridge(false, `TCP4-LISTEN:${PROXY_PORT},bind=127.0.0.1,fork,reuseaddr`, 'proxy.sock'),
    bridge(true, '-T10 UDP4-RECVFROM:53,bind=127.0.0.1,fork', 'dns.sock'),
    bridge(true, 'TCP4-LISTEN:53,bind=127.0.0.1,fork,reuseaddr', 'dns-tcp.sock'),
    bridge(true, `TCP4-LISTEN:80,bind=${KM_INTERNAL_ADDR},fork,reuseaddr`, 'kmd-internal.sock'),
  ];
}

/** Transparent capture (its nft ruleset loads while the mounts are made) and its bridge. */
function captureSteps(input: InitScriptInput): SetupStep[] {
  if (!input.capture) return [];
  return [
    { op: 'capture', addr: LO_CAPTURE_ADDR, rules: `${S}/nft.rules`, onFail: { warn: 'transparent capture unavailable' } },
    bridge(false, `TCP4-LISTEN:${TRANSPARENT_PORT},bind=127.0.0.1,fork,reuseaddr`, 'transparent.sock', true),
  ];
}

/** /proc files that stay read-only for everyone inside (made after the holder set its limit). */
export const PROC_COVERS = ['sys', 'sysrq-trigger', 'irq', 'bus'];

export function setupSteps(input: InitScriptInput): SetupStep[] {
  return [
    ...bridgeSteps(),
    ...rootSteps(input),
    ...captureSteps(input),
    { op: 'holder', dual: input.dual, uid: SANDBOX_UID, onFail: { fail: 'workload namespace did not come up' } },
    ...PROC_COVERS.map((p): SetupStep => ({
      op: 'bind', source: `${NEW_ROOT}/proc/${p}`, target: `/proc/${p}`, recursive: false, attrs: ['ro', 'nosuid', 'nodev', 'noexec'], optional: true,
    })),
    { op: 'pivot', onFail: { fail: 'pivot_root failed' } },
    { op: 'ready' },
  ];
}
