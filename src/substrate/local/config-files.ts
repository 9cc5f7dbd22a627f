/**
 * `configFiles` (SPEC §9.4): written once, at the first start, through exec inside the
 * sandbox so they land in its writable layer with in-sandbox ownership — as `sandbox` under
 * /home/sandbox and /workspace (parents created by the same user), as root elsewhere; mode
 * 0644; content verbatim. The working directory is created the same way.
 */
import type { SandboxSpec } from '../index.ts';
import { SANDBOX_HOME } from './etc-files.ts';

export interface InSandboxCommand {
  argv: string[];
  root: boolean;
  stdin?: string;
}

const userOwned = (path: string): boolean =>
  [SANDBOX_HOME, '/workspace'].some((d) => path === d || path.startsWith(`${d}/`));

const WRITE = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod 0644 -- "$1"';

export function configFileCommands(spec: SandboxSpec): InSandboxCommand[] {
  const out: InSandboxCommand[] = [];
  // /workspace is part of the skeleton; any other working directory is made here.
  if (spec.workingDir !== '/workspace') {
    out.push({ argv: ['mkdir', '-p', '--', spec.workingDir], root: !userOwned(spec.workingDir) });
  }
  for (const f of spec.configFiles) {
    out.push({ argv: ['/bin/sh', '-c', WRITE, 'km-config', f.path], root: !userOwned(f.path), stdin: f.content });
  }
  return out;
}
