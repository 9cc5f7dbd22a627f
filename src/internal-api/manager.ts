/**
 * kmd's per-sandbox km.internal listeners and mail identities, kept in step with the store:
 * every sandbox that can run gets its identity (provisioned from the profile's `email`
 * section if missing) and a listener on `$KM_HOME/gateways/<id>/kmd-internal.sock` (the
 * in-sandbox bridge for 127.0.0.2:80 connects there); destroyed sandboxes lose both, plus
 * their keys and mailbox. `open`/`close` are for create and destroy; `reconcile` catches up
 * after a restart or anything missed.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { identityKeysDir, mailPolicyOf, provisionIdentity, removeIdentity } from '../identity/index.ts';
import type { MailService } from '../mail/index.ts';
import type { SandboxRecord, Store } from '../store/index.ts';
import type { OtlpReceiver } from '../telemetry/index.ts';
import { createInternalApi, listenInternalApi, type InternalListener } from './api.ts';

export const INTERNAL_SOCKET = 'kmd-internal.sock';

export interface InternalApiManagerDeps {
  kmHome: string;
  store: Store;
  mail: MailService;
  telemetry: OtlpReceiver;
  clock: Clock;
  timeZone?: string;
  sudo?: (sandboxId: string, req: IncomingMessage, res: ServerResponse) => Promise<void>;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface InternalApiManager {
  /** Provisions the identity if missing and listens on the sandbox's socket (gateway dir must exist). */
  open(s: SandboxRecord): Promise<void>;
  /** Stops listening; with `destroyed`, also removes keys, registry entry and mailbox. */
  close(id: string, options?: { destroyed?: boolean }): Promise<void>;
  reconcile(): Promise<void>;
  closeAll(): Promise<void>;
}

const LIVE: ReadonlySet<string> = new Set(['creating', 'running', 'paused', 'stopped']);

export const gatewaySocketPath = (kmHome: string, id: string): string => join(kmHome, 'gateways', id, INTERNAL_SOCKET);

export function createInternalApiManager(deps: InternalApiManagerDeps): InternalApiManager {
  const listeners = new Map<string, InternalListener>();
  const pending = new Map<string, Promise<void>>();

  async function ensureIdentity(s: SandboxRecord): Promise<void> {
    if (!s.emailAddress) return;
    const email = (s.profile as { spec?: { email?: Parameters<typeof mailPolicyOf>[0] } } | null)?.spec?.email;
    await provisionIdentity(deps.store, identityKeysDir(deps.kmHome, s.id), { sandboxId: s.id, alias: (email as { alias?: string } | undefined)?.alias ?? null, emailAddress: s.emailAddress, policy: mailPolicyOf(email), clock: deps.clock });
  }

  async function open(s: SandboxRecord): Promise<void> {
    if (listeners.has(s.id)) return;
    const running = pending.get(s.id);
    if (running) return running;
    const p = (async () => {
      if (!(await deps.store.getIdentity(s.id))) await ensureIdentity(s);
      const socketPath = gatewaySocketPath(deps.kmHome, s.id);
      if (!existsSync(join(socketPath, '..'))) return;
      const handler = createInternalApi({ sandboxId: s.id, label: s.alias ?? s.id, mail: deps.mail, telemetry: deps.telemetry, ...(deps.timeZone ? { timeZone: deps.timeZone } : {}), ...(deps.sudo ? { sudo: (req: IncomingMessage, res: ServerResponse) => (deps.sudo as NonNullable<typeof deps.sudo>)(s.id, req, res) } : {}) });
      listeners.set(s.id, await listenInternalApi(handler, { socketPath }));
      deps.log?.('info', 'km.internal listening', { sandbox_id: s.id, socket: socketPath });
    })().finally(() => pending.delete(s.id));
    pending.set(s.id, p);
    return p;
  }

  async function close(id: string, options: { destroyed?: boolean } = {}): Promise<void> {
    const l = listeners.get(id);
    listeners.delete(id);
    await l?.close();
    if (options.destroyed) await removeIdentity(deps.store, deps.kmHome, id);
  }

  return {
    open,
    close,
    async reconcile() {
      const all = await deps.store.listSandboxes({ includeDestroyed: true });
      for (const s of all) {
        try {
          if (LIVE.has(s.status)) await open(s);
          else if (s.status === 'destroyed' && (listeners.has(s.id) || (await deps.store.getIdentity(s.id)))) await close(s.id, { destroyed: true });
          else if (listeners.has(s.id)) await close(s.id);
        } catch (e) {
          deps.log?.('warn', 'km.internal reconcile failed', { sandbox_id: s.id, error: e instanceof Error ? e.message : String(e) });
        }
      }
    },
    async closeAll() {
      const all = [...listeners.values()];
      listeners.clear();
      await Promise.allSettled(all.map((l) => l.close()));
    },
  };
}
