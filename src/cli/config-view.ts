/**
 * The operator-config values `km info` and `km doctor` report, from `loadOperatorConfig`
 * (SPEC §14.1). Invalid config is KmError `config_invalid` with located diagnostics.
 */
import { expandConfigPath, loadOperatorConfig, maskSecrets, stateFiles, type OperatorConfig } from '../config/index.ts';

export interface ConfigView {
  /** Files that were found and loaded, lowest precedence first. */
  files: string[];
  stateDir: string;
  defaultSubstrate: OperatorConfig['default_substrate'];
  requireEbpf: boolean;
  /** `{email_subdomain}.{domain}`, or null without a domain. */
  emailDomain: string | null;
  store: { kind: 'sqlite' | 'dynamodb'; location: string | null };
  /** AWS names when AWS is configured (a region, a DynamoDB store or account ids), else null. */
  aws: AwsView | null;
  /** The effective config with secrets masked, for display. */
  masked: OperatorConfig;
}

export interface AwsView {
  region: string | null;
  resource_prefix: string;
  artifacts_bucket: string | null;
  state_bucket: string | null;
}

function awsView(c: OperatorConfig): AwsView | null {
  const configured = c.region !== undefined || c.store.kind === 'dynamodb' || Object.values(c.accounts).some((v) => v !== undefined);
  if (!configured) return null;
  return { region: c.region ?? null, resource_prefix: c.resource_prefix, artifacts_bucket: c.artifacts_bucket ?? null, state_bucket: c.state_bucket ?? null };
}

export async function loadConfigView(opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<ConfigView> {
  const loaded = await loadOperatorConfig({ env: opts.env, cwd: opts.cwd });
  const c = loaded.config;
  const ctx = { stateDir: loaded.stateDir, cwd: opts.cwd, env: opts.env };
  const sqlitePath = c.store.path !== undefined ? expandConfigPath(c.store.path, ctx) : stateFiles(loaded.stateDir).database;
  return {
    files: loaded.files,
    stateDir: loaded.stateDir,
    defaultSubstrate: c.default_substrate,
    requireEbpf: c.require_ebpf,
    emailDomain: c.domain !== undefined ? `${c.email_subdomain}.${c.domain}` : null,
    store: { kind: c.store.kind, location: c.store.kind === 'sqlite' ? sqlitePath : (c.region ?? null) },
    aws: awsView(c),
    masked: maskSecrets(c),
  };
}
