import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKmError } from '../core/errors.ts';
import { normaliseHost, tryNormaliseHost } from './index.ts';

const cases: Array<[string, { host: string; port?: number; isIp: boolean } | null]> = [
  ['Example.COM', { host: 'example.com', isIp: false }],
  ['example.com.', { host: 'example.com', isIp: false }],
  ['example.com:8443', { host: 'example.com', port: 8443, isIp: false }],
  ['example.com.:443', { host: 'example.com', port: 443, isIp: false }],
  ['Bücher.de', { host: 'xn--bcher-kva.de', isIp: false }],
  ['127.0.0.1', { host: '127.0.0.1', isIp: true }],
  ['127.1', { host: '127.0.0.1', isIp: true }],
  ['0x7f.0.0.1:80', { host: '127.0.0.1', port: 80, isIp: true }],
  ['[::1]:443', { host: '::1', port: 443, isIp: true }],
  ['[2001:DB8:0:0::1]', { host: '2001:db8::1', isIp: true }],
  ['2001:db8::1', { host: '2001:db8::1', isIp: true }],
  ['*', { host: '*', isIp: false }],
  ['', null],
  ['a b.com', null],
  ['a.org@evil.org', null],
  ['a.org/x', null],
  ['https://a.org', null],
  ['a..b', null],
  ['example.com..', null],
  ['example.com:0', null],
  ['example.com:65536', null],
  ['example.com:http', null],
  ['1.2.3.999', null],
  ['[::1', null],
  ['[::1]x', null],
  ['[fe80::1%eth0]', null],
  ['*.example.com', null],
  [`${'a'.repeat(64)}.com`, null],
];

for (const [input, want] of cases) {
  test(`normalise ${JSON.stringify(input)}`, () => {
    assert.deepEqual(tryNormaliseHost(input), want);
  });
}

test('normaliseHost throws a usage error naming the input', () => {
  assert.throws(() => normaliseHost('a b'), (e: unknown) => isKmError(e) && e.code === 'usage' && e.message.includes('"a b"'));
});
