import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KmError } from '../core/errors.ts';
import { configKeys, loadOperatorConfig, maskSecrets, MASK, OperatorConfigSchema, operatorConfigJsonSchema, operatorPrivateFiles, profileSearchPaths, sqliteStorePath, type ConfigReader } from './index.ts';

const HOME = '/home/op/.km';
const CWD = '/work/proj';
const USER = `${HOME}/config.yaml`;
const PROJECT = `${CWD}/km-config.yaml`;

/** An in-memory reader: path → text. */
const files =
  (map: Record<string, string>): ConfigReader =>
  async (p) =>
    map[p] === undefined ? undefined : new TextEncoder().encode(map[p]);

const load = (map: Record<string, string>, env: Record<string, string> = {}) =>
  loadOperatorConfig({ env: { KM_HOME: HOME, ...env }, cwd: CWD, reader: files(map) });

/** Runs `fn`, expects config_invalid, returns its diagnostic lines. */
async function problems(fn: () => Promise<unknown>): Promise<string[]> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof KmError, String(e));
    assert.equal(e.code, 'config_invalid');
    assert.equal(e.exitCode, 2);
    return e.details?.diagnostics as string[];
  }
  assert.fail('expected config_invalid');
}

test('defaults apply with no files and no variables', async () => {
  const r = await load({});
  assert.deepEqual(r.files, []);
  assert.equal(r.stateDir, HOME);
  assert.equal(r.config.max_sandboxes, 10);
  assert.equal(r.config.resource_prefix, 'km');
  assert.equal(r.config.email_subdomain, 'sandboxes');
  assert.equal(r.config.default_substrate, 'local');
  assert.equal(r.config.retention_days, 30);
  assert.deepEqual(r.config.profile_search_paths, ['./profiles', '$KM_HOME/profiles']);
  assert.deepEqual(r.config.pricing.fallback, { input: 15, output: 75 });
  assert.equal(r.config.scheduler.missed_fire_grace, '15m');
  assert.equal(r.config.init_timeout, '30m');
  assert.equal(r.config.doctor_stale_ami_days, 30);
  assert.equal(r.config.store.kind, 'sqlite');
  assert.equal(r.config.aws_profiles.application, 'klanker-application');
});

test('precedence: defaults < user file < project file < environment; sections merge', async () => {
  const r = await load(
    {
      [USER]: 'max_sandboxes: 3\nresource_prefix: user\ngateway:\n  upstream_dns: ["10.0.0.1"]\n  host_overrides: {a.example: 10.0.0.5}\n',
      [PROJECT]: 'resource_prefix: proj\ngateway:\n  host_overrides:\n    b.example: "10.0.0.6:8443"\n',
    },
    { KM_RESOURCE_PREFIX: 'envp', KM_GATEWAY_UPSTREAM_DNS: '127.0.0.1:5353, [::1]:53' },
  );
  assert.deepEqual(r.files, [USER, PROJECT]);
  assert.equal(r.config.max_sandboxes, 3, 'user file over default');
  assert.equal(r.config.resource_prefix, 'envp', 'environment over project over user');
  assert.deepEqual(r.config.gateway.upstream_dns, ['127.0.0.1:5353', '[::1]:53'], 'lists are replaced, comma-separated from env');
  assert.deepEqual(r.config.gateway.host_overrides, { 'a.example': '10.0.0.5', 'b.example': '10.0.0.6:8443' }, 'maps merge');
  const p = await load({ [USER]: 'resource_prefix: user\n', [PROJECT]: 'resource_prefix: proj\n' });
  assert.equal(p.config.resource_prefix, 'proj');
});

test('KM_CONFIG names the project file; a missing one is an error', async () => {
  const r = await load({ '/etc/km/team.yaml': 'max_sandboxes: 7\n', [PROJECT]: 'max_sandboxes: 9\n' }, { KM_CONFIG: '/etc/km/team.yaml' });
  assert.equal(r.config.max_sandboxes, 7);
  assert.deepEqual(r.files, ['/etc/km/team.yaml']);
  const lines = await problems(() => load({}, { KM_CONFIG: 'nope.yaml' }));
  assert.match(lines[0] ?? '', /\/work\/proj\/nope\.yaml: KM_CONFIG names this file, but it does not exist/);
});

test('environment values are typed by the schema', async () => {
  const r = await load({}, {
    KM_MAX_SANDBOXES: '25',
    KM_REQUIRE_EBPF: 'yes',
    KM_GATEWAY_HOST_OVERRIDES: 'api.example.com=127.0.0.1:8443,github.com=127.0.0.1',
    KM_PRICING_FALLBACK_INPUT: '3.5',
    KM_PRICING_OVERRIDES: '[{provider: openai, model: gpt-x, input: 1, output: 2}]',
    KM_ACCOUNTS_MANAGEMENT: '012345678901',
  });
  assert.equal(r.config.max_sandboxes, 25);
  assert.equal(r.config.require_ebpf, true);
  assert.deepEqual(r.config.gateway.host_overrides, { 'api.example.com': '127.0.0.1:8443', 'github.com': '127.0.0.1' });
  assert.deepEqual(r.config.pricing.fallback, { input: 3.5, output: 75 });
  assert.equal(r.config.pricing.overrides[0]?.model, 'gpt-x');
  assert.equal(r.config.accounts.management, '012345678901');
});

