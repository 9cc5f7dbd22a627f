/**
 * Finding the file a profile reference names (SPEC §2.1): a path relative to the
 * extending file, a bare name in the extending file's directory, then the search paths,
 * then the built-ins; `builtin:<name>` forces the built-in.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { Diagnostic } from '../core/diagnostics.ts';
import { BUILTINS, builtinPath } from './builtins.ts';

export interface ProfileReader {
  /** The file's bytes; undefined when it does not exist. May throw with a readable message. */
  read(path: string): Uint8Array | undefined;
  isDirectory(path: string): boolean;
}

export interface LookupOptions {
  cwd: string;
  searchPaths: readonly string[];
  reader: ProfileReader;
  /** Home directory, only to display search paths as `~/…`. */
  home?: string;
}

export type Found = { path: string; builtin: boolean } | { message: string };

export const pathLike = (ref: string): boolean => ref.includes('/') || /\.ya?ml$/.test(ref);

export function displayPath(abs: string, cwd: string, home?: string): string {
  const rel = relative(cwd, abs);
  if (rel === '') return '.';
  if (!rel.startsWith('..') && !isAbsolute(rel)) return rel;
  if (home && (abs === home || abs.startsWith(`${home}/`))) return `~${abs.slice(home.length)}`;
  return abs;
}

/** Location-less diagnostic for a file that cannot be read (line 0 means "the file"). */
export const fileDiag = (file: string, message: string, inheritedBy?: string): Diagnostic => ({
  file,
  line: 0,
  col: 0,
  path: '',
  message,
  severity: 'error',
  ...(inheritedBy !== undefined ? { inheritedBy } : {}),
});

/** A reader that reads each file at most once per resolution. */
export function cachingReader(reader: ProfileReader): ProfileReader & { exists(path: string): boolean } {
  const cache = new Map<string, Uint8Array | undefined>();
  const read = (p: string): Uint8Array | undefined => {
    if (!cache.has(p)) cache.set(p, reader.isDirectory(p) ? undefined : reader.read(p));
    return cache.get(p);
  };
  return {
    read,
    isDirectory: (p) => reader.isDirectory(p),
    exists(p) {
      try {
        return !reader.isDirectory(p) && read(p) !== undefined;
      } catch {
        return true; // unreadable: loading reports why
      }
    },
  };
}

function placesText(dirs: readonly string[], fromFile: boolean, opts: LookupOptions): string {
  const shown = dirs.map((d) => {
    const s = displayPath(d, opts.cwd, opts.home);
    return s.startsWith('/') || s.startsWith('~') ? s : `./${s}`;
  });
  const parts = [...(fromFile ? ["the extending file's directory"] : []), ...shown.slice(fromFile ? 1 : 0), 'the built-ins'];
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : (parts[0] as string);
}

/** Finds the file `ref` names; `fromDir` is the extending file's directory (undefined for the top level). */
export function findProfile(ref: string, fromDir: string | undefined, opts: LookupOptions, exists: (p: string) => boolean): Found {
  if (ref.startsWith('builtin:')) {
    const name = ref.slice('builtin:'.length);
    const p = builtinPath(name);
    return p ? { path: p, builtin: true } : { message: `no built-in profile "${name}" (built-ins: ${BUILTINS.map((b) => b.name).join(', ')})` };
  }
  if (pathLike(ref) && (/\.ya?ml$/.test(ref) || fromDir === undefined)) {
    const p = resolve(fromDir ?? opts.cwd, ref);
    if (fromDir === undefined || exists(p)) return { path: p, builtin: false };
    return { message: `profile "${ref}" not found (looked in the extending file's directory)` };
  }
  const dirs = [...(fromDir !== undefined ? [fromDir] : []), ...opts.searchPaths];
  for (const d of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const p = resolve(d, `${ref}${ext}`);
      if (exists(p)) return { path: p, builtin: false };
    }
  }
  const b = builtinPath(ref);
  if (b) return { path: b, builtin: true };
  let message = `profile "${ref}" not found (looked in ${placesText(dirs, fromDir !== undefined, opts)})`;
  if (fromDir === undefined) {
    const local = resolve(opts.cwd, ref);
    if (opts.reader.isDirectory(local)) message += `; ./${ref} is a directory, give a profile file (.yaml)`;
    else if (exists(local)) message += `; to use the file in this directory, write ./${ref}`;
  }
  return { message };
}
