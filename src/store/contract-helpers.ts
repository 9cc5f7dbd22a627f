/** Shared fixtures for the store contract suite. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { KmError, type ErrorCode } from '../core/errors.ts';
import { newSandboxId } from '../core/ids.ts';
import type { Store } from './store.ts';
import type { NewSandbox, UsageUpdate } from './types.ts';

export type OpenStore = () => Promise<{ store: Store; cleanup(): Promise<void> }>;

export const T0 = Date.UTC(2027, 2, 3, 8, 15, 0);

/** Opens a fresh store for one test and closes it afterwards, even on failure. */
export async function fresh(t: TestContext, open: OpenStore): Promise<Store> {
  const { store, cleanup } = await open();
  t.after(cleanup);
  return store;
}

export function sandboxInput(overrides: Partial<NewSandbox> = {}): NewSandbox {
  return {
    id: newSandboxId('sb'),
    profileName: 'learn',
    profile: { apiVersion: 'klankermaker.ai/v1alpha1', kind: 'SandboxProfile', metadata: { name: 'learn' } },
    substrate: 'local',
    createdAtMs: T0,
    teardownPolicy: 'destroy',
    enforcementRequested: 'proxy',
    createdBy: 'cli',
    ...overrides,
  };
}

export function usage(overrides: Partial<UsageUpdate> = {}): UsageUpdate {
  return {
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    inputTokens: 100,
    outputTokens: 10,
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.01,
    priced: 'table',
    partial: false,
    atMs: T0,
    ...overrides,
  };
}

/** An assert.rejects matcher: a KmError with this code whose message matches. */
export const kmError =
  (code: ErrorCode, message?: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof KmError, `expected a KmError, got ${String(e)}`);
    assert.equal(e.code, code, `code of "${e.message}"`);
    if (message) assert.match(e.message, message);
    return true;
  };

/** Floating-point sums compared to a cent's millionth. */
export const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≈ ${expected}`);
