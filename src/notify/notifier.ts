/**
 * Budget notices by email (SPEC §6.5, §16.1, §12.5). Follows the event log from a durable
 * cursor and sends one email per `budget.warning` / `budget.exhausted` / `budget.topup` event
 * through the operator's mail transport. The cursor starts at the end of the log the first
 * time, so history is never mailed; after a restart it resumes where it stopped.
 *
 * Delivery is at most once per event, except across a crash: the cursor is written after the
 * send, so a crash between the two re-sends that one event once (with the same Message-ID,
 * so mail clients can collapse the duplicate). A failed send is logged and recorded as a
 * `notify.failed` event and not retried; it never affects metering, which only appends
 * events.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Redactor } from '../audit/index.ts';
import type { Clock } from '../core/clock.ts';
import type { DaemonLog } from '../daemon/index.ts';
import type { ExternalTransport } from '../mail/index.ts';
import type { EventRecord, Store } from '../store/index.ts';
import { BUDGET_EVENT_TYPES, budgetNotice } from './budget-message.ts';
import type { NotifyCursor } from './cursor.ts';
import { emailRoute, type EmailDefaults } from './recipients.ts';

export interface BudgetEmailDeps {
  store: Pick<Store, 'queryEvents' | 'lastEventSeq' | 'getSandbox' | 'appendEvents'>;
  transport: ExternalTransport;
  cursor: NotifyCursor;
  clock: Clock;
  redactor: Redactor;
  log: DaemonLog;
}

export interface BudgetEmailOptions {
  /** Envelope and header sender. */
  from: string;
  defaults: EmailDefaults;
  /** How often the event log is read; default 1000 ms. 0: never by itself (call `pollOnce`). */
  pollMs?: number;
  /** Events older than this when first seen are skipped, not mailed; default 24 h. */
  maxAgeMs?: number;
  /** Events read per query; default 100. */
  batch?: number;
}

export interface BudgetEmailNotifier {
  /** Handles every budget event appended since the last call; resolves to the number of emails sent. */
  pollOnce(): Promise<number>;
  /** The sequence number of the last event handled. */
  position(): number;
  close(): Promise<void>;
}

const DAY_MS = 24 * 3600 * 1000;

const compose = (opts: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> =>
  new Promise((resolve, reject) => new MailComposer(opts).compile().build((err, msg) => (err ? reject(err) : resolve(msg))));

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Where to start: the stored cursor, or the end of the log when there is none (or it is unusable). */
async function initialPosition(deps: BudgetEmailDeps): Promise<number> {
  const stored = await deps.cursor.read();
  const last = await deps.store.lastEventSeq();
  if (typeof stored === 'number' && stored <= last) return stored;
  if (stored === 'invalid') deps.log('warn', 'budget email cursor unreadable; starting at the end of the event log', {});
  else if (typeof stored === 'number') deps.log('warn', 'budget email cursor is past the end of the event log (store replaced?); starting at the end', { cursor: stored, last });
  await deps.cursor.write(last);
  return last;
}

async function recordFailure(deps: BudgetEmailDeps, e: EventRecord, to: readonly string[], reason: string): Promise<void> {
  const { log, redactor } = deps;
  log('warn', 'budget notice email failed', { sandbox_id: e.sandboxId, event_type: e.eventType, seq: e.seq, reason: redactor.redactString(reason) });
  try {
    const detail = { channel: 'email', event_type: e.eventType, event_seq: e.seq, recipients: [...to], reason };
    await deps.store.appendEvents([{ timestampMs: deps.clock.now(), sandboxId: e.sandboxId, eventType: 'notify.failed', source: 'kmd', detail: redactor.redactValue(detail) }]);
  } catch (err) {
    log('error', 'could not record notify.failed', { sandbox_id: e.sandboxId, error: redactor.redactString(reasonOf(err)) });
  }
}

/** Sends the notice for one event; true when the relay accepted it for at least one recipient. */
async function notifyOne(deps: BudgetEmailDeps, options: BudgetEmailOptions, e: EventRecord): Promise<boolean> {
  const { log, redactor } = deps;
  if (deps.clock.now() - e.timestampMs > (options.maxAgeMs ?? DAY_MS)) {
    log('info', 'budget event too old to notify; skipped', { sandbox_id: e.sandboxId, event_type: e.eventType, seq: e.seq });
    return false;
  }
  const sandbox = await deps.store.getSandbox(e.sandboxId);
  const notice = budgetNotice(e, sandbox);
  if (!notice) return false;
  const route = emailRoute(sandbox?.profile, options.defaults);
  if (!route.send) {
    const why = route.reason === 'no_recipient' ? 'no recipient (set notifiers.email.to or operator_email)' : 'cli.notifyEmailEnabled is false';
    log(route.reason === 'no_recipient' ? 'warn' : 'debug', `budget notice not emailed: ${why}`, { sandbox_id: e.sandboxId, event_type: e.eventType, seq: e.seq });
    return false;
  }
  try {
    const raw = await compose({
      from: { name: 'km', address: options.from },
      to: route.to,
      subject: redactor.redactString(notice.subject),
      text: redactor.redactString(notice.text),
      date: new Date(deps.clock.now()),
      messageId: `<${e.eventType}.${e.seq}.${e.sandboxId}@${options.from.split('@')[1] ?? 'localhost'}>`,
    });
    const r = await deps.transport.send({ from: options.from, to: route.to }, raw);
    if (r.rejected.length > 0) await recordFailure(deps, e, r.rejected, `relay rejected ${r.rejected.join(', ')}: ${r.response}`);
    if (r.accepted.length > 0) log('info', 'budget notice emailed', { sandbox_id: e.sandboxId, event_type: e.eventType, seq: e.seq, to: r.accepted });
    return r.accepted.length > 0;
  } catch (err) {
    await recordFailure(deps, e, route.to, reasonOf(err));
    return false;
  }
}

export async function startBudgetEmailNotifier(deps: BudgetEmailDeps, options: BudgetEmailOptions): Promise<BudgetEmailNotifier> {
  let pos = await initialPosition(deps);
  const batch = options.batch ?? 100;
  const pollMs = options.pollMs ?? 1000;
  const { log, redactor } = deps;

  async function drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const events = await deps.store.queryEvents({ types: BUDGET_EVENT_TYPES, afterSeq: pos, limit: batch });
      for (const e of events) {
        if (await notifyOne(deps, options, e)) sent++;
        pos = e.seq;
        await deps.cursor.write(pos);
      }
      if (events.length < batch) return sent;
    }
  }

  let running: Promise<number> = Promise.resolve(0);
  const pollOnce = (): Promise<number> => {
    const next = running.then(drain, drain);
    running = next.catch(() => 0);
    return next;
  };

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (closed || pollMs <= 0) return;
    timer = setTimeout(() => {
      pollOnce()
        .catch((err: unknown) => log('error', 'budget notifier poll failed', { error: redactor.redactString(reasonOf(err)) }))
        .finally(schedule);
    }, pollMs);
    timer.unref();
  };
  schedule();

  return {
    pollOnce,
    position: () => pos,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
