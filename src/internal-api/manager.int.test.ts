import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRedactor } from '../audit/index.ts';
import { identityAddress, identityKeysDir, KEYS_FILE } from '../identity/index.ts';
import { mailKit, T0 } from '../mail/test-kit.ts';
import { createOtlpReceiver } from '../telemetry/index.ts';
import { createInternalApiManager, gatewaySocketPath } from './index.ts';

const get = (socketPath: string, path: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    request({ socketPath, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });

test('reconcile provisions identities from the profile, serves each live sandbox on its socket, and cleans up destroyed ones', async (t) => {
  const k = await mailKit(t);
  const telemetry = createOtlpReceiver({ store: k.store, redactor: createRedactor(), clock: k.clock });
  const manager = createInternalApiManager({ kmHome: k.dir, store: k.store, mail: k.mail, telemetry, clock: k.clock });
  t.after(() => manager.closeAll());
  const id = 'sb-0000f00d';
  await k.store.insertSandbox({
    id, alias: 'web', profileName: 'p', profile: { spec: { email: { alias: 'build.web', allowedSenders: ['self'], signing: 'required' } } }, substrate: 'local',
    createdAtMs: T0, teardownPolicy: 'destroy', enforcementRequested: 'proxy', createdBy: 'cli', emailAddress: identityAddress(id, {}), status: 'running',
  });
  await mkdir(join(k.dir, 'gateways', id), { recursive: true });
  await manager.reconcile();
  const identity = await k.store.getIdentity(id);
  assert.deepEqual([identity?.alias, identity?.signing, identity?.allowedSenders], ['build.web', 'required', ['self']]);
  const sock = gatewaySocketPath(k.dir, id);
  const health = await get(sock, '/healthz');
  assert.deepEqual([health.status, JSON.parse(health.body).sandbox_id], [200, id], 'the socket answers as this sandbox');
  const key = (await k.store.getIdentity(id))!.signingPublicKey;
  await manager.reconcile();
  assert.equal((await k.store.getIdentity(id))!.signingPublicKey, key, 'reconcile keeps existing keys');

  await k.mail.send({ from: 'operator', to: [id], subject: 's', text: 'x' });
  assert.equal((await k.store.listMail(id)).length, 1);
  await k.store.transition(id, ['running'], 'destroyed', {}, { atMs: T0 + 1 });
  await manager.reconcile();
  assert.equal(await k.store.getIdentity(id), undefined);
  assert.equal(existsSync(join(identityKeysDir(k.dir, id), KEYS_FILE)), false, 'private keys removed');
  assert.deepEqual(await k.store.listMail(id), [], 'mailbox removed');
  await assert.rejects(get(sock, '/healthz'), 'the listener is closed');
});
