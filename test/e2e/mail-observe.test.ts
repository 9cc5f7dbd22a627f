/**
 * `km email`, `km identity`, `km logs` and `km otel` through the real CLI (bin/km), against a
 * store prepared in a temp KM_HOME (sandbox rows and identities as create writes them).
 * Ends with the audit guarantee: after a session full of fake secrets (commands, env, mail,
 * OTLP attributes), none of them is anywhere in the SQLite files or the state directory.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { createRedactor } from '../../src/audit/index.ts';
import { systemClock } from '../../src/core/clock.ts';
import { identityAddress, identityKeysDir, mailPolicyOf, provisionIdentity } from '../../src/identity/index.ts';
import { createInternalApi, listenInternalApi } from '../../src/internal-api/index.ts';
import { createMailService } from '../../src/mail/index.ts';
import { createEventRecorder, resolveSandboxRef } from '../../src/sandbox/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { createOtlpReceiver } from '../../src/telemetry/index.ts';
import { kmAtHome } from './lifecycle-support.ts';

const km = kmAtHome;

async function home(t: TestContext): Promise<{ dir: string; store: Store }> {
  const dir = await mkdtemp(join(tmpdir(), 'km-mail-e2e-'));
  await writeFile(join(dir, 'config.yaml'), 'audit:\n  redact_literals: ["corp-internal-passphrase-9"]\n');
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, store };
}

async function sandbox(dir: string, store: Store, id: string, alias: string, email: Record<string, unknown> = {}) {
  const emailAddress = identityAddress(id, {});
  await store.insertSandbox({ id, alias, profileName: 'learn', profile: {}, substrate: 'local', createdAtMs: Date.now(), teardownPolicy: 'destroy', enforcementRequested: 'proxy', createdBy: 'cli', emailAddress, status: 'running' });
  await provisionIdentity(store, identityKeysDir(dir, id), { sandboxId: id, alias: (email.alias as string) ?? null, emailAddress, policy: mailPolicyOf(email) });
}

test('km email send/read and km identity list/show', async (t) => {
  const { dir, store } = await home(t);
  await sandbox(dir, store, 'sb-0000aaaa', 'demo', { alias: 'build.web' });
  await sandbox(dir, store, 'sb-0000bbbb', 'ci', { allowedSenders: ['self'], verifyInbound: 'required' });
  await writeFile(join(dir, 'notes.md'), 'hello from a file\n');

  const sent = await km(dir, ['email', 'send', '--to', 'demo', '--subject', 'hi', '--body', 'notes.md', '--attach', 'notes.md']);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^Sent <[0-9a-f-]+@sandboxes\.km\.internal> from operator to demo \(signed, encrypted, 1 attachment\)\n$/);
  const missing = await km(dir, ['email', 'send', '--to', 'demo', '--subject', 'x', '--body', 'notes']);
  assert.deepEqual([missing.code, missing.stderr], [2, 'km: error: --body: no such file "notes"; use --text for literal text\n']);
  const empty = await km(dir, ['email', 'send', '--to', 'demo', '--subject', 'x']);
  assert.deepEqual([empty.code, empty.stderr], [2, 'km: error: message is empty; give --body, --text or --attach\n']);

  const rejected = await km(dir, ['email', 'send', '--from', 'demo', '--to', 'ci', '--subject', 'nope', '--text', 'x']);
  assert.equal(rejected.code, 1);
  assert.match(rejected.stderr, /^warning: not delivered to sb-0000bbbb: sb-0000aaaa is not an allowed sender for sb-0000bbbb\n$/);
  const piped = await km(dir, ['email', 'send', '--from', 'demo', '--to', 'operator', '--subject', 'log', '--body', '-', '--json'], 'piped body\n');
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(JSON.parse(piped.stdout).from, 'sb-0000aaaa');

  const table = await km(dir, ['email', 'read', 'demo']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^#\s+DATE\s+FROM\s+SUBJECT\s+SIG\s+ENC\s+READ\n1 .* operator\s+hi\s+verified\s+yes\s+no\n2 .* operator\s+Undelivered: nope\s+verified\s+no\s+no\n$/);
  const json = JSON.parse((await km(dir, ['email', 'read', 'demo', '--json', '--mark-read'])).stdout);
  assert.deepEqual(Object.keys(json[0]), ['message_id', 'date', 'from', 'sender_id', 'to', 'subject', 'body', 'signature', 'encrypted', 'read', 'attachments']);
  assert.equal(json[0].body, 'hello from a file\n');
  assert.deepEqual(json[0].attachments.map((a: { filename: string }) => a.filename), ['notes.md']);
  assert.deepEqual(json.map((m: { read: boolean }) => m.read), [true, true]);
  assert.equal((await km(dir, ['email', 'read', 'demo', '--unread'])).stdout, 'No messages for demo.\n');
  const op = JSON.parse((await km(dir, ['email', 'read', 'operator', '--json'])).stdout);
  assert.deepEqual(op.map((m: { subject: string; body: string }) => [m.subject, m.body]), [['log', 'piped body\n']]);

  const ids = JSON.parse((await km(dir, ['identity', 'list', '--json'])).stdout);
  assert.deepEqual(ids.map((i: { id: string }) => i.id), ['operator', 'sb-0000aaaa', 'sb-0000bbbb']);
  const show = JSON.parse((await km(dir, ['identity', 'show', 'ci', '--json'])).stdout);
  assert.deepEqual(Object.keys(show), ['id', 'email_address', 'alias', 'signing_public_key', 'encryption_public_key', 'signing', 'verify_inbound', 'encryption', 'allowed_senders']);
  assert.deepEqual([show.email_address, show.verify_inbound, show.allowed_senders], ['sb-0000bbbb@sandboxes.km.internal', 'required', ['self']]);
  assert.match((await km(dir, ['identity', 'show', 'demo'])).stdout, /^id:\s+sb-0000aaaa\naddress:\s+sb-0000aaaa@sandboxes\.km\.internal\nalias:\s+build\.web\n/);
  assert.equal((await km(dir, ['identity', 'show', 'nobody'])).code, 2);
});

test('km logs and km otel over stored events, telemetry and the ledger', async (t) => {
  const { dir, store } = await home(t);
  await sandbox(dir, store, 'sb-0000cccc', 'demo');
  const T = Date.UTC(2027, 2, 3, 8, 15, 2);
  await store.appendEvents([
    { timestampMs: T, sandboxId: 'sb-0000cccc', eventType: 'dns.query', source: 'gateway', detail: { name: 'evil.example', type: 'A', decision: 'deny', rule: 'default-deny' } },
    { timestampMs: T + 1000, sandboxId: 'sb-0000cccc', eventType: 'lifecycle.paused', source: 'kmd', detail: { actor: 'budget' } },
  ]);
  const logs = await km(dir, ['logs', 'demo']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.equal(logs.stdout, '2027-03-03 08:15:02  dns.query  deny  evil.example  (default-deny)\n2027-03-03 08:15:03  lifecycle.paused  budget\n');
  const jl = (await km(dir, ['logs', 'demo', '--json', '--type', 'lifecycle.*'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(jl.map((e) => e.event_type), ['lifecycle.paused']);
  assert.equal((await km(dir, ['logs', 'demo', '--limit', '1'])).stdout.split('\n').filter(Boolean).length, 1);
  assert.equal((await km(dir, ['logs', 'demo', '--since', 'yesterday'])).code, 2);

  const none = await km(dir, ['otel', 'demo']);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no telemetry received from demo \(is observability\.claudeTelemetry\.enabled set\?\)\n$/);
  const both = await km(dir, ['otel', 'demo', '--tools', '--timeline']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /choose one view/);

  await store.upsertUsage('sb-0000cccc', 'x1', { provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1000, outputTokens: 100, cacheWriteTokens: 0, cacheReadTokens: 0, cachedInputTokens: 0, reasoningTokens: 0, costUsd: 0.0045, priced: 'table', partial: false, atMs: T });
  await store.appendTelemetry([{ sandboxId: 'sb-0000cccc', signal: 'logs', timestampMs: T, receivedAtMs: T, name: 'claude_code.api_request', data: { attributes: { 'session.id': 's1', model: 'claude-sonnet-4-5', cost_usd: 0.004, input_tokens: 1000, output_tokens: 100 } } }]);
  const summary = JSON.parse((await km(dir, ['otel', 'demo', '--json'])).stdout);
  assert.equal(summary.ledger.total_usd, 0.0045);
  assert.equal(summary.self_reported.cost_usd, 0.004);
  assert.equal(summary.telemetry.logs.count, 1);
  const fleet = await km(dir, ['otel']);
  assert.match(fleet.stdout, /^SANDBOX\s+AI\s+COMPUTE\s+LIMITS\s+TOKENS\s+LAST ACTIVITY\ndemo\s+\$0\.0045 /);
  assert.match(fleet.stdout, /\nTOTAL\s+\$0\.0045/);
});

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test('no fake secret from a session (commands, env, mail, OTLP attributes) reaches the store or the state dir', async (t) => {
  const { dir, store } = await home(t);
  await sandbox(dir, store, 'sb-0000dddd', 'agent', { encryption: 'off' });
  await sandbox(dir, store, 'sb-0000eeee', 'peer');
  const secrets = {
    github: 'ghp_0123456789abcdefghijABCDEFGHIJklmnop',
    aws: 'AKIAIOSFODNN7EXAMPLE',
    awsSecret: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
    anthropic: 'sk-ant-api03-FAKEfakeFAKEfake0123456789',
    literal: 'corp-internal-passphrase-9',
    bearer: 'Bearer abcdefghijklmnopqrstuvwx.yz',
    urlPassword: 'Sup3rS3cretDbPass',
    basic: Buffer.from('deploy:basic-pass-77').toString('base64'),
    slack: 'xoxb-123456789012-1234567890123-FakeFakeFakeFakeFake',
  };
  const redactor = createRedactor({ literals: [secrets.literal] });
  const events = createEventRecorder({ store, redactor, clock: systemClock });
  await events.record('sb-0000dddd', 'command', 'shell', { command: `export GITHUB_TOKEN=${secrets.github}; curl -H "Authorization: ${secrets.bearer}" x` });
  await events.record('sb-0000dddd', 'command', 'shell', { command: `psql postgres://app:${secrets.urlPassword}@db/app; curl -H "Authorization: Basic ${secrets.basic}" -d token=x ${secrets.slack}` });
  await events.record('sb-0000dddd', 'command', 'exec', { argv: ['env', `AWS_ACCESS_KEY_ID=${secrets.aws}`, `aws_secret_access_key=${secrets.awsSecret}`], env: { PASS: secrets.literal } });

  const mail = createMailService({ store, kmHome: dir, clock: systemClock, redactor, address: {}, allowExternal: false, resolveSandbox: (r) => resolveSandboxRef(store, r) });
  t.after(() => mail.close());
  const cli = await km(dir, ['email', 'send', '--to', 'peer', '--subject', `key ${secrets.anthropic}`, '--text', `token=${secrets.github} and ${secrets.literal}`]);
  assert.equal(cli.code, 0, cli.stderr);
  const telemetry = createOtlpReceiver({ store, redactor, clock: systemClock });
  const api = await listenInternalApi(createInternalApi({ sandboxId: 'sb-0000dddd', mail, telemetry }), { port: 0 });
  t.after(() => api.close());
  const r = await fetch(`http://${api.address}/mail/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: ['peer'], subject: 'creds', text: `AWS ${secrets.aws}\naws_secret_access_key = ${secrets.awsSecret}`, attachments: [{ filename: 'env', content_base64: Buffer.from(`ANTHROPIC_API_KEY=${secrets.anthropic}\n`).toString('base64') }] }) });
  assert.equal(r.status, 200, await r.text());
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'claude-code' }), processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `http://${api.address}/v1/logs` }) })] });
  provider.getLogger('claude').emit({ eventName: 'claude_code.tool_result', attributes: { tool_parameters: JSON.stringify({ command: `echo ${secrets.github} ${secrets.literal}` }), prompt: `use ${secrets.anthropic}` } });
  await provider.forceFlush();
  await provider.shutdown();
  assert.ok((await store.queryTelemetry({ sandboxId: 'sb-0000dddd' })).length >= 1, 'telemetry arrived');
  assert.equal((await store.listMail('sb-0000eeee')).length, 2, 'both messages were delivered');

  // config.yaml is the operator's own file naming the literal to redact; everything km wrote is checked.
  const files = (await allFiles(dir)).filter((f) => f !== join(dir, 'config.yaml'));
  assert.ok(files.some((f) => f.endsWith('km.db')));
  for (const f of files) {
    const content = await readFile(f);
    for (const [kind, s] of Object.entries(secrets)) assert.equal(content.includes(s), false, `${kind} secret found in ${f}`);
  }
  assert.equal((await stat(join(dir, 'km.db'))).mode & 0o777, 0o600);
  const shown = JSON.parse((await km(dir, ['email', 'read', 'peer', '--json'])).stdout);
  assert.equal(shown[0].encrypted, true, 'the operator\'s message is stored as ciphertext; its reader sees the original');
  assert.equal(shown[0].body, `token=${secrets.github} and ${secrets.literal}\n`);
  assert.equal(shown[1].encrypted, false, 'the agent does not encrypt: its plaintext is stored redacted');
  assert.match(shown[1].body, /^AWS \[REDACTED:aws_access_key_id\]\naws_secret_access_key = \[REDACTED:aws_secret_access_key\]\n$/);
  assert.match(shown[0].subject, /^key \[REDACTED:anthropic_key\]$/);
});
