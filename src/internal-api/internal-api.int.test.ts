import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createRedactor } from '../audit/index.ts';
import { mailKit, type MailKit } from '../mail/test-kit.ts';
import { createOtlpReceiver } from '../telemetry/index.ts';
import { createInternalApi, listenInternalApi } from './index.ts';

const KM_MAIL = join(import.meta.dirname, '../../sandbox-bin/km-mail');

async function serve(t: TestContext, k: MailKit, sandboxId: string, label: string) {
  const dir = await mkdtemp(join(tmpdir(), 'km-int-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const telemetry = createOtlpReceiver({ store: k.store, redactor: createRedactor(), clock: k.clock });
  const handler = createInternalApi({ sandboxId, label, mail: k.mail, telemetry });
  const l = await listenInternalApi(handler, { socketPath: join(dir, 'kmd-internal.sock') });
  t.after(() => l.close());
  return { socket: l.address, dir };
}

function kmMail(socket: string, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('sh', [KM_MAIL, ...args], { env: { PATH: process.env.PATH, KM_INTERNAL_SOCKET: socket, TMPDIR: tmpdir() } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

function post(socket: string, path: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'POST', headers: { ...headers, 'content-length': body.length } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('km-mail (POSIX sh + curl) sends and reads as the socket\'s sandbox', async (t) => {
  const k = await mailKit(t);
  const web = await k.sandbox('web');
  const ci = await k.sandbox('ci');
  const { socket: webSock, dir } = await serve(t, k, web.id, 'web');
  const { socket: ciSock } = await serve(t, k, ci.id, 'ci');
  const notes = join(dir, 'notes.md');
  await writeFile(notes, '# Results\nall green\n');
  const att = join(dir, 'report.bin');
  await writeFile(att, Buffer.from([0, 1, 2, 255]));

  const sent = await kmMail(webSock, ['send', '--to', 'ci', '--subject', 'results', '--body', notes, '--attach', att]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^Sent <[^>]+> from web to ci \(signed, 1 attachment\)\n$/);
  k.clock.advance(60_000);
  const piped = await kmMail(webSock, ['send', '--to', ci.id, '--subject', 'piped', '--body', '-', '--json'], 'from stdin\n');
  assert.equal(piped.code, 0, piped.stderr);
  const pj = JSON.parse(piped.stdout);
  assert.equal(pj.from, web.id);
  assert.deepEqual(pj.deliveries.map((d: { status: string }) => d.status), ['delivered']);

  const list = await kmMail(ciSock, ['list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^#\s+DATE\s+FROM\s+SUBJECT\s+SIG\s+ENC\s+READ\n1\s+2027-03-03 08:15\s+sb-\w+\s+results\s+verified\s+no\s+no\n2\s+2027-03-03 08:16 .*piped/);
  const read = await kmMail(ciSock, ['read', '--json', '--mark-read']);
  const msgs = JSON.parse(read.stdout);
  assert.deepEqual(msgs.map((m: { subject: string; read: boolean }) => [m.subject, m.read]), [['results', true], ['piped', true]]);
  assert.equal(msgs[0].body, '# Results\nall green\n');
  assert.deepEqual(msgs[0].attachments.map((a: { filename: string; size: number }) => [a.filename, a.size]), [['report.bin', 4]]);
  assert.equal(msgs[1].body, 'from stdin\n');
  assert.deepEqual(JSON.parse((await kmMail(ciSock, ['list', '--unread', '--json'])).stdout), []);
  const one = await kmMail(ciSock, ['read', '--message', msgs[0].message_id]);
  assert.match(one.stdout, /Subject:\s+results\n[\s\S]*# Results\nall green\n$/);
  const raw = await kmMail(ciSock, ['read', '--raw', '--message', msgs[0].message_id]);
  assert.match(raw.stdout, /^X-KM-Signature: /m);

  k.clock.advance(60_000);
  const third = await k.mail.send({ from: 'operator', to: [ci.id], subject: 'third', text: 'x' });
  const marked = await post(ciSock, `/mail/messages/${encodeURIComponent(third.message_id)}/read`, Buffer.alloc(0), {});
  assert.deepEqual([marked.status, JSON.parse(marked.body)], [200, { message_id: third.message_id, read: true }]);
  assert.deepEqual(JSON.parse((await kmMail(ciSock, ['list', '--unread', '--json'])).stdout), []);
  const foreign = await post(webSock, `/mail/messages/${encodeURIComponent(third.message_id)}/read`, Buffer.alloc(0), {});
  assert.equal(foreign.status, 404, 'another sandbox cannot touch ci\'s mailbox');
  const mine = JSON.parse((await kmMail(webSock, ['list', '--json'])).stdout);
  assert.deepEqual(mine, [], 'web only sees its own mailbox');
  const noFile = await kmMail(webSock, ['send', '--to', 'ci', '--subject', 's', '--body', 'notes']);
  assert.deepEqual([noFile.code, noFile.stderr], [2, 'km-mail: error: --body: no such file "notes"; use --text for literal text\n']);
  const empty = await kmMail(webSock, ['send', '--to', 'ci', '--subject', 's']);
  assert.deepEqual([empty.code, empty.stderr], [2, 'km-mail: error: message is empty; give --body, --text or --attach\n']);
  const from = await kmMail(webSock, ['send', '--from', 'ci', '--to', 'ci', '--subject', 's', '--text', 'x']);
  assert.equal(from.code, 2);
  const ext = await kmMail(webSock, ['send', '--to', 'a@example.com', '--subject', 's', '--text', 'x']);
  assert.equal(ext.code, 2);
  assert.match(ext.stderr, /external address \(a@example.com\) is disabled\n  hint: an operator can allow it/);
  const unknown = await kmMail(webSock, ['send', '--to', 'nobody', '--subject', 's', '--text', 'x', '--json']);
  assert.equal(unknown.code, 2);
  assert.equal(JSON.parse(unknown.stderr).error.code, 'not_found');
});

test('the OTLP routes take protobuf and JSON, gzip, attribute by socket, refuse oversize and unknown types', async (t) => {
  const k = await mailKit(t);
  const web = await k.sandbox('web');
  const { socket } = await serve(t, k, web.id, 'web');
  const doc = {
    resourceLogs: [{ resource: { attributes: [{ key: 'sandbox', value: { stringValue: 'sb-forged000' } }] }, scopeLogs: [{ logRecords: [{
      timeUnixNano: String(Date.UTC(2027, 2, 3, 9) * 1e6), eventName: 'claude_code.user_prompt',
      attributes: [{ key: 'prompt', value: { stringValue: 'use key sk-ant-api03-abcdefghijklmnop please' } }, { key: 'prompt_length', value: { intValue: '42' } }],
    }] }] }],
  };
  const json = await post(socket, '/v1/logs', gzipSync(JSON.stringify(doc)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.deepEqual([json.status, json.body], [200, '{}']);
  const rows = await k.store.queryTelemetry({ sandboxId: web.id });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.name, 'claude_code.user_prompt');
  assert.equal(rows[0]?.timestampMs, Date.UTC(2027, 2, 3, 9));
  assert.deepEqual(rows[0]?.data.attributes, { prompt: 'use key [REDACTED:anthropic_key] please', prompt_length: 42 });
  assert.deepEqual(await k.store.queryTelemetry({ sandboxId: 'sb-forged000' }), [], 'payload attributes never choose the sandbox');
  const bad = await post(socket, '/v1/logs', Buffer.from('x'), { 'content-type': 'text/plain' });
  assert.equal(bad.status, 415);
  const big = await post(socket, '/v1/metrics', Buffer.alloc(4 * 1024 * 1024 + 1), { 'content-type': 'application/x-protobuf' });
  assert.equal(big.status, 413);
  const bomb = await post(socket, '/v1/metrics', gzipSync(Buffer.alloc(5 * 1024 * 1024)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
  assert.equal(bomb.status, 413);
  const junk = await post(socket, '/v1/traces', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), { 'content-type': 'application/x-protobuf' });
  assert.equal(junk.status, 400);
});
