/** `km budget <sb>` and `km budget add <sb>` (SPEC §6.6): read and top up through the store. */
import { budgetJson, budgetView, renderBudget, topUpBudget, topUpJson, topUpMessage } from '../budget/index.ts';
import { KmError } from '../core/errors.ts';
import { PRICE_TABLE } from '../pricing/index.ts';
import type { EventInput } from '../store/index.ts';
import { parseUsd, resolveSandboxRef } from '../sandbox/index.ts';
import { BUDGET_SHOW_SPEC } from './commands/budget.ts';
import { writeJson } from './output.ts';
import { parseOptions } from './parse.ts';
import { kmd } from './sandbox-client.ts';
import { withStore } from './store-context.ts';
import type { CommandContext, CommandModule } from './spec.ts';

const GLOBAL = new Set(['--json', '--debug', '--no-color', '--help', '-h', '--version']);

export const budgetShowCommand: CommandModule = {
  async run(ctx) {
    const { args } = parseOptions(BUDGET_SHOW_SPEC, ctx.raw.filter((t) => !GLOBAL.has(t)));
    if (args.length !== 1) {
      throw new KmError('usage', args.length === 0 ? 'km budget needs a sandbox' : `unexpected argument "${args[1]}"`, { hint: 'usage: km budget <sb> [--json]; to top up: km budget add <sb> --ai <usd>' });
    }
    return withStore(ctx, async (s) => {
      const sb = await resolveSandboxRef(s.store, args[0] as string, { allowDestroyed: true });
      const view = await budgetView(s.store, sb, PRICE_TABLE.version);
      if (ctx.global.json) writeJson(ctx.io, budgetJson(view));
      else ctx.io.stdout.write(renderBudget(view));
    });
  },
};

/** The amounts of `km budget add` (SPEC §17.8: no flag-less top-ups, positive numbers only). */
export function topUpAmounts(opts: CommandContext['opts']): { aiUsd?: number; computeUsd?: number } {
  const ai = opts.ai;
  const compute = opts.compute;
  if (typeof ai !== 'string' && typeof compute !== 'string') throw new KmError('usage', 'nothing to add; pass --ai and/or --compute');
  return {
    ...(typeof ai === 'string' ? { aiUsd: parseUsd('ai', ai) } : {}),
    ...(typeof compute === 'string' ? { computeUsd: parseUsd('compute', compute) } : {}),
  };
}

export const budgetAddCommand: CommandModule = {
  async run(ctx) {
    const add = topUpAmounts(ctx.opts);
    return withStore(ctx, async (s) => {
      const sb = await resolveSandboxRef(s.store, ctx.args[0] as string);
      const events: EventInput[] = [];
      const r = await topUpBudget(
        {
          store: s.store,
          clock: ctx.clock,
          onEvent: (e) => void events.push({ timestampMs: Date.parse(e.timestamp), sandboxId: e.sandbox_id, eventType: e.event_type, source: e.source, detail: e.detail }),
          resume: async (rec) => {
            const d = await kmd(ctx, s.c.stateDir);
            await d.client.request('POST', `/v1/sandboxes/${encodeURIComponent(rec.id)}/resume`, { actor: 'operator' });
          },
        },
        sb,
        add,
        PRICE_TABLE.version,
      );
      await s.store.appendEvents(events);
      if (ctx.global.json) writeJson(ctx.io, topUpJson(r));
      else ctx.io.stdout.write(topUpMessage(r) + '\n');
    });
  },
};
