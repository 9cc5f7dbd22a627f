/**
 * Helpers for the agent-run end-to-end tests: a temp KM_HOME whose operator config maps
 * api.anthropic.com to a fake Anthropic API on 127.0.0.1 (trusted through
 * `gateway.extra_ca_bundle`), a profile that runs the real Claude Code CLI from
 * node_modules, and bin/km runs.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { startFakeAnthropic, type FakeAnthropic, type LoggedRequest } from '../support/fake-anthropic.ts';
import { destroyAllAndStop, runKm, type Out } from './lifecycle-support.ts';

export const CLAUDE_BIN = resolve(import.meta.dirname, '../../node_modules/.bin/claude');

export function claudeMissing(): string | null {
  return existsSync(CLAUDE_BIN) ? null : 'needs the Claude Code CLI in node_modules/.bin/claude';
}

export interface AgentEnv {
  dir: string;
  home: string;
  fake: FakeAnthropic;
  env: NodeJS.ProcessEnv;
  km(args: string[], opts?: { stdin?: string; extraEnv?: NodeJS.ProcessEnv }): Promise<Out>;
  /** Creates a sandbox `alias` from the agent profile (extra YAML lines under `spec:`). */
  create(alias: string, specExtra?: string): Promise<void>;
}

export function profileYaml(name: string, specExtra = ''): string {
  const bin = dirname(CLAUDE_BIN);
  return `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: ${name}
spec:
  lifecycle: { ttl: "2h", idleTimeout: "1h", teardownPolicy: destroy, maxLifetime: "3h" }
  execution:
    env:
      PATH: "${bin}:/usr/local/bin:/usr/bin:/bin"
      ANTHROPIC_API_KEY: "sk-ant-fake-key"
      DISABLE_AUTOUPDATER: "1"
      DISABLE_TELEMETRY: "1"
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1"
  network:
    egress:
      allowedHosts: ["api.anthropic.com"]
${specExtra}`;
}

/** Runs bin/km with the given environment, feeding `stdin`. */
export const kmIn = runKm;

export async function agentEnv(t: TestContext): Promise<AgentEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'km-e2e-agent-'));
  const home = join(dir, 'home');
  const fake = await startFakeAnthropic();
  const caFile = join(dir, 'fake-ca.pem');
  await writeFile(caFile, fake.caPem);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KM_HOME: home,
    NO_COLOR: '1',
    TZ: 'UTC',
    KM_GATEWAY_HOST_OVERRIDES: `api.anthropic.com=127.0.0.1:${fake.httpsPort}`,
    KM_GATEWAY_EXTRA_CA_BUNDLE: caFile,
    KM_GATEWAY_UPSTREAM_DNS: '127.0.0.1:9',
  };
  const km = (args: string[], o: { stdin?: string; extraEnv?: NodeJS.ProcessEnv } = {}) => kmIn(args, { ...env, ...(o.extraEnv ?? {}) }, dir, o.stdin);
  t.after(async () => {
    await destroyAllAndStop((args) => km(args));
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir, home, fake, env, km,
    async create(alias, specExtra = '') {
      const file = join(dir, `${alias}.yaml`);
      await writeFile(file, profileYaml(`agent-${alias}`, specExtra));
      const o = await km(['create', file, '--alias', alias]);
      if (o.code !== 0) throw new Error(`km create exited ${o.code}: ${o.stderr}`);
    },
  };
}

/** Every user text block the fake received (the prompts as Claude Code sent them). */
export function userTexts(requests: readonly LoggedRequest[]): string[] {
  const out: string[] = [];
  for (const r of requests) {
    const msgs = (r.body as { messages?: Array<{ role: string; content: unknown }> } | null)?.messages ?? [];
    for (const m of msgs) {
      if (m.role !== 'user') continue;
      if (typeof m.content === 'string') out.push(m.content);
      else if (Array.isArray(m.content)) for (const c of m.content as Array<{ type: string; text?: string }>) if (c.type === 'text' && c.text !== undefined) out.push(c.text);
    }
  }
  return out;
}
