import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isKmError } from '../core/errors.ts';
import { compilePolicy, explain, explainJson, parseExplainTarget, renderExplain } from './index.ts';
import { policyInput, type InputParts } from './test-input.ts';

const compile = (parts: InputParts) => compilePolicy(policyInput(parts), { sandboxId: 'web' });
const run = (parts: InputParts, target: string, method?: string) => explain(compile(parts), parseExplainTarget(target), method);

describe('parseExplainTarget', () => {
  const cases: Array<[string, object]> = [
    ['api.x.org', { host: 'api.x.org', port: 443 }],
    ['API.x.org:8443', { host: 'api.x.org', port: 8443 }],
    ['http://a.org/p?q=1', { host: 'a.org', port: 80, scheme: 'http', path: '/p?q=1' }],
    ['https://a.org:444/', { host: 'a.org', port: 444, scheme: 'https', path: '/' }],
    ['https://[::1]/x', { host: '[::1]', port: 443, scheme: 'https', path: '/x' }],
    ['[::1]:22', { host: '[::1]', port: 22 }],
  ];
  for (const [text, want] of cases) test(text, () => assert.deepEqual(parseExplainTarget(text), want));
  for (const bad of ['ftp://a.org/', 'http://', 'a b', '*', 'a.org/x']) {
    test(`rejects ${bad}`, () => assert.throws(() => parseExplainTarget(bad), (e: unknown) => isKmError(e) && e.code === 'usage'));
  }
});

describe('explain', () => {
  test('the §3.7 example, human form', () => {
    const r = run({ hosts: ['pkg.example.org'] }, 'api.pkg.example.org');
    const lines = renderExplain(r).split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'DENY   api.pkg.example.org:443',
      '  dns:   deny   default-deny',
      '  http:  deny   default-deny  (closest entry: allowedHosts[0] "pkg.example.org" is exact)',
    ]);
    assert.match(lines[3] ?? '', /^ {2}hint: {2}add "api\.pkg\.example\.org" to spec\.network\.egress\.allowedHosts .*km policy explain web api\.pkg\.example\.org$/);
  });

  test('JSON shape', () => {
    const j = explainJson(run({ hosts: ['api.anthropic.com'] }, 'api.anthropic.com'));
    assert.deepEqual(j, {
      decision: 'allow', host: 'api.anthropic.com', port: 443, rule: 'spec.network.egress.allowedHosts[0]', error: null,
      dns: { decision: 'allow', rule: 'spec.network.egress.allowedHosts[0]' },
      intercepted: true, intercept_reason: 'ai_metering', github: null, path: null, hint: null,
    });
  });

  test('port denial names the entry and its ports', () => {
    const r = run({ hosts: ['db.corp:5432'] }, 'db.corp:443');
    assert.equal(r.error, 'port_not_allowed');
    assert.equal(r.http.closest, 'allowedHosts[0] "db.corp:5432" allows port 5432 only');
    assert.equal(r.dns.decision, 'allow');
  });

  test('IP literal: DNS not applicable', () => {
    const r = run({ hosts: ['10.0.0.5'] }, 'http://10.0.0.5/');
    assert.equal(r.decision, 'allow');
    assert.deepEqual(r.dns, { decision: 'not_applicable', rule: 'ip-literal' });
    assert.match(renderExplain(r), /dns: {3}n\/a {4}ip-literal/);
  });

  test('httpsOnly on an http URL', () => {
    const r = run({ hosts: ['a.org'], httpsOnly: true }, 'http://a.org/');
    assert.equal(r.decision, 'deny');
    assert.equal(r.rule, 'spec.network.httpsOnly');
    assert.equal(r.error, 'https_required');
  });

  test('pathRules decide URLs with --method', () => {
    const parts = { hosts: ['api.x.org'], pathRules: [{ host: 'api.x.org', allow: ['GET /v1/*'] }] };
    const ok = run(parts, 'https://api.x.org/v1/items');
    assert.equal(ok.decision, 'allow');
    assert.deepEqual(ok.path, { method: 'GET', path: '/v1/items', decision: 'allow', rule: 'spec.network.egress.pathRules[0].allow[0]' });
    assert.equal(ok.intercept_reason, 'path_rules');
    const no = run(parts, 'https://api.x.org/v1/items', 'delete');
    assert.equal(no.decision, 'deny');
    assert.equal(no.error, 'path_not_allowed');
    assert.equal(no.rule, 'spec.network.egress.pathRules[0]');
  });

  test('GitHub repo URL: allowed repo, denied repo, mode none', () => {
    const allowed = run({ repos: ['acme/api'] }, 'https://github.com/acme/api.git/info/refs?service=git-upload-pack');
    assert.deepEqual(allowed.github, { repo: 'acme/api', decision: 'allow', rule: 'spec.sourceAccess.github.allowedRepos[0]', note: 'fetches are never ref-restricted' });
    assert.equal(allowed.decision, 'allow');
    const denied = run({ repos: ['acme/api'] }, 'https://api.github.com/repos/acme/secret/pulls');
    assert.equal(denied.decision, 'deny');
    assert.equal(denied.error, 'repo_not_allowed');
    assert.equal(denied.rule, 'sourceAccess.github.allowedRepos');
    assert.match(renderExplain(denied), /github: deny {3}sourceAccess\.github\.allowedRepos {2}\(repo acme\/secret\)/);
    const none = run({ mode: 'none', suffixes: ['github.com'] }, 'https://github.com/acme/secret');
    assert.equal(none.github, null);
    assert.equal(none.intercepted, false);
  });

  test('receive-pack with POST states what pushes may update', () => {
    const r = run({ repos: ['acme/api'], refs: ['main', 'feature/*'] }, 'https://github.com/acme/api.git/git-receive-pack', 'POST');
    assert.match(r.github?.note ?? '', /^pushes may update refs \[main, feature\/\*\]; force pushes refused, deletions refused/);
    const none = run({ repos: ['acme/api'], refs: [] }, 'https://github.com/acme/api.git/git-receive-pack', 'POST');
    assert.match(none.github?.note ?? '', /no refs \(pushes refused\)/);
  });

  test('GitHub host without a repo path: github null', () => {
    assert.equal(run({ repos: ['acme/api'] }, 'https://github.com/settings/profile').github, null);
    assert.equal(run({ repos: ['acme/api'] }, 'api.github.com').github, null);
  });
});
