/** Checks of km itself: Node, config, state directory, store, daemon, disk, sandboxes. */
import { fail, pass, skip, warn, type CaSummary, type Check, type DoctorContext, type SandboxSummary } from './types.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const DAY_MS = 86_400_000;
/** Expired sandboxes get this long for the reconciler to tear them down before they count as stale. */
const TEARDOWN_GRACE_MS = 10 * 60_000;
const CA_WARN_MS = 7 * DAY_MS;

export const nodeCheck: Check = {
  name: 'node',
  async run(ctx) {
    const major = Number(ctx.nodeVersion.replace(/^v/, '').split('.')[0]);
    if (Number.isInteger(major) && major >= 24) return pass(`Node.js ${ctx.nodeVersion}`);
    return fail(`Node.js ${ctx.nodeVersion} is too old; km needs 24 or newer`, 'run ./setup, or install Node.js 24');
  },
};

export const configCheck: Check = {
  name: 'config',
  async run(ctx) {
    const c = await ctx.config();
    if (!c.ok) return fail(c.message, c.hint);
    return pass(c.message);
  },
};

async function nearestExisting(ctx: DoctorContext, path: string): Promise<string> {
  let p = path;
  while (!(await ctx.host.exists(p)) && p !== '/') p = p.replace(/\/[^/]*\/?$/, '') || '/';
  return p;
}

/** sun_path holds 108 bytes including the NUL; `$KM_HOME/kmd.sock` must fit. */
const MAX_SOCKET_PATH_BYTES = 107;

export const stateDirCheck: Check = {
  name: 'state-dir',
  async run(ctx) {
    const socket = `${ctx.stateDir}/kmd.sock`;
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
      return fail(`${socket} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket path allows`, 'set KM_HOME to a shorter directory');
    }
    const st = await ctx.host.stat(ctx.stateDir);
    if (!st) {
      const parent = await nearestExisting(ctx, ctx.stateDir);
      if (await ctx.host.writable(parent)) return pass(`${ctx.stateDir} does not exist yet; it will be created (mode 0700)`);
      return fail(`${ctx.stateDir} does not exist and ${parent} is not writable`, 'set KM_HOME to a writable directory');
    }
    const err = await ctx.host.writeProbe(ctx.stateDir);
    if (err !== undefined) return fail(`${ctx.stateDir} is not writable: ${err}`, 'fix its ownership or set KM_HOME to a writable directory');
    if ((st.mode & 0o077) !== 0) {
      return warn(`${ctx.stateDir} is writable but has mode ${st.mode.toString(8).padStart(4, '0')}; other users may read sandbox keys`, `chmod 700 ${ctx.stateDir}`);
    }
    return pass(`${ctx.stateDir} is writable (mode ${st.mode.toString(8).padStart(4, '0')})`);
  },
};

export const storeCheck: Check = {
  name: 'store',
  async run(ctx) {
    const s = await ctx.store();
    if (!s.exists) return pass(`no store yet at ${s.location}; it is created on first use`);
    if (!s.ok) return fail(`${s.location}: ${s.message}`, 'stop kmd, back up the file, and restore it or move it aside to start afresh');
    return pass(`${s.location}: ${s.message}`);
  },
};

export const daemonCheck: Check = {
  name: 'daemon',
  async run(ctx) {
    const d = await ctx.daemon();
    if (d.running && d.version !== ctx.cliVersion) {
      return warn(`kmd ${d.version} (pid ${d.pid}) differs from km ${ctx.cliVersion}`, 'km doctor --fix restarts it (sandboxes keep running)');
    }
    if (d.running) return pass(`kmd ${d.version} running (pid ${d.pid})`);
    if (d.hung) return fail('kmd holds its lock but does not answer', 'km doctor --fix restarts it');
    if (d.staleSocket || d.stalePidFile) {
      const what = [d.staleSocket ? 'socket' : '', d.stalePidFile ? 'pid file' : ''].filter(Boolean).join(' and ');
      return warn(`kmd is not running and left a stale ${what}`, 'km doctor --fix removes it (the next command also recovers)');
    }
    return pass('kmd is not running; the next command that needs it starts it');
  },
};

