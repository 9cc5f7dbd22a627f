import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLUSH_PKT, pkt } from './pktline.ts';
import { parseReceivePackCommands } from './index.ts';
import { commandsBody, ZERO } from '../../../test/support/pack-builder.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

test('parseReceivePackCommands: commands, capabilities after NUL, consumed up to the flush', () => {
  const body = commandsBody([[A, B, 'refs/heads/main'], [ZERO, A, 'refs/heads/new'], [B, ZERO, 'refs/tags/old']], 'report-status side-band-64k agent=git/2.39', Buffer.from('PACKxyz'));
  const r = parseReceivePackCommands(body);
  assert.ok(!('incomplete' in r));
  assert.deepEqual(r.commands, [
    { oldOid: A, newOid: B, ref: 'refs/heads/main' },
    { oldOid: ZERO, newOid: A, ref: 'refs/heads/new' },
    { oldOid: B, newOid: ZERO, ref: 'refs/tags/old' },
  ]);
  assert.deepEqual(r.capabilities, ['report-status', 'side-band-64k', 'agent=git/2.39']);
  assert.equal(body.subarray(r.consumed).toString(), 'PACKxyz');
});

test('parseReceivePackCommands: incomplete at every prefix, complete only with the flush', () => {
  const body = commandsBody([[A, B, 'refs/heads/main'], [A, B, 'refs/heads/dev']], 'report-status');
  for (let n = 0; n < body.length; n++) {
    assert.deepEqual(parseReceivePackCommands(body.subarray(0, n)), { incomplete: true }, `prefix ${n}`);
  }
  const r = parseReceivePackCommands(body);
  assert.ok(!('incomplete' in r) && r.commands.length === 2 && r.consumed === body.length);
});

test('parseReceivePackCommands: shallow lines, a lone flush (probe), push certificates, sha256 ids', () => {
  const shallow = Buffer.concat([pkt(`shallow ${A}\n`), commandsBody([[A, B, 'refs/heads/main']], 'report-status')]);
  const r1 = parseReceivePackCommands(shallow);
  assert.ok(!('incomplete' in r1));
  assert.deepEqual(r1.commands.map((c) => c.ref), ['refs/heads/main']);

  const probe = parseReceivePackCommands(FLUSH_PKT);
  assert.deepEqual(probe, { commands: [], capabilities: [], consumed: 4 });

  const cert = Buffer.concat([
    pkt('push-cert\0report-status push-cert=123\n'), pkt('certificate version 0.1\n'), pkt('pusher A 1 +0000\n'), pkt('nonce 123\n'),
    pkt('\n'), pkt(`${A} ${B} refs/heads/release\n`), pkt('-----BEGIN PGP SIGNATURE-----\n'), pkt('xx\n'),
    pkt('-----END PGP SIGNATURE-----\n'), pkt('push-cert-end\n'), FLUSH_PKT,
  ]);
  const r2 = parseReceivePackCommands(cert);
  assert.ok(!('incomplete' in r2));
  assert.deepEqual(r2.commands, [{ oldOid: A, newOid: B, ref: 'refs/heads/release' }]);
  assert.deepEqual(r2.capabilities, ['report-status', 'push-cert=123']);

  const s = 'c'.repeat(64);
  const r3 = parseReceivePackCommands(commandsBody([['0'.repeat(64), s, 'refs/heads/main']], 'object-format=sha256'));
  assert.ok(!('incomplete' in r3) && r3.commands[0]?.newOid === s);
});

test('parseReceivePackCommands: malformed input throws a KmError naming the problem', () => {
  const bad: Array<[Buffer, RegExp]> = [
    [Buffer.from('zzzz'), /bad pkt-line length/],
    [Buffer.from('0002'), /unexpected special packet/],
    [Buffer.concat([pkt(`${A} ${B}\0report-status\n`), FLUSH_PKT]), /bad command line/],
    [Buffer.concat([pkt(`${A} ${'b'.repeat(64)} refs/heads/x\0\n`), FLUSH_PKT]), /bad command line/],
    [Buffer.concat([pkt(`${A.toUpperCase()} ${B} refs/heads/x\0\n`), FLUSH_PKT]), /bad command line/],
    [Buffer.concat([pkt('push-cert\0\n'), pkt('x\n'), FLUSH_PKT]), /push certificate not terminated/],
  ];
  for (const [body, re] of bad) {
    assert.throws(() => parseReceivePackCommands(body), (e: Error & { code?: string }) => e.code === 'failed' && re.test(e.message), re.source);
  }
});
