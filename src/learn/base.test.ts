import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFsReader, resolveProfile } from '../profile/index.ts';
import { baseAllows, generateProfile, listsOf, profileDiff, renderDiff, type Observations } from './index.ts';

function builtin(name: string) {
  const r = resolveProfile(name, { cwd: '/nonexistent', searchPaths: [], reader: createFsReader() });
  assert.equal(r.ok, true);
  if (!r.ok) throw new Error('unreachable');
  return r.resolved.profile;
}

const obs: Observations = {
  sandboxId: 'sb-0a1b2c3d', sessionId: 'ls-1', startedAt: '2027-03-03T08:00:00Z', endedAt: '2027-03-03T08:10:00Z',
  dnsNames: ['registry.npmjs.org', 'files.pythonhosted.org', 'sh.rustup.rs', 'static.crates.io'],
  hosts: [{ host: 'registry.npmjs.org', port: 443 }, { host: 'registry.npmjs.org', port: 8443 }],
  repos: ['acme/api'],
  refs: [{ ref: 'refs/heads/main', kind: 'update' }, { ref: 'refs/heads/feature/x', kind: 'create' }],
  commands: [], denials: 0,
};

test('--base with a real built-in: what restricted-dev allows (suffixes, refs, implicit GitHub hosts) is left out', () => {
  const base = builtin('restricted-dev');
  const allows = baseAllows(base.spec, { sandboxId: 'sb-0a1b2c3d' });
  assert.equal(allows.host('registry.npmjs.org', 443), true);
  assert.equal(allows.host('registry.npmjs.org', 8443), false);
  assert.equal(allows.host('sh.rustup.rs', 443), false);
  assert.equal(allows.repo('acme/api'), false, 'restricted-dev lists no repos');
  assert.equal(allows.ref('main'), false, 'no repo allowed, so no ref is reachable');
  const g = generateProfile(obs, { enforcement: 'proxy', nowMs: 0, base: { name: 'restricted-dev', allows } });
  const egress = (g.profile.spec as any).network.egress;
  assert.deepEqual(egress.allowedDNSSuffixes, ['.crates.io', '.rustup.rs']);
  assert.deepEqual(egress.allowedHosts, ['registry.npmjs.org:8443']);
  assert.deepEqual(g.leftOutByBase, ['files.pythonhosted.org', 'registry.npmjs.org']);
  assert.match(g.yaml, /^# already allowed by the base profile \(left out\): files\.pythonhosted\.org, registry\.npmjs\.org$/m);
});

test('refs the base allows are left out once it allows repos', () => {
  const spec = builtin('restricted-dev').spec;
  const withRepos = { ...spec, sourceAccess: { ...spec.sourceAccess, github: { ...spec.sourceAccess.github, allowedRepos: ['acme/*'] } } };
  const allows = baseAllows(withRepos, { sandboxId: 'x' });
  assert.deepEqual([allows.repo('Acme/API'), allows.ref('main'), allows.ref('feature/x'), allows.ref('refs/tags/v1')], [true, true, false, false]);
  const gh = (generateProfile(obs, { enforcement: 'proxy', nowMs: 0, base: { name: 'b', allows } }).profile.spec as any).sourceAccess.github;
  assert.deepEqual([gh.allowedRepos, gh.allowedRefs], [[], ['feature/x']]);
});

test('--diff: + needed and missing, - allowed and unused, = kept; entries compared normalised', () => {
  const g = generateProfile(obs, { enforcement: 'proxy', nowMs: 0 });
  const current = listsOf({ spec: { network: { egress: { allowedDNSSuffixes: ['crates.io', '.Docker.IO', '.npmjs.org'], allowedHosts: [] } }, sourceAccess: { github: { allowedRepos: ['github.com/acme/api.git'], allowedRefs: ['main'] } } } });
  const d = profileDiff(listsOf(g.profile), current);
  assert.deepEqual(d.allowed_dns_suffixes, { added: ['.pythonhosted.org', '.rustup.rs'], unused: ['.docker.io'], kept: ['.crates.io', '.npmjs.org'] });
  assert.deepEqual(d.allowed_hosts, { added: ['registry.npmjs.org:8443'], unused: [], kept: [] });
  assert.deepEqual(d.allowed_repos, { added: [], unused: [], kept: ['acme/api'] });
  assert.deepEqual(d.allowed_refs, { added: ['feature/x'], unused: [], kept: ['main'] });
  const text = renderDiff(d, 'open-dev');
  assert.match(text, /^allowedDNSSuffixes:\n  \+ \.pythonhosted\.org\n  \+ \.rustup\.rs\n  - \.docker\.io\n  = \.crates\.io\n  = \.npmjs\.org\nallowedHosts:\n/m);
  assert.match(text, /^allowedRefs:\n  \+ feature\/x\n  = main\n$/m);
});
