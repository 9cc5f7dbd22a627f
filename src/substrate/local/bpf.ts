/**
 * The BPF connect gatekeeper of local sandboxes (SPEC §3.5, `enforcement: ebpf|both`, root
 * only). `native/km-bpf.c` assembles cgroup connect4/connect6/sendmsg4/sendmsg6 programs,
 * attaches them to the sandbox's cgroup v2 directory before anything runs in it, and stays
 * resident (one small process per running sandbox) to report denied attempts as JSON lines.
 *
 * The helper is built on demand with the host's C compiler into `.toolchain/bin/` of the
 * installation (`./setup` does the same) and rebuilt when the source is newer.
 *
 * Attachments live as long as the cgroup, so enforcement survives a kmd restart. The reader
 * exits with kmd (stdin EOF or its parent's death); a new kmd adopting the sandbox starts
 * `km-bpf watch`, which finds the programs' maps on the cgroup and resumes reporting from
 * where the ring buffer's consumer position was left (denies while no kmd ran are reported
 * then, up to the buffer's size).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nativeHelper } from '../../native/index.ts';

export interface GatekeeperDeny {
  family: 4 | 6;
  proto: 'tcp' | 'udp' | 'other';
  addr: string;
  port: number;
  /** Host pid of the process that tried. */
  pid: number;
  op: 'connect' | 'sendmsg';
}

export interface Gatekeeper {
  /** Host pid of the resident helper. */
  readonly pid: number;
  /** Allows (or stops allowing) TCP 80/443 and port 53 to any address: transparent capture is on. */
  setCapture(on: boolean): Promise<void>;
  /** Ends the reader; the programs stay attached until the cgroup is removed. */
  close(): void;
}

/** The helper binary, compiled when missing or older than its source; else why not. */
export const gatekeeperHelper = (): { path: string } | { reason: string } => nativeHelper('km-bpf');

/**
 * `gatekeeperUnavailable`, probed at most once per `ttlMs` (each probe is a helper run;
 * create asks twice). Root, the kernel and the helper rarely change under a running kmd.
 */
export function cachedGatekeeperProbe(ttlMs = 60_000, now: () => number = Date.now, probe: () => string | null = gatekeeperUnavailable): () => string | null {
  let last: { at: number; value: string | null } | null = null;
  return () => {
    if (last === null || now() - last.at >= ttlMs) last = { at: now(), value: probe() };
    return last.value;
  };
}

/** Null when this host can load and attach the gatekeeper, else the reason. */
export function gatekeeperUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the BPF gatekeeper needs Linux';
  if (process.getuid?.() !== 0) return 'kmd is not root';
  const helper = gatekeeperHelper();
  if ('reason' in helper) return helper.reason;
  const r = spawnSync(helper.path, ['probe'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0) return null;
  return (r.stderr || r.error?.message || `km-bpf probe exited ${r.status}`).trim().replace(/^km-bpf: /, '');
}

function parseDeny(line: string): GatekeeperDeny | null {
  try {
    const v = JSON.parse(line) as Partial<GatekeeperDeny>;
    if ((v.family !== 4 && v.family !== 6) || typeof v.addr !== 'string' || typeof v.port !== 'number') return null;
    return { family: v.family, proto: v.proto ?? 'other', addr: v.addr, port: v.port, pid: v.pid ?? 0, op: v.op ?? 'connect' };
  } catch {
    return null;
  }
}

/**
 * Attaches the gatekeeper to `cgroupDir` (a cgroup v2 directory) with capture off; resolves
 * once every program is attached. Denies go to `onDeny`. `watch` instead re-opens the reader
 * of a gatekeeper an earlier kmd attached (its capture setting is kept).
 */
