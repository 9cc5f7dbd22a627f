import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aiExhaustedBody, computeSpendUsd, evaluateBudget, formatUsd } from './evaluate.ts';

const input = (ai: [number | null, number, boolean], compute: [number | null, number, boolean], t = 0.8) => ({
  ai: { limitUsd: ai[0], spentUsd: ai[1], warned: ai[2] },
  compute: { limitUsd: compute[0], spentUsd: compute[1], warned: compute[2] },
  warningThreshold: t,
});

test('warning fires once at the threshold and re-arms after a top-up', () => {
  assert.deepEqual(evaluateBudget(input([1, 0.79, false], [null, 5, false])).warnNow, []);
  const v = evaluateBudget(input([1, 0.8, false], [null, 5, false]));
  assert.deepEqual(v.warnNow, ['ai']);
  assert.equal(v.state, 'warning');
  assert.deepEqual(evaluateBudget(input([1, 0.9, true], [null, 5, false])).warnNow, [], 'never repeated');
  assert.deepEqual(evaluateBudget(input([3, 0.9, true], [null, 5, false])).rearm, ['ai'], 're-armed below the threshold');
});

test('exhaustion states per dimension; no limit means never exhausted', () => {
  assert.equal(evaluateBudget(input([1, 1, true], [2, 1, false])).state, 'ai_exhausted');
  assert.equal(evaluateBudget(input([1, 1.2, true], [2, 1, false])).aiBlocked, true);
  assert.equal(evaluateBudget(input([1, 0.1, false], [2, 2, true])).state, 'compute_exhausted');
  assert.equal(evaluateBudget(input([1, 1, true], [2, 2, true])).state, 'exhausted');
  const none = evaluateBudget(input([null, 1000, false], [null, 1000, false]));
  assert.equal(none.state, 'ok');
  assert.equal(none.aiBlocked, false);
  assert.deepEqual(none.fraction, { ai: null, compute: null });
});

test('compute spend and the 403 body', () => {
  assert.equal(computeSpendUsd(0.0416, 3600), 0.0416);
  assert.equal(computeSpendUsd(1, 90), 0.025);
  assert.deepEqual(aiExhaustedBody({ sandboxId: 'sb-1', ref: 'demo', spentUsd: 1.00214, limitUsd: 1 }), {
    spent_usd: 1.0021,
    limit_usd: 1,
    top_up: 'km budget add demo --ai <usd>',
    message: 'AI budget exhausted for demo ($1.0021 of $1.00)',
  });
});

test('dollar amounts: whole cents with two decimals, finer amounts with up to four', () => {
  assert.equal(formatUsd(1), '$1.00');
  assert.equal(formatUsd(0.97), '$0.97');
  assert.equal(formatUsd(1.00214), '$1.0021');
  assert.equal(formatUsd(0.0198), '$0.0198');
  assert.equal(formatUsd(0.125), '$0.125');
  assert.equal(formatUsd(0), '$0.00');
  assert.equal(formatUsd(12.5), '$12.50');
});
