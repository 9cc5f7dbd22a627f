import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventRecord } from '../store/index.ts';
import { budgetNotice, topUpCommand } from './budget-message.ts';
import { emailRoute } from './recipients.ts';

const T = Date.UTC(2027, 2, 3, 8, 15, 2);
const ev = (eventType: string, detail: Record<string, unknown>, sandboxId = 'sb-1234abcd'): EventRecord => ({ seq: 7, timestampMs: T, sandboxId, eventType, source: 'gateway', detail });
const demo = { id: 'sb-1234abcd', alias: 'demo', profileName: 'claude-dev' };

test('an AI warning names the sandbox, the spend, the limit, the percentage and the top-up', () => {
  const n = budgetNotice(ev('budget.warning', { dimension: 'ai', spent_usd: 1.6, limit_usd: 2, threshold: 0.8, fraction: 0.8 }), demo)!;
  assert.equal(n.subject, 'km: budget warning for demo (sb-1234abcd): AI $1.60 of $2.00 (80%)');
  for (const line of ['Sandbox:    demo (sb-1234abcd)', 'Profile:    claude-dev', 'Dimension:  AI', 'Spent:      $1.60', 'Limit:      $2.00', 'Threshold:  80% of the limit', 'At:         2027-03-03T08:15:02Z', '  km budget add demo --ai 2']) {
    assert.ok(n.text.split('\n').includes(line), `body has "${line}":\n${n.text}`);
  }
});

test('without an alias the id is the reference; the percentage rounds down', () => {
  const n = budgetNotice(ev('budget.warning', { dimension: 'compute', spent_usd: 0.9975, limit_usd: 1, threshold: 0.9, fraction: 0.9975 }), { ...demo, alias: null })!;
  assert.equal(n.subject, 'km: budget warning for sb-1234abcd: compute $0.9975 of $1.00 (99%)');
  assert.match(n.text, /^ {2}km budget add sb-1234abcd --compute 1$/m);
});

test('exhaustion: AI says requests are refused, compute says paused or not paused when locked', () => {
  const ai = budgetNotice(ev('budget.exhausted', { dimension: 'ai', spent_usd: 2.0121, limit_usd: 2, overshoot_usd: 0.0121, in_flight: 1 }), demo)!;
  assert.equal(ai.subject, 'km: AI budget exhausted for demo (sb-1234abcd): $2.0121 of $2.00');
  assert.match(ai.text, /403 ai_budget_exhausted/);
  assert.match(ai.text, /^Overshoot: {2}\$0\.0121/m);
  assert.match(ai.text, /^ {2}km budget add demo --ai 2$/m);
  const paused = budgetNotice(ev('budget.exhausted', { dimension: 'compute', spent_usd: 1, limit_usd: 1, action: 'pause' }), demo)!;
  assert.equal(paused.subject, 'km: compute budget exhausted for demo (sb-1234abcd): $1.00 of $1.00');
  assert.match(paused.text, /demo was paused \(paused_by: budget\)/);
  const locked = budgetNotice(ev('budget.exhausted', { dimension: 'compute', spent_usd: 1, limit_usd: 1, action: 'not_paused_locked' }), demo)!;
  assert.match(locked.text, /locked, so it was NOT paused/);
});

test('a top-up lists what was added, the new limits, re-armed warnings and the resume', () => {
  const n = budgetNotice(ev('budget.topup', { ai_added_usd: 5, ai_limit_usd: 7, compute_added_usd: 1, compute_limit_usd: 2, rearmed: ['ai'], resumed: true }), demo)!;
  assert.equal(n.subject, 'km: budget topped up for demo (sb-1234abcd): AI +$5.00 (limit $7.00), compute +$1.00 (limit $2.00)');
  assert.match(n.text, /The AI warning is armed again\./);
  assert.match(n.text, /demo was resumed/);
});

test('other event types have no notice; a sandbox gone from the store still gets one by id', () => {
  assert.equal(budgetNotice(ev('dns.query', { name: 'x' }), demo), undefined);
  const n = budgetNotice(ev('budget.warning', { dimension: 'ai', spent_usd: 1, limit_usd: 1.25, threshold: 0.8 }, 'sb-00000009'), undefined)!;
  assert.equal(n.subject, 'km: budget warning for sb-00000009: AI $1.00 of $1.25 (80%)');
  assert.doesNotMatch(n.text, /Profile:/);
  assert.equal(topUpCommand('demo', 'ai', 0.25), 'km budget add demo --ai 1');
});

test('recipients: the profile can turn email off or redirect it; else notifiers.email.to, else operator_email', () => {
  const defaults = { notifiersTo: ['Ops@Example.com', 'oncall@example.com'], operatorEmail: 'me@example.com' };
  assert.deepEqual(emailRoute({ spec: { cli: { notifyEmailEnabled: true } } }, defaults), { send: true, to: ['ops@example.com', 'oncall@example.com'] });
  assert.deepEqual(emailRoute({}, { operatorEmail: 'me@example.com' }), { send: true, to: ['me@example.com'] });
  assert.deepEqual(emailRoute(undefined, { notifiersTo: [], operatorEmail: 'me@example.com' }), { send: true, to: ['me@example.com'] });
  assert.deepEqual(emailRoute({ spec: { cli: { notificationEmailAddress: 'team@example.com' } } }, defaults), { send: true, to: ['team@example.com'] });
  assert.deepEqual(emailRoute({ spec: { cli: { notifyEmailEnabled: false, notificationEmailAddress: 'team@example.com' } } }, defaults), { send: false, reason: 'disabled_by_profile' });
  assert.deepEqual(emailRoute({ spec: { cli: {} } }, {}), { send: false, reason: 'no_recipient' });
});
