/**
 * The sandbox's setup script (PID 2 inside, run by bash as uid 0 of the sandbox's outer user
 * namespace with the setup capabilities bwrap grants). Inside the fresh mount namespace it:
 *
 * 1. closes every inherited fd except stdio and the status pipe (fd 3);
 * 2. assembles the root: `rootfs/` bind + one overlayfs per base top-level dir (upper/work in
 *    the state dir, `userxattr`), masks (tmpfs over the km state dir, the operator's home and
 *    anything else asked for), /proc (with sys, sysrq-trigger, irq, bus read-only), /dev and
 *    /sys from bwrap, a private /run with the gateway dir read-only at /run/km and the CA files
 *    at /run/km-ca, the generated etc files, and the operator's mounts;
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
 */
import type { SandboxMount } from '../index.ts';
import {
  CA_DIR, ETC_FILES, GATEWAY_MOUNT, KM_INTERNAL_ADDR, PROXY_PORT, SANDBOX_GID, SANDBOX_UID,
  TRANSPARENT_PORT,
} from './etc-files.ts';
import { LO_CAPTURE_ADDR } from './network.ts';

export const SETUP = '/run/kmsetup';
const S = `${SETUP}/state`;
const NR = `${SETUP}/root`;

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

/** Single-quotes a value for bash. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

const DROP_ALL = 'setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs';
const DROP_KEEP_BIND = 'setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all,+net_bind_service --no-new-privs';

function rootLines(input: InitScriptInput): string[] {
  const lines = [`mount --bind ${S}/rootfs ${NR}`];
  for (const name of input.overlays) {
    const lower = input.base === '/' ? `/${name}` : `${input.base}/${name}`;
    lines.push(
      `mount -t overlay km-${q(name)} -o userxattr,lowerdir=${q(lower)},upperdir=${q(`${S}/upper/${name}`)},workdir=${q(`${S}/work/${name}`)} ${q(`${NR}/${name}`)} || warn "overlay for /${name} failed"`,
    );
  }
  // Only paths inside a base overlay can be visible at all (home, root, tmp, run are km's own).
  for (const p of input.masks.filter((m) => input.overlays.includes(m.split('/')[1] ?? ''))) {
    const t = q(`${NR}${p}`);
    lines.push(`if [ -d ${t} ]; then mount -t tmpfs -o ro,size=4k,mode=000 km-mask ${t}; elif [ -e ${t} ]; then mount --bind /dev/null ${t}; fi`);
  }
  lines.push(
    `mount -t proc -o nosuid,nodev,noexec proc ${NR}/proc`,
    // bwrap's /dev: device nodes bound from the host belong to host root, which is never
    // mapped inside, so they cannot be chmod'ed or replaced; pts and shm are private.
    `mount --rbind /dev ${NR}/dev`,
    `mount --rbind /sys ${NR}/sys`,
    `mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m km-run ${NR}/run`,
    `mkdir -p ${NR}${GATEWAY_MOUNT} ${NR}${CA_DIR}`,
    `mount --bind -o ro,nosuid,nodev ${SETUP}/gw ${NR}${GATEWAY_MOUNT}`,
    `mount --bind -o ro,nosuid,nodev ${S}/ca ${NR}${CA_DIR}`,
    `mkdir -p ${NR}/run/lock ${NR}/run/user && chmod 1777 ${NR}/run/lock`,
  );
  for (const f of ETC_FILES) {
    const t = q(`${NR}/etc/${f}`);
    lines.push(`if [ -f ${t} ] && [ ! -L ${t} ]; then mount --bind -o ro ${S}/etc/${f} ${t}; else warn "cannot place /etc/${f}"; fi`);
  }
  // The system trust store, where the base allows it (imported images).
  lines.push(
    `if cp ${S}/ca/km-sandbox.crt ${NR}/usr/local/share/ca-certificates/km-sandbox.crt 2>/dev/null; then`,
    `  b=${NR}/etc/ssl/certs/ca-certificates.crt; grep -qF "$(sed -n 2p ${S}/ca/km-sandbox.crt)" "$b" 2>/dev/null || cat ${S}/ca/km-sandbox.crt >> "$b" 2>/dev/null || true`,
    'fi',
  );
  input.mounts.forEach((m, i) => {
    const t = q(`${NR}${m.path}`);
    lines.push(`mkdir -p ${t} && mount --rbind${m.readOnly ? ' -o ro' : ''} ${SETUP}/m/${i} ${t} || fail "cannot mount ${m.path.replace(/["$`\\]/g, '')}"`);
  });
  return lines;
}

function networkLines(input: InitScriptInput): string[] {
  const lines = ['ip link set lo up', 'CAPTURE=0'];
  if (input.capture) {
    lines.push(
      `if command -v nft >/dev/null && ip addr add ${LO_CAPTURE_ADDR}/32 dev lo && ip route add default dev lo src ${LO_CAPTURE_ADDR} && nft -f ${S}/nft.rules; then CAPTURE=1; else ip route del default 2>/dev/null; nft flush ruleset 2>/dev/null; warn "transparent capture unavailable"; fi`,
    );
  }
  const gw = GATEWAY_MOUNT;
  lines.push(
    `${DROP_ALL} socat TCP4-LISTEN:${PROXY_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${gw}/proxy.sock 3>&- 2>/dev/null &`,
    `${DROP_KEEP_BIND} socat -T10 UDP4-RECVFROM:53,bind=127.0.0.1,fork UNIX-CONNECT:${gw}/dns.sock 3>&- 2>/dev/null &`,
    `${DROP_KEEP_BIND} socat TCP4-LISTEN:53,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${gw}/dns-tcp.sock 3>&- 2>/dev/null &`,
    `${DROP_KEEP_BIND} socat TCP4-LISTEN:80,bind=${KM_INTERNAL_ADDR},fork,reuseaddr UNIX-CONNECT:${gw}/kmd-internal.sock 3>&- 2>/dev/null &`,
    `if [ $CAPTURE = 1 ]; then ${DROP_ALL} socat TCP4-LISTEN:${TRANSPARENT_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${gw}/transparent.sock 3>&- 2>/dev/null & fi`,
  );
  return lines;
}

const PROC_COVERS = `for p in sys sysrq-trigger irq bus; do [ -e ${NR}/proc/$p ] && mount --bind -o ro ${NR}/proc/$p ${NR}/proc/$p; done; true`;

/** A bash function (builtins only) true once the holder is in place with no capabilities. */
function holderReady(dual: boolean): string {
  const where = dual
    ? '[ "$uid" = 1000 ]'
    : `! [ ${NR}/proc/$HOLDER/ns/user -ef ${NR}/proc/self/ns/user ]`;
  return `holder_ready() { local k v rest caps=x uid=x f=${NR}/proc/$HOLDER/status; [ -r "$f" ] || return 1; while read -r k v rest; do if [ "$k" = CapEff: ]; then caps=$v; elif [ "$k" = Uid: ]; then uid=$v; fi; done < "$f"; [[ $caps =~ ^0+$ ]] && ${where}; }`;
}

