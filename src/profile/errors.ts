/**
 * Turning profile diagnostics into text and into the KmError other commands throw
 * (`km create` with an invalid profile exits 2 with code profile_invalid).
 */
import { formatDiagnostic, type Diagnostic } from '../core/diagnostics.ts';
import { KmError } from '../core/errors.ts';

/** One diagnostic line; a problem with the file as a whole (line 0) has no position. */
export function diagnosticText(d: Diagnostic): string {
  if (d.line > 0) return formatDiagnostic(d);
  const inherited = d.inheritedBy ? ` (inherited by ${d.inheritedBy})` : '';
  return `${d.file}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}${inherited}`;
}

/** The error for a profile that did not resolve: the first problem inline, all in details. */
export function profileInvalidError(ref: string, errors: readonly Diagnostic[]): KmError {
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  const message = first ? `profile ${ref} is invalid: ${diagnosticText(first)}${more}` : `profile ${ref} is invalid`;
  return new KmError('profile_invalid', message, {
    hint: `run km validate ${ref} to see every problem`,
    details: { errors: errors.map((d) => ({ file: d.file, line: d.line, col: d.col, path: d.path, message: d.message })) },
  });
}
