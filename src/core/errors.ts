/**
 * The one error hierarchy. Every failure a user can see is a KmError with a stable `code`
 * (SPEC §0.3), an exit code derived from it, and an optional hint naming the fix.
 * Errors are translated to text or JSON at two edges only: the daemon's HTTP layer and the
 * CLI entry point.
 */
export type ErrorCode =
  | 'usage'
  | 'profile_invalid'
  | 'config_invalid'
  | 'not_found'
  | 'ambiguous'
  | 'invalid_state'
  | 'sandbox_locked'
  | 'budget_exhausted'
  | 'limit_reached'
  | 'substrate_unavailable'
  | 'daemon_unavailable'
  | 'timeout'
  | 'upstream'
  | 'not_available'
  | 'failed'
  | 'internal';

/** Codes that mean "bad usage or invalid input" (exit 2); everything else is exit 1. */
const USER_INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'usage',
  'profile_invalid',
  'config_invalid',
  'not_found',
  'ambiguous',
  'not_available',
]);

export interface KmErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
  /** Overrides the exit code derived from `code` (e.g. `km exec` uses 125). */
  exitCode?: number;
  /** Extra structured fields for JSON output (kept small and stable). */
  details?: Record<string, unknown>;
}

export class KmError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: KmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KmError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    this.exitCode = options.exitCode ?? (USER_INPUT_CODES.has(code) ? 2 : 1);
  }
}

export const usageError = (message: string, hint?: string): KmError =>
  new KmError('usage', message, { hint });

export const notFound = (message: string, hint?: string): KmError =>
  new KmError('not_found', message, { hint });

export const invalidState = (message: string, hint?: string): KmError =>
  new KmError('invalid_state', message, { hint });

export function isKmError(e: unknown): e is KmError {
  return e instanceof KmError;
}

/** A plain-object form used for JSON output and the daemon's HTTP error bodies. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
}

export function toErrorBody(e: unknown): ErrorBody {
  if (isKmError(e)) {
    const body: ErrorBody = { code: e.code, message: e.message };
    if (e.hint !== undefined) body.hint = e.hint;
    if (e.details !== undefined) body.details = e.details;
    return body;
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message, hint: 'this is a bug; rerun with --debug and report the output' };
}

export function fromErrorBody(body: ErrorBody, exitCode?: number): KmError {
  const opts: KmErrorOptions = { hint: body.hint };
  if (body.details !== undefined) opts.details = body.details;
  if (exitCode !== undefined) opts.exitCode = exitCode;
  return new KmError(body.code, body.message, opts);
}
