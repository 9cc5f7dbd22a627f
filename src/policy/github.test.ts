import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, decideRepo, repoFromRequest } from './index.ts';
import { policyInput } from './test-input.ts';

const R = 'spec.sourceAccess.github.allowedRepos';

const repoCases: Array<[string, string, string | null]> = [
  ['github.com', '/Acme/API.git/info/refs?service=git-upload-pack', 'acme/api'],
  ['github.com', '/acme/api/archive/refs/heads/main.zip', 'acme/api'],
  ['github.com', '/settings/profile', null],
  ['github.com', '/acme', null],
  ['github.com', '/', null],
  ['api.github.com', '/repos/acme/api/pulls', 'acme/api'],
  ['api.github.com', '/user', null],
  ['uploads.github.com', '/repos/acme/api/releases/1/assets', 'acme/api'],
  ['codeload.github.com', '/acme/api/tar.gz/main', 'acme/api'],
  ['raw.githubusercontent.com', '/acme/api/main/README.md', 'acme/api'],
  ['objects.githubusercontent.com', '/x/y', null],
  ['example.com', '/acme/api', null],
];
for (const [host, path, want] of repoCases) {
  test(`repo of ${host}${path}`, () => assert.equal(repoFromRequest(host, path), want));
}

test('decideRepo: exact, owner/*, star, prefix, case, deny rule', () => {
  const p = compilePolicy(policyInput({ repos: ['github.com/Acme/API', 'tools/*'] }), { sandboxId: 'sb-1' });
  assert.deepEqual(decideRepo(p.sourceAccess, 'acme/api'), { allow: true, rule: `${R}[0]` });
  assert.deepEqual(decideRepo(p.sourceAccess, 'ACME/api.git'), { allow: true, rule: `${R}[0]` });
  assert.deepEqual(decideRepo(p.sourceAccess, 'tools/anything'), { allow: true, rule: `${R}[1]` });
  assert.deepEqual(decideRepo(p.sourceAccess, 'acme/secret'), { allow: false, rule: 'sourceAccess.github.allowedRepos' });
  const star = compilePolicy(policyInput({ repos: ['*'] }), { sandboxId: 'sb-1' });
  assert.deepEqual(decideRepo(star.sourceAccess, 'x/y'), { allow: true, rule: `${R}[0]` });
  const none = compilePolicy(policyInput({ mode: 'none' }), { sandboxId: 'sb-1' });
  assert.deepEqual(decideRepo(none.sourceAccess, 'x/y'), { allow: true, rule: 'spec.sourceAccess.mode' });
});
