/**
 * The sandbox's setup (PID 2 inside, run as uid 0 of the sandbox's outer user namespace with
 * the setup capabilities bwrap grants). The steps are one list (setup-steps.ts); km-setup
 * (native/km-setup.c) runs them as system calls from a plan (setup-plan.ts), and where the
 * helper is not built this file renders the same list as a bash script. Inside the fresh
 * mount namespace either one:
 *
 * 1. closes every inherited fd except stdio and the status pipe (fd 3) and leaves the
 *    launcher's working directory (a cwd left in the setup view would outlive pivot_root and
 *    let root inside read the host through /proc/<pid>/cwd);
 * 2. assembles the root: `rootfs/` bind + one overlayfs per base top-level dir (upper/work in
 *    the state dir, `userxattr`), masks (tmpfs over the km state dir, the operator's home and
 *    anything else asked for), /proc (with sys, sysrq-trigger, irq, bus read-only), /dev and
 *    /sys from bwrap, a private /run with the gateway dir read-only at /run/km and the CA files
 *    at /run/km-ca, the generated etc files, and the operator's mounts; read-only binds are
 *    also nosuid and nodev;
 * 3. sets up the network: lo up; when nftables works, a second lo address + `default dev lo`
 *    and the capture ruleset (see network.ts), otherwise no route at all (ENETUNREACH);
 * 4. starts the socat bridges (stderr discarded: the workload could otherwise fill the log)
 *    with every capability dropped (NET_BIND_SERVICE kept for :53
 *    and km.internal:80);
 * 5. starts the workload holder. Unprivileged kmd: a nested user namespace mapping outer
 *    uid 0 → 1000 (its max_user_namespaces set to 0, every capability dropped, then it
 *    sleeps; `exec` enters it), and the outer namespace's limit set to 1 (the holder's).
 *    Root kmd (`dual`): uid 1000 exists in the outer namespace, the holder is a cap-less
 *    `sleep` as 1000 and the outer limit is 0. Either way neither the workload nor root
 *    inside can create user namespaces;
 * 6. pivot_roots into the new root, detaches the old one, reports `ready` on fd 3 and becomes
 *    a capability-free `tail --pid=<holder>`.
 *
 * km-setup resolves every target inside the new root (a symlink never leads into the setup
 * view); the bash renderer keeps the older guards: etc files and trust-store files only onto
 * a target that is not a symlink.
 */
import { endianness } from 'node:os';
import type { MountAttr, OnFail, SetupStep } from './setup-steps.ts';
import { NEW_ROOT as NR, setupSteps } from './setup-steps.ts';
import type { InitScriptInput } from './setup-steps.ts';

export { SETUP } from './setup-steps.ts';
export type { InitScriptInput } from './setup-steps.ts';

/**
 * `tcp|udp:IPV4:PORT` as `tcp/0100007F:0C38`: the protocol and the local address the way
 * /proc/net/{tcp,udp} print it (the address as the machine's 32-bit word, in hex).
 */
export function procNetLocal(listen: string): string {
  const m = /^(tcp|udp):(\d+)\.(\d+)\.(\d+)\.(\d+):(\d+)$/.exec(listen);
  if (!m) throw new Error(`not a bridge address: ${listen}`);
  const bytes = [m[2], m[3], m[4], m[5]].map((b) => Number(b));
  const word = endianness() === 'LE' ? bytes.reverse() : bytes;
  const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');
  return `${m[1]}/${word.map((b) => hex(b, 2)).join('')}:${hex(Number(m[6]), 4)}`;
}

/** `listening tcp|udp LOCAL`: true when LOCAL (as procNetLocal writes it) is bound, and listening for TCP (builtins only). */
export const LISTENING_FN =
  'listening() { local sl addr rem st rest; while read -r sl addr rem st rest; do [ "$addr" = "$2" ] && { [ "$1" = udp ] || [ "$st" = 0A ]; } && return 0; done < /proc/self/net/$1; return 1; }';

/** Single-quotes a value for bash. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** A word as is when bash would not change it, else quoted. */
const w = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : q(s));

const DROP_ALL = 'setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs';
const DROP_KEEP_BIND = 'setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all,+net_bind_service --no-new-privs';

const t = (target: string): string => w(target === '/' ? NR : `${NR}${target}`);
const opts = (a: string[]): string => (a.length === 0 ? '' : ` -o ${a.join(',')}`);

const report = (f: OnFail): string => (f === 'ignore' ? 'true' : 'warn' in f ? `warn ${q(f.warn)}` : `fail ${q(f.fail)}`);
/** Without a policy a failing command trips the ERR trap (the setup fails). */
const onFail = (cmd: string, f: OnFail | undefined): string => (f === undefined ? cmd : `${cmd} || ${report(f)}`);

