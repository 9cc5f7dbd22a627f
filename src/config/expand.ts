/** Paths in the operator config: `$KM_HOME` and `~` expanded, relative ones resolved against cwd. */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { stateFiles } from './paths.ts';
import type { OperatorConfig } from './schema.ts';

export interface ExpandContext {
  stateDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function expandConfigPath(p: string, ctx: ExpandContext): string {
  let out = p.replace(/\$\{KM_HOME\}|\$KM_HOME(?![A-Za-z0-9_])/g, ctx.stateDir);
  if (out === '~' || out.startsWith('~/')) out = join(ctx.env.HOME && ctx.env.HOME !== '' ? ctx.env.HOME : homedir(), out.slice(1));
  return isAbsolute(out) ? out : resolve(ctx.cwd, out);
}

/** `profile_search_paths`, expanded, in order. */
export const profileSearchPaths = (config: OperatorConfig, ctx: ExpandContext): string[] =>
  config.profile_search_paths.map((p) => expandConfigPath(p, ctx));

/** Where the SQLite store lives: `store.path` when set, else `$KM_HOME/km.db`. */
export const sqliteStorePath = (config: OperatorConfig, ctx: ExpandContext): string =>
  config.store.path !== undefined ? expandConfigPath(config.store.path, ctx) : stateFiles(ctx.stateDir).database;

/**
 * Host files that hold the operator's secrets or km's own records, wherever the config puts
 * them: the config files read (`KM_CONFIG` may name one anywhere), the SQLite store with its
 * `-wal`, `-shm` and `-journal` files, and the GitHub App key. Sandboxes see the host root, and
 * KM_HOME is masked in them; these may lie outside it, so they are masked too.
 */
export function operatorPrivateFiles(loaded: { config: OperatorConfig; files: readonly string[] }, ctx: ExpandContext): string[] {
  const store = sqliteStorePath(loaded.config, ctx);
  const key = loaded.config.github_private_key_file;
  const all = [...loaded.files.map((f) => resolve(ctx.cwd, f)), store, `${store}-wal`, `${store}-shm`, `${store}-journal`, ...(key === undefined ? [] : [expandConfigPath(key, ctx)])];
  return [...new Set(all)];
}
