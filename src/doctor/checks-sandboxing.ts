/** Checks of the kernel features local sandboxes are built from, each run for real. */
import { fail, firstLine, pass, skip, warn, type Check, type DoctorContext, type RunResult } from './types.ts';

const missing = (r: RunResult): boolean => r.error === 'ENOENT' || r.code === 127;

const NFT_TABLE = `table inet km_doctor {
  chain output {
    type filter hook output priority 0; policy accept;
  }
}
`;

/** Lower, upper, work and merged dirs; mount; write through; unmount; clean up inside. */
const OVERLAY_SCRIPT = `set -e
cd "$1"
mkdir lower upper work merged
echo base > lower/f
mount -t overlay overlay -o lowerdir="$1/lower",upperdir="$1/upper",workdir="$1/work" "$1/merged"
echo layer > merged/g
test -f upper/g
grep -q base merged/f
umount "$1/merged"
rm -rf "$1/work"
`;

export const userNamespacesCheck: Check = {
  name: 'user-namespaces',
  async run(ctx) {
    const r = await ctx.run('unshare', ['--user', '--map-root-user', '--net', 'true'], { timeoutMs: 10_000 });
    if (r.error === 'ENOENT') return fail('unshare is not installed', 'install util-linux');
    if (r.code === 0) return pass(`user and network namespaces work as uid ${ctx.uid}${ctx.uid === 0 ? ' (root)' : ''}`);
    return fail(`unshare --user --map-root-user --net failed: ${firstLine(r)}`, 'enable unprivileged user namespaces (sysctl user.max_user_namespaces > 0; kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu)');
  },
};

export const bubblewrapCheck: Check = {
  name: 'bubblewrap',
  async run(ctx) {
    const v = await ctx.run('bwrap', ['--version'], { timeoutMs: 5000 });
    if (missing(v)) return fail('bwrap is not installed', 'apt-get install bubblewrap');
    const r = await ctx.run('bwrap', ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', 'true'], { timeoutMs: 10_000 });
    const version = v.stdout.trim() || 'bubblewrap';
    if (r.code === 0) return pass(`${version}: --unshare-all works`);
    return fail(`${version}: bwrap --unshare-all failed: ${firstLine(r)}`, 'bwrap needs unprivileged user namespaces (see user-namespaces)');
  },
};

export const overlayCheck: Check = {
  name: 'overlay-in-userns',
  async run(ctx) {
    const parent = (await ctx.host.exists(ctx.stateDir)) ? ctx.stateDir : undefined;
    const dir = await ctx.host.makeTempDir(parent);
    try {
      const r = await ctx.run('unshare', ['-Urm', 'sh', '-c', OVERLAY_SCRIPT, 'sh', dir], { timeoutMs: 10_000 });
      if (r.error === 'ENOENT') return fail('unshare is not installed', 'install util-linux');
      if (r.code === 0) return pass('overlayfs mounts inside a user namespace');
      return warn(`overlayfs in a user namespace failed: ${firstLine(r)}`, 'needs Linux >= 5.11 and a state directory on a filesystem overlayfs accepts as upper layer (ext4, xfs, tmpfs)');
    } finally {
      await ctx.host.removeDir(dir);
    }
  },
};

export const nftablesCheck: Check = {
  name: 'nftables',
  async run(ctx) {
    const r = await ctx.run('unshare', ['-Urn', 'nft', '-f', '-'], { input: NFT_TABLE, timeoutMs: 10_000 });
    if (r.error === 'ENOENT') return fail('unshare is not installed', 'install util-linux');
    if (missing(r)) return warn('nft is not installed: transparent capture is unavailable (proxy variables only)', 'apt-get install nftables');
    if (r.code === 0) return pass('nftables rules load inside a sandbox network namespace');
    return warn(`nft failed inside a network namespace: ${firstLine(r)}`, 'transparent capture needs nf_tables in the kernel');
  },
};

async function versionOf(ctx: DoctorContext, cmd: string, args: string[]): Promise<RunResult> {
  return ctx.run(cmd, args, { timeoutMs: 5000 });
}

export const tmuxCheck: Check = {
  name: 'tmux',
  async run(ctx) {
    const r = await versionOf(ctx, 'tmux', ['-V']);
    if (missing(r)) return fail('tmux is not installed (agent runs execute in tmux)', 'apt-get install tmux');
    if (r.code !== 0) return fail(`tmux -V failed: ${firstLine(r)}`, 'reinstall tmux');
    return pass(r.stdout.trim());
  },
};

export const socatCheck: Check = {
  name: 'socat',
  async run(ctx) {
    const r = await versionOf(ctx, 'socat', ['-V']);
    if (missing(r)) return warn('socat is not installed (used to bridge gateway sockets into sandboxes)', 'apt-get install socat');
    const line = r.stdout.split('\n').find((l) => /socat version/i.test(l));
    if (r.code !== 0 || !line) return warn(`socat -V failed: ${firstLine(r)}`, 'reinstall socat');
    return pass(line.trim().replace(/ on .*$/, ''));
  },
};

const AGENTS = ['claude', 'codex', 'goose'] as const;
/** The PATH every sandbox process gets (SPEC §9.4); the host's / is the default base. */
const SANDBOX_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

async function onPath(ctx: DoctorContext, name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = `${dir.replace(/\/$/, '')}/${name}`;
    if (await ctx.host.executable(candidate)) return candidate;
  }
  return undefined;
}

