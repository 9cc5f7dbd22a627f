/** The `smtp` transport (SPEC §12.5): external addresses through the operator's relay (`mail.smtp.*`). */
import nodemailer from 'nodemailer';
import { KmError } from '../core/errors.ts';

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  username?: string | undefined;
  password?: string | undefined;
  /** Envelope sender; default: the sending identity's address. */
  from?: string | undefined;
  /** Trust this PEM for the relay's certificate (tests, private relays). */
  caPem?: string;
}

/** Sends one already-composed RFC 5322 message to external addresses. */
export interface ExternalTransport {
  send(envelope: { from: string; to: readonly string[] }, raw: Buffer): Promise<{ accepted: string[]; rejected: string[]; response: string }>;
  close(): void;
}

export function createSmtpTransport(s: SmtpSettings): ExternalTransport {
  const t = nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: s.secure,
    ...(s.username ? { auth: { user: s.username, pass: s.password ?? '' } } : {}),
    ...(s.caPem ? { tls: { ca: s.caPem } } : {}),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
  });
  return {
    async send(envelope, raw) {
      try {
        const info = await t.sendMail({ envelope: { from: s.from ?? envelope.from, to: [...envelope.to] }, raw });
        const list = (v: unknown): string[] => (Array.isArray(v) ? v.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? a))) : []);
        return { accepted: list(info.accepted), rejected: list(info.rejected), response: String(info.response ?? '') };
      } catch (e) {
        throw new KmError('upstream', `SMTP relay ${s.host}:${s.port} refused the message: ${(e as Error).message}`, {
          hint: 'check mail.smtp.* in the operator config (km info shows it)',
          cause: e,
        });
      }
    },
    close: () => t.close(),
  };
}
