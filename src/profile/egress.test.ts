import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowingEntry, checkRefPattern, checkRepoPattern, entryMatches, parseEgressEntry, type EgressList } from './egress.ts';

const parsed = (entry: string, list: EgressList = 'allowedHosts') => {
  const r = parseEgressEntry(entry, list);
  assert.ok(r.ok, `${entry}: ${r.ok ? '' : r.message}`);
  return r.entry;
};

test('entries normalise: case, trailing dot, IDN, ports, IP literals', () => {
  assert.deepEqual(parsed('API.Example.COM.'), { any: false, suffix: false, host: 'api.example.com', ip: false });
  assert.deepEqual(parsed('.Crates.io', 'allowedDNSSuffixes'), { any: false, suffix: true, host: 'crates.io', ip: false });
  assert.deepEqual(parsed('crates.io', 'allowedDNSSuffixes'), { any: false, suffix: true, host: 'crates.io', ip: false });
  assert.equal(parsed('bücher.example').host, 'xn--bcher-kva.example');
  assert.deepEqual(parsed('registry.example.com:8443'), { any: false, suffix: false, host: 'registry.example.com', ip: false, port: 8443 });
  assert.deepEqual(parsed('[2001:db8::1]:443'), { any: false, suffix: false, host: '2001:db8::1', ip: true, port: 443 });
  assert.deepEqual(parsed('2001:db8::1'), { any: false, suffix: false, host: '2001:db8::1', ip: true });
  assert.deepEqual(parsed('192.0.2.10'), { any: false, suffix: false, host: '192.0.2.10', ip: true });
  assert.equal(parsed('*').any, true);
});

test('invalid entries are refused with a reason', () => {
  const bad = (entry: string, list: EgressList, re: RegExp) => {
    const r = parseEgressEntry(entry, list);
    assert.equal(r.ok, false, entry);
    if (!r.ok) assert.match(r.message, re);
  };
  bad('..example.com', 'allowedHosts', /not a valid host name/);
  bad('exa mple.com', 'allowedHosts', /not a valid host name/);
  bad('-bad.example.com', 'allowedHosts', /not a valid host name/);
  bad('192.0.2.1', 'allowedDNSSuffixes', /IP address; list IP addresses in allowedHosts/);
  bad('example.com:0', 'allowedHosts', /invalid port "0"/);
  bad('example.com:', 'allowedHosts', /invalid port ""/);
  bad('.uk', 'allowedDNSSuffixes', /public suffix/);
  bad('.ck', 'allowedDNSSuffixes', /public suffix/);
  bad('anything.ck', 'allowedDNSSuffixes', /public suffix/);
  assert.equal(parseEgressEntry('.github.io', 'allowedDNSSuffixes').ok, true, 'private-section suffix');
  assert.equal(parseEgressEntry('.corp', 'allowedDNSSuffixes').ok, true, 'not on the list at all');
});

test('matching: suffixes cover the apex and subdomains only; exact hosts are exact (SPEC §3.2)', () => {
  const suffix = parsed('.crates.io');
  assert.equal(entryMatches(suffix, 'crates.io'), true);
  assert.equal(entryMatches(suffix, 'static.crates.io'), true);
  assert.equal(entryMatches(suffix, 'evilcrates.io'), false);
  const exact = parsed('registry.npmjs.org');
  assert.equal(entryMatches(exact, 'registry.npmjs.org'), true);
  assert.equal(entryMatches(exact, 'www.registry.npmjs.org'), false);
  assert.equal(entryMatches(parsed('*'), 'anything.example'), true);
  const lists = { allowedHosts: ['a.example.com'], allowedDNSSuffixes: ['.github.com'] };
  assert.equal(allowingEntry(lists, 'api.github.com'), 'allowedDNSSuffixes[0]');
  assert.equal(allowingEntry(lists, 'a.example.com'), 'allowedHosts[0]');
  assert.equal(allowingEntry(lists, 'b.example.com'), undefined);
  assert.equal(allowingEntry(lists, 'github.com'), 'allowedDNSSuffixes[0]', 'a suffix covers its apex');
  assert.equal(allowingEntry({ allowedHosts: ['x.org', '*'], allowedDNSSuffixes: ['.github.com'] }, 'api.github.com'), 'allowedHosts[1]');
  assert.equal(allowingEntry({ allowedHosts: ['.a.example.com', 'b.a.example.com'], allowedDNSSuffixes: [] }, 'b.a.example.com'), 'allowedHosts[0]');
});

test('repo and ref patterns', () => {
  for (const ok of ['acme/api', 'acme/*', '*', 'github.com/acme/api', 'github.com/*', 'my-org/repo.name_x']) assert.equal(checkRepoPattern(ok), undefined, ok);
  for (const bad of ['acme', 'acme/', '/api', 'acme/api/x', 'acme/..', 'gitlab.com/acme/api', 'acme/a b']) assert.notEqual(checkRepoPattern(bad), undefined, bad);
  for (const ok of ['main', 'feature/*', 'refs/tags/v*', 'release/[0-9]*', 'fix-?']) assert.equal(checkRefPattern(ok), undefined, ok);
  for (const bad of ['', 'a b', 'a..b', 'x~1', 'x^', 'x:y', 'x\\y', 'x\ty']) assert.notEqual(checkRefPattern(bad), undefined, JSON.stringify(bad));
});