function holderLines(dual: boolean): string[] {
  const start = dual
    ? [
        // uid 1000 lives in this namespace: no nested namespace is needed, so none may be made.
        `echo 0 > ${NR}/proc/sys/user/max_user_namespaces`,
        `setpriv --reuid=${SANDBOX_UID} --regid=${SANDBOX_GID} --clear-groups --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs sleep infinity 3>&- &`,
      ]
    : [
        `unshare --user --map-user=${SANDBOX_UID} --map-group=${SANDBOX_GID} --keep-caps /bin/sh -c ${q(`echo 0 > ${NR}/proc/sys/user/max_user_namespaces && exec ${DROP_ALL} sleep infinity`)} 3>&- &`,
      ];
  return [
    ...start,
    'HOLDER=$!',
    holderReady(dual),
    // Polled every 2 ms without forking: `read -t` on a pipe no one writes to is the pause.
    'exec {pause}<> <(:)',
    'for i in {1..2500}; do holder_ready 2>/dev/null && break; read -t 0.002 -u $pause || :; done',
    'exec {pause}>&-',
    'holder_ready || fail "workload namespace did not come up"',
    ...(dual ? [] : [`echo 1 > ${NR}/proc/sys/user/max_user_namespaces`]),
    PROC_COVERS,
  ];
}

export function initScript(input: InitScriptInput): string {
  return [
    '#!/bin/bash',
    'set -u',
    'warn() { echo "km-init: warning: $*" >&2; }',
    'fail() { echo "km-init: error: $*" >&2; echo "failed $*" >&3; exit 1; }',
    'for fd in /proc/self/fd/*; do n=${fd##*/}; case $n in 0|1|2|3) ;; *) eval "exec $n>&-" 2>/dev/null;; esac; done',
    'set -e',
    'trap \'fail "setup step failed at line $LINENO"\' ERR',
    ...rootLines(input),
    ...networkLines(input),
    `cd ${NR}`,
    ...holderLines(input.dual),
    'trap - ERR',
    'pivot_root . . && umount -l . && cd / || fail "pivot_root failed"',
    'echo "ready $HOLDER $CAPTURE" >&3',
    'exec 3>&-',
    // Nothing after setup needs a capability: PID 2 becomes a cap-less waiter on the holder,
    // and the sandbox ends when the holder ends.
    `exec ${DROP_ALL} -- tail --pid=$HOLDER -f /dev/null`,
    '',
  ].join('\n');
}