const mountBind = (recursive: boolean, attrs: MountAttr[], source: string, target: string): string =>
  `mount --${recursive ? 'rbind' : 'bind'}${opts(attrs)} ${w(source)} ${t(target)}`;

/**
 * Waits until `cond` holds, polling every 2 ms for up to 5 s without forking: `read -t` on a pipe
 * no one writes to (fd $pause, opened around the loop) is the pause.
 */
const pollFor = (cond: string): string => `for i in {1..2500}; do ${cond} && break; read -t 0.002 -u $pause || :; done`;

/**
 * `holder_status`: reads the holder's State, CapEff and Uid from `proc`/$HOLDER/status into the
 * caller's `state`, `caps` and `uid` (builtins only); false when the holder is gone.
 */
export const holderStatusFn = (proc: string): string =>
  `holder_status() { local k v rest f=${proc}/$HOLDER/status; state=? caps=? uid=?; [ -r "$f" ] || return 1; while read -r k v rest; do case $k in State:) state=$v;; CapEff:) caps=$v;; Uid:) uid=$v;; esac; done < "$f"; }`;

/** A bash function (builtins only) true once the holder is in place with no capabilities. */
function holderReady(dual: boolean, uid: number): string {
  const where = dual ? `[ "$uid" = ${uid} ]` : `! [ ${NR}/proc/$HOLDER/ns/user -ef ${NR}/proc/self/ns/user ]`;
  return `holder_ready() { local state caps uid; holder_status || return 1; [[ $caps =~ ^0+$ ]] && ${where}; }`;
}

/**
 * `holder_detail`: why the holder is not in place, on stderr (sandbox.log) before the failure
 * line, as km-setup prints its step's errno: gone (with its exit status), or its state,
 * capabilities and uid when the wait (started at HOLDER_T0, in µs) gave up (uses holder_status).
 */
export const HOLDER_DETAIL_FN =
  `holder_detail() { local state caps uid st=0 ms=$(( (\${EPOCHREALTIME//[!0-9]/} - HOLDER_T0) / 1000 )); ` +
  `if ! holder_status; then wait $HOLDER 2>/dev/null || st=$?; echo "km-init: workload holder: process $HOLDER exited (status $st) within $ms ms" >&2; return 0; fi; ` +
  `echo "km-init: workload holder: process $HOLDER not in place after $ms ms (State $state, CapEff $caps, Uid $uid)" >&2; }`;

/**
 * How the holder finally becomes `sleep infinity`: with every standard stream on /dev/null.
 * The workload runs as the holder's uid and may ptrace it, so whatever the holder holds open
 * is the workload's too (sandbox.log, a host file, was: it could be filled without bound).
 * The commands before it keep stderr, so their errors still reach sandbox.log.
 */
const HOLDER_EXEC = 'exec sleep infinity </dev/null >/dev/null 2>&1';

function holderLines(dual: boolean, uid: number, failure: OnFail): string[] {
  const start = dual
    ? [
        // uid 1000 lives in this namespace: no nested namespace is needed, so none may be made.
        `echo 0 > ${NR}/proc/sys/user/max_user_namespaces`,
        `setpriv --reuid=${uid} --regid=${uid} --clear-groups --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs /bin/sh -c ${q(HOLDER_EXEC)} 3>&- &`,
      ]
    : [
        `unshare --user --map-user=${uid} --map-group=${uid} --keep-caps /bin/sh -c ${q(`echo 0 > ${NR}/proc/sys/user/max_user_namespaces && exec ${DROP_ALL} /bin/sh -c "${HOLDER_EXEC}"`)} 3>&- &`,
      ];
  return [
    ...start,
    'HOLDER=$!',
    holderStatusFn(`${NR}/proc`),
    holderReady(dual, uid),
    HOLDER_DETAIL_FN,
    'exec {pause}<> <(:)',
    'HOLDER_T0=${EPOCHREALTIME//[!0-9]/}',
    pollFor('holder_ready 2>/dev/null'),
    'exec {pause}>&-',
    `holder_ready || { holder_detail; ${report(failure)}; }`,
    ...(dual ? [] : [`echo 1 > ${NR}/proc/sys/user/max_user_namespaces`]),
  ];
}

