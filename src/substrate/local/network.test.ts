import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LO_CAPTURE_ADDR, nftRuleset } from './network.ts';

test('capture ruleset: DNS and web redirected, loopback and the capture address accepted, rest rejected', () => {
  const r = nftRuleset();
  assert.match(r, /type nat hook output priority -100; policy accept;/);
  assert.match(r, /ip daddr 127\.0\.0\.0\/8 return\n/);
  assert.match(r, /th dport 53 redirect to :53/);
  assert.match(r, /tcp dport \{ 80, 443 \} redirect to :3129/);
  assert.match(r, /type filter hook output priority 0; policy drop;/);
  assert.ok(r.includes(`ip daddr ${LO_CAPTURE_ADDR} accept`), 'replies to the capture address must pass');
  assert.ok(r.indexOf('meta l4proto tcp reject with tcp reset') < r.indexOf('reject with icmpx'), 'tcp gets a reset first');
  assert.ok(!/10\.200\./.test(r), 'no private range is ever allowed');
});
