/**
 * Agent runs end to end (SPEC §10, §6.3): the real Claude Code CLI inside a real local
 * sandbox, through the sandbox's gateway (TLS intercepted with the sandbox CA) to a fake
 * Anthropic API on 127.0.0.1 mapped as api.anthropic.com.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOperatorConfig, sqliteStorePath } from '../../src/config/index.ts';
import { systemClock } from '../../src/core/clock.ts';
import { queuePrompts } from '../../src/agent/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { DEFAULT_REPLY } from '../support/fake-anthropic.ts';
import { agentEnv, claudeMissing, kmIn, userTexts, type AgentEnv } from './agent-support.ts';
import { checkoutHiddenInSandboxes, cannotRunSandboxes, KM } from './lifecycle-support.ts';

const skip = cannotRunSandboxes() ?? checkoutHiddenInSandboxes() ?? claudeMissing();
const RUN_ID = /^\d{8}T\d{6}Z$/;

type Doc = Record<string, unknown> & { km: Record<string, unknown> & { usage: Record<string, unknown> } };

const gatewayEvents = (e: AgentEnv, sandboxId: string) => withStore(e, (s) => s.queryEvents({ sandboxId }));

/** `km agent attach demo` on a pipe (the PTY is made inside the sandbox), then C-b d. */
function attachAndDetach(e: AgentEnv, args = ['agent', 'attach', 'demo']): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(KM, args, { env: e.env, cwd: e.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let sent = false;
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent) setTimeout(() => c.stdin.write('\x02d'), 1500);
      sent = true;
    });
    const killer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

async function withStore<T>(e: AgentEnv, fn: (store: Store) => Promise<T>): Promise<T> {
  const { config, stateDir } = await loadOperatorConfig({ env: e.env, cwd: e.dir });
  const store = await openSqliteStore(sqliteStorePath(config, { stateDir, cwd: e.dir, env: e.env }), { clock: systemClock });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const storedRun = (e: AgentEnv, sandboxId: string, runId: string) => withStore(e, (s) => s.getRun(sandboxId, runId));

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('usage errors come before anything runs (exit 2)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-e2e-agent-usage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, KM_HOME: join(dir, 'home'), NO_COLOR: '1' };
  const e = { km: (args: string[], o: { stdin?: string } = {}) => kmIn(args, env, dir, o.stdin) };
  const cases: Array<[string[], RegExp]> = [
    [['agent', 'run', 'nope'], /give exactly one of --prompt TEXT or --prompt-file F/],
    [['agent', 'run', 'nope', '--prompt', 'a', '--prompt-file', 'f'], /give exactly one of/],
    [['agent', 'run', 'nope', '--prompt', 'a', '--wait', '--interactive'], /--wait and --interactive cannot be combined/],
    [['agent', 'run', 'nope', '--prompt', 'a', '--claude', '--codex'], /choose one agent: --claude and --codex/],
    [['agent', 'run', 'nope', '--prompt', 'a', '--codex', '--no-bedrock'], /--no-bedrock does not apply to codex/],
    [['agent', 'run', 'nope', '--prompt', 'a', '--run-timeout', '90x'], /invalid duration "90x"/],
    [['agent', 'run', 'nope', '--prompt', '   '], /the prompt is empty/],
    [['agent', 'run', 'nope', '--prompt-file', 'missing.md'], /cannot read --prompt-file missing.md: ENOENT/],
    [['agent', 'results', 'nope', '--run', 'latest'], /no sandbox matches "nope"/],
  ];
  const outs = await Promise.all(cases.map(([args]) => e.km(args)));
  cases.forEach(([args, msg], i) => {
    assert.equal(outs[i]?.code, 2, `${args.join(' ')}: ${outs[i]?.stderr}`);
    assert.match(outs[i]?.stderr ?? '', msg);
  });
  const big = await e.km(['agent', 'run', 'nope', '--prompt-file', '-'], { stdin: 'x'.repeat(1024 * 1024 + 1) });
  assert.equal(big.code, 2);
  assert.match(big.stderr, /the prompt is 1048577 bytes; the limit is 1 MiB/);
  assert.equal(existsSync(join(dir, 'home', 'kmd.pid')), false, 'kmd was never started');
});

