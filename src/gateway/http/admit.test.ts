import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseTarget, parseAuthority } from './admit.ts';

test('parseAuthority keeps explicit ports, even scheme defaults', () => {
  assert.deepEqual(parseAuthority('plain.example.test:80', 443), { host: 'plain.example.test', port: 80 });
  assert.deepEqual(parseAuthority('Plain.Example.Test.:443', 80), { host: 'plain.example.test', port: 443 });
  assert.deepEqual(parseAuthority('api.example.test', 443), { host: 'api.example.test', port: 443 });
  assert.deepEqual(parseAuthority('[2001:DB8::1]:8443', 443), { host: '2001:db8::1', port: 8443 });
  assert.deepEqual(parseAuthority('bücher.example', 80), { host: 'xn--bcher-kva.example', port: 80 });
  assert.deepEqual(parseAuthority('10.0.0.1:80', 443), { host: '10.0.0.1', port: 80 });
  for (const bad of ['', ':80', 'a:b', 'a:99999', 'a:0', 'x y', 'a/b', 'u@h', '[::1', 'a:80:90']) {
    assert.equal(parseAuthority(bad, 80), null, bad);
  }
});

test('normaliseTarget resolves dot segments the way the upstream would', () => {
  assert.equal(normaliseTarget('/v1/../admin?x=1'), '/admin?x=1');
  assert.equal(normaliseTarget('/v1/%2e%2e/admin'), '/admin');
  assert.equal(normaliseTarget('/v1/./models'), '/v1/models');
  assert.equal(normaliseTarget('//evil.example/x'), '//evil.example/x');
  assert.equal(normaliseTarget('/v1%2F..%2Fadmin'), '/v1%2F..%2Fadmin');
  assert.equal(normaliseTarget('*'), '*');
});
