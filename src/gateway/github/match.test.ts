import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyGithubRequest, matchRef, matchRepo } from './index.ts';

test('classifyGithubRequest: every §4.2 path shape', () => {
  const cases: Array<[string, string, string, string | null, string, string?]> = [
    ['github.com', 'GET', '/acme/api.git/info/refs?service=git-upload-pack', 'acme/api', 'info-refs', 'git-upload-pack'],
    ['github.com', 'GET', '/acme/api/info/refs?service=git-receive-pack', 'acme/api', 'info-refs', 'git-receive-pack'],
    ['github.com', 'POST', '/acme/api.git/git-upload-pack', 'acme/api', 'upload-pack', 'git-upload-pack'],
    ['github.com', 'POST', '/Acme/API.GIT/git-receive-pack', 'Acme/API', 'receive-pack', 'git-receive-pack'],
    ['github.com', 'POST', '/acme/api.git/info/lfs/objects/batch', 'acme/api', 'lfs'],
    ['github.com', 'GET', '/acme/api/archive/refs/heads/main.zip', 'acme/api', 'web'],
    ['github.com', 'GET', '/acme/api/releases/download/v1/x.tgz', 'acme/api', 'web'],
    ['github.com', 'GET', '/acme/api/pull/3', 'acme/api', 'web'],
    ['github.com', 'GET', '/acme/api', 'acme/api', 'web'],
    ['github.com', 'GET', '/acme', null, 'non-repo'],
    ['github.com', 'GET', '/', null, 'non-repo'],
    ['github.com', 'GET', '/settings/profile', null, 'non-repo'],
    ['github.com', 'POST', '/orgs/acme/repos', null, 'non-repo'],
    ['github.com', 'GET', '/search/code?q=x', null, 'non-repo'],
    ['github.com', 'POST', '/login/oauth/access_token', null, 'login'],
    ['github.com', 'POST', '/login/device/code', null, 'login'],
    ['github.com', 'POST', '/login/session', null, 'non-repo'],
    ['GitHub.com.', 'GET', '/acme/api', 'acme/api', 'web'],
    ['github.com:443', 'GET', '//acme//./api/x', 'acme/api', 'web'],
    ['github.com', 'GET', '/acme/public/../secret/x', 'acme/secret', 'web'],
    ['github.com', 'GET', '/%61cme/secret', 'acme/secret', 'web'],
    ['github.com', 'GET', '/acme%2Fsecret/x', '/acme%2Fsecret/x', 'web'],
    ['github.com', 'GET', '/../acme/secret', '/../acme/secret', 'web'],
    ['github.com', 'POST', '/acme%2Fapi/git-receive-pack', '/acme%2Fapi/git-receive-pack', 'receive-pack', 'git-receive-pack'],
    ['github.com', 'POST', '/acme/api.git/GIT-Receive-Pack/', 'acme/api', 'receive-pack', 'git-receive-pack'],
    ['github.com', 'GET', '/acme/api.git/INFO/refs?service=git-receive-pack', 'acme/api', 'info-refs', 'git-receive-pack'],
    ['api.github.com', 'GET', '/repos/acme/api/pulls?state=open', 'acme/api', 'api'],
    ['api.github.com', 'DELETE', '/repos/acme/api.git', 'acme/api', 'api'],
    ['api.github.com', 'GET', '/repositories/123/contents/x', null, 'api'],
    ['api.github.com', 'GET', '/user', null, 'non-repo'],
    ['api.github.com', 'GET', '/rate_limit', null, 'non-repo'],
    ['api.github.com', 'POST', '/gists', null, 'non-repo'],
    ['api.github.com', 'POST', '/graphql', null, 'graphql'],
    ['api.github.com', 'GET', '/repos/acme', null, 'non-repo'],
    ['codeload.github.com', 'GET', '/acme/api/tar.gz/main', 'acme/api', 'codeload'],
    ['codeload.github.com', 'GET', '/acme/api/legacy.zip/refs/heads/main', 'acme/api', 'codeload'],
    ['raw.githubusercontent.com', 'GET', '/acme/api/main/src/x.ts', 'acme/api', 'raw'],
    ['uploads.github.com', 'POST', '/repos/acme/api/releases/1/assets?name=x', 'acme/api', 'uploads'],
    ['uploads.github.com', 'POST', '/user', null, 'non-repo'],
    ['objects.githubusercontent.com', 'GET', '/github-production-release-asset/1?sig=x', null, 'signed-object'],
    ['media.githubusercontent.com', 'GET', '/media/acme/api/main/big.bin', null, 'signed-object'],
    ['codeload.githubusercontent.com', 'GET', '/x', null, 'signed-object'],
    ['example.com', 'GET', '/acme/api', null, 'non-repo'],
  ];
  for (const [host, method, path, repo, kind, service] of cases) {
    const c = classifyGithubRequest(host, method, path);
    assert.deepEqual(
      { repo: c.repo, kind: c.kind, service: c.service },
      { repo, kind, service },
      `${method} ${host}${path}`,
    );
  }
});

