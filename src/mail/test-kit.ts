/** Test fixtures for the mail service: a real SQLite store in a temp dir with provisioned sandboxes. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createRedactor } from '../audit/index.ts';
import { createManualClock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { identityAddress, identityKeysDir, provisionIdentity } from '../identity/index.ts';
import { openSqliteStore, type SandboxRecord, type Store } from '../store/index.ts';
import type { MailPolicy } from './policy.ts';
import { createMailService, type MailService, type MailServiceDeps } from './service.ts';

export const T0 = Date.UTC(2027, 2, 3, 8, 15, 2);

export interface MailKit {
  dir: string;
  store: Store;
  clock: ReturnType<typeof createManualClock>;
  mail: MailService;
  sandbox(alias: string, policy?: Partial<MailPolicy>, emailAlias?: string | null): Promise<SandboxRecord>;
}

export async function mailKit(t: TestContext, overrides: Partial<MailServiceDeps> = {}, literals: string[] = []): Promise<MailKit> {
  const dir = await mkdtemp(join(tmpdir(), 'km-mail-'));
  const clock = createManualClock(T0);
  const store = await openSqliteStore(join(dir, 'km.db'), { clock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const resolveSandbox = async (ref: string) => {
    const s = (await store.getSandbox(ref)) ?? (await store.getSandboxByAlias(ref, { includeDestroyed: true }));
    if (!s) throw new KmError('not_found', `no sandbox matches "${ref}" (not an id, alias or number; see km list)`);
    return s;
  };
  const mail = createMailService({
    store, kmHome: dir, clock, redactor: createRedactor({ literals }), address: {}, allowExternal: false, resolveSandbox, ...overrides,
  });
  t.after(() => mail.close());
  let n = 0;
  const sandbox = async (alias: string, policy: Partial<MailPolicy> = {}, emailAlias: string | null = null) => {
    const id = `sb-${(0xa0000000 + ++n).toString(16)}`;
    const sb = await store.insertSandbox({
      id, alias, profileName: 'learn', profile: {}, substrate: 'local', createdAtMs: T0, teardownPolicy: 'destroy',
      enforcementRequested: 'proxy', createdBy: 'cli', emailAddress: identityAddress(id, {}), status: 'running',
    });
    await provisionIdentity(store, identityKeysDir(dir, id), {
      sandboxId: id, alias: emailAlias, emailAddress: sb.emailAddress!,
      policy: { signing: 'optional', verifyInbound: 'optional', encryption: 'off', allowedSenders: ['*'], ...policy },
    });
    return sb;
  };
  return { dir, store, clock, mail, sandbox };
}
