/** `km logs` and `km otel` (SPEC §13.3, §13.4): read the store directly, no daemon needed. */
import { eventJson, followEvents, parseLimit, parseSince, renderEventLine } from '../audit/index.ts';
import { KmError } from '../core/errors.ts';
import { labelOf, resolveSandboxRef } from '../sandbox/index.ts';
import type { EventQuery, EventRecord } from '../store/index.ts';
import {
  eventsJson, promptsJson, renderEvents, renderPrompts, renderSpend, renderSummary, renderTimeline, renderTools, spendJson, summaryJson, timelineJson, toolsJson,
  type OtelView,
} from '../telemetry/index.ts';
import { writeJson } from './output.ts';
import type { CommandContext, CommandModule } from './spec.ts';
import { withStore, type StoreContext } from './store-context.ts';

const str = (ctx: CommandContext, name: string): string | undefined => (typeof ctx.opts[name] === 'string' ? (ctx.opts[name] as string) : undefined);

function untilInterrupted(): { signal: AbortSignal; done(): void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: ac.signal, done: () => (process.off('SIGINT', stop), process.off('SIGTERM', stop)) };
}

export const logsCommand: CommandModule = {
  async run(ctx) {
    const since = str(ctx, 'since');
    const limit = str(ctx, 'limit');
    const types = Array.isArray(ctx.opts.type) ? ctx.opts.type : [];
    return withStore(ctx, async (s) => {
      const sb = await resolveSandboxRef(s.store, ctx.args[0] as string, { allowDestroyed: true });
      const query: EventQuery = {
        sandboxId: sb.id,
        ...(types.length > 0 ? { types } : {}),
        ...(since !== undefined ? { sinceMs: parseSince(since, ctx.clock.now()) } : {}),
        ...(limit !== undefined ? { limit: parseLimit(limit), fromEnd: true } : {}),
      };
      const print = (e: EventRecord) => ctx.io.stdout.write(ctx.global.json ? JSON.stringify(eventJson(e)) + '\n' : renderEventLine(e, s.c.timeZone));
      if (ctx.opts.follow !== true) {
        const events = await s.store.queryEvents(query);
        events.forEach(print);
        if (events.length === 0 && !ctx.global.json) ctx.io.stderr.write(`No events for ${labelOf(sb)}${since || types.length > 0 ? ' matching the filters' : ''}.\n`);
        return 0;
      }
      const stop = untilInterrupted();
      try {
        await followEvents({ store: s.store, query, onEvent: print, signal: stop.signal });
      } finally {
        stop.done();
      }
      return 0;
    });
  },
};

function viewOf(ctx: CommandContext): OtelView {
  const chosen = (['prompts', 'events', 'tools', 'timeline'] as const).filter((v) => ctx.opts[v] === true);
  if (chosen.length > 1) throw new KmError('usage', `choose one view: ${chosen.map((v) => `--${v}`).join(', ')} were given`, { hint: 'views are mutually exclusive' });
  return chosen[0] ?? 'summary';
}

async function fleet(ctx: CommandContext, s: StoreContext, sinceMs: number | undefined): Promise<void> {
  const filter = sinceMs !== undefined ? { sinceMs } : {};
  const items = [];
  for (const sandbox of await s.store.listSandboxes({ includeDestroyed: true })) {
    const ledger = await s.store.usageTotals(sandbox.id, filter);
    const budget = await s.store.getBudget(sandbox.id);
    if (sandbox.status === 'destroyed' && ledger.length === 0) continue;
    items.push({ sandbox, ledger, budget });
  }
  const doc = spendJson(items);
  if (ctx.global.json) writeJson(ctx.io, doc);
  else ctx.io.stdout.write(renderSpend(doc, s.c.timeZone));
}

export const otelCommand: CommandModule = {
  async run(ctx) {
    const view = viewOf(ctx);
    const since = str(ctx, 'since');
    return withStore(ctx, async (s) => {
      const sinceMs = since !== undefined ? parseSince(since, ctx.clock.now()) : undefined;
      const ref = ctx.args[0];
      if (ref === undefined) {
        if (view !== 'summary') throw new KmError('usage', `--${view} needs a sandbox`, { hint: `km otel <sb> --${view}` });
        await fleet(ctx, s, sinceMs);
        return 0;
      }
      const sb = await resolveSandboxRef(s.store, ref, { allowDestroyed: true });
      const label = labelOf(sb);
      const records = await s.store.queryTelemetry({ sandboxId: sb.id, ...(sinceMs !== undefined ? { sinceMs } : {}) });
      const tz = s.c.timeZone;
      let json: unknown;
      let text: string;
      if (view === 'summary') {
        const ledger = await s.store.usageTotals(sb.id, sinceMs !== undefined ? { sinceMs } : {});
        const counts = await s.store.telemetryCounts(sb.id, sinceMs !== undefined ? { sinceMs } : {});
        const doc = summaryJson(sb.id, label, ledger, counts, records);
        [json, text] = [doc, renderSummary(doc, label, tz)];
      } else if (view === 'prompts') [json, text] = [promptsJson(records), renderPrompts(promptsJson(records), label, tz)];
      else if (view === 'events') [json, text] = [eventsJson(records), renderEvents(eventsJson(records), label, tz)];
      else if (view === 'tools') [json, text] = [toolsJson(records), renderTools(toolsJson(records), label)];
      else [json, text] = [timelineJson(records), renderTimeline(timelineJson(records), label, tz)];
      if (ctx.global.json) writeJson(ctx.io, json);
      else ctx.io.stdout.write(text);
      if (view !== 'summary' && records.length === 0 && !ctx.global.json) ctx.io.stderr.write(`no telemetry received from ${label} (is observability.claudeTelemetry.enabled set?)\n`);
      return 0;
    });
  },
};
