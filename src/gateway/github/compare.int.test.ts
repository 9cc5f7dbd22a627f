/**
 * The compare-API ancestry client against a loopback stand-in for api.github.com (real TLS
 * through the extra CA, reached by a host override), answering from a real bare repository.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { systemClock } from '../../core/clock.ts';
import { createLeafCache, createSandboxCa } from '../tls/index.ts';
import { testPolicy } from '../http/test-fixtures.ts';
import { createBareRepo, git, revParse } from '../../../test/support/git-server.ts';
import { createCompareAncestor, verdictOfCompare } from './compare.ts';

const TOKEN = 'Basic ' + Buffer.from('x-access-token:ghs_faketoken').toString('base64');
let tmp = '';
let home = '';
let bare = '';
let server: Server;
let port = 0;
let caPem = '';
const seen: Array<{ path: string; auth: string | undefined }> = [];

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'km-compare-'));
  home = join(tmp, 'home');
  bare = await createBareRepo(join(tmp, 'srv'), 'acme/api', [
    { message: 'initial', files: { 'README.md': '# api\n' } },
    { message: 'side', branch: 'side' },
    { message: 'main moves on', branch: 'main' },
    { message: 'rewritten', branch: 'main', files: { 'README.md': '# other\n' } },
  ]);
  const ca = await createSandboxCa('github-test', systemClock);
  caPem = ca.certPem;
  const ctx = await createLeafCache(ca, { clock: systemClock }).getSecureContext('api.github.com');
  server = createServer({ SNICallback: (_n, cb) => cb(null, ctx) }, (req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    const m = /^\/repos\/acme\/api\/compare\/([0-9a-f]+)\.\.\.([0-9a-f]+)/.exec(req.url ?? '');
    if (req.headers.authorization !== TOKEN || !m) return void res.writeHead(404).end('{"message":"Not Found"}');
    const [a, b] = [m[1] as string, m[2] as string];
    const isAnc = (x: string, y: string) => git(['--git-dir', bare, 'merge-base', '--is-ancestor', x, y], { home }).then(() => true, () => false);
    void Promise.all([isAnc(a, b), isAnc(b, a)]).then(([ab, ba]) => {
      const status = a === b ? 'identical' : ab ? 'ahead' : ba ? 'behind' : 'diverged';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status, ahead_by: 1, behind_by: 0 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await rm(tmp, { recursive: true, force: true });
});

test('ancestry comes from GitHub\'s compare status, with the push\'s own credentials', async (t) => {
  const compare = createCompareAncestor(testPolicy({}), { hostOverrides: { 'api.github.com': `127.0.0.1:${port}` }, extraCaPem: caPem }, 5000);
  t.after(() => compare.close());
  const [first, side, main] = await Promise.all(['refs/heads/main~1', 'refs/heads/side', 'refs/heads/main'].map((r) => revParse(bare, r, home)));
  // A commit that is not in main's history: an orphan made in the bare repository itself.
  const tree = (await git(['--git-dir', bare, 'rev-parse', 'main^{tree}'], { home })).stdout.trim();
  const orphan = (await git(['--git-dir', bare, 'commit-tree', tree, '-m', 'orphan'], { home })).stdout.trim();
  const auth = { authorization: TOKEN };
  assert.equal(await compare('acme/api', first as string, main as string, auth), true, 'ahead: fast-forward');
  assert.equal(await compare('acme/api', main as string, main as string, auth), true, 'identical');
  assert.equal(await compare('acme/api', main as string, first as string, auth), false, 'behind: a rewind');
  assert.equal(await compare('acme/api', side as string, main as string, auth), true, 'an older ancestor');
  assert.equal(await compare('acme/api', orphan, main as string, auth), false, 'diverged');
  assert.equal(await compare('acme/api', first as string, main as string, {}), undefined, 'no credentials: unknown');
  assert.ok(seen.every((s) => s.path.startsWith('/repos/acme/api/compare/')));
  // Nothing that is not a repo name and two object ids is ever sent.
  const before = seen.length;
  assert.equal(await compare('acme/api/../x', first as string, main as string, auth), undefined);
  assert.equal(await compare('acme/api', 'HEAD', main as string, auth), undefined);
  assert.equal(seen.length, before);
});

test('an unreachable or untrusted api.github.com is unknown, never a proof', async (t) => {
  const untrusted = createCompareAncestor(testPolicy({}), { hostOverrides: { 'api.github.com': `127.0.0.1:${port}` } }, 5000);
  const closed = createCompareAncestor(testPolicy({}), { hostOverrides: { 'api.github.com': '127.0.0.1:9' }, extraCaPem: caPem }, 5000);
  t.after(() => (untrusted.close(), closed.close()));
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  assert.equal(await untrusted('acme/api', a, b, { authorization: TOKEN }), undefined);
  assert.equal(await closed('acme/api', a, b, { authorization: TOKEN }), undefined);
});

test('compare documents map to verdicts; anything else is unknown', () => {
  assert.equal(verdictOfCompare(200, '{"status":"ahead"}'), true);
  assert.equal(verdictOfCompare(200, '{"status":"identical"}'), true);
  assert.equal(verdictOfCompare(200, '{"status":"behind"}'), false);
  assert.equal(verdictOfCompare(200, '{"status":"diverged"}'), false);
  assert.equal(verdictOfCompare(200, '{"status":"weird"}'), undefined);
  assert.equal(verdictOfCompare(404, '{"status":"ahead"}'), undefined);
  assert.equal(verdictOfCompare(200, 'not json'), undefined);
});
