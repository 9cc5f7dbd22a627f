/** `km info [--json]` (SPEC §14.2): what km is, where its state is, what it can run on. */
import { stringify } from 'yaml';
import { daemonStatus } from '../daemon/index.ts';
import { doctorContext } from './doctor-context.ts';
import { dockerSubstrate, localSubstrate, type SubstrateInfo } from './info-substrates.ts';
import { loadConfigView, type AwsView } from './config-view.ts';
import { writeJson } from './output.ts';
import type { CommandModule } from './spec.ts';
import { KM_VERSION } from './version.ts';

export interface InfoBody {
  version: string;
  config_files: string[];
  state_dir: string;
  store: { kind: 'sqlite' | 'dynamodb'; location: string | null };
  /** Effective operator config, secrets masked. */
  config: unknown;
  daemon: { running: boolean; pid: number | null; version: string | null; socket: string; uptime_s: number | null };
  substrates: Record<'local' | 'docker' | 'ec2' | 'ecs', SubstrateInfo>;
  email_domain: string | null;
  aws: AwsView | null;
}

const awsSubstrate = (aws: AwsView | null): SubstrateInfo => ({
  available: false,
  reason: aws === null ? 'AWS is not configured (see km init)' : 'the AWS substrates are not available in this version',
});

export function renderInfo(i: InfoBody): string {
  const sub = (name: string, s: SubstrateInfo) => `  ${name.padEnd(7)} ${s.available ? 'available' : `unavailable: ${s.reason}`}`;
  const d = i.daemon;
  return [
    `version      ${i.version}`,
    `config       ${i.config_files.length > 0 ? i.config_files.join(', ') : '(none; defaults)'}`,
    `state dir    ${i.state_dir}`,
    `store        ${i.store.kind} ${i.store.location ?? ''}`.trimEnd(),
    `daemon       ${d.running ? `running, pid ${d.pid}, version ${d.version}, up ${d.uptime_s}s` : 'not running'} (${d.socket})`,
    `email domain ${i.email_domain ?? '(not configured)'}`,
    `aws          ${i.aws === null ? 'not configured' : `region ${i.aws.region ?? '(unset)'}, prefix ${i.aws.resource_prefix}`}`,
    'substrates',
    ...(['local', 'docker', 'ec2', 'ecs'] as const).map((k) => sub(k, i.substrates[k])),
    'effective config (secrets masked)',
    ...stringify(i.config).trimEnd().split('\n').map((l) => `  ${l}`),
  ].join('\n') + '\n';
}

export const infoCommand: CommandModule = {
  async run(ctx) {
    const cfg = await loadConfigView({ env: ctx.env, cwd: ctx.cwd });
    const stateDir = cfg.stateDir;
    const [daemon, local, docker] = await Promise.all([daemonStatus({ env: ctx.env, stateDir }), localSubstrate(doctorContext({ env: ctx.env, cwd: ctx.cwd, nowMs: ctx.clock.now() })), dockerSubstrate()]);
    const body: InfoBody = {
      version: KM_VERSION,
      config_files: cfg.files,
      state_dir: stateDir,
      store: cfg.store,
      config: cfg.masked,
      daemon: { running: daemon.running, pid: daemon.pid, version: daemon.version, socket: daemon.socket, uptime_s: daemon.uptime_s },
      substrates: { local, docker, ec2: awsSubstrate(cfg.aws), ecs: awsSubstrate(cfg.aws) },
      email_domain: cfg.emailDomain,
      aws: cfg.aws,
    };
    if (ctx.global.json) writeJson(ctx.io, body);
    else ctx.io.stdout.write(renderInfo(body));
  },
};
