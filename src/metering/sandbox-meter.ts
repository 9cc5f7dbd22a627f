/**
 * The meter as kmd wires it for one sandbox: prices from the operator config
 * (`pricing.overrides`, `pricing.fallback`), extra metered hosts (`metering.extra_hosts`),
 * events into the store's event log, and the sandbox named by its alias in denials.
 * Install `meter.exchange` as the sandbox gateway's exchange hook.
 */
import type { Clock } from '../core/clock.ts';
import { createPriceBook, type ModelPrice } from '../pricing/index.ts';
import type { EventInput, Store } from '../store/index.ts';
import { toEventInput } from './ledger.ts';
import { createMeter, type Meter } from './meter.ts';

export interface SandboxMeterConfig {
  pricing?: { overrides?: readonly ModelPrice[]; fallback?: { input: number; output: number } };
  extraHosts?: readonly string[];
}

export interface SandboxMeterDeps {
  store: Store;
  clock: Clock;
  /** Where events go (kmd's recorder redacts and appends them). */
  record: (events: EventInput[]) => void;
}

export function createSandboxMeter(deps: SandboxMeterDeps, config: SandboxMeterConfig, sandboxId: string): Meter {
  const priceBook = createPriceBook({
    overrides: [...(config.pricing?.overrides ?? [])],
    ...(config.pricing?.fallback ? { fallback: config.pricing.fallback } : {}),
  });
  return createMeter(
    {
      store: deps.store,
      priceBook,
      clock: deps.clock,
      onEvent: (e) => deps.record([toEventInput(e)]),
      extraHosts: config.extraHosts ?? [],
      sandboxRef: async (id) => (await deps.store.getSandbox(id))?.alias ?? id,
    },
    sandboxId,
  );
}
