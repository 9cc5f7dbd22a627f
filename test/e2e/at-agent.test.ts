/**
 * A scheduled `agent run` fired by kmd (SPEC §11.4, §10.1): refused on a paused sandbox
 * without --auto-start, then with it the sandbox is resumed and the real Claude Code CLI runs
 * the prompt against the fake Anthropic API; the fire's detail names the run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createManualClock } from '../../src/core/clock.ts';
import { fireJson, type FireJson } from '../../src/scheduler/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { agentEnv, claudeMissing, userTexts, type AgentEnv } from './agent-support.ts';
import { checkoutHiddenInSandboxes, cannotRunSandboxes } from './lifecycle-support.ts';

const skip = cannotRunSandboxes() ?? checkoutHiddenInSandboxes() ?? claudeMissing();

async function waitFires(e: AgentEnv, name: string, n: number, timeoutMs = 60_000): Promise<FireJson[]> {
  const end = Date.now() + timeoutMs;
  const store = await openSqliteStore(join(e.home, 'km.db'), { clock: createManualClock(0) });
  try {
    for (;;) {
      const fires = (await store.fireHistory(name)).map(fireJson);
      if (fires.length >= n) return fires;
      if (Date.now() > end) assert.fail(`${name}: ${fires.length} fires after ${timeoutMs} ms`);
      await sleep(100);
    }
  } finally {
    await store.close();
  }
}

test('scheduled agent run: refused while paused, then auto-started and run', { skip: skip ?? false, timeout: 240_000 }, async (t) => {
  const e = await agentEnv(t);
  await e.create('demo');
  assert.equal((await e.km(['pause', 'demo'])).code, 0);

  const refused = await e.km(['at', 'in 2 seconds', 'agent', 'run', 'demo', '--prompt', 'not now', '--name', 'refused']);
  assert.equal(refused.code, 0, refused.stderr);
  const [r] = await waitFires(e, 'refused', 1);
  assert.deepEqual([r?.outcome, r?.detail], ['failed', 'demo is paused; add --auto-start or run km resume demo']);

  const prompt = 'scheduled: summarise the README';
  const saved = await e.km(['at', 'in 2 seconds', 'agent', 'run', 'demo', '--prompt', prompt, '--auto-start', '--name', 'nightly']);
  assert.equal(saved.code, 0, saved.stderr);
  assert.match(saved.stdout, /^Scheduled nightly — agent run demo --prompt 'scheduled: summarise the README' --auto-start, in 2 seconds \(UTC\); next /);
  const [f] = await waitFires(e, 'nightly', 1);
  assert.equal(f?.outcome, 'ok', f?.detail ?? '');
  const m = /^started run (\d{8}T\d{6}Z) \(claude\); km agent results demo --run \1$/.exec(f?.detail ?? '');
  assert.ok(m, f?.detail ?? '');
  const runId = m[1] as string;
  let status = '';
  for (let i = 0; i < 240 && status !== 'succeeded'; i++) {
    const res = await e.km(['agent', 'results', 'demo', '--run', runId, '--json']);
    status = res.code === 0 ? String((JSON.parse(res.stdout) as { km: { status: string } }).km.status) : '';
    if (status === 'failed' || status === 'cancelled') assert.fail(`run ${runId} ended ${status}: ${res.stdout}`);
    if (status !== 'succeeded') await sleep(500);
  }
  assert.equal(status, 'succeeded');
  assert.ok(userTexts(e.fake.messageCalls()).includes(prompt), 'the scheduled prompt reached the API');
  assert.ok(!userTexts(e.fake.messageCalls()).includes('not now'), 'the refused fire ran nothing');
});
