/** Test fixtures: a loopback SMTP relay that keeps what it receives, and a real SQLite store. */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { createManualClock, type ManualClock } from '../core/clock.ts';
import { parseMessage, type ParsedMessage } from '../mail/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';

export const T0 = Date.UTC(2027, 2, 3, 8, 15, 2);

export interface Received {
  envelopeFrom: string;
  envelopeTo: string[];
  message: ParsedMessage;
  raw: string;
}

export async function smtpRelay(t: TestContext, opts: { rejectRcpt?: string } = {}): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, done) {
      done(address.address === opts.rejectRcpt ? Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }) : undefined);
    },
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        void parseMessage(raw).then((message) => {
          received.push({ envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', envelopeTo: session.envelope.rcptTo.map((r) => r.address), message, raw: raw.toString('utf8') });
          done();
        }, done);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, received };
}

export interface StoreKit {
  dir: string;
  store: Store;
  clock: ManualClock;
  sandbox(id: string, alias: string | null, cli?: Record<string, unknown>, profileName?: string): Promise<void>;
  event(sandboxId: string, eventType: string, detail: Record<string, unknown>, atMs?: number): Promise<number>;
}

export async function storeKit(t: TestContext): Promise<StoreKit> {
  const dir = await mkdtemp(join(tmpdir(), 'km-notify-'));
  const clock = createManualClock(T0);
  const store = await openSqliteStore(join(dir, 'km.db'), { clock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir, store, clock,
    async sandbox(id, alias, cli = {}, profileName = 'claude-dev') {
      await store.insertSandbox({
        id, alias, profileName, profile: { spec: { cli } }, substrate: 'local', status: 'running', createdAtMs: T0,
        teardownPolicy: 'destroy', enforcementRequested: 'proxy', aiLimitUsd: 2, computeLimitUsd: 1, createdBy: 'cli',
      });
    },
    async event(sandboxId, eventType, detail, atMs = clock.now()) {
      const [seq] = await store.appendEvents([{ timestampMs: atMs, sandboxId, eventType, source: 'gateway', detail }]);
      return seq!;
    },
  };
}

/** Polls `check` every 10 ms until it holds (or fails after `ms`). */
export async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
