import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { diffLists, generateProfile, suffixFor, type Observations } from './index.ts';

const NOW = Date.UTC(2027, 2, 3, 8, 15, 2);
const obs = (o: Partial<Observations>): Observations => ({
  sandboxId: 'learn-0a1b2c3d',
  sessionId: 'ls-1',
  startedAt: '2027-03-03T08:00:00Z',
  endedAt: '2027-03-03T08:15:00Z',
  dnsNames: [],
  hosts: [],
  repos: [],
  refs: [],
  commands: [],
  denials: 0,
  ...o,
});

test('collapses to registrable domains with the PSL (SPEC §7 example)', () => {
  const g = generateProfile(obs({ dnsNames: ['static.crates.io', 'index.crates.io', 'sh.rustup.rs', 'docs.acme.github.io'] }), { enforcement: 'proxy', nowMs: NOW });
  const egress = (g.profile.spec as any).network.egress;
  assert.deepEqual(egress.allowedDNSSuffixes, ['.acme.github.io', '.crates.io', '.rustup.rs']);
  assert.deepEqual(egress.allowedHosts, []);
  assert.deepEqual(g.suffixMap['.crates.io'], ['index.crates.io', 'static.crates.io']);
  assert.equal(g.name, 'observed-20270303-081502');
});

test('multi-part public suffixes, private suffixes, IP literals, single labels', () => {
  assert.equal(suffixFor('a.b.example.co.uk'), '.example.co.uk');
  assert.equal(suffixFor('objects.githubusercontent.com'), '.objects.githubusercontent.com');
  assert.equal(suffixFor('github.io'), undefined);
  assert.equal(suffixFor('10.1.2.3'), undefined);
  const g = generateProfile(
    obs({ dnsNames: ['localhost', 'github.io', 'Shop.Example.CO.UK.'], hosts: [{ host: '10.1.2.3', port: 443 }, { host: 'api.example.test', port: 8443 }] }),
    { enforcement: 'both', nowMs: NOW },
  );
  const egress = (g.profile.spec as any).network.egress;
  assert.deepEqual(egress.allowedDNSSuffixes, ['.example.co.uk', '.example.test']);
  assert.deepEqual(egress.allowedHosts, ['10.1.2.3', 'api.example.test:8443', 'github.io', 'localhost']);
  assert.equal((g.profile.spec as any).network.enforcement, 'both');
});

test('--exact keeps every name as an exact host; km.internal never appears', () => {
  const g = generateProfile(obs({ dnsNames: ['static.crates.io', 'km.internal'], hosts: [{ host: 'index.crates.io', port: 443 }] }), { exact: true, enforcement: 'proxy', nowMs: NOW });
  const egress = (g.profile.spec as any).network.egress;
  assert.deepEqual(egress.allowedDNSSuffixes, []);
  assert.deepEqual(egress.allowedHosts, ['index.crates.io', 'static.crates.io']);
});

test('repos, refs, force push and deletion flags; annotations in the header', () => {
  const g = generateProfile(
    obs({
      dnsNames: ['github.com'],
      repos: ['Acme/API', 'acme/api', 'acme/infra'],
      refs: [{ ref: 'refs/heads/feature/x', kind: 'create' }, { ref: 'refs/heads/main', kind: 'force' }, { ref: 'refs/heads/old', kind: 'delete' }],
      commands: ['git clone https://github.com/acme/api', 'npm test'],
      denials: 2,
    }),
    { enforcement: 'proxy', nowMs: NOW },
  );
  const gh = (g.profile.spec as any).sourceAccess.github;
  assert.deepEqual(gh.allowedRepos, ['acme/api', 'acme/infra']);
  assert.deepEqual(gh.allowedRefs, ['feature/x', 'main', 'old']);
  assert.equal(gh.allowForcePush, true);
  assert.equal(gh.allowRefDeletion, true);
  assert.match(g.yaml, /^# observed: 1 DNS names, 0 hosts, 2 repos, 3 refs, 2 commands, 2 denials$/m);
  assert.match(g.yaml, /^# suffix \.github\.com <- github\.com$/m);
  assert.match(g.yaml, /^#   \$ npm test$/m);
  const doc = parse(g.yaml);
  assert.equal(doc.metadata.labels['klankermaker.ai/learned-from'], 'learn-0a1b2c3d');
  assert.equal(doc.apiVersion, 'klankermaker.ai/v1alpha1');
});

test('--base leaves out what the base allows and extends it', () => {
  const g = generateProfile(obs({ dnsNames: ['registry.npmjs.org', 'sh.rustup.rs'], repos: ['acme/api', 'acme/new'] }), {
    enforcement: 'proxy',
    nowMs: NOW,
    base: { name: 'restricted-dev', allows: { host: (h) => h.endsWith('npmjs.org'), repo: (r) => r === 'acme/api', ref: () => false } },
  });
  assert.equal(g.profile.extends, 'restricted-dev');
  assert.deepEqual((g.profile.spec as any).network.egress.allowedDNSSuffixes, ['.rustup.rs']);
  assert.deepEqual((g.profile.spec as any).sourceAccess.github.allowedRepos, ['acme/new']);
  assert.deepEqual(g.leftOutByBase, ['registry.npmjs.org']);
});

test('nothing observed gives a valid empty profile and a warning', () => {
  const g = generateProfile(obs({}), { enforcement: 'proxy', nowMs: NOW });
  assert.deepEqual(g.warnings, ['nothing was observed in this session']);
  assert.deepEqual((g.profile.spec as any).network.egress, { allowedDNSSuffixes: [], allowedHosts: [] });
});

test('diffLists', () => {
  assert.deepEqual(diffLists(['.rustup.rs', '.crates.io'], ['.crates.io', '.docker.io']), { added: ['.rustup.rs'], unused: ['.docker.io'], kept: ['.crates.io'] });
});
