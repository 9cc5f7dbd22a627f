/**
 * End to end with the real git client: git → test server (guard as middleware, requests
 * presented as github.com) → git http-backend.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createGithubGuard, type GithubGuard, type GithubPolicy, type GuardDeps } from './index.ts';
import { createBareRepo, git, guardHook, revParse, startGitServer, type GitServer } from '../../../test/support/git-server.ts';

const basePolicy: GithubPolicy = {
  mode: 'allowlist', allowedRepos: ['github.com/acme/api'], allowedRefs: ['main', 'feature/*'],
  allowForcePush: false, allowRefDeletion: false, allowGraphQL: false, sandboxId: 'sb-5e0c9a12',
};

let tmp = '';
let home = '';
let root = '';
let server: GitServer;
let guard: GithubGuard = createGithubGuard(basePolicy);
const events: Array<Record<string, unknown>> = [];
let apiBare = '';

function useGuard(p: Partial<GithubPolicy> = {}, deps: GuardDeps = {}): void {
  guard = createGithubGuard({ ...basePolicy, ...p }, deps);
  events.length = 0;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'km-github-e2e-'));
  home = join(tmp, 'home');
  root = join(tmp, 'srv');
  apiBare = await createBareRepo(root, 'acme/api', [
    { message: 'initial', files: { 'README.md': '# api\n' } },
    { message: 'base of feature', branch: 'feature/base' },
    { message: 'main moves on', branch: 'main' },
  ]);
  await createBareRepo(root, 'acme/secret');
  server = await startGitServer({ root, onRequest: (req, res) => guardHook(guard, { onEvent: (e) => events.push(e) })(req, res) });
});

after(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

async function gitFails(args: string[], cwd?: string): Promise<string> {
  try {
    await git(args, { home, ...(cwd === undefined ? {} : { cwd }) });
  } catch (e) {
    return (e as { stderr: string }).stderr;
  }
  assert.fail(`git ${args.join(' ')} succeeded but should have failed`);
}

async function freshClone(name: string): Promise<string> {
  const dir = join(tmp, name);
  await git(['clone', '-q', `${server.url}/acme/api.git`, dir], { home });
  return dir;
}

async function commit(dir: string, file: string, content: string): Promise<string> {
  await writeFile(join(dir, file), content);
  await git(['add', '-A'], { cwd: dir, home });
  await git(['commit', '-q', '-m', `edit ${file}`], { cwd: dir, home });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir, home })).stdout.trim();
}

const updatesOf = (e: Record<string, unknown> | undefined): Array<Record<string, unknown>> =>
  ((e?.detail as { updates?: Array<Record<string, unknown>> } | undefined)?.updates ?? []);
const lastPush = (): Record<string, unknown> | undefined => events.filter((e) => e.event_type === 'git.push').at(-1);

test('clone of an allowed repo works and is recorded as git.access', async () => {
  useGuard();
  const dir = await freshClone('clone-ok');
  await access(join(dir, 'README.md'));
  const kinds = events.map((e) => [(e.detail as { kind: string }).kind, (e.detail as { decision: string }).decision]);
  assert.deepEqual(kinds[0], ['info-refs', 'allow']);
  assert.ok(kinds.some(([k]) => k === 'upload-pack'));
});

test('clone of a disallowed repo fails with the 403 and git shows the reason', async () => {
  useGuard();
  const stderr = await gitFails(['clone', '-q', `${server.url}/acme/secret.git`, join(tmp, 'clone-denied')]);
  assert.match(stderr, /403/);
  assert.match(stderr, /^remote: km: repository acme\/secret is not allowed by sourceAccess\.github\.allowedRepos$/m);
  assert.match(stderr, /^remote: \{"error":"repo_not_allowed"/m);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]?.detail, {
    host: 'github.com', method: 'GET', path: '/acme/secret.git/info/refs', repo: 'acme/secret', kind: 'info-refs',
    service: 'git-upload-pack', decision: 'deny', rule: 'sourceAccess.github.allowedRepos',
  });
});

test('push to an allowed ref updates the server; fast-forward proven from the pack', async () => {
  const calls: unknown[] = [];
  useGuard({}, { compareAncestor: async (...a) => { calls.push(a); return false; } });
  const dir = await freshClone('push-ok');
  const head = await commit(dir, 'a.txt', 'a\n');
  await git(['push', '-q', '-o', 'ci.skip', '-o', 'note=x', 'origin', 'main'], { cwd: dir, home });
  assert.equal(await revParse(apiBare, 'refs/heads/main', home), head);
  assert.deepEqual(calls, []);
  assert.equal((lastPush()?.detail as { push_options?: number }).push_options, 2);
  assert.deepEqual(updatesOf(lastPush()), [{ ref: 'refs/heads/main', kind: 'update', decision: 'allow', rule: 'sourceAccess.github.allowedRefs[0]', fast_forward: 'pack' }]);
});

test('push to a disallowed ref is refused with git showing why; server unchanged', async () => {
  useGuard();
  const dir = await freshClone('push-denied');
  await git(['checkout', '-q', '-b', 'release/2.0'], { cwd: dir, home });
  await commit(dir, 'r.txt', 'r\n');
  const stderr = await gitFails(['push', 'origin', 'release/2.0'], dir);
  assert.match(stderr, /^remote: km: push refused: refs\/heads\/release\/2\.0 is not in allowedRefs \[main, feature\/\*\]\s*$/m);
  assert.match(stderr, /^ ! \[remote rejected\] release\/2\.0 -> release\/2\.0 \(km: ref not allowed\)$/m);
  assert.match(stderr, /error: failed to push some refs/);
  assert.equal(await revParse(apiBare, 'refs/heads/release/2.0', home), null);
});

test('a push with several refs where one is disallowed refuses all of them', async () => {
  useGuard();
  const dir = await freshClone('push-multi');
  const before = await revParse(apiBare, 'refs/heads/main', home);
  await commit(dir, 'm.txt', 'm\n');
  await git(['branch', 'release/2.0'], { cwd: dir, home });
  const stderr = await gitFails(['push', 'origin', 'main', 'release/2.0'], dir);
  assert.match(stderr, /! \[remote rejected\] main -> main \(km: push refused \(another ref in this push was refused\)\)/);
  assert.match(stderr, /! \[remote rejected\] release\/2\.0 -> release\/2\.0 \(km: ref not allowed\)/);
  assert.equal(await revParse(apiBare, 'refs/heads/main', home), before);
  assert.equal(await revParse(apiBare, 'refs/heads/release/2.0', home), null);
});

test('force push is refused unless allowForcePush', async () => {
  useGuard();
  const dir = await freshClone('push-force');
  const before = await revParse(apiBare, 'refs/heads/main', home);
  await git(['reset', '-q', '--hard', 'HEAD~1'], { cwd: dir, home });
  const rewritten = await commit(dir, 'f.txt', 'rewrite\n');
  const stderr = await gitFails(['push', '--force', 'origin', 'main'], dir);
  assert.match(stderr, /^remote: km: push refused: refs\/heads\/main is not a fast-forward(?: \(could not be proven one\))? and allowForcePush is false\s*$/m);
  assert.match(stderr, /! \[remote rejected\] main -> main \(km: force push not allowed\)/);
  assert.equal(await revParse(apiBare, 'refs/heads/main', home), before);
  assert.equal(updatesOf(lastPush())[0]?.kind, 'force');

  useGuard({ allowForcePush: true });
  await git(['push', '-q', '--force', 'origin', 'main'], { cwd: dir, home });
  assert.equal(await revParse(apiBare, 'refs/heads/main', home), rewritten);
  assert.equal(updatesOf(lastPush())[0]?.kind, 'force', 'allowed force pushes are still recorded as force');
});

test('deletion is refused unless allowRefDeletion', async () => {
  useGuard();
  const dir = await freshClone('push-delete');
  const tip = await revParse(apiBare, 'refs/heads/feature/base', home);
  assert.notEqual(tip, null);
  const stderr = await gitFails(['push', 'origin', '--delete', 'feature/base'], dir);
  assert.match(stderr, /remote: km: push refused: deleting refs\/heads\/feature\/base needs allowRefDeletion: true/);
  assert.match(stderr, /! \[remote rejected\] feature\/base \(km: ref deletion not allowed\)/);
  assert.notEqual(await revParse(apiBare, 'refs/heads/feature/base', home), null);

  useGuard({ allowRefDeletion: true });
  await git(['push', '-q', 'origin', '--delete', 'feature/base'], { cwd: dir, home });
  assert.equal(await revParse(apiBare, 'refs/heads/feature/base', home), null);
  useGuard({ allowedRefs: undefined });
  await git(['push', '-q', 'origin', `${tip}:refs/heads/feature/base`], { cwd: dir, home }); // restore for the next test
  assert.equal(await revParse(apiBare, 'refs/heads/feature/base', home), tip);
});

test('an empty pack is proven fast-forward only through the upstream ancestry check', async () => {
  const dir = await freshClone('push-empty-pack');
  const isAncestor = async (_repo: string, a: string, d: string): Promise<boolean | undefined> => {
    try {
      await git(['--git-dir', apiBare, 'merge-base', '--is-ancestor', a, d], { home });
      return true;
    } catch {
      return false;
    }
  };
  // feature/base is an ancestor of main: pushing main's commit there needs no new objects
  const base = await revParse(apiBare, 'refs/heads/feature/base', home);
  assert.equal(await isAncestor('acme/api', base as string, 'refs/heads/main'), true);
  useGuard();
  const stderr = await gitFails(['push', 'origin', 'origin/main:refs/heads/feature/base'], dir);
  assert.match(stderr, /could not be proven one/);
  useGuard({}, { compareAncestor: isAncestor });
  await git(['push', '-q', 'origin', 'origin/main:refs/heads/feature/base'], { cwd: dir, home });
  assert.equal(await revParse(apiBare, 'refs/heads/feature/base', home), await revParse(apiBare, 'refs/heads/main', home));
  assert.equal(updatesOf(lastPush())[0]?.fast_forward, 'upstream');
});

test('a large chunked push (with git\'s probe request) streams through', async () => {
  useGuard();
  const dir = await freshClone('push-large');
  await writeFile(join(dir, 'big.bin'), randomBytes(400_000));
  const head = await commit(dir, 'small.txt', 'x\n');
  await git(['-c', 'http.postBuffer=65520', 'push', '-q', 'origin', 'main'], { cwd: dir, home });
  assert.equal(await revParse(apiBare, 'refs/heads/main', home), head);
  // git first sends a probe (a lone flush-pkt) before a body larger than http.postBuffer
  const posts = events.filter((e) => (e.detail as { kind: string }).kind === 'receive-pack');
  assert.deepEqual(posts.map((e) => e.event_type), ['git.access', 'git.push']);
  const pushes = events.filter((e) => e.event_type === 'git.push');
  assert.equal(updatesOf(pushes.at(-1))[0]?.fast_forward, 'pack');
});

test('a large chunked push to a disallowed ref is refused before its pack is read', async () => {
  useGuard();
  const dir = await freshClone('push-large-denied');
  await git(['checkout', '-q', '-b', 'release/3.0'], { cwd: dir, home });
  await writeFile(join(dir, 'big.bin'), randomBytes(2_000_000));
  await commit(dir, 'small.txt', 'y\n');
  const stderr = await gitFails(['-c', 'http.postBuffer=65520', 'push', 'origin', 'release/3.0'], dir);
  assert.match(stderr, /^remote: km: push refused: refs\/heads\/release\/3\.0 is not in allowedRefs \[main, feature\/\*\]\s*$/m);
  assert.match(stderr, /! \[remote rejected\] release\/3\.0 -> release\/3\.0 \(km: ref not allowed\)/);
  assert.equal(await revParse(apiBare, 'refs/heads/release/3.0', home), null);
});
