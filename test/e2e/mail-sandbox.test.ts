/**
 * Mail and telemetry from inside a real local sandbox: `km-mail` (POSIX sh + curl) and an
 * OTLP/JSON post reach kmd as http://km.internal through the in-sandbox bridge, attributed
 * to the sandbox by its socket. Destroy removes the identity, keys and mailbox.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { checkoutHiddenInSandboxes, cannotRunSandboxes, lifecycleEnv, type Env } from './lifecycle-support.ts';

const skip = cannotRunSandboxes() ?? checkoutHiddenInSandboxes();
// On the sandbox's PATH (the read-only /opt/km/bin mount), not a host path.
const KM_MAIL = 'km-mail';

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const exec = (e: Env, script: string) => e.km(['exec', 'demo', '--', 'sh', '-c', script]);

test('km-mail and OTLP from inside a sandbox go to kmd as that sandbox', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const profile = join(e.dir, 'mailer.yaml');
  await writeFile(profile, [
    'apiVersion: klankermaker.ai/v1alpha1',
    'kind: SandboxProfile',
    'extends: learn',
    'metadata: { name: mailer }',
    'spec:',
    '  email: { alias: build.web, allowedSenders: [self] }',
    '',
  ].join('\n'));
  const created = await e.km(['create', profile, '--alias', 'demo']);
  assert.equal(created.code, 0, created.stderr);
  const identity = await eventually('the identity', async () => {
    const o = await e.km(['identity', 'show', 'demo', '--json']);
    return o.code === 0 ? (JSON.parse(o.stdout) as { id: string; alias: string; allowed_senders: string[]; email_address: string }) : undefined;
  });
  assert.deepEqual([identity.alias, identity.allowed_senders], ['build.web', ['self']]);
  await eventually('km.internal', async () => ((await exec(e, 'curl -fsS http://km.internal/healthz')).code === 0 ? true : undefined));
  // Through the HTTP proxy too (clients that ignore NO_PROXY): same socket, same identity; a
  // sandbox id the client claims is replaced by the gateway.
  const viaProxy = await exec(e, `curl -fsS --noproxy '' -x http://127.0.0.1:3128 -H 'x-km-sandbox: sb-00000000' -H 'accept: application/json' http://km.internal/healthz`);
  assert.equal(viaProxy.code, 0, viaProxy.stderr);
  assert.equal((JSON.parse(viaProxy.stdout) as { sandbox_id: string }).sandbox_id, identity.id);

  const sent = await e.km(['email', 'send', '--to', 'demo', '--subject', 'task', '--text', 'run the tests']);
  assert.equal(sent.code, 0, sent.stderr);
  const inside = await exec(e, `${KM_MAIL} read --json --mark-read`);
  assert.equal(inside.code, 0, inside.stderr);
  const msgs = JSON.parse(inside.stdout) as Array<{ subject: string; body: string; signature: string; encrypted: boolean }>;
  assert.deepEqual(msgs.map((m) => [m.subject, m.body, m.signature, m.encrypted]), [['task', 'run the tests\n', 'verified', true]]);

  const reply = await exec(e, `printf 'all green\\n' | ${KM_MAIL} send --to operator --subject done --body -`);
  assert.equal(reply.code, 0, reply.stderr);
  assert.match(reply.stdout, /^Sent <.+> from demo to operator \(signed\)\n$/);
  const ext = await exec(e, `${KM_MAIL} send --to someone@example.com --subject s --text t`);
  assert.equal(ext.code, 2);
  assert.match(ext.stderr, /external address \(someone@example\.com\) is disabled/);
  const op = JSON.parse((await e.km(['email', 'read', 'operator', '--json'])).stdout) as Array<{ sender_id: string; subject: string; body: string; signature: string }>;
  assert.deepEqual(op.map((m) => [m.sender_id, m.subject, m.body, m.signature]), [[identity.id, 'done', 'all green\n', 'verified']]);

  const otlp = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'claude_code.user_prompt', attributes: [{ key: 'prompt', value: { stringValue: 'hello from inside' } }, { key: 'session.id', value: { stringValue: 's1' } }] }] }] }] });
  const posted = await exec(e, `curl -fsS -H 'content-type: application/json' --data '${otlp}' http://km.internal/v1/logs`);
  assert.equal(posted.code, 0, posted.stderr);
  const prompts = JSON.parse((await e.km(['otel', 'demo', '--prompts', '--json'])).stdout) as Array<{ prompt: string; session_id: string }>;
  assert.deepEqual(prompts.map((p) => [p.prompt, p.session_id]), [['hello from inside', 's1']]);
  const emitter = resolve(import.meta.dirname, '../support/otel-emit.ts');
  const node = resolve(import.meta.dirname, '../../scripts/node');
  const emitted = await e.km(['exec', 'demo', '--', node, emitter, 'from the exporter']);
  assert.equal(emitted.code, 0, emitted.stderr + emitted.stdout);
  const summary = JSON.parse((await e.km(['otel', 'demo', '--json'])).stdout) as { self_reported: { cost_usd: number; source: string }; telemetry: Record<string, { count: number }> };
  assert.deepEqual([summary.self_reported.source, summary.self_reported.cost_usd], ['events', 0.0125], 'real exporters configured only by the injected OTEL_* variables');
  assert.ok((summary.telemetry.metrics?.count ?? 0) >= 1);
  const logs = (await e.km(['logs', 'demo', '--json', '--type', 'mail.*'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event_type: string });
  assert.deepEqual(logs.map((l) => l.event_type), ['mail.delivered', 'mail.sent']);

  const destroyed = await e.km(['destroy', 'demo', '--yes']);
  assert.equal(destroyed.code, 0, destroyed.stderr);
  await eventually('identity removal', async () => ((await e.km(['identity', 'show', identity.id])).code !== 0 ? true : undefined));
  assert.equal(existsSync(join(e.home, 'sandboxes', identity.id, 'km-mail-keys.json')), false, 'private keys are gone');
  const history = await e.km(['logs', identity.id, '--type', 'mail.sent']);
  assert.match(history.stdout, /mail\.sent .*"done"/, 'the audit log outlives the sandbox');
});
