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
  // api.example.test was only used on 8443: host:port, nothing broader
  assert.deepEqual(egress.allowedDNSSuffixes, ['.example.co.uk']);
  assert.deepEqual(egress.allowedHosts, ['10.1.2.3', 'api.example.test:8443', 'github.io', 'localhost']);
  assert.match(g.yaml, /^# host 10\.1\.2\.3: IP literal$/m);
  assert.match(g.yaml, /^# host api\.example\.test:8443: non-default port$/m);
  assert.match(g.yaml, /^# host github\.io: no registrable domain$/m);
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
  assert.match(g.yaml, /^# observed: 1 DNS name, 0 hosts, 2 repos, 3 refs, 2 commands, 2 denials$/m);
  // github.com is implied by allowedRepos (and stays repo-checked), never a suffix
  assert.deepEqual((g.profile.spec as any).network.egress.allowedDNSSuffixes, []);
  assert.match(g.yaml, /^# implied by allowedRepos \(GitHub hosts, repo-checked\): github\.com$/m);
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

test('a name used on 443 and 8443 gets its suffix and a host:port entry; IPv6 literals are bracketed', () => {
  const g = generateProfile(
    obs({ hosts: [{ host: 'api.alpha-example.com', port: 443 }, { host: 'api.alpha-example.com', port: 8443 }, { host: '::1', port: 9000 }, { host: '127.0.0.1', port: 80 }] }),
    { enforcement: 'proxy', nowMs: NOW },
  );
  const egress = (g.profile.spec as any).network.egress;
  assert.deepEqual(egress.allowedDNSSuffixes, ['.alpha-example.com']);
  assert.deepEqual(egress.allowedHosts, ['127.0.0.1', '[::1]:9000', 'api.alpha-example.com:8443']);
  assert.deepEqual(g.counts, { dns_names: 0, hosts: 4, repos: 0, refs: 0, commands: 0, denials: 0 });
});

test('reverse lookups and km.internal never become entries; GitHub hosts stay when no repo was observed', () => {
  const g = generateProfile(obs({ dnsNames: ['1.0.0.127.in-addr.arpa', 'KM.INTERNAL.', 'github.com', 'objects.githubusercontent.com'] }), { enforcement: 'proxy', nowMs: NOW });
  const egress = (g.profile.spec as any).network.egress;
  assert.deepEqual(egress.allowedDNSSuffixes, ['.github.com', '.objects.githubusercontent.com']);
  assert.deepEqual(egress.allowedHosts, []);
});

test('wildcard-profile sessions: every observed name collapses, denials are listed in the header', () => {
  const g = generateProfile(
    obs({
      dnsNames: ['a.cdn.beta-example.org', 'b.cdn.beta-example.org', 'x.gamma-example.co.uk', 'foo.s3.amazonaws.com', 'evil.example'],
      hosts: [{ host: 'x.gamma-example.co.uk', port: 443 }],
      denials: 1,
      denied: ['evil.example'],
    }),
    { enforcement: 'both', nowMs: NOW },
  );
  assert.deepEqual((g.profile.spec as any).network.egress.allowedDNSSuffixes, ['.beta-example.org', '.evil.example', '.foo.s3.amazonaws.com', '.gamma-example.co.uk']);
  assert.deepEqual(g.suffixMap['.beta-example.org'], ['a.cdn.beta-example.org', 'b.cdn.beta-example.org']);
  assert.match(g.yaml, /^# suffix \.gamma-example\.co\.uk <- x\.gamma-example\.co\.uk$/m);
  assert.match(g.yaml, /^# denied during the session: evil\.example$/m);
  assert.match(g.yaml, /^# observed: 5 DNS names, 1 host, 0 repos, 0 refs, 0 commands, 1 denial$/m);
});

test('multi-line commands stay on one comment line (the YAML stays parseable)', () => {
  const g = generateProfile(obs({ commands: ['echo a\nspec: broken', 'y'.repeat(500)] }), { enforcement: 'proxy', nowMs: NOW });
  const doc = parse(g.yaml);
  assert.equal(doc.spec.network.enforcement, 'proxy');
  assert.match(g.yaml, /^#   \$ echo a spec: broken$/m);
  assert.match(g.yaml, /^#   \$ y{159}…$/m);
});

test('every generated profile passes validation (plain, --exact, --base with extends, empty, IP/port-only)', async () => {
  const { createFsReader, createMemoryReader, resolveProfile } = await import('../profile/index.ts');
  const fs = createFsReader();
  const cases: Array<[string, Observations, Parameters<typeof generateProfile>[1]]> = [
    ['plain', obs({ dnsNames: ['static.crates.io', 'sh.rustup.rs', 'localhost'], hosts: [{ host: 'api.example.test', port: 8443 }, { host: '10.0.0.7', port: 443 }], repos: ['acme/api'], refs: [{ ref: 'refs/heads/main', kind: 'force' }, { ref: 'refs/tags/v1', kind: 'delete' }], commands: ['npm test'] }), { enforcement: 'proxy', nowMs: NOW }],
    ['exact', obs({ dnsNames: ['a.b.example.co.uk'], hosts: [{ host: '::1', port: 9000 }] }), { exact: true, enforcement: 'both', nowMs: NOW }],
    ['base', obs({ dnsNames: ['registry.npmjs.org', 'sh.rustup.rs'] }), { enforcement: 'proxy', nowMs: NOW, base: { name: 'restricted-dev', allows: { host: () => false, repo: () => false, ref: () => false } } }],
    ['empty', obs({}), { enforcement: 'ebpf', nowMs: NOW }],
  ];
  for (const [label, o, opts] of cases) {
    const g = generateProfile(o, opts);
    const mem = createMemoryReader({ '/w/observed-profile.yaml': g.yaml });
    const reader = { read: (p: string) => mem.read(p) ?? fs.read(p), isDirectory: (p: string) => mem.isDirectory(p) || fs.isDirectory(p) };
    const r = resolveProfile('/w/observed-profile.yaml', { cwd: '/w', searchPaths: ['/w/profiles'], reader });
    assert.equal(r.ok, true, `${label}: ${r.ok ? '' : JSON.stringify(r.errors)}`);
  }
});

test('names, repos and refs from the sandbox cannot end a header comment and add YAML of their own', () => {
  const g = generateProfile(obs({
    hosts: [{ host: 'h\nextends: open-dev\n#.example.org', port: 443 }],
    repos: ['own/x\rextends: open-dev'],
    refs: [{ ref: 'refs/heads/x\u2028extends: open-dev', kind: 'update' }],
    denied: ['d\nextends: x'],
  }), { enforcement: 'both', nowMs: NOW });
  const header = g.yaml.slice(0, g.yaml.indexOf('apiVersion:'));
  for (const line of header.split('\n').filter((l) => l !== '')) assert.match(line, /^# /, JSON.stringify(line));
  assert.doesNotMatch(header, /[\r\u2028]/);
  assert.equal((parse(g.yaml) as { extends?: unknown }).extends, undefined, 'no injected extends');
  assert.match(header, /# host h\\x0aextends: open-dev\\x0a#\.example\.org: /);
});
