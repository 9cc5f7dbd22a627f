/** `km daemon start | stop | status` (SPEC §14.2). */
import { resolveStateDir, stateFiles } from '../config/paths.ts';
import { daemonStatus, ensureDaemon, runKmd, stopDaemon, type DaemonStatus } from '../daemon/index.ts';
import { writeJson } from './output.ts';
import type { CommandContext, CommandModule } from './spec.ts';

const EGRESS_WARNING =
  'warning: sandbox egress fails closed until kmd restarts (the next km command starts it, or run `km daemon start`)\n';

function renderStatus(s: DaemonStatus): string {
  if (!s.running) return `kmd is not running (socket ${s.socket})\n`;
  return `kmd ${s.version} running: pid ${s.pid}, socket ${s.socket}, up ${s.uptime_s}s\n`;
}

async function startForeground(ctx: CommandContext): Promise<void> {
  const stateDir = resolveStateDir(ctx.env);
  await runKmd({
    stateDir,
    logStream: ctx.io.stderr,
    debug: ctx.global.debug,
    onReady: (d) => {
      if (!ctx.global.json) ctx.io.stderr.write(`kmd running in the foreground: pid ${process.pid}, socket ${d.socketPath} (Ctrl-C to stop)\n`);
    },
  });
}

export const daemonStartCommand: CommandModule = {
  async run(ctx) {
    if (ctx.opts.foreground === true) return startForeground(ctx);
    const d = await ensureDaemon({ env: ctx.env });
    const status = await daemonStatus({ env: ctx.env });
    if (ctx.global.json) return writeJson(ctx.io, { ...status, started: d.started, restarted: d.restarted });
    const verb = d.restarted ? 'restarted' : d.started ? 'started' : 'already running';
    ctx.io.stdout.write(`kmd ${verb}: pid ${d.health.pid}, version ${d.health.version}, socket ${d.socketPath}\n`);
  },
};

export const daemonStopCommand: CommandModule = {
  async run(ctx) {
    const r = await stopDaemon({ env: ctx.env });
    if (r.was_running) ctx.io.stderr.write(EGRESS_WARNING);
    if (ctx.global.json) return writeJson(ctx.io, { ...r, socket: stateFiles(resolveStateDir(ctx.env)).socket });
    if (r.was_running) ctx.io.stdout.write(`kmd stopped (pid ${r.pid ?? 'unknown'})\n`);
    else ctx.io.stdout.write('kmd is not running\n');
    if (r.removed.length > 0) ctx.io.stdout.write(`removed stale ${r.removed.join(', ')}\n`);
  },
};

export const daemonStatusCommand: CommandModule = {
  async run(ctx) {
    const s = await daemonStatus({ env: ctx.env });
    if (ctx.global.json) writeJson(ctx.io, s);
    else ctx.io.stdout.write(renderStatus(s));
    return 0;
  },
};
