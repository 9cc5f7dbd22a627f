/**
 * `km create … --prompt A --prompt-file B --wait` (SPEC §10.6): prompts are checked before
 * anything is created, queued at create, run in order by the real Claude Code CLI through the
 * gateway, and waited for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentEnv, claudeMissing, profileYaml, userTexts } from './agent-support.ts';
import { checkoutHiddenInSandboxes, cannotRunSandboxes } from './lifecycle-support.ts';

const skip = cannotRunSandboxes() ?? checkoutHiddenInSandboxes() ?? claudeMissing();

test('create --prompt --prompt-file --wait queues runs that start in order and are waited for', { skip: skip ?? false, timeout: 300_000 }, async (t) => {
  const e = await agentEnv(t);
  const profile = join(e.dir, 'agent.yaml');
  await writeFile(profile, profileYaml('agent-queue'));
  await writeFile(join(e.dir, 'second.txt'), 'second prompt from a file\n');

  const noPrompt = await e.km(['create', profile, '--alias', 'early', '--wait']);
  assert.equal(noPrompt.code, 2);
  assert.match(noPrompt.stderr, /--wait needs --prompt or --prompt-file/);
  const missing = await e.km(['create', profile, '--alias', 'early', '--prompt-file', 'nope.txt']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read --prompt-file nope\.txt: ENOENT/);
  assert.deepEqual(JSON.parse((await e.km(['list', '--json'])).stdout), [], 'usage errors come before anything is created');

  const r = await e.km(['create', profile, '--alias', 'q', '--prompt', 'first prompt', '--prompt-file', 'second.txt', '--wait', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { id: string; queued_runs: string[]; results: Array<{ result: string; km: { run_id: string; status: string } }> };
  assert.equal(doc.queued_runs.length, 2);
  assert.deepEqual(doc.results.map((x) => [x.km.run_id, x.km.status]), doc.queued_runs.map((id) => [id, 'succeeded']));
  assert.ok(doc.queued_runs[0]! < doc.queued_runs[1]!, 'run ids sort in queue order');
  const texts = userTexts(e.fake.messageCalls());
  const first = texts.indexOf('first prompt');
  const second = texts.indexOf('second prompt from a file\n');
  assert.ok(first >= 0 && second > first, `both prompts reached the API, in order: ${JSON.stringify(texts)}`);
  const list = JSON.parse((await e.km(['agent', 'list', 'q', '--json'])).stdout) as Array<{ run_id: string; status: string }>;
  assert.deepEqual(list.map((x) => x.status), ['succeeded', 'succeeded']);
});
