import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../core/clock.ts';
import { openSqliteStore } from '../store/index.ts';
import { ensureOperatorIdentity, identityKeysDir, KEYS_FILE, provisionIdentity, readIdentityKeys, removeIdentity } from './index.ts';

test('provisioning keeps existing keys (any process may run it), refreshes the policy, and destroy removes everything', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-id-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const keysDir = identityKeysDir(dir, 'sb-0000beef');
  const input = { sandboxId: 'sb-0000beef', alias: null, emailAddress: 'sb-0000beef@sandboxes.km.internal', policy: { signing: 'optional' as const, verifyInbound: 'optional' as const, encryption: 'off' as const, allowedSenders: ['*'] } };
  const first = await provisionIdentity(store, keysDir, input);
  assert.equal((await stat(join(keysDir, KEYS_FILE))).mode & 0o777, 0o600);
  assert.equal(readIdentityKeys(keysDir, 'sb-0000beef').signingPublicKey, first.signingPublicKey);
  await store.deleteIdentity('sb-0000beef');
  const again = await provisionIdentity(store, keysDir, { ...input, policy: { ...input.policy, allowedSenders: ['self'] } });
  assert.equal(again.signingPublicKey, first.signingPublicKey, 'the keys file is the source of truth');
  assert.deepEqual((await store.getIdentity('sb-0000beef'))?.allowedSenders, ['self']);

  const op = await ensureOperatorIdentity(store, dir, 'operator@sandboxes.km.internal');
  assert.equal((await ensureOperatorIdentity(store, dir, 'operator@sandboxes.km.internal')).signingPublicKey, op.signingPublicKey);
  const moved = await ensureOperatorIdentity(store, dir, 'ops@acme.dev');
  assert.deepEqual([moved.emailAddress, moved.signingPublicKey], ['ops@acme.dev', op.signingPublicKey], 'a new operator_email keeps the keys');

  await removeIdentity(store, dir, 'sb-0000beef');
  assert.equal(await store.getIdentity('sb-0000beef'), undefined);
  await assert.rejects(stat(join(keysDir, KEYS_FILE)), /ENOENT/);
});
