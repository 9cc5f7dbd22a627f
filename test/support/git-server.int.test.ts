import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createBareRepo, git, revParse, startGitServer } from './git-server.ts';

const run = promisify(execFile);

async function hasOpenssl(): Promise<boolean> {
  return run('openssl', ['version']).then(() => true, () => false);
}

test('git server over TLS: clone and push with the real git client', async (t) => {
  if (!(await hasOpenssl())) return t.skip('needs the openssl CLI to make a test certificate');
  const tmp = await mkdtemp(join(tmpdir(), 'km-gitsrv-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const home = join(tmp, 'home');
  const root = join(tmp, 'srv');
  const bare = await createBareRepo(root, 'acme/tls', [{ message: 'one', files: { 'a.txt': 'a\n' } }, { message: 'two', branch: 'dev' }]);
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
  ]);
  const tls = { certPem: await readFile(join(tmp, 'cert.pem'), 'utf8'), keyPem: await readFile(join(tmp, 'key.pem'), 'utf8') };
  const server = await startGitServer({ root, tls });
  t.after(() => server.close());
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);

  const ca = ['-c', `http.sslCAInfo=${join(tmp, 'cert.pem')}`];
  const dir = join(tmp, 'clone');
  await git([...ca, 'clone', '-q', `${server.url}/acme/tls.git`, dir], { home });
  await access(join(dir, 'a.txt'));
  assert.equal((await git(['rev-parse', 'origin/dev'], { cwd: dir, home })).stdout.trim(), await revParse(bare, 'refs/heads/dev', home));

  await git(['commit', '-q', '--allow-empty', '-m', 'three'], { cwd: dir, home });
  await git([...ca, 'push', '-q', 'origin', 'HEAD:refs/heads/pushed'], { cwd: dir, home });
  assert.equal(await revParse(bare, 'refs/heads/pushed', home), (await git(['rev-parse', 'HEAD'], { cwd: dir, home })).stdout.trim());

  const stderr = await git([...ca, 'clone', '-q', `${server.url}/acme/missing.git`, join(tmp, 'missing')], { home }).then(
    () => assert.fail('clone of a missing repository succeeded'),
    (e: { stderr: string }) => e.stderr,
  );
  assert.match(stderr, /not found|404/i);
});