/** Directories hidden inside every local sandbox (SPEC §9.1): state dir, homes, /root, /tmp, /run. */
function hiddenDirs(ctx: DoctorContext): string[] {
  return ['/root', '/home', '/tmp', '/run', ctx.stateDir, ctx.env.HOME ?? ''].filter((d) => d !== '' && d !== '/').map((d) => d.replace(/\/$/, ''));
}

/** Where a sandbox finds `name`, or why it cannot (on the operator's PATH only, or a link into a hidden dir). */
async function visibility(ctx: DoctorContext, name: string): Promise<{ seen: boolean; note: string | null }> {
  const hidden = hiddenDirs(ctx);
  const under = (p: string): string | undefined => hidden.find((d) => p === d || p.startsWith(`${d}/`));
  const inside = await onPath(ctx, name, SANDBOX_PATH);
  if (inside) {
    const target = (await ctx.host.realPath?.(inside)) ?? inside;
    const dir = under(target);
    return dir ? { seen: false, note: `${inside} links into ${dir}, which sandboxes cannot see` } : { seen: true, note: null };
  }
  const host = await onPath(ctx, name, (ctx.env.PATH ?? '').split(':'));
  return { seen: false, note: host ? `${host} is outside the sandbox PATH (${SANDBOX_PATH.join(':')})` : null };
}

export const agentClisCheck: Check = {
  name: 'agent-clis',
  async run(ctx) {
    if ((await ctx.store()).sandboxes.length === 0) return skip('no sandboxes yet');
    const found: string[] = [];
    const absent: string[] = [];
    const notes: string[] = [];
    for (const a of AGENTS) {
      const v = await visibility(ctx, a);
      (v.seen ? found : absent).push(a);
      if (v.note) notes.push(v.note);
    }
    const why = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    if (found.length === 0) {
      return warn(`none of ${AGENTS.join(', ')} is visible to sandboxes${why}, so they cannot run agents`, 'install an agent CLI system-wide (e.g. into /usr/local/bin: sudo npm install -g @anthropic-ai/claude-code)');
    }
    if (absent.length === 0) return pass(`found ${found.join(', ')}`);
    return pass(`found ${found.join(', ')}; not visible to sandboxes: ${absent.join(', ')}${why}`);
  },
};

export const dockerCheck: Check = {
  name: 'docker',
  async run(ctx) {
    const cfg = await ctx.config();
    if (cfg.defaultSubstrate !== 'docker') return skip('the docker substrate is not used (default_substrate is not docker)');
    const r = await ctx.run('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
    if (missing(r)) return fail('the docker CLI is not installed', 'install Docker or change default_substrate');
    if (r.code === 0) return pass(`Docker engine ${r.stdout.trim()}`);
    return fail(`the Docker daemon is not reachable: ${firstLine(r)}`, 'start dockerd or set DOCKER_HOST');
  },
};
