/** `km at list [--all]`, `km at cancel <name>`, `km at history <name>` (SPEC §11.4), through kmd. */
import type { FireJson, ScheduleJson } from '../scheduler/index.ts';
import { renderHistory, renderScheduleList } from './at-render.ts';
import { writeJson } from './output.ts';
import { kmd } from './sandbox-client.ts';
import { sandboxContext } from './sandbox-context.ts';
import type { CommandContext, CommandModule } from './spec.ts';

const path = (name: string, suffix = ''): string => `/v1/schedules/${encodeURIComponent(name)}${suffix}`;

async function connect(ctx: CommandContext) {
  const c = await sandboxContext(ctx);
  return { client: (await kmd(ctx, c.stateDir)).client, timeZone: c.timeZone };
}

export const atListCommand: CommandModule = {
  async run(ctx) {
    const { client, timeZone } = await connect(ctx);
    const items = await client.request<ScheduleJson[]>('GET', `/v1/schedules${ctx.opts.all === true ? '?all=1' : ''}`);
    if (ctx.global.json) writeJson(ctx.io, items);
    else ctx.io.stdout.write(renderScheduleList(items, timeZone));
  },
};

export const atCancelCommand: CommandModule = {
  async run(ctx) {
    const { client } = await connect(ctx);
    const j = await client.request<ScheduleJson>('DELETE', path(ctx.args[0] as string));
    if (ctx.global.json) writeJson(ctx.io, j);
    else ctx.io.stdout.write(`Cancelled ${j.name}\n`);
  },
};

export const atHistoryCommand: CommandModule = {
  async run(ctx) {
    const { client, timeZone } = await connect(ctx);
    const name = ctx.args[0] as string;
    const fires = await client.request<FireJson[]>('GET', path(name, '/history'));
    if (ctx.global.json) writeJson(ctx.io, fires);
    else ctx.io.stdout.write(renderHistory(name, fires, timeZone));
  },
};
