/**
 * The containment battery: escape and leak attempts run inside real local sandboxes against
 * a fake gateway. Each attempt is named; `runBattery` returns one result per attempt so the
 * same battery runs in-process (as root) and in a child process as an unprivileged user
 * (run-battery.ts). Scratch state lives under /var/tmp on purpose: /var is an overlaid base
 * directory, so the km state dir and the fake operator home there must be *masked* (under
 * /tmp or /home they would be invisible by construction and prove nothing).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createLocalSubstrate, localGatekeeperUnavailable } from '../../src/substrate/index.ts';
import type { SandboxHandleInfo, SandboxSpec, Substrate } from '../../src/substrate/index.ts';
import { ALLOWED_IP, startFakeGateway, UPSTREAM_BODY } from './fake-gateway.ts';
import type { FakeGateway } from './fake-gateway.ts';

export interface BatteryResult {
  name: string;
  ok: boolean;
  skipped?: string;
  detail: string;
}

interface Run {
  code: number;
  out: string;
}

interface Ctx {
  sub: Substrate;
  a: SandboxHandleInfo;
  b: SandboxHandleInfo;
  gw: FakeGateway;
  kmHome: string;
  opHome: string;
  root: boolean;
}

async function run(sub: Substrate, id: string, argv: string[], root = false): Promise<Run> {
  const h = await sub.exec(id, ['timeout', '10', ...argv], { root });
  let out = '';
  h.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  h.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  h.stdin?.end();
  return { code: await h.exit, out: out.trim().slice(0, 400) };
}

const py = (code: string): string[] => ['python3', '-c', code];
const EPERM = /Operation not permitted|permission denied/i;
const NET_REFUSED = /Connection refused|Operation not permitted|No route to host|Network is unreachable/;
const MOUNT_DENIED = /must be superuser|permission denied/i;
const NO_ACCESS = /Permission denied|No such file/;

/**
 * An attempt that must fail, for the stated reason: a non-zero exit alone would also pass
 * when a tool is missing, so the output must match `why`.
 */
function mustFail(name: string, argv: (c: Ctx) => string[], why: RegExp, root = false) {
  return {
    name,
    async check(c: Ctx): Promise<BatteryResult> {
      const r = await run(c.sub, c.a.id, argv(c), root);
      return { name, ok: r.code !== 0 && r.code !== 124 && why.test(r.out), detail: `exit ${r.code}: ${r.out}` };
    },
  };
}

function mustPrint(name: string, argv: (c: Ctx) => string[], want: (c: Ctx, out: string) => boolean, root = false) {
  return {
    name,
    async check(c: Ctx): Promise<BatteryResult> {
      const r = await run(c.sub, c.a.id, argv(c), root);
      return { name, ok: r.code === 0 && want(c, r.out), detail: `exit ${r.code}: ${r.out}` };
    },
  };
}

/**
 * Lists every /proc/<pid>/{cwd,root,fd/*} directory this process can follow whose target is
 * not the directory of the same name inside the sandbox: a cwd or fd left in the setup view
 * (the host root and the state dir, without masks) would survive pivot_root there.
 */
const ESCAPE_LINKS = [
  'for l in /proc/[0-9]*/cwd /proc/[0-9]*/root /proc/[0-9]*/fd/*; do',
  '  [ -d "$l" ] || continue; a=$(stat -L -c %d:%i "$l" 2>/dev/null) || continue; t=$(readlink "$l") || continue',
  '  [ "$a" = "$(stat -c %d:%i "$t" 2>/dev/null)" ] || echo "$l -> $t"',
  'done; echo checked',
].join('\n');

