/**
 * Writing events (SPEC §13.1): every detail is redacted before it is stored; envelope
 * fields pass through. Lifecycle transitions are `lifecycle.<transition>` with actor and
 * reason.
 */
import type { Redactor } from '../audit/index.ts';
import type { Clock } from '../core/clock.ts';
import type { EventInput, EventStore } from '../store/index.ts';

export type Actor = 'operator' | 'ttl' | 'idle' | 'budget' | 'schedule' | 'host' | 'clone';

export interface EventRecorder {
  record(sandboxId: string, eventType: string, source: string, detail: Record<string, unknown>, atMs?: number): Promise<void>;
  /** Appends a batch (e.g. from a gateway); failures are reported through `onError`. */
  batch(events: EventInput[]): Promise<void>;
  lifecycle(sandboxId: string, transition: string, actor: Actor, detail?: Record<string, unknown>): Promise<void>;
}

export function createEventRecorder(deps: { store: EventStore; redactor: Redactor; clock: Clock; onError?: (e: unknown) => void }): EventRecorder {
  const write = async (events: EventInput[]): Promise<void> => {
    try {
      await deps.store.appendEvents(events.map((e) => ({ ...e, detail: deps.redactor.redactValue(e.detail) })));
    } catch (e) {
      deps.onError?.(e);
    }
  };
  return {
    record: (sandboxId, eventType, source, detail, atMs) =>
      write([{ timestampMs: atMs ?? deps.clock.now(), sandboxId, eventType, source, detail }]),
    batch: (events) => write(events),
    lifecycle: (sandboxId, transition, actor, detail = {}) =>
      write([{ timestampMs: deps.clock.now(), sandboxId, eventType: `lifecycle.${transition}`, source: actor === 'operator' ? 'cli' : 'kmd', detail: { actor, ...detail } }]),
  };
}
