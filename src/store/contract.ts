/**
 * The store contract: behaviour every `Store` implementation must show (SPEC §6.3, §8.1–8.3,
 * §10.2, §11.4, §12.1, §13.1, §15.4). Each implementation's test file calls
 * `runStoreContract` with a factory that opens an empty store and a cleanup for it.
 */
import { describe } from 'node:test';
import type { OpenStore } from './contract-helpers.ts';
import { ledgerContract } from './contract-ledger.ts';
import { recordContract } from './contract-records.ts';
import { sandboxContract } from './contract-sandboxes.ts';
import { telemetryContract } from './contract-telemetry.ts';

export type { OpenStore } from './contract-helpers.ts';

export function runStoreContract(name: string, open: OpenStore): void {
  describe(`store contract: ${name}`, () => {
    describe('sandboxes', () => sandboxContract(open));
    describe('ledger and budget', () => ledgerContract(open));
    describe('runs, schedules, identities, events', () => recordContract(open));
    describe('telemetry', () => telemetryContract(open));
  });
}