export function attachGatekeeper(helper: string, cgroupDir: string, onDeny: (d: GatekeeperDeny) => void, mode: 'attach' | 'watch' = 'attach'): Promise<Gatekeeper> {
  const child = spawn(helper, [mode, cgroupDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const acks: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return new Promise((resolve, reject) => {
    let attached = false;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line === '{"attached":true}' && !attached) {
        attached = true;
        resolve(handle);
      } else if (line.startsWith('{"capture":')) {
        acks.shift()?.resolve();
      } else {
        const d = parseDeny(line);
        if (d) onDeny(d);
      }
    });
    child.on('error', (e) => reject(new Error(`km-bpf: ${e.message}`)));
    child.on('exit', (code) => {
      for (const a of acks.splice(0)) a.reject(new Error(`the km-bpf helper exited (${code}): ${stderr.trim()}`));
      if (!attached) reject(new Error((stderr.trim() || `km-bpf attach exited ${code}`).replace(/^km-bpf: /, '')));
    });
    const handle: Gatekeeper = {
      pid: child.pid ?? -1,
      setCapture: (on) =>
        new Promise<void>((res, rej) => {
          if (child.exitCode !== null || !child.stdin.writable) return rej(new Error('the km-bpf helper has exited'));
          acks.push({ resolve: res, reject: rej });
          child.stdin.write(`capture ${on ? 1 : 0}\n`);
        }),
      close: () => {
        child.stdin.end();
      },
    };
  });
}

/**
 * Bounds how many denies per sandbox become events: at most `limit` per `windowMs`; the
 * first one after a full window carries how many were left out (`suppressed`).
 */
export function denyLimiter(limit: number, windowMs: number, now: () => number): (d: GatekeeperDeny) => (GatekeeperDeny & { suppressed?: number }) | null {
  let windowStart = -Infinity;
  let count = 0;
  let suppressed = 0;
  return (d) => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      count = 0;
    }
    if (count >= limit) {
      suppressed += 1;
      return null;
    }
    count += 1;
    if (suppressed === 0) return d;
    const out = { ...d, suppressed };
    suppressed = 0;
    return out;
  };
}

export interface SandboxGatekeepers {
  /** Attaches before anything runs in the cgroup; null (and a warning pushed) when it cannot. */
  attach(id: string, cgroupV2: string | null, warnings: string[]): Promise<Gatekeeper | null>;
  /** After a kmd restart: resumes deny reporting of a gatekeeper still on the cgroup (a warning, or null). */
  watch(id: string, cgroupV2: string): Promise<string | null>;
  /** Ends the sandbox's reader (the programs go with its cgroup). */
  close(id: string): void;
  closeAll(): void;
}

/** The readers of one substrate's sandboxes, with the deny rate bound per sandbox. */
export function createSandboxGatekeepers(
  onDeny: ((id: string, d: GatekeeperDeny & { suppressed?: number }) => void) | undefined,
  unavailable: () => string | null = gatekeeperUnavailable,
): SandboxGatekeepers {
  const open = new Map<string, Gatekeeper>();
  const sink = (id: string) => {
    const limit = denyLimiter(50, 10_000, Date.now);
    return (d: GatekeeperDeny) => {
      const out = limit(d);
      if (out) onDeny?.(id, out);
    };
  };
  return {
    async attach(id, cgroupV2, warnings) {
      const why = cgroupV2 ? unavailable() : 'no cgroup v2 directory for the sandbox (root kmd and a cgroup2 mount needed)';
      const helper = gatekeeperHelper();
      if (why !== null || 'reason' in helper || cgroupV2 === null) {
        warnings.push(`BPF gatekeeper not attached: ${why ?? ('reason' in helper ? helper.reason : 'no cgroup v2')}`);
        return null;
      }
      try {
        const gk = await attachGatekeeper(helper.path, cgroupV2, sink(id));
        open.set(id, gk);
        return gk;
      } catch (e) {
        warnings.push(`BPF gatekeeper not attached: ${(e as Error).message}`);
        return null;
      }
    },
    async watch(id, cgroupV2) {
      if (!onDeny || open.has(id)) return null;
      const helper = gatekeeperHelper();
      if ('reason' in helper) return `BPF gatekeeper denies are not reported: ${helper.reason}`;
      try {
        open.set(id, await attachGatekeeper(helper.path, cgroupV2, sink(id), 'watch'));
        return null;
      } catch (e) {
        return `BPF gatekeeper denies are not reported: ${(e as Error).message}`;
      }
    },
    close(id) {
      open.get(id)?.close();
      open.delete(id);
    },
    closeAll() {
      for (const gk of open.values()) gk.close();
      open.clear();
    },
  };
}
