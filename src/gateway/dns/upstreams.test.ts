import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUpstream, upstreamsFromResolvConf } from './upstreams.ts';

test('parseUpstream', () => {
  assert.deepEqual(parseUpstream('10.0.0.2'), { host: '10.0.0.2', port: 53 });
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.deepEqual(parseUpstream('[2001:db8::53]:5353'), { host: '2001:db8::53', port: 5353 });
  assert.deepEqual(parseUpstream('2001:db8::53'), { host: '2001:db8::53', port: 53 });
  for (const bad of ['dns.example', '10.0.0.2:0', '10.0.0.2:70000', '', '[x]:53', '1.2.3.4:5:6']) assert.equal(parseUpstream(bad), null, bad);
});

test('upstreamsFromResolvConf keeps nameserver order and skips the rest', () => {
  const conf = '# generated\nsearch corp.example\nnameserver 10.0.0.2\noptions edns0\nnameserver fe80::1%eth0\n  nameserver 2001:db8::53\nnameserver bogus\n';
  assert.deepEqual(upstreamsFromResolvConf(conf), [{ host: '10.0.0.2', port: 53 }, { host: '2001:db8::53', port: 53 }]);
});