test('matchRepo: owner/repo, owner/*, *, github.com/ prefix, case, .git', () => {
  const cases: Array<[string[], string, boolean, string]> = [
    [['acme/api'], 'acme/api', true, 'sourceAccess.github.allowedRepos[0]'],
    [['acme/api'], 'ACME/Api.git', true, 'sourceAccess.github.allowedRepos[0]'],
    [['github.com/Acme/API'], 'acme/api', true, 'sourceAccess.github.allowedRepos[0]'],
    [['acme/api.git'], 'acme/api', true, 'sourceAccess.github.allowedRepos[0]'],
    [['acme/api'], 'acme/secret', false, 'sourceAccess.github.allowedRepos'],
    [['acme/api'], 'acme/api-secret', false, 'sourceAccess.github.allowedRepos'],
    [['other/x', 'acme/*'], 'acme/secret', true, 'sourceAccess.github.allowedRepos[1]'],
    [['acme/*'], 'acmex/secret', false, 'sourceAccess.github.allowedRepos'],
    [['acme/*'], 'acme/a/b', false, 'sourceAccess.github.allowedRepos'],
    [['acme/*'], '/acme%2Fsecret/x', false, 'sourceAccess.github.allowedRepos'],
    [['*'], 'anyone/anything', true, 'sourceAccess.github.allowedRepos[0]'],
    [['github.com/*'], '/weird/../path', true, 'sourceAccess.github.allowedRepos[0]'],
    [['*/api'], 'acme/api', false, 'sourceAccess.github.allowedRepos'],
    [[], 'acme/api', false, 'sourceAccess.github.allowedRepos'],
  ];
  for (const [patterns, repo, allow, rule] of cases) {
    assert.deepEqual(matchRepo(patterns, repo), { allow, rule }, `${JSON.stringify(patterns)} ${repo}`);
  }
});

test('matchRef: branch names, refs/ patterns, globs, case, absent and empty lists', () => {
  const refs = ['main', 'feature/*', 'refs/tags/v*', 'fix-?', 'rel-[0-9]', 'x[!a]'];
  const cases: Array<[string[] | undefined, string, boolean, string]> = [
    [refs, 'refs/heads/main', true, 'sourceAccess.github.allowedRefs[0]'],
    [refs, 'refs/heads/Main', false, 'sourceAccess.github.allowedRefs'],
    [refs, 'refs/heads/feature/a/b', true, 'sourceAccess.github.allowedRefs[1]'],
    [refs, 'refs/heads/feature', false, 'sourceAccess.github.allowedRefs'],
    [refs, 'refs/heads/release/2.0', false, 'sourceAccess.github.allowedRefs'],
    [refs, 'refs/tags/v1.2', true, 'sourceAccess.github.allowedRefs[2]'],
    [refs, 'refs/tags/main', false, 'sourceAccess.github.allowedRefs'],
    [refs, 'refs/heads/refs/tags/v1', false, 'sourceAccess.github.allowedRefs'],
    [refs, 'refs/heads/fix-1', true, 'sourceAccess.github.allowedRefs[3]'],
    [refs, 'refs/heads/fix-12', false, 'sourceAccess.github.allowedRefs'],
    [refs, 'refs/heads/rel-7', true, 'sourceAccess.github.allowedRefs[4]'],
    [refs, 'refs/heads/rel-x', false, 'sourceAccess.github.allowedRefs'],
    [refs, 'refs/heads/xb', true, 'sourceAccess.github.allowedRefs[5]'],
    [refs, 'refs/heads/xa', false, 'sourceAccess.github.allowedRefs'],
    [['ma.n'], 'refs/heads/main', false, 'sourceAccess.github.allowedRefs'],
    [['*'], 'refs/tags/v1', false, 'sourceAccess.github.allowedRefs'],
    [['refs/*'], 'refs/tags/v1', true, 'sourceAccess.github.allowedRefs[0]'],
    [undefined, 'refs/heads/anything', true, 'sourceAccess.github.allowedRefs'],
    [[], 'refs/heads/main', false, 'sourceAccess.github.allowedRefs'],
  ];
  for (const [patterns, ref, allow, rule] of cases) {
    assert.deepEqual(matchRef(patterns, ref), { allow, rule }, `${JSON.stringify(patterns)} ${ref}`);
  }
});
