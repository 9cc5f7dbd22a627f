import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, isDestinationAllowed } from './index.ts';
import { policyInput } from './test-input.ts';

const p = compilePolicy(policyInput({ hosts: ['127.0.0.5', '[2001:db8::5]:8443'], suffixes: ['corp.example'] }), {
  sandboxId: 'sb-1',
  hostOverrides: { 'Fake.Upstream.test': '127.0.0.1:9999' },
  ownAddresses: ['10.9.8.7', 'fd12::7'],
});

const cases: Array<[string, string, boolean, string?]> = [
  ['a.corp.example', '93.184.216.34', true],
  ['a.corp.example', '10.1.2.3', true],
  ['a.corp.example', '172.16.0.1', true],
  ['a.corp.example', '192.168.0.1', true],
  ['a.corp.example', '127.0.0.1', false, 'loopback'],
  ['a.corp.example', '127.200.0.1', false, 'loopback'],
  ['a.corp.example', '169.254.169.254', false, 'link-local'],
  ['a.corp.example', '0.0.0.0', false, 'unspecified'],
  ['a.corp.example', '255.255.255.255', false, 'multicast or broadcast'],
  ['a.corp.example', '::1', false, 'loopback'],
  ['a.corp.example', '::', false, 'unspecified'],
  ['a.corp.example', 'fe80::1', false, 'link-local'],
  ['a.corp.example', '::ffff:127.0.0.1', false, 'loopback'],
  ['a.corp.example', '::ffff:7f00:1', false, 'loopback'],
  ['a.corp.example', '::ffff:169.254.169.254', false, 'link-local'],
  ['a.corp.example', '64:ff9b::a9fe:a9fe', false, 'link-local'],
  ['a.corp.example', 'fd00:ec2::254', false, 'link-local'],
  ['a.corp.example', '2606:4700::1111', true],
  ['a.corp.example', '10.9.8.7', false, 'the gateway host itself'],
  ['a.corp.example', 'fd12:0::7', false, 'the gateway host itself'],
  ['fake.upstream.test.', '127.0.0.1', true, 'host override'],
  ['whatever', '127.0.0.5', true, 'listed in allowedHosts'],
  ['whatever', '2001:DB8:0:0:0:0:0:5', true, 'listed in allowedHosts'],
  ['whatever', 'not-an-ip', false, 'not an IP address'],
  ['whatever', '1.2.3.256', false, 'not an IP address'],
  ['whatever', '1::2::3', false, 'not an IP address'],
];

for (const [name, ip, allow, reason] of cases) {
  test(`${name} → ${ip}`, () => {
    const d = isDestinationAllowed(p, name, ip);
    assert.equal(d.allow, allow);
    assert.equal(d.reason, reason);
  });
}
