import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
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

/** What the URL parser makes of the host part (the slow path the plain-name shortcut must match). */
function viaUrl(host: string): string | null {
  try {
    const h = new URL(`http://${host}`).hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    return h === '' ? null : h;
  } catch {
    return null;
  }
}

test('parseAuthority: a host that looks like a plain name comes out exactly as the URL parser has it', () => {
  // The corners of the shortcut: IPv4 forms (decimal, hex, octal, short), punycode, empty labels.
  const corners = ['foo.0x1f', 'foo.0X', 'foo.0x1f.', '0x7f.1', '127.1', '1.2.3.4.', 'a.09', 'a.1-2', '1e3', 'a.b-', '-a.b', 'xn--bcher-kva.example',
    'XN--BCHER-KVA.example', 'xn--zz.example', 'a..b', '.a', 'a.', 'A.B.C', '0x', 'x0x1', 'ab.0xg', '1.0x', '99999999999'];
  for (const host of corners) {
    const got = parseAuthority(`${host}:443`, 80);
    const want = viaUrl(host);
    assert.deepEqual(got, want === null ? null : { host: want, port: 443 }, host);
  }
  const label = fc.stringMatching(/^(?:[a-zA-Z0-9-]{1,8}|0[xX][0-9a-fA-F]{0,4}|[0-9]{1,4}|xn--[a-z0-9]{1,6})$/);
  fc.assert(
    fc.property(fc.array(label, { minLength: 1, maxLength: 5 }), fc.boolean(), (labels, dot) => {
      const host = labels.join('.') + (dot ? '.' : '');
      const want = viaUrl(host);
      assert.deepEqual(parseAuthority(host, 443), want === null ? null : { host: want, port: 443 }, host);
    }),
    { numRuns: 5000 },
  );
});

test('normaliseTarget resolves dot segments the way the upstream would', () => {
  assert.equal(normaliseTarget('/v1/../admin?x=1'), '/admin?x=1');
  assert.equal(normaliseTarget('/v1/%2e%2e/admin'), '/admin');
  assert.equal(normaliseTarget('/v1/./models'), '/v1/models');
  assert.equal(normaliseTarget('//evil.example/x'), '//evil.example/x');
  assert.equal(normaliseTarget('/v1%2F..%2Fadmin'), '/v1%2F..%2Fadmin');
  assert.equal(normaliseTarget('*'), '*');
});

test('identityEncoding replaces every Accept-Encoding (any case, repeated) with identity and keeps the rest', async () => {
  const { identityEncoding } = await import('./forward.ts');
  const out = identityEncoding(['Host', 'api.openai.com', 'accept-encoding', 'gzip, br', 'X-A', '1', 'Accept-Encoding', 'zstd']);
  assert.deepEqual(out, ['Host', 'api.openai.com', 'X-A', '1', 'Accept-Encoding', 'identity']);
});
