import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createRedactor } from '../audit/index.ts';
import type { DaemonLog } from '../daemon/index.ts';
import { createSmtpTransport } from '../mail/index.ts';
import { fileCursor } from './cursor.ts';
import { startBudgetEmailNotifier, type BudgetEmailOptions } from './notifier.ts';
import { smtpRelay, storeKit, until, type StoreKit } from './test-kit.ts';

const SB = 'sb-1234abcd';
const WARN = { dimension: 'ai', spent_usd: 1.6, limit_usd: 2, threshold: 0.8, fraction: 0.8 };
const EXHAUSTED = { dimension: 'ai', spent_usd: 2.0121, limit_usd: 2, overshoot_usd: 0.0121, in_flight: 1 };

interface Logged {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

async function start(t: TestContext, k: StoreKit, port: number, options: Partial<BudgetEmailOptions> = {}) {
  const logs: Logged[] = [];
  const log: DaemonLog = (level, message, fields) => void logs.push({ level, message, fields });
  const transport = createSmtpTransport({ host: '127.0.0.1', port, secure: false });
  const notifier = await startBudgetEmailNotifier(
    { store: k.store, transport, cursor: fileCursor(join(k.dir, 'notify', 'budget-email.seq')), clock: k.clock, redactor: createRedactor({ literals: ['acme-internal'] }), log },
    { from: 'km@example.com', defaults: { notifiersTo: ['ops@example.com', 'oncall@example.com'], operatorEmail: 'me@example.com' }, pollMs: 0, ...options },
  );
  t.after(async () => {
    await notifier.close();
    transport.close();
  });
  return { notifier, logs, transport };
}

test('one email per budget event, to notifiers.email.to, with the top-up command; history and other events are not mailed', async (t) => {
  const { port, received } = await smtpRelay(t);
  const k = await storeKit(t);
  await k.sandbox(SB, 'demo', {}, 'acme-internal-build');
  await k.event(SB, 'budget.warning', { ...WARN, spent_usd: 1.7 }); // before the notifier existed
  const { notifier } = await start(t, k, port, { pollMs: 20 });
  await k.event(SB, 'dns.query', { name: 'example.com' });
  await k.event(SB, 'budget.warning', WARN);
  await k.event(SB, 'budget.exhausted', EXHAUSTED);
  await until(() => received.length >= 2);
  await notifier.pollOnce();
  assert.equal(received.length, 2, 'exactly one email per new budget event');
  const [w, x] = received;
  assert.deepEqual(w!.envelopeTo, ['ops@example.com', 'oncall@example.com']);
  assert.equal(w!.envelopeFrom, 'km@example.com');
  assert.deepEqual(w!.message.to, ['ops@example.com', 'oncall@example.com']);
  assert.equal(w!.message.subject, 'km: budget warning for demo (sb-1234abcd): AI $1.60 of $2.00 (80%)');
  assert.match(w!.message.text, /^ {2}km budget add demo --ai 2$/m);
  assert.match(w!.message.text, /^Profile: {4}\[REDACTED:literal\]-build$/m);
  assert.equal(x!.message.subject, 'km: AI budget exhausted for demo (sb-1234abcd): $2.0121 of $2.00');
  assert.match(x!.message.text, /^ {2}km budget add demo --ai 2$/m);
  for (const r of received) assert.ok(!r.raw.includes('acme-internal'), 'the redacted literal never leaves');
  assert.match(w!.message.messageId, /^<budget\.warning\.\d+\.sb-1234abcd@example\.com>$/);
  assert.equal(w!.message.date && new Date(w!.message.date).getTime(), k.clock.now(), 'dated by the injected clock');
});

test('a restarted notifier resumes from its cursor: nothing delivered is re-sent, events from the gap are sent', async (t) => {
  const { port, received } = await smtpRelay(t);
  const k = await storeKit(t);
  await k.sandbox(SB, 'demo');
  const first = await start(t, k, port);
  await k.event(SB, 'budget.warning', WARN);
  assert.equal(await first.notifier.pollOnce(), 1);
  await first.notifier.close();
  const seq = await k.event(SB, 'budget.exhausted', EXHAUSTED); // while stopped
  assert.equal((await readFile(join(k.dir, 'notify', 'budget-email.seq'), 'utf8')).trim(), String(seq - 1), 'the cursor is the last handled seq');
  const second = await start(t, k, port);
  assert.equal(await second.notifier.pollOnce(), 1, 'only the event from the gap');
  assert.equal(await second.notifier.pollOnce(), 0);
  assert.deepEqual(received.map((r) => r.message.subject.split(':')[1]!.trim()), ['budget warning for demo (sb-1234abcd)', 'AI budget exhausted for demo (sb-1234abcd)']);
  assert.equal(second.notifier.position(), seq);
});

test('the profile decides: notifyEmailEnabled false suppresses, notificationEmailAddress replaces the operator addresses', async (t) => {
  const { port, received } = await smtpRelay(t);
  const k = await storeKit(t);
  await k.sandbox('sb-0000000a', 'quiet', { notifyEmailEnabled: false, notificationEmailAddress: 'team@example.com' });
  await k.sandbox('sb-0000000b', 'teamed', { notifyEmailEnabled: true, notificationEmailAddress: 'team@example.com' });
  const { notifier, logs } = await start(t, k, port);
  await k.event('sb-0000000a', 'budget.warning', WARN);
  await k.event('sb-0000000b', 'budget.exhausted', { dimension: 'compute', spent_usd: 1, limit_usd: 1, action: 'pause' });
  assert.equal(await notifier.pollOnce(), 1);
  assert.deepEqual(received.map((r) => [r.envelopeTo, r.message.subject]), [[['team@example.com'], 'km: compute budget exhausted for teamed (sb-0000000b): $1.00 of $1.00']]);
  assert.match(received[0]!.message.text, /^ {2}km budget add teamed --compute 1$/m);
  assert.ok(logs.some((l) => l.message.includes('cli.notifyEmailEnabled is false') && l.fields?.sandbox_id === 'sb-0000000a'));
});

test('a failed send is logged and recorded as notify.failed, and the notifier moves on', async (t) => {
  const { port, received } = await smtpRelay(t, { rejectRcpt: 'me@example.com' });
  const k = await storeKit(t);
  await k.sandbox(SB, 'demo');
  const down = await start(t, k, 1); // nothing listens on port 1
  const seq = await k.event(SB, 'budget.warning', WARN);
  assert.equal(await down.notifier.pollOnce(), 0);
  const [failed] = await k.store.queryEvents({ types: ['notify.failed'] });
  assert.equal(failed?.sandboxId, SB);
  assert.deepEqual({ ...failed!.detail, reason: undefined }, { channel: 'email', event_type: 'budget.warning', event_seq: seq, recipients: ['ops@example.com', 'oncall@example.com'], reason: undefined });
  assert.match(String(failed!.detail.reason), /SMTP relay 127\.0\.0\.1:1 refused the message/);
  assert.ok(down.logs.some((l) => l.level === 'warn' && l.message === 'budget notice email failed' && l.fields?.seq === seq));
  assert.equal(down.notifier.position(), seq, 'not retried forever');
  await down.notifier.close();

  // A relay that rejects one recipient: the others get it, the rejected one is recorded.
  const rejecting = await start(t, k, port, { defaults: { notifiersTo: ['ops@example.com', 'me@example.com'] } });
  const seq2 = await k.event(SB, 'budget.exhausted', EXHAUSTED);
  assert.equal(await rejecting.notifier.pollOnce(), 1);
  assert.deepEqual(received.map((r) => r.envelopeTo), [['ops@example.com']]);
  const all = await k.store.queryEvents({ types: ['notify.failed'] });
  assert.deepEqual(all.map((e) => [e.detail.event_seq, e.detail.recipients]), [[seq, ['ops@example.com', 'oncall@example.com']], [seq2, ['me@example.com']]]);
});

test('events older than maxAgeMs when first seen are skipped, not mailed', async (t) => {
  const { port, received } = await smtpRelay(t);
  const k = await storeKit(t);
  await k.sandbox(SB, 'demo');
  const { notifier, logs } = await start(t, k, port, { maxAgeMs: 60_000 });
  await k.event(SB, 'budget.warning', WARN, k.clock.now() - 61_000);
  await k.event(SB, 'budget.topup', { ai_added_usd: 5, ai_limit_usd: 7, compute_limit_usd: 1, rearmed: ['ai'], resumed: false });
  assert.equal(await notifier.pollOnce(), 1);
  assert.deepEqual(received.map((r) => r.message.subject), ['km: budget topped up for demo (sb-1234abcd): AI +$5.00 (limit $7.00)']);
  assert.ok(logs.some((l) => l.message === 'budget event too old to notify; skipped'));
});

test('an unreadable cursor, or one past the end of the log, restarts at the end without mailing history', async (t) => {
  const { port, received } = await smtpRelay(t);
  const k = await storeKit(t);
  await k.sandbox(SB, 'demo');
  const seq = await k.event(SB, 'budget.warning', WARN);
  const path = join(k.dir, 'notify', 'budget-email.seq');
  for (const [content, message] of [['garbage', /cursor unreadable/], [`${seq + 50}`, /past the end of the event log/]] as const) {
    await mkdir(join(k.dir, 'notify'), { recursive: true });
    await writeFile(path, content);
    const { notifier, logs } = await start(t, k, port);
    assert.equal(await notifier.pollOnce(), 0);
    assert.equal((await readFile(path, 'utf8')).trim(), String(seq));
    assert.ok(logs.some((l) => l.level === 'warn' && message.test(l.message)), `logged ${message}`);
    await notifier.close();
  }
  assert.equal(received.length, 0);
});
