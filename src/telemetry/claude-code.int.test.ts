/**
 * The OTLP receiver fed by the real Claude Code CLI with telemetry on (SPEC §13.4): the CLI
 * talks to a loopback fake of the Messages API and exports logs and metrics over OTLP/HTTP
 * protobuf to km's internal API, configured only by the variables km injects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRedactor } from '../audit/index.ts';
import { createInternalApi, listenInternalApi } from '../internal-api/index.ts';
import { mailKit } from '../mail/test-kit.ts';
import { startFakeAnthropic } from '../../test/support/fake-anthropic.ts';
import { createOtlpReceiver } from './index.ts';

const CLAUDE = resolve(import.meta.dirname, '../../node_modules/.bin/claude');

test('Claude Code exports its telemetry to the receiver', { skip: existsSync(CLAUDE) ? false : 'needs the Claude Code CLI in node_modules/.bin', timeout: 120_000 }, async (t) => {
  const k = await mailKit(t);
  const sb = await k.sandbox('web');
  const telemetry = createOtlpReceiver({ store: k.store, redactor: createRedactor(), clock: k.clock });
  const l = await listenInternalApi(createInternalApi({ sandboxId: sb.id, label: 'web', mail: k.mail, telemetry }), { port: 0 });
  t.after(() => l.close());
  const fake = await startFakeAnthropic();
  t.after(() => fake.close());
  const home = await mkdtemp(join(tmpdir(), 'km-cc-otel-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    ANTHROPIC_BASE_URL: fake.httpUrl,
    ANTHROPIC_API_KEY: 'sk-ant-fake-key',
    DISABLE_AUTOUPDATER: '1',
    // What km injects with observability.claudeTelemetry (prompts logged):
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://${l.address}`,
    OTEL_LOG_USER_PROMPTS: '1',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    OTEL_LOGS_EXPORT_INTERVAL: '500',
  };
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(CLAUDE, ['-p', 'telemetry check prompt', '--output-format', 'json'], { env, cwd: home, timeout: 90_000 }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  assert.equal(out.code, 0, out.stderr);
  const records = await k.store.queryTelemetry({ sandboxId: sb.id });
  const names = new Set(records.map((r) => r.name));
  assert.ok([...names].some((n) => n.startsWith('claude_code.')), `claude_code.* telemetry received: ${JSON.stringify([...names])}`);
  assert.ok(JSON.stringify(records).includes('telemetry check prompt'), 'the user prompt was logged (OTEL_LOG_USER_PROMPTS=1)');
});