const ATTEMPTS = [
  mustFail('tcp connect to 10.200.1.1:8080 fails', () => ['bash', '-c', 'exec 3<>/dev/tcp/10.200.1.1/8080'], NET_REFUSED),
  mustFail('tcp connect to 10.200.1.1:8080 fails as root inside', () => ['bash', '-c', 'exec 3<>/dev/tcp/10.200.1.1/8080'], NET_REFUSED, true),
  mustFail('udp to 10.200.1.1:9999 fails', () => py("import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.connect(('10.200.1.1',9999));s.send(b'x');s.settimeout(1);s.recv(1)"), NET_REFUSED),
  mustFail('ipv6 connect to [fd00::1]:80 fails', () => py("import socket;socket.create_connection(('fd00::1',80),timeout=2)"), /Network is unreachable/),
  mustFail('host loopback listener (upstream) unreachable', (c) => ['curl', '-sS', '--noproxy', '*', '-m', '3', `http://127.0.0.1:${c.gw.upstreamPort}/`], /Couldn't connect|refused/),
  mustFail('dns: denied.test is NXDOMAIN', () => ['sh', '-c', 'getent hosts denied.test; echo "getent=$?"; exit 1'], /^getent=2$/),
  mustPrint('dns: allowed.test resolves', () => ['getent', 'hosts', 'allowed.test'], (_c, o) => o.startsWith(ALLOWED_IP)),
  mustPrint('dns over tcp: allowed.test resolves', () => py(
    "import socket,struct;q=bytes.fromhex('abcd01000001000000000000')+b'\\x07allowed\\x04test\\x00\\x00\\x01\\x00\\x01';s=socket.create_connection(('127.0.0.1',53),timeout=3);s.sendall(struct.pack('>H',len(q))+q);r=s.recv(512);print(socket.inet_ntoa(r[-4:]))",
  ), (_c, o) => o === ALLOWED_IP),
  mustPrint('proxy: curl denied.test gets 403', () => ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://denied.test/'], (_c, o) => o === '403'),
  mustPrint('proxy: curl allowed.test gets the upstream body', () => ['curl', '-sS', 'http://allowed.test/hello'], (_c, o) => o.startsWith(UPSTREAM_BODY)),
  mustFail('nft flush ruleset fails', () => ['nft', 'flush', 'ruleset'], EPERM),
  mustFail('nft flush ruleset fails as root inside', () => ['nft', 'flush', 'ruleset'], EPERM, true),
  mustFail('ip link set lo down fails as root inside', () => ['ip', 'link', 'set', 'lo', 'down'], EPERM, true),
  mustFail('mount -o remount,rw / fails', () => ['mount', '-o', 'remount,rw', '/'], MOUNT_DENIED),
  mustFail('mount -o remount,rw / fails as root inside', () => ['mount', '-o', 'remount,rw', '/'], MOUNT_DENIED, true),
  mustFail('umount /run/km fails as root inside', () => ['umount', '-l', '/run/km'], MOUNT_DENIED, true),
  mustFail('unshare -n fails', () => ['unshare', '-n', 'true'], EPERM),
  mustFail('unshare -Ur (nested user namespace) fails', () => ['unshare', '-Ur', 'true'], /No space left on device|not permitted/),
  mustFail('unshare -Ur fails as root inside', () => ['unshare', '-Ur', 'true'], /No space left on device|not permitted/, true),
  mustFail('raw socket fails', () => py('import socket;socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP)'), EPERM),
  mustFail('raw socket fails as root inside', () => py('import socket;socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP)'), EPERM, true),
  mustFail('icmp ping socket fails', () => py('import socket;socket.socket(socket.AF_INET,socket.SOCK_DGRAM,socket.IPPROTO_ICMP)'), /Permission denied|not permitted/),
  mustFail('strace -p <bridge> fails', () => ['sh', '-c', 'exec strace -p "$(pgrep -x socat | head -1)"'], EPERM),
  mustFail('strace -p 1 fails', () => ['strace', '-p', '1'], EPERM),
  mustFail('the test runner (host pid) is not visible', () => ['sh', '-c', `test -e /proc/${process.pid} && cat /proc/${process.pid}/cmdline || { echo absent; exit 1; }`], /absent/),
  mustFail('read /proc/1/environ fails', () => ['cat', '/proc/1/environ'], /Permission denied/),
  mustFail('write kernel.core_pattern fails as root inside', () => ['sh', '-c', 'echo "|/tmp/x" > /proc/sys/kernel/core_pattern'], /Read-only|Permission denied/, true),
  mustFail('sethostname fails as root inside', () => ['hostname', 'evil'], /must be root|not permitted/, true),
  mustPrint('host processes invisible (only the sandbox tree)', () => ['ps', '-eo', 'comm='], (_c, o) => !/\bnode\b/.test(o) && o.split('\n').length < 20),
  mustFail('operator ~/.ssh not readable', (c) => ['cat', join(c.opHome, '.ssh', 'id_ed25519')], NO_ACCESS),
  mustFail('operator ~/.aws not readable', (c) => ['cat', join(c.opHome, '.aws', 'credentials')], NO_ACCESS),
  mustFail('operator ~/.ssh not readable as root inside', (c) => ['cat', join(c.opHome, '.ssh', 'id_ed25519')], NO_ACCESS, true),
  mustPrint('/root holds nothing from the host', () => ['sh', '-c', 'ls -A /root | wc -l'], (_c, o) => o === '0', true),
  mustFail('KM_HOME not readable', (c) => ['cat', join(c.kmHome, 'secret.txt')], NO_ACCESS),
  mustFail('KM_HOME not readable as root inside', (c) => ['cat', join(c.kmHome, 'secret.txt')], NO_ACCESS, true),
  mustFail('kmd control socket not reachable', (c) => ['curl', '-sS', '-m', '3', '--unix-socket', join(c.kmHome, 'kmd.sock'), 'http://kmd/'], /Couldn't connect/),
  mustFail('other sandbox state dir not visible', (c) => ['ls', c.b.stateDir], NO_ACCESS),
  mustPrint('other sandbox processes invisible', () => ['sh', '-c', 'ps -eo args= | grep -c "[s]leep 4242" || true'], (_c, o) => o === '0'),
  mustFail('other sandbox file invisible', () => ['cat', '/workspace/b-secret'], /No such file/),
  mustPrint('host /tmp is private', () => ['sh', '-c', 'ls -A /tmp | wc -l'], (_c, o) => o === '0'),
  mustPrint('no process\'s cwd, root or open directory leads out of the sandbox root (root inside)', () => ['sh', '-c', ESCAPE_LINKS], (_c, o) => o === 'checked', true),
  mustPrint('no process\'s cwd, root or open directory leads out of the sandbox root', () => ['sh', '-c', ESCAPE_LINKS], (_c, o) => o === 'checked'),
];

async function captureChecks(c: Ctx): Promise<BatteryResult[]> {
  const name = 'transparent: direct http to 10.200.1.1:80 is captured by the gateway';
  if (!c.a.features.transparent) return [{ name, ok: true, skipped: 'nftables capture unavailable', detail: '' }];
  const before = c.gw.transparent.length;
  const r = await run(c.sub, c.a.id, ['curl', '-s', '--noproxy', '*', '-m', '5', 'http://10.200.1.1/x']);
  const dns = await run(c.sub, c.a.id, py(
    "import socket;q=bytes.fromhex('abcd01000001000000000000')+b'\\x07allowed\\x04test\\x00\\x00\\x01\\x00\\x01';s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(3);s.sendto(q,('10.200.1.1',53));print(socket.inet_ntoa(s.recv(512)[-4:]))",
  ));
  return [
    { name, ok: r.out.includes('transparent') && c.gw.transparent.length > before, detail: `exit ${r.code}: ${r.out}` },
    { name: 'transparent: dns to a foreign resolver is answered by the gateway', ok: dns.out === ALLOWED_IP, detail: `exit ${dns.code}: ${dns.out}` },
  ];
}

async function hostUntouched(c: Ctx): Promise<BatteryResult> {
  const probe = `/usr/km-probe-${process.pid}`;
  const r = await run(c.sub, c.a.id, ['sh', '-c', `echo x > ${probe} 2>/dev/null; echo changed >> /etc/hostname 2>&1; true`], true);
  return { name: 'writes inside never reach host files', ok: !existsSync(probe) && !readFileSync('/etc/hostname', 'utf8').includes('changed'), detail: r.out };
}

/** enforcement: ebpf (SPEC §3.5): the BPF gatekeeper turns foreign connects into EPERM; capture still works. */
async function gatekeeperChecks(c: Ctx, spec: (id: string) => SandboxSpec): Promise<BatteryResult[]> {
  const names = ['ebpf: tcp connect to 10.200.1.1:22 gets EPERM', 'ebpf: udp sendto 10.200.1.1:9999 gets EPERM', 'ebpf: direct http to 10.200.1.1:80 still captured'];
  const why = c.root ? localGatekeeperUnavailable() : 'needs root (BPF)';
  if (why !== null) return names.map((name) => ({ name, ok: true, skipped: why, detail: '' }));
  const info = await c.sub.create({ ...spec('bt-0000bpf0'), gatekeeper: true });
  try {
    const tcp = await run(c.sub, info.id, ['bash', '-c', 'exec 3<>/dev/tcp/10.200.1.1/22']);
    const udp = await run(c.sub, info.id, py("import socket;socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'x',('10.200.1.1',9999))"));
    const http = await run(c.sub, info.id, ['curl', '-s', '--noproxy', '*', '-m', '5', 'http://10.200.1.1/x']);
    return [
      { name: names[0] as string, ok: info.features.gatekeeper === true && tcp.code !== 0 && /Operation not permitted/.test(tcp.out), detail: `exit ${tcp.code}: ${tcp.out}` },
      { name: names[1] as string, ok: udp.code !== 0 && /Operation not permitted/.test(udp.out), detail: `exit ${udp.code}: ${udp.out}` },
      info.features.transparent
        ? { name: names[2] as string, ok: http.out.includes('transparent'), detail: `exit ${http.code}: ${http.out}` }
        : { name: names[2] as string, ok: true, skipped: 'nftables capture unavailable', detail: '' },
    ];
  } finally {
    await c.sub.destroy(info.id);
  }
}

/** Reads a pids-controller file of a sandbox from its runtime record. */
function pidsFile(stateDir: string, file: string): string {
  const rt = JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as { cgroups: { v1: Record<string, string>; v2: string | null; limitsIn: string } };
  const dir = rt.cgroups.limitsIn === 'v2' ? rt.cgroups.v2 : rt.cgroups.v1.pids;
  return readFileSync(join(dir ?? '', file), 'utf8').trim();
}

async function forkBomb(c: Ctx, spec: (id: string) => SandboxSpec): Promise<BatteryResult> {
  const name = 'fork bomb contained by the pids limit';
  if (!c.root) return { name, ok: true, skipped: 'needs root (cgroups)', detail: '' };
  const info = await c.sub.create({ ...spec('bt-0000f0cb'), limits: { pids: 64 } });
  try {
    if (info.features.cgroups === 'none') return { name, ok: false, detail: 'no cgroup limits applied' };
    const bomb = await c.sub.exec(info.id, ['bash', '-c', 'b(){ b|b& }; b'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500));
    const current = Number(pidsFile(info.stateDir, 'pids.current'));
    const hitMax = Number(/max (\d+)/.exec(pidsFile(info.stateDir, 'pids.events'))?.[1] ?? 0);
    const host = spawnSync('true');
    bomb.kill('SIGKILL');
    return {
      name,
      ok: host.status === 0 && current <= 64 && hitMax > 0,
      detail: `pids.current=${current} (max 64), fork refusals=${hitMax}, host fork exit ${host.status}`,
    };
  } finally {
    await c.sub.destroy(info.id);
  }
}

export interface BatteryOptions {
  /** km-setup for the sandbox setup (default: the built helper), null = the bash setup. */
  setupHelper?: string | null;
}

/** The sandboxes were set up the way asked for (km-setup writes setup.plan, bash init.sh). */
function setupUsed(a: SandboxHandleInfo, options: BatteryOptions): BatteryResult {
  const bash = options.setupHelper === null;
  const plan = existsSync(join(a.stateDir, 'setup.plan'));
  const script = existsSync(join(a.stateDir, 'init.sh'));
  return { name: `the sandboxes ran the ${bash ? 'bash' : 'km-setup'} setup`, ok: bash ? script && !plan : plan && !script, detail: `setup.plan ${plan}, init.sh ${script}` };
}

export async function runBattery(options: BatteryOptions = {}): Promise<BatteryResult[]> {
  const scratch = mkdtempSync(join(process.env.KM_SCRATCH_BASE ?? '/var/tmp', 'km-battery-'));
  const kmHome = join(scratch, 'km');
  const opHome = join(scratch, 'operator');
  mkdirSync(join(opHome, '.ssh'), { recursive: true });
  mkdirSync(join(opHome, '.aws'), { recursive: true });
  writeFileSync(join(opHome, '.ssh', 'id_ed25519'), 'PRIVATE KEY\n');
  writeFileSync(join(opHome, '.aws', 'credentials'), '[default]\naws_secret_access_key=x\n');
  mkdirSync(kmHome, { recursive: true, mode: 0o700 });
  writeFileSync(join(kmHome, 'secret.txt'), 'km state\n');
  const kmd = net.createServer((s) => s.end('HTTP/1.1 200 OK\r\n\r\nkmd\n'));
  await new Promise<void>((r) => kmd.listen(join(kmHome, 'kmd.sock'), () => r()));
  const gw = await startFakeGateway(join(kmHome, 'gateways', 'shared'));
  const sub = createLocalSubstrate({ kmHome, hostHome: opHome, ...(options.setupHelper === undefined ? {} : { setupHelper: options.setupHelper }) });
  const spec = (id: string): SandboxSpec => ({
    id, stateDir: join(kmHome, 'sandboxes', id), gatewayDir: gw.dir, env: {}, workingDir: '/workspace',
    shell: '/bin/bash', caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', hostname: id,
    privileged: false, configFiles: [], mounts: [],
  });
  const made: string[] = [];
  try {
    const a = await sub.create(spec('bt-0000000a'));
    made.push(a.id);
    const b = await sub.create(spec('bt-0000000b'));
    made.push(b.id);
    await run(sub, b.id, ['sh', '-c', 'echo secret > /workspace/b-secret']);
    const sleeper = await sub.exec(b.id, ['sleep', '4242']);
    const c: Ctx = { sub, a, b, gw, kmHome, opHome, root: process.getuid?.() === 0 };
    const results: BatteryResult[] = [setupUsed(a, options)];
    for (const attempt of ATTEMPTS) {
      const t0 = Date.now();
      results.push(await attempt.check(c));
      if (process.env.KM_BATTERY_DEBUG) console.error(Date.now() - t0, attempt.name, results[results.length - 1]?.detail);
    }
    results.push(...(await captureChecks(c)), ...(await gatekeeperChecks(c, spec)), await hostUntouched(c), await forkBomb(c, spec));
    sleeper.kill('SIGKILL');
    return results;
  } finally {
    for (const id of made) await sub.destroy(id);
    await gw.close();
    await new Promise<void>((r) => kmd.close(() => r()));
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function formatResults(results: BatteryResult[]): string {
  return results
    .map((r) => `${r.skipped ? 'SKIP' : r.ok ? 'PASS' : 'FAIL'}  ${r.name}${r.skipped ? ` (${r.skipped})` : ''}${r.ok ? '' : `\n      ${r.detail}`}`)
    .join('\n');
}
