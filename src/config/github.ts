/**
 * `km configure github` (SPEC §14.2, §16.2): checks the GitHub App private key, copies it
 * into the state directory (mode 0600) and records the app id, installation id and key path
 * in the chosen config file.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KmError } from '../core/errors.ts';
import { configure, type ConfigureOptions, type ConfigureResult } from './configure.ts';
import { writeFileAtomic } from './edit.ts';
import { resolveStateDir, stateFiles } from './paths.ts';

export interface GithubAppInput {
  appId: string | undefined;
  installationId: string | undefined;
  privateKeyFile: string | undefined;
}

export async function configureGithub(input: GithubAppInput, opts: Omit<ConfigureOptions, 'sets' | 'ask' | 'acceptDefaults'>): Promise<ConfigureResult & { keyFile: string }> {
  const missing = [
    input.appId === undefined ? '--app-id' : undefined,
    input.installationId === undefined ? '--installation-id' : undefined,
    input.privateKeyFile === undefined ? '--private-key-file' : undefined,
  ].filter((x) => x !== undefined);
  if (missing.length > 0) {
    throw new KmError('usage', `km configure github needs ${missing.join(', ')}`, {
      hint: 'e.g. km configure github --app-id 123456 --installation-id 7890123 --private-key-file ~/Downloads/app.private-key.pem',
    });
  }
  for (const [flag, v] of [['--app-id', input.appId], ['--installation-id', input.installationId]] as const) {
    if (!/^\d+$/.test(v as string)) throw new KmError('usage', `${flag} must be a number, got "${v}"`);
  }
  const source = resolve(opts.cwd, input.privateKeyFile as string);
  let pem: string;
  try {
    pem = await readFile(source, 'utf8');
  } catch (e) {
    throw new KmError('usage', `--private-key-file: cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    if (createPrivateKey(pem).asymmetricKeyType !== 'rsa') throw new Error('not an RSA key');
  } catch (e) {
    throw new KmError('usage', `--private-key-file: ${source} is not a GitHub App private key (RSA PEM): ${(e as Error).message}`, {
      hint: 'download the key from the GitHub App settings page (Private keys → Generate a private key)',
    });
  }
  const keyFile = stateFiles(resolveStateDir(opts.env)).githubAppKey;
  if (keyFile !== source) await writeFileAtomic(keyFile, pem, { mode: 0o600 });
  const result = await configure({
    ...opts,
    sets: [`github_app_id=${input.appId}`, `github_installation_id=${input.installationId}`, `github_private_key_file=${keyFile}`],
    acceptDefaults: false,
  });
  return { ...result, keyFile };
}
