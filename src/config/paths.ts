/** Where km keeps its state. `KM_HOME` (default `~/.km`) is also the user config directory. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveStateDir(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.KM_HOME;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  return join(env.HOME && env.HOME !== '' ? env.HOME : homedir(), '.km');
}

export const stateFiles = (stateDir: string) => ({
  config: join(stateDir, 'config.yaml'),
  database: join(stateDir, 'km.db'),
  socket: join(stateDir, 'kmd.sock'),
  pidFile: join(stateDir, 'kmd.pid'),
  daemonLog: join(stateDir, 'kmd.log'),
  sandboxes: join(stateDir, 'sandboxes'),
  images: join(stateDir, 'images'),
  shared: join(stateDir, 'shared'),
  profiles: join(stateDir, 'profiles'),
  /** GitHub App private key copied in by `km configure github` (mode 0600). */
  githubAppKey: join(stateDir, 'github-app.pem'),
});

/** The user and project config files for this environment (the project one may not exist). */
export function configFiles(env: NodeJS.ProcessEnv, cwd: string): { stateDir: string; user: string; project: string; projectFromEnv: boolean } {
  const stateDir = resolveStateDir(env);
  const named = env.KM_CONFIG !== undefined && env.KM_CONFIG !== '';
  return { stateDir, user: stateFiles(stateDir).config, project: named ? resolve(cwd, env.KM_CONFIG as string) : join(cwd, 'km-config.yaml'), projectFromEnv: named };
}
