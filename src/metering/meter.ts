/**
 * The gateway's metering hook for one sandbox (SPEC §6.1, §6.3, §6.5): refuses AI requests
 * once the committed AI total reaches the limit, makes streaming Chat Completions report
 * usage, and meters every AI response into the ledger as it streams.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { denyResponse } from '../gateway/deny.ts';
import { aiExhaustedBody } from '../budget/index.ts';
import type { PriceBook } from '../pricing/index.ts';
import { classifyAiRequest, ensureStreamUsage, isAiHost, isBatchRead, type MeterRoute } from './parsers/index.ts';
import { createExchangeMeter } from './exchange.ts';
import { createSandboxLedger, type MeterEvent, type MeterStore } from './ledger.ts';
import { MAX_REWRITE_BODY_BYTES, type ExchangeHook, type ExchangeHookFn, type ExchangeHookInfo } from './hook.ts';

export interface MeterDeps {
  store: MeterStore;
  priceBook: PriceBook;
  clock: Clock;
  onEvent: (e: MeterEvent) => void;
  /** Operator `metering.extra_hosts` (lowercase names metered like the provider hosts). */
  extraHosts?: readonly string[];
  /** How the sandbox is named to the user (alias, else id) in the 403 body. */
  sandboxRef: (sandboxId: string) => string | Promise<string>;
  /** Exchange ids (default random UUIDs). */
  newExchangeId?: () => string;
}

export interface Meter {
  /** The hook to install as the gateway's `hooks.exchange`. */
  exchange: ExchangeHookFn;
  /** Metered responses streaming now. */
  inFlight(): number;
  /** Resolves when every queued ledger write has settled. */
  settled(): Promise<void>;
}

export const AI_BUDGET_RULE = 'budget.ai.maxSpendUSD';

export function createMeter(deps: MeterDeps, sandboxId: string): Meter {
  let inFlight = 0;
  const ledger = createSandboxLedger({ store: deps.store, clock: deps.clock, onEvent: deps.onEvent, inFlight: () => inFlight }, sandboxId);
  const newId = deps.newExchangeId ?? randomUUID;
  const extraHosts = (deps.extraHosts ?? []).map((h) => h.toLowerCase());

  async function denial(info: ExchangeHookInfo): Promise<ExchangeHook['deny'] | undefined> {
    const state = await deps.store.aiBudget(sandboxId);
    const limit = state?.budget.aiLimitUsd ?? null;
    if (!state || limit === null) return undefined;
    const spent = state.aiSpentUsd;
    if (spent < limit) return undefined;
    const ref = await deps.sandboxRef(sandboxId);
    const port = /:(\d+)$/.exec(String(info.headers.host ?? ''))?.[1];
    return denyResponse({
      error: 'ai_budget_exhausted',
      host: info.host,
      port: port ? Number(port) : 443,
      rule: AI_BUDGET_RULE,
      sandbox: sandboxId,
      extra: aiExhaustedBody({ sandboxId, ref, spentUsd: spent, limitUsd: limit }),
    });
  }

  const exchange: ExchangeHookFn = async (info) => {
    const route = classifyAiRequest(info.host, info.method, info.path, extraHosts);
    // At the limit every request to an AI host is refused (SPEC §6.5), metered API or not:
    // batches, legacy completions, realtime sessions … would otherwise spend past the stop.
    if (!route && !isAiHost(info.host, extraHosts)) return undefined;
    // Except reads of a batch's status and results (see isBatchRead).
    const deny = isBatchRead(info.host, info.method, info.path, extraHosts) ? undefined : await denial(info);
    if (deny) return { deny };
    if (!route) return undefined;
    const exchangeId = newId();
    let requestModel: string | null = null;
    const hook: ExchangeHook = {
      // SDKs ask for gzip/br (undici, httpx do by default); the usage is in the bytes.
      identityEncoding: true,
      response: ({ status, headers }) => {
        inFlight++;
        let released = false;
        const done = (): void => {
          if (!released) (released = true), inFlight--;
        };
        return createExchangeMeter(
          { ledger, priceBook: deps.priceBook, clock: deps.clock, done },
          { exchangeId, route, requestModel, runId: info.runId, path: info.path },
          { status, headers },
        );
      },
    };
    if (readsBody(route)) {
      hook.rewriteRequestBody = (body) => {
        const r = inspectRequest(route, body);
        requestModel = r.model;
        return r.body;
      };
    }
    return hook;
  };

  return { exchange, inFlight: () => inFlight, settled: () => ledger.settled() };
}

/**
 * Only streaming Chat Completions may need a rewrite; every other API names the model in its
 * response (or path), so their bodies (often large agent contexts) stream through unread.
 */
const readsBody = (route: MeterRoute): boolean => route.provider === 'openai' && route.api === 'chat';
const STREAM_KEY = Buffer.from('"stream"');

/** The request's model, and the body with `stream_options.include_usage` for streaming chat. */
export function inspectRequest(route: MeterRoute, body: Buffer): { model: string | null; body: Buffer | undefined } {
  if (body.length === 0 || body.length > MAX_REWRITE_BODY_BYTES) return { model: null, body: undefined };
  // Not streaming (no "stream" key at all): nothing to add, no need to parse.
  if (body.indexOf(STREAM_KEY) < 0) return { model: null, body: undefined };
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return { model: null, body: undefined };
  }
  const model = typeof doc === 'object' && doc !== null && typeof (doc as { model?: unknown }).model === 'string' ? (doc as { model: string }).model : null;
  if (route.provider !== 'openai' || route.api !== 'chat') return { model, body: undefined };
  const rewritten = ensureStreamUsage(doc);
  if (!rewritten) return { model, body: undefined };
  // Without any stream_options the key is inserted as text, so every other byte (numbers
  // beyond double precision, key order, spacing) reaches the provider as the client wrote it.
  const open = body.indexOf(0x7b);
  const hasOptions = typeof doc === 'object' && doc !== null && 'stream_options' in doc;
  if (!hasOptions && open >= 0 && body.subarray(0, open).toString('latin1').trim() === '') {
    return { model, body: Buffer.concat([body.subarray(0, open + 1), INCLUDE_USAGE, body.subarray(open + 1)]) };
  }
  return { model, body: Buffer.from(JSON.stringify(rewritten)) };
}

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},');