test('bad environment values name the variable; unknown KM_ variables only warn', async () => {
  const lines = await problems(() => load({}, { KM_MAX_SANDBOXES: 'ten', KM_RESOURCE_PREFIX: 'Bad_Prefix', KM_GATEWAY_UPSTREAM_DNS: 'dns.google' }));
  assert.deepEqual(lines.length, 3);
  assert.ok(lines.includes('$KM_MAX_SANDBOXES: max_sandboxes: expected a number, got "ten"'), lines.join('\n'));
  assert.ok(lines.some((l) => /^\$KM_RESOURCE_PREFIX: resource_prefix: must start with a lowercase letter/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^\$KM_GATEWAY_UPSTREAM_DNS: gateway\.upstream_dns\.0: expected an IP address/.test(l)), lines.join('\n'));
  const r = await load({}, { KM_MAX_SANDBOX: '3', KM_HOME: HOME, KM_RUN_ID: '20270303T081502Z' });
  assert.equal(r.config.max_sandboxes, 10);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]?.message ?? '', /not a km setting; ignored \(did you mean KM_MAX_SANDBOXES\?\)/);
});

test('unknown keys are located at the key, with a suggestion', async () => {
  const lines = await problems(() => load({ [USER]: '# operator settings\nmax_sandboxs: 3\ngateway:\n  upstream_dsn: ["1.1.1.1"]\n' }));
  assert.deepEqual(lines.sort(), [
    `${USER}:2:1: max_sandboxs: unknown key "max_sandboxs"; did you mean "max_sandboxes"?`,
    `${USER}:4:3: gateway.upstream_dsn: unknown key "upstream_dsn"; did you mean "upstream_dns"?`,
  ]);
});

test('bad values are located in the file that wrote them, all reported together', async () => {
  const lines = await problems(() =>
    load({
      [USER]: 'max_sandboxes: 0\nscheduler:\n  missed_fire_grace: 15x\n',
      [PROJECT]: 'default_substrate: vm\nresource_prefix: "1km"\ngateway:\n  host_overrides:\n    "bad name": 1.2.3.4\n    ok.example: "nope"\nmail:\n  smtp:\n    port: 25\n',
    }),
  );
  const text = lines.join('\n');
  assert.match(text, new RegExp(`${USER}:1:16: max_sandboxes: .*>=1`));
  assert.match(text, new RegExp(`${USER}:3:22: scheduler.missed_fire_grace: invalid duration`));
  assert.match(text, new RegExp(`${PROJECT}:1:20: default_substrate: Invalid option: expected one of`));
  assert.match(text, new RegExp(`${PROJECT}:2:18: resource_prefix: must start with a lowercase letter`));
  assert.match(text, new RegExp(`${PROJECT}:5:5: gateway.host_overrides.bad name: invalid name: expected a DNS name`));
  assert.match(text, new RegExp(`${PROJECT}:6:17: gateway.host_overrides.ok.example: expected an IP address`));
  assert.match(text, new RegExp(`${PROJECT}:9:5: mail.smtp.host: missing required key "host"`));
  assert.equal(lines.length, 7);
});

test('YAML syntax errors and non-mapping files are reported with positions', async () => {
  const a = await problems(() => load({ [USER]: 'max_sandboxes: [1, 2\n' }));
  assert.match(a[0] ?? '', new RegExp(`^${USER}:\\d+:\\d+: YAML`));
  const b = await problems(() => load({ [PROJECT]: '- a\n- b\n' }));
  assert.equal(b[0], `${PROJECT}:1:1: the config file must be a mapping of keys to values`);
  const c = await load({ [USER]: '# nothing yet\n\n', [PROJECT]: 'domain:\nmax_sandboxes: 4\n' });
  assert.deepEqual([c.config.max_sandboxes, c.config.domain], [4, undefined], 'comment-only files and empty keys set nothing');
});

test('account ids keep leading zeros only when quoted; numbers are accepted', async () => {
  const r = await load({ [USER]: 'accounts:\n  management: 123456789012\n  application: "012345678901"\ngithub_app_id: 12345\n' });
  assert.deepEqual([r.config.accounts.management, r.config.accounts.application, r.config.github_app_id], ['123456789012', '012345678901', '12345']);
  const lines = await problems(() => load({ [USER]: 'accounts:\n  terraform: 12345678901\n' }));
  assert.match(lines[0] ?? '', /accounts\.terraform: accounts\.terraform must be 12 digits \(quote it if it starts with 0\)/);
});

