/** `km list | status | pause | resume | stop | destroy | lock | unlock | extend` (SPEC §8); create and clone are in sandbox-create.ts. */
import { parseDuration } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import type { OpResult, SandboxJson, SandboxStatusJson } from '../sandbox/index.ts';
import { writeJson } from './output.ts';
import { kmd } from './sandbox-client.ts';
import { confirm } from './sandbox-confirm.ts';
import { sandboxContext } from './sandbox-context.ts';
import { renderList, renderStatus } from './sandbox-render.ts';
import { type CommandContext, type CommandModule, optStr } from './spec.ts';


export const listCommand: CommandModule = {
  async run(ctx) {
    const c = await sandboxContext(ctx, { timeZone: false });
    const k = await kmd(ctx, c.stateDir);
    const items = await k.client.request<SandboxJson[]>('GET', `/v1/sandboxes${ctx.opts.all === true ? '?all=1' : ''}`);
    if (ctx.global.json) writeJson(ctx.io, items);
    else ctx.io.stdout.write(renderList(items, ctx.clock.now(), ctx.opts.wide === true));
  },
};

export const statusCommand: CommandModule = {
  async run(ctx) {
    const c = await sandboxContext(ctx, { timeZone: false });
    const k = await kmd(ctx, c.stateDir);
    const ref = ctx.args[0];
    if (ref === undefined) {
      const items = await k.client.request<SandboxJson[]>('GET', '/v1/sandboxes');
      const all = await Promise.all(items.map((i) => k.client.request<SandboxStatusJson>('GET', `/v1/sandboxes/${i.id}`)));
      if (ctx.global.json) writeJson(ctx.io, all);
      else ctx.io.stdout.write(all.length === 0 ? 'No sandboxes. Try: km create learn --alias demo\n' : all.map(renderStatus).join('\n'));
      return;
    }
    const s = await k.client.request<SandboxStatusJson>('GET', `/v1/sandboxes/${encodeURIComponent(ref)}`);
    if (ctx.global.json) writeJson(ctx.io, s);
    else ctx.io.stdout.write(renderStatus(s));
  },
};

function opCommand(op: string, method: 'POST' | 'DELETE' = 'POST'): CommandModule {
  return {
    async run(ctx) {
      const c = await sandboxContext(ctx);
      const k = await kmd(ctx, c.stateDir);
      const ref = encodeURIComponent(ctx.args[0] as string);
      const path = method === 'DELETE' ? `/v1/sandboxes/${ref}${ctx.opts.purge === true ? '?purge=1' : ''}` : `/v1/sandboxes/${ref}/${op}`;
      const r = await k.client.request<OpResult>(method, path, { time_zone: c.timeZone }, { timeoutMs: 120_000 });
      if (ctx.global.json) writeJson(ctx.io, { message: r.message, changed: r.changed, sandbox: r.sandbox });
      else ctx.io.stdout.write(r.message + '\n');
    },
  };
}

export const pauseCommand = opCommand('pause');
export const resumeCommand = opCommand('resume');
export const stopCommand = opCommand('stop');
export const lockCommand = opCommand('lock');
export const unlockCommand = opCommand('unlock');
const destroyOp = opCommand('destroy', 'DELETE');

export const destroyCommand: CommandModule = {
  async run(ctx) {
    if (ctx.opts.yes !== true) {
      const c = await sandboxContext(ctx);
      const k = await kmd(ctx, c.stateDir);
      const s = await k.client.request<SandboxStatusJson>('GET', `/v1/sandboxes/${encodeURIComponent(ctx.args[0] as string)}`);
      const label = s.alias ?? s.id;
      if (s.status === 'destroyed') throw new KmError('not_found', `${s.id} was destroyed at ${s.destroyed_at ?? s.created_at}`);
      if (ctx.io.stdin.isTTY !== true || ctx.io.stderr.isTTY !== true) {
        throw new KmError('usage', `destroying ${label} needs confirmation; re-run with --yes`);
      }
      if (!(await confirm(ctx, `Destroy ${label} (${s.id}) and everything it owns?`))) {
        ctx.io.stderr.write('Nothing destroyed.\n');
        return 1;
      }
    }
    return destroyOp.run(ctx);
  },
};

export const extendCommand: CommandModule = {
  async run(ctx) {
    const byText = ctx.args[1];
    const idleText = optStr(ctx, 'idle');
    if (byText === undefined && idleText === undefined) throw new KmError('usage', 'nothing to extend; give a duration and/or --idle');
    const body: Record<string, unknown> = {};
    if (byText !== undefined) {
      body.by_s = parseDuration(byText, { spelled: true });
      body.by_text = byText;
    }
    if (idleText !== undefined) body.idle_s = parseDuration(idleText, { spelled: true, allowZero: true });
    const c = await sandboxContext(ctx);
    const k = await kmd(ctx, c.stateDir);
    const r = await k.client.request<OpResult>('POST', `/v1/sandboxes/${encodeURIComponent(ctx.args[0] as string)}/extend`, { ...body, time_zone: c.timeZone });
    if (ctx.global.json) writeJson(ctx.io, { message: r.message, changed: r.changed, sandbox: r.sandbox });
    else ctx.io.stdout.write(r.message + '\n');
  },
};
