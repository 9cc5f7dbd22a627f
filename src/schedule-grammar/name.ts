/**
 * Schedule names (SPEC §11.4): `km-at-{command}-{target}-{slug}`, lowercase, characters
 * outside `[a-z0-9._-]` become `-`, runs of `-` collapsed, trimmed, at most 64 characters,
 * `-2`, `-3`… appended for uniqueness. The same rules apply to `--name`. The result is also a
 * valid EventBridge Scheduler schedule name.
 */

export const MAX_NAME_LENGTH = 64;

/** Lowercases and replaces disallowed characters; may return ''. */
export function sanitizeName(text: string, maxLength = MAX_NAME_LENGTH): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '');
  return cleaned.slice(0, maxLength).replace(/[-._]+$/g, '');
}

/** `base`, or `base-2`, `base-3`… (cut so the whole stays within 64) when taken. */
export function uniqueName(base: string, existing: ReadonlySet<string>): string {
  if (!existing.has(base)) return base;
  for (let i = 2; ; i++) {
    const suffix = `-${i}`;
    const head = base.slice(0, MAX_NAME_LENGTH - suffix.length).replace(/[-._]+$/g, '');
    const candidate = `${head}${suffix}`;
    if (!existing.has(candidate)) return candidate;
  }
}

/**
 * The generated name, e.g. `scheduleName('stop', 'demo', 'every weekday at 7:45pm', new Set())`
 * → `km-at-stop-demo-every-weekday-at-7-45pm`. `command` is the canonical command
 * (`agent run` → `agent-run`).
 */
export function scheduleName(command: string, target: string, phrase: string, existing: ReadonlySet<string>): string {
  return uniqueName(sanitizeName(`km-at-${command}-${target}-${phrase}`), existing);
}

/** A `--name` given by the user, under the same rules; undefined when nothing usable is left. */
export function customScheduleName(name: string, existing: ReadonlySet<string>): string | undefined {
  const base = sanitizeName(name);
  return base === '' ? undefined : uniqueName(base, existing);
}