export const diskSpaceCheck: Check = {
  name: 'disk-space',
  async run(ctx) {
    const where = await nearestExisting(ctx, ctx.stateDir);
    const free = await ctx.host.freeBytes(where);
    const text = free >= GiB ? `${(free / GiB).toFixed(1)} GiB` : `${Math.floor(free / MiB)} MiB`;
    if (free < 512 * MiB) return fail(`${text} free on the filesystem of ${where}`, 'free space or move KM_HOME (sandbox layers and the store live there)');
    if (free < 2 * GiB) return warn(`${text} free on the filesystem of ${where}`, 'sandbox layers need space; free some or move KM_HOME');
    return pass(`${text} free on the filesystem of ${where}`);
  },
};

const NO_SANDBOXES = 'no sandboxes yet';

/** Expired and still up, unless the policy keeps it (retain, locked) or already applied (stop). */
function notTornDown(b: SandboxSummary, nowMs: number): boolean {
  if (b.expiresAtMs === null || b.expiresAtMs >= nowMs - TEARDOWN_GRACE_MS) return false;
  if (!['creating', 'running', 'paused', 'stopped'].includes(b.status)) return false;
  if (b.locked === true || b.teardownPolicy === 'retain') return false;
  return !(b.teardownPolicy === 'stop' && (b.status === 'stopped' || b.status === 'paused'));
}

const LIVE = new Set(['running', 'paused']);

export const staleSandboxesCheck: Check = {
  name: 'stale-sandboxes',
  async run(ctx) {
    const s = await ctx.store();
    if (!s.ok && s.exists) return skip('the store is not readable (see store)');
    if (s.sandboxes.length === 0) return skip(NO_SANDBOXES);
    const seen = ctx.processes ? await ctx.processes(s.sandboxes.filter((b) => LIVE.has(b.status))) : {};
    const expired = s.sandboxes.filter((b) => notTornDown(b, ctx.nowMs));
    const failed = s.sandboxes.filter((b) => b.status === 'failed' && b.updatedAtMs < ctx.nowMs - DAY_MS);
    const gone = s.sandboxes.filter((b) => b.status === 'lost' || (LIVE.has(b.status) && (seen[b.id] === 'stopped' || seen[b.id] === 'missing')));
    const goneText = (b: SandboxSummary): string => (b.status === 'lost' ? `${b.id} (lost)` : `${b.id} (${b.status}, substrate: ${seen[b.id]})`);
    const problems = [
      expired.length ? `expired but not torn down: ${expired.map((b) => b.id).join(', ')}` : '',
      failed.length ? `failed over a day ago: ${failed.map((b) => b.id).join(', ')}` : '',
      gone.length ? `processes gone: ${gone.map(goneText).join(', ')}` : '',
    ].filter(Boolean);
    if (problems.length === 0) return pass(`${s.sandboxes.length} sandbox(es), none stale`);
    return warn(problems.join('; '), 'destroy them with `km destroy <sb>` (or `km resume <sb>` one whose processes are gone), and check that kmd is running: it tears down expired sandboxes');
  },
};

export const caExpiryCheck: Check = {
  name: 'ca-expiry',
  async run(ctx) {
    const s = await ctx.store();
    if (s.sandboxes.length === 0) return skip(NO_SANDBOXES);
    const cas = await ctx.cas();
    if (cas === undefined) return skip('no sandbox CAs are stored on this install');
    const soon = cas.filter((c) => c.notAfterMs < ctx.nowMs + CA_WARN_MS);
    if (soon.length === 0) return pass(`${cas.length} sandbox CA(s), none expiring within 7 days`);
    const text = (c: CaSummary): string => `${c.sandboxId} (${c.notAfterMs <= ctx.nowMs ? 'expired' : 'expires'} ${new Date(c.notAfterMs).toISOString().replace('.000Z', 'Z')})`;
    return warn(`sandbox CA(s) expiring within 7 days: ${soon.map(text).join(', ')}`, 'kmd renews CAs 14 days before expiry while it runs; make sure it is running (`km daemon status`)');
  },
};
