/**
 * Files the sandbox sees that km generates: /etc/passwd and /etc/group with the `sandbox`
 * user (uid/gid 1000, home /home/sandbox), /etc/hosts (`km.internal` → 127.0.0.2),
 * /etc/resolv.conf (`nameserver 127.0.0.1`), /etc/hostname, and the CA trust files of
 * SPEC §5: the sandbox CA alone and a bundle of the base's system roots plus the CA. They
 * are written to the state dir and bind-mounted read-only (the etc files over the base's,
 * the CA files at `/run/km-ca`), because with an unprivileged kmd the base's /etc belongs to
 * an unmapped owner and cannot be written even by root inside. Where /etc is writable (an
 * imported image) the init script also drops the CA into the system trust store.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StatePaths } from './layout.ts';

export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
export const SANDBOX_USER = 'sandbox';
export const SANDBOX_HOME = '/home/sandbox';
export const CA_DIR = '/run/km-ca';
export const CA_FILE = `${CA_DIR}/km-sandbox.crt`;
export const CA_BUNDLE = `${CA_DIR}/bundle.pem`;
export const GATEWAY_MOUNT = '/run/km';
export const PROXY_PORT = 3128;
export const TRANSPARENT_PORT = 3129;
export const KM_INTERNAL_ADDR = '127.0.0.2';

/** The etc files bound over the base's (name under /etc → file in `paths.etc`). */
export const ETC_FILES = ['passwd', 'group', 'hosts', 'resolv.conf', 'hostname', 'profile'] as const;

/**
 * Appended to the base's /etc/profile: login shells (`km shell` runs `bash -l`) reset PATH
 * there, which would drop km's tools; this puts sudo (privileged sandboxes) first and
 * km-mail last, once.
 */
const LOGIN_PATH = '# km: sudo (privileged sandboxes) and km-mail on PATH\ncase ":$PATH:" in *:/opt/km/bin:*) ;; *) PATH="/opt/km/sudo:$PATH:/opt/km/bin"; export PATH ;; esac\n';

const SYSTEM_BUNDLES = ['etc/ssl/certs/ca-certificates.crt', 'etc/pki/tls/certs/ca-bundle.crt'];

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Drops lines whose name or numeric id collides with ours, then appends ours. */
function withEntry(text: string, name: string, id: number, line: string): string {
  const kept = text.split('\n').filter((l) => {
    if (l.trim() === '') return false;
    const f = l.split(':');
    return f[0] !== name && f[2] !== String(id);
  });
  return `${kept.join('\n')}\n${line}\n`;
}

export interface EtcInput {
  baseDir: string;
  hostname: string;
  shell: string;
  caPem: string;
}

export function writeEtcFiles(paths: StatePaths, input: EtcInput): void {
  const passwd = withEntry(
    readOr(join(input.baseDir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n'),
    SANDBOX_USER,
    SANDBOX_UID,
    `${SANDBOX_USER}:x:${SANDBOX_UID}:${SANDBOX_GID}:km sandbox:${SANDBOX_HOME}:${input.shell}`,
  );
  const group = withEntry(
    readOr(join(input.baseDir, 'etc/group'), 'root:x:0:\n'),
    SANDBOX_USER,
    SANDBOX_GID,
    `${SANDBOX_USER}:x:${SANDBOX_GID}:`,
  );
  const hosts = [
    '127.0.0.1\tlocalhost',
    `127.0.1.1\t${input.hostname}`,
    `${KM_INTERNAL_ADDR}\tkm.internal`,
    '::1\tlocalhost ip6-localhost ip6-loopback',
    '',
  ].join('\n');
  const files: Record<(typeof ETC_FILES)[number], string> = {
    passwd,
    group,
    hosts,
    'resolv.conf': 'nameserver 127.0.0.1\noptions edns0 trust-ad\n',
    hostname: `${input.hostname}\n`,
    profile: `${readOr(join(input.baseDir, 'etc/profile'), '')}${readOr(join(input.baseDir, 'etc/profile'), '').endsWith('\n') ? '' : '\n'}${LOGIN_PATH}`,
  };
  for (const name of ETC_FILES) writeFileSync(join(paths.etc, name), files[name], { mode: 0o644 });

  const ca = input.caPem.endsWith('\n') ? input.caPem : `${input.caPem}\n`;
  const systemBundle = SYSTEM_BUNDLES.map((p) => join(input.baseDir, p)).find((p) => existsSync(p));
  const roots = systemBundle === undefined ? '' : readOr(systemBundle, '');
  writeFileSync(join(paths.ca, 'km-sandbox.crt'), ca, { mode: 0o644 });
  writeFileSync(join(paths.ca, 'bundle.pem'), `${roots}${roots.endsWith('\n') || roots === '' ? '' : '\n'}${ca}`, {
    mode: 0o644,
  });
}

const PROXY_URL = `http://127.0.0.1:${PROXY_PORT}`;
const NO_PROXY = 'localhost,127.0.0.1,::1,km.internal';
/** /opt/km/sudo exists only in privileged sandboxes; /opt/km/bin (km-mail) in all. */
export const SANDBOX_PATH = '/opt/km/sudo:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/km/bin';

/** The environment every process in the sandbox gets (SPEC §9.4, §5). */
export function sandboxEnv(spec: { env: Record<string, string>; shell: string; hostname: string }, root: boolean): Record<string, string> {
  const home = root ? '/root' : SANDBOX_HOME;
  const user = root ? 'root' : SANDBOX_USER;
  return {
    PATH: SANDBOX_PATH,
    LANG: 'C.UTF-8',
    TERM: 'xterm-256color',
    ...spec.env,
    HOME: home,
    USER: user,
    LOGNAME: user,
    SHELL: spec.shell,
    HOSTNAME: spec.hostname,
    HTTP_PROXY: PROXY_URL,
    HTTPS_PROXY: PROXY_URL,
    http_proxy: PROXY_URL,
    https_proxy: PROXY_URL,
    NO_PROXY,
    no_proxy: NO_PROXY,
    SSL_CERT_FILE: CA_BUNDLE,
    REQUESTS_CA_BUNDLE: CA_BUNDLE,
    CURL_CA_BUNDLE: CA_BUNDLE,
    AWS_CA_BUNDLE: CA_BUNDLE,
    GIT_SSL_CAINFO: CA_BUNDLE,
    CODEX_CA_CERTIFICATE: CA_BUNDLE,
    NODE_EXTRA_CA_CERTS: CA_FILE,
  };
}
