import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createGithubGuard, type GithubPolicy, type GithubVerdict } from './index.ts';
import { readPkt } from './pktline.ts';
import { checkPush, readerFor } from './push.ts';
import { buildPack, commandsBody, commitData, commitId, ZERO } from '../../../test/support/pack-builder.ts';

const policy: GithubPolicy = {
  mode: 'allowlist', allowedRepos: ['acme/api'], allowedRefs: ['main', 'feature/*'], allowForcePush: false, allowRefDeletion: false, allowGraphQL: false, sandboxId: 'sb-5e0c9a12',
};
const CAPS = 'report-status side-band-64k quiet agent=git/2.39.5';
const PUSH = '/acme/api.git/git-receive-pack';

function chunked(buf: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

function check(p: GithubPolicy, body: Buffer, opts: { chunk?: number; headers?: Record<string, string>; path?: string; method?: string; deps?: Parameters<typeof createGithubGuard>[1] } = {}): Promise<GithubVerdict> {
  const guard = createGithubGuard(p, opts.deps);
  return guard.check({ method: opts.method ?? 'POST', host: 'github.com', path: opts.path ?? PUSH, headers: opts.headers ?? {}, body: chunked(body, opts.chunk ?? 65536) });
}

/** Decodes a side-band receive-pack result into its progress text and report lines. */
function demux(body: Buffer): { progress: string; report: string[] } {
  let progress = '';
  let data = Buffer.alloc(0);
  for (let off = 0; ;) {
    const p = readPkt(body, off);
    if (p.type !== 'data') break;
    off = p.next;
    if (p.payload[0] === 1) data = Buffer.concat([data, p.payload.subarray(1)]);
    if (p.payload[0] === 2) progress += p.payload.subarray(1).toString();
  }
  const report: string[] = [];
  for (let off = 0; ;) {
    const p = readPkt(data, off);
    if (p.type !== 'data') break;
    off = p.next;
    report.push(p.payload.toString());
  }
  return { progress, report };
}

const root = commitData('f'.repeat(40), [], 'root');
const ROOT = commitId(root);
const child = commitData('f'.repeat(40), [ROOT], 'child');
const CHILD = commitId(child);
const other = commitData('f'.repeat(40), [], 'unrelated');
const OTHER = commitId(other);

test('allowed push is forwarded with every byte replayed, whatever the chunking', async () => {
  const body = commandsBody([[ROOT, CHILD, 'refs/heads/main']], CAPS, buildPack([{ type: 'commit', data: child }]));
  for (const size of [1, 3, 17, 65536]) {
    const v = await check(policy, body, { chunk: size });
    assert.equal(v.action, 'forward', `chunk ${size}`);
    assert.ok(v.action === 'forward');
    assert.deepEqual(await buffer(v.body), body);
    const detail = v.event.detail as Record<string, unknown>;
    assert.equal(v.event.event_type, 'git.push');
    assert.deepEqual(detail.updates, [{ ref: 'refs/heads/main', kind: 'update', decision: 'allow', rule: 'sourceAccess.github.allowedRefs[0]', fast_forward: 'pack' }]);
  }
});

test('gzip request bodies are inspected inflated and forwarded as sent', async () => {
  const plain = commandsBody([[ROOT, CHILD, 'refs/heads/main']], CAPS, buildPack([{ type: 'commit', data: child }]));
  const gz = gzipSync(plain);
  const v = await check(policy, gz, { chunk: 5, headers: { 'content-encoding': 'gzip' } });
  assert.ok(v.action === 'forward');
  assert.deepEqual(await buffer(v.body), gz);

  const refused = gzipSync(commandsBody([[ROOT, CHILD, 'refs/heads/release/2.0']], CAPS));
  const r = await check(policy, refused, { chunk: 5, headers: { 'content-encoding': 'gzip' } });
  assert.equal(r.action, 'respond');

  const broken = await check(policy, Buffer.concat([gz.subarray(0, 10), Buffer.from('not gzip at all')]), { headers: { 'content-encoding': 'gzip' } });
  assert.ok(broken.action === 'respond');
  assert.equal(broken.status, 400);
});

test('a disallowed ref refuses the whole push with a side-band receive-pack result', async () => {
  const body = commandsBody([[ROOT, CHILD, 'refs/heads/main'], [ZERO, CHILD, 'refs/heads/release/2.0']], CAPS, buildPack([{ type: 'commit', data: child }]));
  const v = await check(policy, body, { chunk: 2 });
  assert.ok(v.action === 'respond');
  assert.equal(v.status, 200);
  assert.equal(v.headers['content-type'], 'application/x-git-receive-pack-result');
  const { progress, report } = demux(v.body);
  assert.equal(progress, 'km: push refused: refs/heads/release/2.0 is not in allowedRefs [main, feature/*]\n');
  assert.deepEqual(report, [
    'unpack ok\n',
    'ng refs/heads/main km: push refused (another ref in this push was refused)\n',
    'ng refs/heads/release/2.0 km: ref not allowed\n',
  ]);
  const detail = v.event.detail as { decision: string; rule: string; updates: Array<Record<string, unknown>> };
  assert.equal(detail.decision, 'deny');
  assert.equal(detail.rule, 'sourceAccess.github.allowedRefs');
  assert.deepEqual(detail.updates.map((u) => [u.ref, u.kind, u.decision, u.rule]), [
    ['refs/heads/main', 'update', 'deny', 'push-refused-as-a-whole'],
    ['refs/heads/release/2.0', 'create', 'deny', 'sourceAccess.github.allowedRefs'],
  ]);
});

test('without side-band the report is sent bare; without report-status a 403 envelope', async () => {
  const body = commandsBody([[ZERO, CHILD, 'refs/heads/nope']], 'report-status-v2');
  const v = await check(policy, body);
  assert.ok(v.action === 'respond');
  assert.equal(v.body.toString(), '000eunpack ok\n002bng refs/heads/nope km: ref not allowed\n0000');

  const w = await check(policy, commandsBody([[ZERO, CHILD, 'refs/heads/nope']], 'agent=x'));
  assert.ok(w.action === 'respond');
  assert.equal(w.status, 403);
  const json = JSON.parse(w.body.toString()) as Record<string, unknown>;
  assert.equal(json.error, 'ref_not_allowed');
  assert.equal(json.ref, 'refs/heads/nope');
  assert.equal(w.headers['x-km-deny-reason'], 'ref_not_allowed');
});

test('deletion needs allowRefDeletion; allowedRefs [] allows no pushes', async () => {
  const del = commandsBody([[ROOT, ZERO, 'refs/heads/feature/x']], 'report-status');
  const v = await check(policy, del);
  assert.ok(v.action === 'respond');
  assert.match(v.body.toString(), /ng refs\/heads\/feature\/x km: ref deletion not allowed/);
  const ok = await check({ ...policy, allowRefDeletion: true }, del);
  assert.equal(ok.action, 'forward');

  const none = await check({ ...policy, allowedRefs: [] }, commandsBody([[ZERO, CHILD, 'refs/heads/main']], 'report-status side-band'));
  assert.ok(none.action === 'respond');
  assert.equal(demux(none.body).progress, 'km: push refused: refs/heads/main is not in allowedRefs []\n');
});

test('force pushes: refused unless proven fast-forward or allowed', async () => {
  const force = commandsBody([[ROOT, OTHER, 'refs/heads/main']], CAPS, buildPack([{ type: 'commit', data: other }]));
  const v = await check(policy, force);
  assert.ok(v.action === 'respond');
  const { progress, report } = demux(v.body);
  assert.equal(progress, 'km: push refused: refs/heads/main is not a fast-forward and allowForcePush is false\n');
  assert.deepEqual(report, ['unpack ok\n', 'ng refs/heads/main km: force push not allowed\n']);
  assert.equal(((v.event.detail as { updates: Array<{ kind: string }> }).updates[0] as { kind: string }).kind, 'force');

  const allowed = await check({ ...policy, allowForcePush: true }, force);
  assert.ok(allowed.action === 'forward');
  assert.deepEqual(await buffer(allowed.body), force);
  // allowed, yet still classified (learn mode records force pushes)
  const allowedUpdate = ((allowed.event.detail as { updates: Array<{ kind: string; decision: string; rule: string }> }).updates[0]);
  assert.deepEqual([allowedUpdate?.kind, allowedUpdate?.decision, allowedUpdate?.rule], ['force', 'allow', 'sourceAccess.github.allowForcePush']);

  // empty pack: only the upstream can prove it
  const empty = commandsBody([[ROOT, CHILD, 'refs/heads/main']], CAPS, buildPack([]));
  const calls: unknown[][] = [];
  const yes = await check(policy, empty, { headers: { authorization: 'token x' }, deps: { compareAncestor: async (...a) => { calls.push(a); return true; } } });
  assert.equal(yes.action, 'forward');
  assert.deepEqual(calls, [['acme/api', ROOT, CHILD, { authorization: 'token x' }]]);
  const unknown = await check(policy, empty, { deps: { compareAncestor: async () => undefined } });
  assert.ok(unknown.action === 'respond');
  assert.match(demux(unknown.body).progress, /could not be proven one/);
  assert.equal((await check(policy, empty)).action, 'respond');
});

test('a pack larger than the inspection limit counts as unproven', async () => {
  const big = randomBytes(300_000);
  const body = commandsBody([[ROOT, CHILD, 'refs/heads/main']], CAPS, buildPack([{ type: 'blob', data: big }, { type: 'commit', data: child }]));
  const run = (maxPackBytes?: number) => {
    const source = chunked(body, 1000);
    return checkPush({ policy, deps: {}, repo: 'acme/api', headers: {}, reader: readerFor(source, {}), detail: { rule: 'r' }, ...(maxPackBytes === undefined ? {} : { maxPackBytes }) });
  };
  // the commit sits after a 300 kB blob: found under the default limit, not under 100 kB
  const whole = await run();
  assert.ok(whole.action === 'forward');
  assert.deepEqual(await buffer(whole.body), body);
  const capped = await run(100_000);
  assert.ok(capped.action === 'respond');
  assert.match(demux(capped.body).progress, /refs\/heads\/main is not a fast-forward \(could not be proven one\)/);
  assert.match(String(((capped.event.detail as { pack: { problem: string } }).pack).problem), /inspection limit/);
});

test('malformed and truncated push requests get a 400 envelope', async () => {
  for (const body of [Buffer.from('zzzz'), commandsBody([[ROOT, CHILD, 'refs/heads/main']], CAPS).subarray(0, 30)]) {
    const v = await check(policy, body);
    assert.ok(v.action === 'respond');
    assert.equal(v.status, 400);
    assert.equal(JSON.parse(v.body.toString()).error, 'bad_request');
  }
});

test('repo denials use the §3.4 envelope; mode none forwards everything untouched', async () => {
  const v = await check(policy, Buffer.alloc(0), { method: 'GET', path: '/acme/secret.git/info/refs?service=git-upload-pack' });
  assert.ok(v.action === 'respond');
  assert.equal(v.status, 403);
  assert.equal(v.headers['x-km-rule'], 'sourceAccess.github.allowedRepos');
  const json = JSON.parse(v.body.toString()) as Record<string, unknown>;
  assert.deepEqual(
    { error: json.error, repo: json.repo, rule: json.rule, sandbox: json.sandbox, host: json.host },
    { error: 'repo_not_allowed', repo: 'acme/secret', rule: 'sourceAccess.github.allowedRepos', sandbox: 'sb-5e0c9a12', host: 'github.com' },
  );
  assert.match(String(json.hint), /add "acme\/secret"/);
  assert.deepEqual(v.event, {
    event_type: 'git.access', source: 'gateway', sandbox_id: 'sb-5e0c9a12',
    detail: { host: 'github.com', method: 'GET', path: '/acme/secret.git/info/refs', repo: 'acme/secret', kind: 'info-refs', service: 'git-upload-pack', decision: 'deny', rule: 'sourceAccess.github.allowedRepos' },
  });

  const body = commandsBody([[ROOT, OTHER, 'refs/heads/anything']], CAPS);
  const none = await check({ ...policy, mode: 'none', allowedRepos: [] }, body, { path: '/acme/secret/git-receive-pack' });
  assert.ok(none.action === 'forward');
  assert.equal(await text(none.body), body.toString());
  assert.equal(createGithubGuard(policy).isGithubHost('API.GitHub.com.:443'), true);
  assert.equal(createGithubGuard(policy).isGithubHost('github.com.evil.test'), false);
});

test('with repos "*", a push through an ambiguous path still meets the ref rules', async () => {
  const body = commandsBody([[ZERO, CHILD, 'refs/heads/release/2.0']], CAPS);
  const v = await check({ ...policy, allowedRepos: ['*'] }, body, { path: '/acme%2Fapi/git-receive-pack' });
  assert.ok(v.action === 'respond');
  assert.match(demux(v.body).report.join(''), /ng refs\/heads\/release\/2\.0 km: ref not allowed/);
});
