import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { connect, createServer } from 'node:tls';
import { createManualClock } from '../../core/clock.ts';
import { createLeafCache, createSandboxCa } from './index.ts';

const DAY = 86_400_000;
/** Real handshakes check validity against the real time: the manual clock ends a few days before now. */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 80 * DAY;

/** A real TLS handshake against a server presenting `cache`'s leaf; resolves with the verify error or null. */
async function handshake(cache: ReturnType<typeof createLeafCache>, host: string, caPems: string[]): Promise<string | null> {
  const server = createServer({ SNICallback: (name, cb) => void cache.getSecureContext(name).then((c) => cb(null, c), (e: Error) => cb(e)) }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise<string | null>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: host, ca: caPems, rejectUnauthorized: false }, () => {
        resolve(sock.authorized ? null : String(sock.authorizationError));
        sock.destroy();
      });
      sock.on('error', (e) => resolve(e.message));
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('after setCa new leaves chain to the new CA; cached leaves of the old CA keep working while it is valid', async () => {
  const clock = createManualClock(T0);
  const oldCa = await createSandboxCa('sb-1', clock);
  const cache = createLeafCache(oldCa, { clock });
  const before = new X509Certificate(await cache.getLeafPem('a.example'));
  assert.ok(before.verify(new X509Certificate(oldCa.certPem).publicKey));

  clock.advance(77 * DAY);
  const newCa = await createSandboxCa('sb-1', clock);
  cache.setCa(newCa);
  const fresh = new X509Certificate(await cache.getLeafPem('b.example'));
  assert.ok(fresh.verify(new X509Certificate(newCa.certPem).publicKey));
  assert.ok(!fresh.verify(new X509Certificate(oldCa.certPem).publicKey));
  assert.ok(Date.parse(fresh.validTo) <= newCa.notAfter.getTime());
  assert.equal(await handshake(cache, 'b.example', [newCa.certPem, oldCa.certPem]), null, 'the trust bundle holds both CAs');
  assert.match(String(await handshake(cache, 'b.example', [oldCa.certPem])), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);

  // a.example's leaf (old CA, 7 days) has expired by now, so it is re-minted by the new CA.
  const again = new X509Certificate(await cache.getLeafPem('a.example'));
  assert.ok(again.verify(new X509Certificate(newCa.certPem).publicKey));
  assert.equal(cache.stats().mints, 3);
});

test('a cached leaf of the old CA still in date is served until it ages', async () => {
  const clock = createManualClock(T0 + 79 * DAY);
  const oldCa = await createSandboxCa('sb-2', clock);
  const cache = createLeafCache(oldCa, { clock });
  const first = await cache.getLeafPem('c.example');
  cache.setCa(await createSandboxCa('sb-2', clock));
  assert.equal(await cache.getLeafPem('c.example'), first);
  assert.equal(await handshake(cache, 'c.example', [oldCa.certPem]), null);
});
