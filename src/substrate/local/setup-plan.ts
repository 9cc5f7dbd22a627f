/**
 * Setup steps rendered as plans for km-setup (native/km-setup.c): the line `km-setup 1`, then
 * one step a line, tab-separated fields: op, failure policy (`-` fatal, `warn:<text>`,
 * `fail:<text>`, `ignore`), arguments. Values travel verbatim (spaces, quotes, `$` need no
 * quoting); a value that is empty or holds a tab, a newline or NUL cannot be written and is
 * refused, so a plan never means something other than the steps it came from.
 *
 * - the sandbox plan (`setupPlan`), run by km-setup as bwrap's child, from setup-steps.ts;
 * - the host plan (`hostPlan`) of a root kmd, passed as one argument: user namespace, cgroups,
 *   the private staging mount namespace, the switch to the tree's host ids; then bwrap.
 */
import { KmError } from '../../core/errors.ts';
import type { MountAttr, OnFail, SetupStep } from './setup-steps.ts';
import { NEW_ROOT } from './setup-steps.ts';

export const PLAN_HEADER = 'km-setup 1';

function field(value: string): string {
  if (value === '' || /[\t\n\0]/.test(value)) {
    throw new KmError('substrate_unavailable', `cannot set up a sandbox with the path or value ${JSON.stringify(value)}: setup values may not be empty or contain tabs or newlines`, {
      hint: 'rename the file or directory, or change the profile value',
    });
  }
  return value;
}

function policy(onFail: OnFail | undefined): string {
  if (onFail === undefined) return '-';
  if (onFail === 'ignore') return 'ignore';
  return 'warn' in onFail ? `warn:${onFail.warn}` : `fail:${onFail.fail}`;
}

const list = (items: Array<string | false | undefined>): string => items.filter((x): x is string => typeof x === 'string').join(',') || '-';
const attrs = (a: MountAttr[], extra: Array<string | false | undefined> = []): string => list([...extra, ...a]);

function fields(s: SetupStep): string[] {
  switch (s.op) {
    case 'root': return ['root', '-', s.source, NEW_ROOT];
    case 'overlay': return ['overlay', policy(s.onFail), `km-${s.name}`, s.lower, s.upper, s.work, s.target];
    case 'mask': return ['mask', '-', s.target];
    case 'fs': return ['fs', '-', s.fstype, s.source, attrs(s.attrs), list(s.data), s.target];
    case 'bind': return ['bind', policy(s.onFail), attrs(s.attrs, [s.recursive && 'rec', s.optional && 'optional']), s.source, s.target];
    case 'mkdir': return ['mkdir', policy(s.onFail), s.target];
    case 'chmod': return ['chmod', '-', s.mode.toString(8), s.target];
    case 'etc': return ['etc', '-', attrs(s.attrs), s.source, s.target, s.warning];
    case 'trust': return ['trust', 'ignore', s.ca, s.target, s.bundle];
    case 'lo-up': return ['lo-up', '-'];
    case 'capture': return ['capture', policy(s.onFail), s.addr, s.rules];
    case 'bridge': return ['bridge', '-', s.keepBind ? 'net_bind_service' : '-', s.onlyWithCapture ? 'capture' : 'always', s.listen, ...s.argv];
    case 'holder': return ['holder', policy(s.onFail), s.dual ? 'dual' : 'nested', String(s.uid)];
    case 'pivot': return ['pivot', policy(s.onFail)];
    case 'ready': return ['ready', '-'];
  }
}

const render = (rows: string[][]): string => `${[PLAN_HEADER, ...rows.map((r) => r.map(field).join('\t'))].join('\n')}\n`;

export function setupPlan(steps: SetupStep[]): string {
  return render(steps.map(fields));
}

export interface HostSetup {
  /** Root kmd's two-id user namespace, opened at `fd` for bwrap's `--userns`. */
  userns: { fd: number; uid: number; gid: number; innerUid: number; sandboxHostId: number } | null;
  /** The v2 cgroup the tree starts in (clone3 CLONE_INTO_CGROUP), if any. */
  cgroup2: string | null;
  /** cgroup.procs files the tree joins by writing its pid (v1 hierarchies). */
  cgroupProcs: string[];
  /** Host paths bound at `${stageDir}/<i>` in a private mount namespace, under a tmpfs at `stageRoot`. */
  stageRoot: string;
  stageDir: string;
  staged: string[];
  user: { uid: number; gid: number };
}

export function hostPlan(h: HostSetup): string {
  const rows: string[][] = [];
  if (h.userns) {
    const u = h.userns;
    rows.push(['userns', '-', String(u.fd), String(u.uid), String(u.gid), String(u.innerUid), String(u.sandboxHostId)]);
  }
  if (h.cgroup2 !== null) rows.push(['cgroup2', '-', h.cgroup2]);
  for (const f of h.cgroupProcs) rows.push(['cgroup', '-', f]);
  rows.push(['mount-ns', '-'], ['stage-tmpfs', '-', h.stageRoot]);
  h.staged.forEach((p, i) => rows.push(['stage', '-', p, `${h.stageDir}/${i}`]));
  rows.push(['user', '-', String(h.user.uid), String(h.user.gid)]);
  return render(rows);
}
