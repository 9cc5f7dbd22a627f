import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideGithubAccess, type GithubPolicy } from './index.ts';

const base: GithubPolicy = {
  mode: 'allowlist', allowedRepos: ['acme/api', 'tools/*'], allowForcePush: false, allowRefDeletion: false, allowGraphQL: false, sandboxId: 'sb-1',
};

test('decideGithubAccess: repo scoping, non-repo reads and writes, GraphQL, signed objects, mode none', () => {
  const star = { ...base, allowedRepos: ['acme/api', 'github.com/*'] };
  const cases: Array<[GithubPolicy, string, string, string, boolean, string]> = [
    [base, 'github.com', 'GET', '/acme/api.git/info/refs?service=git-upload-pack', true, 'sourceAccess.github.allowedRepos[0]'],
    [base, 'github.com', 'GET', '/acme/secret.git/info/refs?service=git-upload-pack', false, 'sourceAccess.github.allowedRepos'],
    [base, 'github.com', 'POST', '/tools/lint/git-upload-pack', true, 'sourceAccess.github.allowedRepos[1]'],
    [base, 'api.github.com', 'GET', '/repos/acme/secret/contents/x', false, 'sourceAccess.github.allowedRepos'],
    [base, 'api.github.com', 'PATCH', '/repos/ACME/api/pulls/1', true, 'sourceAccess.github.allowedRepos[0]'],
    [base, 'api.github.com', 'GET', '/repositories/42', false, 'sourceAccess.github.allowedRepos'],
    [star, 'api.github.com', 'GET', '/repositories/42', true, 'sourceAccess.github.allowedRepos[1]'],
    [base, 'api.github.com', 'GET', '/user', true, 'sourceAccess.github.nonRepoRead'],
    [base, 'api.github.com', 'HEAD', '/meta', true, 'sourceAccess.github.nonRepoRead'],
    [base, 'api.github.com', 'OPTIONS', '/gists', true, 'sourceAccess.github.nonRepoRead'],
    [base, 'api.github.com', 'POST', '/gists', false, 'sourceAccess.github.allowedRepos'],
    [base, 'api.github.com', 'POST', '/user/repos', false, 'sourceAccess.github.allowedRepos'],
    [star, 'api.github.com', 'POST', '/user/repos', true, 'sourceAccess.github.allowedRepos[1]'],
    [base, 'github.com', 'POST', '/login/oauth/access_token', true, 'sourceAccess.github.login'],
    [base, 'github.com', 'POST', '/login/device/code', true, 'sourceAccess.github.login'],
    [base, 'api.github.com', 'POST', '/graphql', false, 'sourceAccess.github.allowGraphQL'],
    [{ ...base, allowGraphQL: true }, 'api.github.com', 'POST', '/graphql', true, 'sourceAccess.github.allowGraphQL'],
    [star, 'api.github.com', 'POST', '/graphql', true, 'sourceAccess.github.allowedRepos[1]'],
    [base, 'objects.githubusercontent.com', 'GET', '/x?sig=1', true, 'sourceAccess.github.signedObjects'],
    [base, 'media.githubusercontent.com', 'PUT', '/x', false, 'sourceAccess.github.allowedRepos'],
    [base, 'raw.githubusercontent.com', 'GET', '/acme/secret/main/x', false, 'sourceAccess.github.allowedRepos'],
    [base, 'codeload.github.com', 'GET', '/acme/api/zip/main', true, 'sourceAccess.github.allowedRepos[0]'],
    [base, 'uploads.github.com', 'POST', '/repos/acme/secret/releases/1/assets', false, 'sourceAccess.github.allowedRepos'],
    [base, 'github.com', 'GET', '/acme/api/../secret', false, 'sourceAccess.github.allowedRepos'],
    [base, 'github.com', 'GET', '/acme%2Fapi/x', false, 'sourceAccess.github.allowedRepos'],
    [{ ...base, mode: 'none', allowedRepos: [] }, 'github.com', 'POST', '/acme/secret/git-receive-pack', true, 'sourceAccess.mode'],
  ];
  for (const [policy, host, method, path, allow, rule] of cases) {
    const d = decideGithubAccess(policy, host, method, path);
    assert.deepEqual({ allow: d.allow, rule: d.rule }, { allow, rule }, `${method} ${host}${path}`);
    assert.equal(d.hint === undefined, allow, `hint present exactly on denial: ${method} ${host}${path}`);
  }
});
