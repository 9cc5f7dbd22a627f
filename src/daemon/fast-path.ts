/**
 * The kmd service behind the native CLI (native/km-client.c, dispatched by bin/km): `km exec`
 * plans (exec-host.ts) and hosted `km create | list | status` (cli-host.ts), both on upgraded
 * connections of kmd's socket. It has its own store connection and local substrate (as the
 * Node `km exec` has its own), and loads the CLI code in the background once kmd is up, so
 * that the first hosted command does not pay for it.
 */
import { readFileSync, statSync } from 'node:fs';
import { sqliteStorePath } from '../config/expand.ts';
import { loadOperatorConfig } from '../config/load.ts';
import { INSTALL_ROOT } from '../core/install-root.ts';
import type { Table } from '../cli/parse.ts';
import { buildTable } from '../cli/table.ts';
import { KM_VERSION } from '../cli/version.ts';
import { openSqliteStore } from '../store/index.ts';
import { createLocalSubstrate } from '../substrate/index.ts';
import { createCliHost, HOSTED_COMMANDS, type CliRunner } from './cli-host.ts';
import { createExecHost } from './exec-host.ts';
import type { DaemonService } from './service.ts';

export interface FastPathOptions {
  env?: NodeJS.ProcessEnv;
  /** The hosted CLI entry (tests); default `runCli`. */
  runner?: CliRunner;
  /** The installation clients must belong to (tests); default this one. */
  installRoot?: string;
}

/** The version in package.json when it is not kmd's own (read again only when the file changes), else null. */
function installedVersion(file: string): () => string | null {
  let seen = -1;
  let stale: string | null = null;
  return () => {
    const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (mtime !== seen) {
      seen = mtime;
      try {
        const v = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
        stale = v === KM_VERSION ? null : String(v);
      } catch {
        stale = null; // no package.json beside a bundled install: nothing to compare
      }
    }
    return stale;
  };
}

export function fastPathDaemonService(options: FastPathOptions = {}): DaemonService {
  return {
    name: 'fast-path',
    async start(ctx) {
      const env = options.env ?? process.env;
      const { config } = await loadOperatorConfig({ env, cwd: ctx.stateDir });
      const storePath = sqliteStorePath(config, { stateDir: ctx.stateDir, cwd: ctx.stateDir, env });
      const store = await openSqliteStore(storePath, { clock: ctx.clock });
      const substrate = createLocalSubstrate({ kmHome: ctx.stateDir });
      const installRoot = options.installRoot ?? INSTALL_ROOT;
      const self = { stateDir: ctx.stateDir, installRoot, uid: process.getuid?.() ?? -1, staleVersion: installedVersion(`${installRoot}package.json`) };
      let table: Table | undefined;
      const tableOf = (): Table => (table ??= buildTable());
      const runner = async (): Promise<CliRunner> => options.runner ?? (await import('../cli/main.ts')).runCli;
      const exec = createExecHost({ self, storePath, store, substrate, clock: ctx.clock, log: ctx.log, table: tableOf, signal: ctx.signal });
      const cli = createCliHost({ self, clock: ctx.clock, log: ctx.log, table: tableOf, runner });
      ctx.router.upgrade('/v1/exec', exec.session);
      ctx.router.upgrade('/v1/cli', cli.session);
      // Warm-up after start: the CLI entry and the hosted commands' modules.
      const warm = setTimeout(() => {
        void runner().catch(() => undefined);
        for (const c of tableOf().commands) if (HOSTED_COMMANDS.includes(c.path.join(' '))) void c.load().catch(() => undefined);
      }, 0);
      warm.unref();
      return {
        async close() {
          clearTimeout(warm);
          await exec.close();
          await substrate.close();
          await store.close();
        },
      };
    },
  };
}