test('maskSecrets hides secrets and proxy passwords, leaving the rest', () => {
  const config = OperatorConfigSchema.parse({
    slack: { bot_token: 'xoxb-1', default_channel: 'ops' },
    mail: { smtp: { host: 'smtp.example.com', password: 'hunter2', username: 'me' } },
    audit: { redact_literals: ['acme-internal', 'x'] },
    gateway: { upstream_proxy: 'http://user:pw@proxy.example:3128' },
    notifiers: { webhook: { url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRET' } },
  });
  const masked = maskSecrets(config);
  const text = JSON.stringify(masked);
  for (const secret of ['xoxb-1', 'hunter2', 'acme-internal', ':pw@', 'XXXXSECRET']) assert.ok(!text.includes(secret), secret);
  assert.equal(masked.notifiers.webhook?.url, `https://hooks.slack.com/${MASK}`);
  assert.equal(masked.slack.bot_token, MASK);
  assert.equal(masked.slack.default_channel, 'ops');
  assert.equal(masked.mail.smtp?.username, 'me');
  assert.deepEqual(masked.audit.redact_literals, [MASK, MASK]);
  assert.equal(masked.gateway.upstream_proxy, `http://user:${encodeURIComponent(MASK)}@proxy.example:3128/`);
  assert.equal(config.slack.bot_token, 'xoxb-1', 'the original is untouched');
});

test('every documented key has a KM_ variable, and none collide', () => {
  const keys = configKeys();
  const envs = keys.map((k) => k.env);
  assert.equal(new Set(envs).size, envs.length);
  for (const dotted of ['gateway.upstream_dns', 'gateway.extra_ca_bundle', 'gateway.host_overrides', 'gateway.upstream_proxy', 'gateway.upstream_proxy_bypass', 'metering.extra_hosts', 'pricing.overrides', 'scheduler.missed_fire_grace', 'audit.redact_literals', 'store.kind', 'accounts.application', 'github_private_key_file', 'timezone', 'operator_email', 'artifacts_bucket', 'state_bucket']) {
    assert.ok(keys.some((k) => k.dotted === dotted), dotted);
  }
  assert.equal(keys.find((k) => k.dotted === 'gateway.upstream_dns')?.env, 'KM_GATEWAY_UPSTREAM_DNS');
  const schema = operatorConfigJsonSchema() as { additionalProperties: boolean; properties: Record<string, { default?: unknown }> };
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.max_sandboxes?.default, 10);
});

test('the real file system: missing files are fine, profile paths expand $KM_HOME', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  await mkdir(home);
  await writeFile(join(home, 'config.yaml'), 'timezone: Europe/Berlin\n');
  const r = await loadOperatorConfig({ env: { KM_HOME: home }, cwd: dir });
  assert.deepEqual(r.files, [join(home, 'config.yaml')]);
  assert.equal(r.config.timezone, 'Europe/Berlin');
  const ctx = { stateDir: r.stateDir, cwd: dir, env: {} };
  assert.deepEqual(profileSearchPaths(r.config, ctx), [join(dir, 'profiles'), join(home, 'profiles')]);
  assert.equal(sqliteStorePath(r.config, ctx), join(home, 'km.db'));
  assert.equal(sqliteStorePath({ ...r.config, store: { kind: 'sqlite', path: '$KM_HOME/state/x.db' } }, ctx), join(home, 'state', 'x.db'));
  await writeFile(join(dir, 'km-config.yaml'), 'timezone: Mars/Olympus\n');
  const lines = await problems(() => loadOperatorConfig({ env: { KM_HOME: home }, cwd: dir }));
  assert.match(lines[0] ?? '', /km-config\.yaml:1:11: timezone: expected an IANA time zone/);
});

test('operatorPrivateFiles: the config files read, the store with its side files, the GitHub App key', async () => {
  const r = await load({ [USER]: 'github_private_key_file: ~/keys/app.pem\n', [PROJECT]: 'store:\n  path: data/km.db\n' }, { HOME: '/home/op' });
  const ctx = { stateDir: HOME, cwd: CWD, env: { HOME: '/home/op' } };
  assert.deepEqual(operatorPrivateFiles(r, ctx), [
    USER, PROJECT,
    '/work/proj/data/km.db', '/work/proj/data/km.db-wal', '/work/proj/data/km.db-shm', '/work/proj/data/km.db-journal',
    '/home/op/keys/app.pem',
  ]);
  // Nothing configured: the default store in KM_HOME, no key, no files.
  const bare = await load({});
  assert.deepEqual(operatorPrivateFiles(bare, ctx), [`${HOME}/km.db`, `${HOME}/km.db-wal`, `${HOME}/km.db-shm`, `${HOME}/km.db-journal`]);
});
