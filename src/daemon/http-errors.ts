/**
 * The daemon's half of error translation: KmError ↔ HTTP status + `{ error: ErrorBody }`.
 * The client turns the body back into the same KmError (code, message, hint, details).
 */
import { fromErrorBody, toErrorBody, type ErrorBody, type ErrorCode, type KmError } from '../core/errors.ts';

export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  usage: 400,
  profile_invalid: 422,
  config_invalid: 422,
  not_found: 404,
  ambiguous: 409,
  invalid_state: 409,
  sandbox_locked: 423,
  budget_exhausted: 402,
  limit_reached: 429,
  substrate_unavailable: 503,
  daemon_unavailable: 503,
  timeout: 504,
  upstream: 502,
  not_available: 400,
  failed: 500,
  internal: 500,
};

/** A handler may pin a status (e.g. 405, 413) through `details.http_status`. */
export function httpStatusFor(body: ErrorBody): number {
  const pinned = body.details?.http_status;
  if (typeof pinned === 'number' && Number.isInteger(pinned) && pinned >= 400 && pinned <= 599) return pinned;
  return STATUS_BY_CODE[body.code] ?? 500;
}

export interface HttpError {
  status: number;
  payload: { error: ErrorBody };
}

export function toHttpError(e: unknown): HttpError {
  const body = toErrorBody(e);
  const status = httpStatusFor(body);
  if (body.details !== undefined) {
    const { http_status: _drop, ...rest } = body.details;
    if (Object.keys(rest).length === 0) delete body.details;
    else body.details = rest;
  }
  return { status, payload: { error: body } };
}

const CODES: ReadonlySet<string> = new Set(Object.keys(STATUS_BY_CODE));

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.code === 'string' && CODES.has(o.code) && typeof o.message === 'string' && (o.hint === undefined || typeof o.hint === 'string');
}

/** Turns a parsed error response into a KmError; undefined when the payload is not one of ours. */
export function errorFromPayload(payload: unknown): KmError | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const inner = (payload as { error?: unknown }).error;
  return isErrorBody(inner) ? fromErrorBody(inner) : undefined;
}
