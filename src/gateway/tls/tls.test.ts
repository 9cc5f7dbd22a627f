import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { Duplex } from 'node:stream';
import { createManualClock } from '../../core/clock.ts';
import { createLeafCache, createSandboxCa, loadSandboxCa, parseClientHello, planCaRenewal } from './index.ts';

const T0 = Date.parse('2027-03-01T00:00:00Z');
const DAY = 86_400_000;

test('sandbox CA has the SPEC §5 shape', async () => {
  const ca = await createSandboxCa('sb-5e0c9a12', createManualClock(T0));
  const cert = new X509Certificate(ca.certPem);
  assert.equal(cert.subject, 'CN=km sandbox sb-5e0c9a12');
  assert.equal(cert.ca, true);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(ca.notAfter.getTime(), T0 + 90 * DAY);
  assert.equal(ca.fingerprintSha256, cert.fingerprint256.replaceAll(':', '').toLowerCase());
  assert.match(ca.certPem, /\n$/);
  const text = cert.toLegacyObject();
  assert.ok(cert.checkIssued(cert));
  assert.ok(text.subject);
  // pathlen:0 and critical key usage are visible in the DER; openssl-free check via x509 text
  const { X509Certificate: PX } = await import('@peculiar/x509');
  const px = new PX(ca.certPem);
  const bc = px.extensions.find((e) => e.type === '2.5.29.19') as unknown as { ca: boolean; pathLength: number; critical: boolean };
  assert.deepEqual([bc.ca, bc.pathLength, bc.critical], [true, 0, true]);
  const ku = px.extensions.find((e) => e.type === '2.5.29.15') as unknown as { usages: number; critical: boolean };
  assert.equal(ku.critical, true);
  assert.equal(ku.usages, 32 | 64); // keyCertSign | cRLSign
});

test('loadSandboxCa round-trips and refuses a mismatched key', async () => {
  const clock = createManualClock(T0);
  const a = await createSandboxCa('sb-a', clock);
  const b = await createSandboxCa('sb-b', clock);
  assert.equal(loadSandboxCa(a.certPem, a.keyPem).fingerprintSha256, a.fingerprintSha256);
  assert.throws(() => loadSandboxCa(a.certPem, b.keyPem), /does not match/);
});

test('leaves: SAN DNS/IP, signed by the CA, one key, capped at CA expiry, shared mint, LRU', async () => {
  const clock = createManualClock(T0);
  const ca = await createSandboxCa('sb-1', clock);
  const leafs = createLeafCache(ca, { clock, max: 2 });
  const [p1, p2] = await Promise.all([leafs.getLeafPem('api.example.test'), leafs.getLeafPem('api.example.test')]);
  assert.equal(p1, p2);
  assert.equal(leafs.stats().mints, 1);
  const caCert = new X509Certificate(ca.certPem);
  const leaf = new X509Certificate(p1);
  assert.ok(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey));
  assert.equal(leaf.checkHost('api.example.test'), 'api.example.test');
  assert.equal(leaf.checkHost('other.example.test'), undefined);
  assert.equal(leaf.ca, false);
  assert.equal(Date.parse(leaf.validTo), T0 + 7 * DAY);
  const ipLeaf = new X509Certificate(await leafs.getLeafPem('10.1.2.3'));
  assert.equal(ipLeaf.checkIP('10.1.2.3'), '10.1.2.3');
  assert.equal(ipLeaf.publicKey.export({ format: 'jwk' }).x, leaf.publicKey.export({ format: 'jwk' }).x);
  assert.notEqual(ipLeaf.serialNumber, leaf.serialNumber);
  await leafs.getLeafPem('third.example.test'); // evicts api.example.test (least recent)
  assert.equal(leafs.stats().size, 2);
  await leafs.getLeafPem('api.example.test');
  assert.equal(leafs.stats().mints, 4);
  clock.set(T0 + 88 * DAY); // 2 days before CA expiry
  const late = new X509Certificate(await leafs.getLeafPem('late.example.test'));
  assert.equal(Date.parse(late.validTo), ca.notAfter.getTime());
});

test('renewal plan: renew under 14 days, keep every unexpired CA trusted', async () => {
  const c1 = await createSandboxCa('sb-r', createManualClock(T0));
  assert.deepEqual(planCaRenewal([c1], T0 + 10 * DAY).renew, false);
  assert.deepEqual(planCaRenewal([c1], T0 + 77 * DAY).renew, true);
  const c2 = await createSandboxCa('sb-r', createManualClock(T0 + 77 * DAY));
  const plan = planCaRenewal([c1, c2], T0 + 80 * DAY);
  assert.equal(plan.renew, false);
  assert.deepEqual(plan.trusted, [c1, c2]);
  assert.equal(plan.signer, c2);
  const after = planCaRenewal([c1, c2], T0 + 91 * DAY);
  assert.deepEqual(after.trusted, [c2]);
  assert.equal(planCaRenewal([], T0).renew, true);
});

async function captureClientHello(servername: string | undefined, alpn?: string[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const fake = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
        resolve(Buffer.concat(chunks));
      },
    });
    const s = tlsConnect({ socket: fake, ...(servername ? { servername } : {}), ...(alpn ? { ALPNProtocols: alpn } : {}) });
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 50);
  });
}

test('ClientHello parser reads SNI and ALPN from a real Node ClientHello', async () => {
  const hello = await captureClientHello('api.example.test', ['h2', 'http/1.1']);
  assert.deepEqual(parseClientHello(hello), { kind: 'hello', sni: 'api.example.test', alpn: ['h2', 'http/1.1'] });
  for (let cut = 0; cut < hello.length; cut += 37) {
    assert.equal(parseClientHello(hello.subarray(0, cut)).kind, 'incomplete');
  }
  const noSni = await captureClientHello(undefined);
  assert.deepEqual(parseClientHello(noSni), { kind: 'hello', sni: null, alpn: [] });
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'not_tls');
  // split the handshake over two records
  const body = hello.subarray(5);
  const r1 = Buffer.concat([Buffer.from([0x16, 3, 1, 0, 10]), body.subarray(0, 10)]);
  const rest = body.subarray(10);
  const r2 = Buffer.concat([Buffer.from([0x16, 3, 1, rest.length >> 8, rest.length & 255]), rest]);
  assert.equal((parseClientHello(Buffer.concat([r1, r2])) as { sni: string }).sni, 'api.example.test');
  const broken = Buffer.from(hello);
  broken[5] = 2;
  assert.equal(parseClientHello(broken).kind, 'malformed');
});
