import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRouter, type DaemonLog, type ServiceContext } from '../daemon/index.ts';
import { budgetEmailCursorPath, notifyDaemonService } from './daemon-service.ts';
import { smtpRelay, storeKit, until } from './test-kit.ts';

function context(stateDir: string, clock: ServiceContext['clock']): { ctx: ServiceContext; logs: Array<[string, string]> } {
  const logs: Array<[string, string]> = [];
  const log: DaemonLog = (level, message) => void logs.push([level, message]);
  return { ctx: { router: createRouter(), stateDir, clock, log, signal: new AbortController().signal }, logs };
}

test('without mail.transport: smtp kmd logs once why, and mails nothing', async (t) => {
  const { received } = await smtpRelay(t);
  const k = await storeKit(t);
  await writeFile(join(k.dir, 'config.yaml'), 'operator_email: me@example.com\nmail:\n  transport: local\n');
  const { ctx, logs } = context(k.dir, k.clock);
  const handle = await notifyDaemonService({ env: { KM_HOME: k.dir }, pollMs: 10 }).start(ctx);
  assert.equal(handle, undefined, 'nothing runs');
  assert.deepEqual(logs, [['info', 'budget notifications by email need mail.transport: smtp (it is local)']]);
  await k.sandbox('sb-1234abcd', 'demo');
  await k.event('sb-1234abcd', 'budget.warning', { dimension: 'ai', spent_usd: 1.6, limit_usd: 2, threshold: 0.8 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.length, 0);
  await assert.rejects(access(budgetEmailCursorPath(k.dir)), { code: 'ENOENT' });
});

test('with an SMTP relay in the operator config, kmd mails budget events to operator_email, redacted', async (t) => {
  const { port, received } = await smtpRelay(t);
  const k = await storeKit(t);
  await writeFile(
    join(k.dir, 'config.yaml'),
    `operator_email: me@example.com\naudit:\n  redact_literals: ["acme-internal"]\nmail:\n  transport: smtp\n  smtp:\n    host: 127.0.0.1\n    port: ${port}\n    secure: false\n    from: km-alerts@example.com\n`,
  );
  const { ctx, logs } = context(k.dir, k.clock);
  const handle = await notifyDaemonService({ env: { KM_HOME: k.dir }, pollMs: 10 }).start(ctx);
  assert.ok(handle);
  t.after(() => handle.close());
  assert.deepEqual(logs, [], 'nothing to complain about');
  await k.sandbox('sb-1234abcd', 'demo', {}, 'acme-internal');
  await k.event('sb-1234abcd', 'budget.warning', { dimension: 'ai', spent_usd: 1.6, limit_usd: 2, threshold: 0.8, fraction: 0.8 });
  await until(() => received.length === 1);
  const [m] = received;
  assert.deepEqual([m!.envelopeFrom, m!.envelopeTo], ['km-alerts@example.com', ['me@example.com']]);
  assert.equal(m!.message.subject, 'km: budget warning for demo (sb-1234abcd): AI $1.60 of $2.00 (80%)');
  assert.ok(!m!.raw.includes('acme-internal'));
  await access(budgetEmailCursorPath(k.dir));
});