test('run --wait: Claude Code\'s result, prompts verbatim, run attribution, results and list', { skip: skip ?? false, timeout: 240_000 }, async (t) => {
  const e = await agentEnv(t);
  await e.create('demo');
  const timers = async () => {
    const st = JSON.parse((await e.km(['status', 'demo', '--json'])).stdout) as Record<string, unknown>;
    return [st.expires_at, st.idle_timeout_s ?? st.idle_timeout ?? null];
  };
  const before = await timers();
  const hostile = `it's "quoted" $(touch /tmp/pwned) \`id\` ; echo $HOME\nline2 && exit 1`;
  const r = await e.km(['agent', 'run', 'demo', '--prompt', hostile, '--wait']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Doc;
  assert.equal(doc.result, DEFAULT_REPLY.text);
  assert.equal(doc.type, 'result');
  assert.equal(typeof doc.total_cost_usd, 'number', 'Claude Code\'s own fields are kept');
  const km = doc.km;
  assert.match(String(km.run_id), RUN_ID);
  assert.deepEqual([km.alias, km.agent, km.status, km.exit_code], ['demo', 'claude', 'succeeded', 0]);
  assert.ok(Number(km.duration_ms) > 0);
  assert.ok(userTexts(e.fake.messageCalls()).includes(hostile), 'the prompt reached the API verbatim');
  assert.equal(e.fake.messageCalls()[0]?.headers['proxy-authorization'], undefined, 'the run credentials are consumed by the gateway');
  const ts = (await e.km(['exec', 'demo', '--', 'sh', '-c', 'test -e /tmp/pwned; echo $?'])).stdout;
  assert.equal(ts, '1\n', 'nothing in the prompt was executed');
  assert.deepEqual(await timers(), before, 'waiting on a run never changes the lifecycle timers');

  // Run attribution: the gateway saw the run id as the proxy user (SPEC §6.3).
  const sandboxId = String(km.sandbox_id);
  const events = await gatewayEvents(e, sandboxId);
  const ai = events.filter((ev) => ev.detail.host === 'api.anthropic.com');
  assert.ok(ai.length > 0, 'the gateway recorded the AI traffic');
  assert.ok(ai.every((ev) => ev.detail.run_id === km.run_id), JSON.stringify(ai.map((ev) => ev.detail)));
  const audit = events.filter((ev) => ev.source !== 'gateway' && ev.detail.run_id === km.run_id);
  assert.deepEqual(audit.map((ev) => ev.eventType).sort(), ['command', 'run.finished', 'run.started', ...(km.usage_mismatch === true ? ['agent.usage_mismatch'] : [])].sort());
  const command = audit.find((ev) => ev.eventType === 'command');
  assert.equal(command?.source, 'agent');
  assert.deepEqual((command?.detail.argv as string[]).slice(0, 3), ['claude', '-p', hostile]);
  assert.equal(audit.find((ev) => ev.eventType === 'run.finished')?.detail.status, 'succeeded');

  // Metered usage vs Claude Code's own usage.
  const self = doc.usage as Record<string, number>;
  if (Number(km.usage.requests) > 0) {
    assert.deepEqual(
      [km.usage.input_tokens, km.usage.output_tokens, km.usage.cache_read_tokens, km.usage.cache_write_tokens, km.usage.attribution],
      [self.input_tokens, self.output_tokens, self.cache_read_input_tokens, self.cache_creation_input_tokens, 'exact'],
    );
    assert.equal(km.usage_mismatch, false);
  } else {
    t.diagnostic('the gateway metered nothing (metering not wired into the gateway): usage_mismatch must say so');
    assert.equal(km.usage_mismatch, true);
  }

  // A 100 KB+ prompt from stdin, fire-and-forget, then results and list.
  const big = `${'lorem ipsum '.repeat(9000)}\n"$(id)" \`x\` end`;
  const ff = await e.km(['agent', 'run', 'demo', '--prompt-file', '-'], { stdin: big });
  assert.equal(ff.code, 0, ff.stderr);
  const m = /^Started run (\d{8}T\d{6}Z) on demo \(claude\); km agent results demo --run (\d{8}T\d{6}Z)\n$/.exec(ff.stdout);
  assert.ok(m && m[1] === m[2], ff.stdout);
  const runId = m[1]!;
  assert.ok(runId > String(km.run_id));
  // kmd's run watcher finalises it with nobody looking.
  const stored = await until('kmd to record the big run\'s result', async () => {
    const r = await storedRun(e, sandboxId, runId);
    return r && r.status !== 'running' ? r : undefined;
  }, 60_000);
  assert.equal(stored.status, 'succeeded');
  const res = await until('the big run to finish', async () => {
    const o = await e.km(['agent', 'result', 'demo', '--run', runId]);
    const d = JSON.parse(o.stdout) as Doc;
    return d.km.status === 'running' ? undefined : d;
  });
  assert.deepEqual([res.km.status, res.result], ['succeeded', DEFAULT_REPLY.text]);
  assert.ok(userTexts(e.fake.messageCalls()).includes(big), 'the big prompt arrived intact');
  const newest = JSON.parse((await e.km(['agent', 'results', 'demo'])).stdout) as Doc;
  assert.equal(newest.km.run_id, runId, 'results defaults to the newest run');

  const list = await e.km(['agent', 'list', 'demo']);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^RUN ID\s+AGENT\s+STATUS\s+STARTED\s+DURATION\s+COST\s+PROMPT$/);
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, new RegExp(`^${km.run_id}\\s+claude\\s+succeeded\\s+.*it's "quoted" \\$\\(touch /tmp/pwned\\) \`id\`…$`));
  const lj = JSON.parse((await e.km(['agent', 'list', 'demo', '--json'])).stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(lj.map((x) => x.run_id), [km.run_id, runId]);

  // Queued prompts (as `km create --prompt` stores them) are started by kmd, in order.
  const queued = await withStore(e, async (store) => {
    const sb = await store.getSandbox(sandboxId);
    return queuePrompts(store, sb!, [{ prompt: 'queued one' }, { prompt: 'queued two' }], systemClock);
  });
  const finished = await until('the queued runs to finish', async () => {
    const rs = await Promise.all(queued.map((q) => storedRun(e, sandboxId, q.runId)));
    return rs.every((r) => r && (r.status === 'succeeded' || r.status === 'failed')) ? rs : undefined;
  }, 90_000);
  assert.deepEqual(finished.map((r) => r?.status), ['succeeded', 'succeeded']);
  assert.ok((finished[0]?.endedAtMs ?? 0) <= (finished[1]?.startedAtMs ?? 0), 'one after the other');
  const texts = userTexts(e.fake.messageCalls());
  assert.ok(texts.indexOf('queued one') >= 0 && texts.indexOf('queued one') < texts.indexOf('queued two'));

  // The mirror inside the sandbox.
  const mirror = await e.km(['exec', 'demo', '--', 'sh', '-c', `cd /workspace/.km-agent/runs/${runId} && cat status exit_code && head -c 40 result.json`]);
  assert.match(mirror.stdout, /^succeeded\n0\n\{"/);
});

test('cli.agent and profile args, attach, cancel, run timeout, a paused sandbox, --auto-start and kill -9 of kmd', { skip: skip ?? false, timeout: 300_000 }, async (t) => {
  const e = await agentEnv(t);
  await e.create('demo', '  cli:\n    agent: codex\n    claudeArgs: ["--model", "claude-profile-model"]\n');

  // The profile's default agent is honoured (Codex is not installed here: the run fails, as codex).
  const codex = await e.km(['agent', 'run', 'demo', '--prompt', 'hi', '--wait']);
  assert.equal(codex.code, 1, codex.stderr);
  const cdoc = JSON.parse(codex.stdout) as Doc;
  assert.deepEqual([cdoc.km.agent, cdoc.km.status, cdoc.km.exit_code, cdoc.result], ['codex', 'failed', 127, null]);
  assert.match(String(cdoc.stderr_tail), /codex.*(not found|No such file)/);
  // --claude overrides it; profile args come first, the user's `-- args` last (and win).
  const calls0 = e.fake.messageCalls().length;
  const cl = await e.km(['agent', 'run', 'demo', '--claude', '--prompt', 'which model', '--wait']);
  assert.equal(cl.code, 0, cl.stderr);
  assert.equal((e.fake.messageCalls()[calls0]?.body as { model?: string }).model, 'claude-profile-model');
  const calls1 = e.fake.messageCalls().length;
  const user = await e.km(['agent', 'run', 'demo', '--claude', '--prompt', 'which model', '--wait', '--', '--model', 'claude-user-model']);
  assert.equal(user.code, 0, user.stderr);
  assert.equal((e.fake.messageCalls()[calls1]?.body as { model?: string }).model, 'claude-user-model');
  const noSession = await e.km(['agent', 'attach', 'demo']);
  assert.deepEqual([noSession.code, noSession.stderr], [2, 'km: error: no agent session on demo\n']);

  // Cancel a --wait run from another km: the waiting one exits 5.
  e.fake.script([{ ...DEFAULT_REPLY, delayMs: 60_000 }]);
  const waiting = new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const c = spawn(KM, ['agent', 'run', 'demo', '--claude', '--prompt', 'slow one', '--wait'], { env: e.env, cwd: e.dir, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ code, stdout: out }));
  });
  await until('the slow request', async () => (e.fake.messageCalls().length > calls1 + 1 ? true : undefined));
  // Attach to the running session and detach with C-b d: the run keeps going.
  const att = await attachAndDetach(e);
  assert.equal(att.code, 0, att.stdout);
  assert.match(att.stdout, /Z\/output\.json/);
  assert.match(att.stdout, /\[detached \(from session km-agent-\d{8}T\d{6}Z\)\]/);
  const cancel = await e.km(['agent', 'cancel', 'demo']);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, /^Cancelled run \d{8}T\d{6}Z on demo\n$/);
  const w = await waiting;
  assert.equal(w.code, 5);
  assert.equal((JSON.parse(w.stdout) as Doc).km.status, 'cancelled');
  // --interactive starts the run attached; detaching leaves it running and names it.
  const inter = await attachAndDetach(e, ['agent', 'run', 'demo', '--claude', '--prompt', 'interactive one', '--interactive']);
  assert.equal(inter.code, 0, inter.stderr);
  const im = /Detached from run (\d{8}T\d{6}Z) on demo; km agent results demo --run (\d{8}T\d{6}Z)\n$/.exec(inter.stderr);
  assert.ok(im && im[1] === im[2], inter.stderr);
  const ir = JSON.parse((await e.km(['agent', 'results', 'demo', '--run', im[1]!])).stdout) as Doc;
  assert.equal(ir.km.status, 'running');
  assert.match((await e.km(['agent', 'cancel', 'demo', '--run', im[1]!])).stdout, /^Cancelled run /);
  const none = await e.km(['agent', 'cancel', 'demo']);
  assert.deepEqual([none.code, none.stderr], [2, 'km: error: no running agent run on demo\n']);

  // Run timeout: exit 4, timed_out.
  const to = await e.km(['agent', 'run', 'demo', '--claude', '--prompt', 'slow two', '--run-timeout', '3s', '--wait']);
  assert.equal(to.code, 4, to.stderr);
  assert.equal((JSON.parse(to.stdout) as Doc).km.status, 'timed_out');

  // A paused sandbox is refused without --auto-start and resumed with it.
  e.fake.script([DEFAULT_REPLY]);
  assert.equal((await e.km(['pause', 'demo'])).code, 0);
  const refused = await e.km(['agent', 'run', 'demo', '--prompt', 'hi']);
  assert.deepEqual([refused.code, refused.stderr], [1, 'km: error: demo is paused; add --auto-start or run km resume demo\n']);
  const auto = await e.km(['agent', 'run', 'demo', '--claude', '--prompt', 'hi', '--auto-start', '--wait']);
  assert.equal(auto.code, 0, auto.stderr);
  assert.equal((JSON.parse(auto.stdout) as Doc).km.status, 'succeeded');

  // kill -9 of kmd while a run waits for the API: the run lives on and its result is recorded.
  e.fake.script([{ ...DEFAULT_REPLY, delayMs: 4000 }, DEFAULT_REPLY]);
  const calls = e.fake.messageCalls().length;
  const ff = await e.km(['agent', 'run', 'demo', '--claude', '--prompt', 'survive', '--json']);
  const started = JSON.parse(ff.stdout) as { run_id: string; status: string };
  assert.equal(started.status, 'running');
  await until('the request in flight', async () => (e.fake.messageCalls().length > calls ? true : undefined));
  process.kill(Number(readFileSync(join(e.home, 'kmd.pid'), 'utf8')), 'SIGKILL');
  assert.equal((await e.km(['daemon', 'start'])).code, 0);
  const final = await until('the run to finish after the restart', async () => {
    const d = JSON.parse((await e.km(['agent', 'results', 'demo', '--run', started.run_id])).stdout) as Doc;
    return d.km.status === 'running' ? undefined : d;
  }, 120_000);
  assert.deepEqual([final.km.status, final.result], ['succeeded', DEFAULT_REPLY.text]);
});

test('budget_exhausted: once the AI budget is spent the gateway refuses, the run ends budget_exhausted (exit 3)', { skip: skip ?? false, timeout: 240_000 }, async (t) => {
  const e = await agentEnv(t);
  await e.create('demo', '  budget:\n    ai:\n      maxSpendUSD: 0.001\n');
  const first = await e.km(['agent', 'run', 'demo', '--prompt', 'spend it', '--wait']);
  const doc = JSON.parse(first.stdout) as Doc;
  assert.ok(Number(doc.km.usage.requests) > 0, 'the gateway metered the run');
  assert.equal(first.code, 0, first.stderr);
  const second = await e.km(['agent', 'run', 'demo', '--prompt', 'one more', '--wait']);
  assert.equal(second.code, 3, second.stderr);
  const d2 = JSON.parse(second.stdout) as Doc;
  assert.equal(d2.km.status, 'budget_exhausted');
  assert.ok(Number(d2.km.policy_denials) >= 1);
  assert.equal((d2.km.budget as Record<string, unknown>).stopped_by, 'ai');
});