function stepLines(s: SetupStep): string[] {
  switch (s.op) {
    case 'root':
      return [`mount --bind ${w(s.source)} ${NR}`];
    case 'overlay':
      return [onFail(`mount -t overlay ${q(`km-${s.name}`)} -o userxattr,lowerdir=${q(s.lower)},upperdir=${q(s.upper)},workdir=${q(s.work)} ${q(`${NR}${s.target}`)}`, s.onFail)];
    case 'mask': {
      const p = q(`${NR}${s.target}`);
      return [`if [ -d ${p} ]; then mount -t tmpfs -o ro,size=4k,mode=000 km-mask ${p}; elif [ -e ${p} ]; then mount --bind /dev/null ${p}; fi`];
    }
    case 'fs':
      return [`mount -t ${s.fstype}${opts([...s.attrs, ...s.data])} ${w(s.source)} ${t(s.target)}`];
    case 'bind': {
      const cmd = onFail(mountBind(s.recursive, s.attrs, s.source, s.target), s.onFail);
      return [s.optional ? `if [ -e ${t(s.target)} ]; then ${cmd}; fi` : cmd];
    }
    case 'mkdir':
      return [onFail(`mkdir -p ${t(s.target)}`, s.onFail)];
    case 'chmod':
      return [`chmod ${s.mode.toString(8)} ${t(s.target)}`];
    case 'etc':
      return [`if [ -f ${t(s.target)} ] && [ ! -L ${t(s.target)} ]; then ${mountBind(false, s.attrs, s.source, s.target)}; else warn ${q(s.warning)}; fi`];
    case 'trust':
      return [
        `if [ ! -L ${t(s.target)} ] && cp ${w(s.ca)} ${t(s.target)} 2>/dev/null; then`,
        `  b=${t(s.bundle)}; [ -L "$b" ] || grep -qF "$(sed -n 2p ${w(s.ca)})" "$b" 2>/dev/null || cat ${w(s.ca)} >> "$b" 2>/dev/null || true`,
        'fi',
      ];
    case 'lo-up':
      return ['ip link set lo up'];
    case 'capture':
      return [
        `if command -v nft >/dev/null && ip addr add ${s.addr}/32 dev lo && ip route add default dev lo src ${s.addr} && nft -f ${w(s.rules)}; then CAPTURE=1; else ip route del default 2>/dev/null; nft flush ruleset 2>/dev/null; ${report(s.onFail)}; fi`,
      ];
    case 'bridge': {
      const cmd = `${s.keepBind ? DROP_KEEP_BIND : DROP_ALL} ${s.argv.map(w).join(' ')} 3>&- 2>/dev/null & BRIDGES+=(${w(procNetLocal(s.listen))})`;
      return [s.onlyWithCapture ? `if [ $CAPTURE = 1 ]; then ${cmd}; fi` : cmd];
    }
    case 'holder':
      return holderLines(s.dual, s.uid, s.onFail);
    case 'pivot':
      return ['trap - ERR', onFail(`cd ${NR} && pivot_root . . && umount -l . && cd /`, s.onFail)];
    case 'ready':
      return [
        // Every bridge started is listening before the sandbox is reported ready.
        LISTENING_FN,
        'exec {pause}<> <(:)',
        `for b in "\${BRIDGES[@]}"; do ${pollFor('listening ${b%%/*} ${b#*/}')}; listening \${b%%/*} \${b#*/} || fail "bridge $b not listening after 5 s"; done`,
        'exec {pause}>&-',
        'echo "ready $HOLDER $CAPTURE" >&3',
        'exec 3>&-',
        // Nothing after setup needs a capability: PID 2 becomes a cap-less waiter on the holder,
        // and the sandbox ends when the holder ends.
        `exec ${DROP_ALL} -- tail --pid=$HOLDER -f /dev/null`,
      ];
  }
}

type Mkdir = Extract<SetupStep, { op: 'mkdir' }>;
const plainMkdir = (s: SetupStep): s is Mkdir => s.op === 'mkdir' && s.onFail === undefined;

/** Consecutive plain mkdir steps become one `mkdir -p` (one exec instead of several). */
function lines(steps: SetupStep[]): string[] {
  const out: string[] = [];
  let dirs: Mkdir[] = [];
  const flush = (): void => {
    if (dirs.length > 0) out.push(`mkdir -p ${dirs.map((d) => t(d.target)).join(' ')}`);
    dirs = [];
  };
  for (const s of steps) {
    if (plainMkdir(s)) {
      dirs.push(s);
      continue;
    }
    flush();
    out.push(...stepLines(s));
  }
  flush();
  return out;
}

export function renderBash(steps: SetupStep[]): string {
  return [
    '#!/bin/bash',
    'set -u',
    'warn() { echo "km-init: warning: $*" >&2; }',
    'fail() { echo "km-init: error: $*" >&2; echo "failed $*" >&3; exit 1; }',
    'for fd in /proc/self/fd/*; do n=${fd##*/}; case $n in 0|1|2|3) ;; *) eval "exec $n>&-" 2>/dev/null;; esac; done',
    'cd /',
    'set -e',
    'trap \'fail "setup step failed at line $LINENO"\' ERR',
    'CAPTURE=0',
    'BRIDGES=()',
    ...lines(steps),
    '',
  ].join('\n');
}

export function initScript(input: InitScriptInput): string {
  return renderBash(setupSteps(input));
}
