/**
 * `km at` saved and run by a real kmd, through bin/km (SPEC §11.4): pause then resume a real
 * sandbox on time, a budget top-up, `max_sandboxes` read at fire time, a scheduled create
 * whose alias a later destroy resolves when it fires, a missing target failing while its
 * schedule continues, list/history/cancel, `schedule.fired` events, and schedules surviving
 * `kill -9` of kmd.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createManualClock } from '../../src/core/clock.ts';
import { fireJson } from '../../src/scheduler/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { cannotRunSandboxes, lifecycleEnv, type Env, type SandboxJson } from './lifecycle-support.ts';

const skip = cannotRunSandboxes();

interface ScheduleJson {
  name: string;
  command: string[];
  target: string | null;
  status: string;
  kind: string;
  next_fire_at: string | null;
  last_outcome: string | null;
}

interface FireJson {
  fire_at: string;
  executed_at: string;
  delay_s: number;
  outcome: string;
  detail: string | null;
}

/** Polls the store (cheaper than a km process per poll) until `pred` holds on the fires. */
async function waitFires(e: Env, name: string, pred: (f: FireJson[]) => boolean, timeoutMs = 30_000): Promise<FireJson[]> {
  const end = Date.now() + timeoutMs;
  const store = await openSqliteStore(join(e.home, 'km.db'), { clock: createManualClock(0) });
  try {
    for (;;) {
      const fires = (await store.fireHistory(name)).map(fireJson);
      if (pred(fires)) return fires;
      if (Date.now() > end) assert.fail(`${name}: fires never matched: ${JSON.stringify(fires)}`);
      await sleep(100);
    }
  } finally {
    await store.close();
  }
}

const status = async (e: Env, ref: string) => (await e.json<SandboxJson>(['status', ref])).status;

test('pause then resume a real sandbox on time, a budget top-up, the create limit at fire time; list, history, cancel', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const made = await e.km(['create', 'learn', '--alias', 'demo']);
  assert.equal(made.code, 0, made.stderr);
  const paused = await e.km(['at', 'in 2 seconds', 'pause', 'demo']);
  assert.equal(paused.code, 0, paused.stderr);
  // Seconds are shown unless they are :00 (a fire on the minute reads 11:36).
  assert.match(paused.stdout, /^Scheduled km-at-pause-demo-in-2-seconds — pause demo, in 2 seconds \(UTC\); next \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?\n$/);
  const savedAt = Date.now();
  const [fire] = await waitFires(e, 'km-at-pause-demo-in-2-seconds', (f) => f.length === 1);
  assert.equal(fire?.outcome, 'ok', fire?.detail ?? '');
  assert.equal(fire?.detail, 'Paused demo');
  assert.ok(fire.delay_s <= 1, `late by ${fire.delay_s}s`);
  assert.ok(Date.parse(String(fire.executed_at)) >= Date.parse(String(fire.fire_at)), `did not fire early: ${JSON.stringify(fire)}`);
  assert.ok(Date.parse(String(fire.fire_at)) >= savedAt - 2_000, 'fire time is about 2 s after saving');
  assert.equal(await status(e, 'demo'), 'paused');
  assert.equal((await e.json<SandboxJson>(['status', 'demo'])).paused_by, 'schedule', 'a scheduled pause says who paused');
  const viaCli = await e.json<FireJson[]>(['at', 'history', 'km-at-pause-demo-in-2-seconds']);
  assert.deepEqual(viaCli.map((f) => [f.outcome, f.detail]), [['ok', 'Paused demo']]);
  const human = await e.km(['at', 'history', 'km-at-pause-demo-in-2-seconds']);
  // A fire on the minute shows no seconds (11:36 rather than 11:36:00), and the column is as wide as its values.
  assert.match(human.stdout, /^(FIRE {17}DELAY {2}OUTCOME {2}DETAIL\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|FIRE {14}DELAY {2}OUTCOME {2}DETAIL\n\d{4}-\d\d-\d\d \d\d:\d\d) {2}[01]s {5}ok {7}Paused demo\n$/);

  // A number is saved as the id it names now.
  const resumed = await e.json<ScheduleJson>(['at', 'in 2 seconds', 'resume', '1']);
  const sb = await e.json<SandboxJson>(['status', 'demo']);
  assert.deepEqual(resumed.command, ['resume', sb.id]);
  assert.equal(resumed.name, `km-at-resume-${sb.id}-in-2-seconds`);
  await waitFires(e, resumed.name, (f) => f[0]?.outcome === 'ok');
  assert.equal(await status(e, 'demo'), 'running');

  // budget-add runs the top-up of `km budget add`.
  const limit = async () => (await e.json<{ budget: { ai: { limit_usd: number } } }>(['status', 'demo'])).budget.ai.limit_usd;
  const before = await limit();
  const topUp = await e.km(['at', 'in 2 seconds', 'budget-add', 'demo', '--ai', '1.5']);
  assert.equal(topUp.code, 0, topUp.stderr);
  const [added] = await waitFires(e, 'km-at-budget-add-demo-in-2-seconds', (f) => f.length === 1);
  assert.equal(added?.outcome, 'ok', added?.detail ?? '');
  assert.match(added?.detail ?? '', /^Budget for demo: AI \$0\.00 \/ \$\d+\.\d\d, compute /);
  assert.equal(await limit(), before + 1.5);

  const all = await e.json<ScheduleJson[]>(['at', 'list', '--all']);
  assert.deepEqual(all.map((s) => [s.name, s.status, s.last_outcome]), [
    ['km-at-budget-add-demo-in-2-seconds', 'completed', 'ok'],
    ['km-at-pause-demo-in-2-seconds', 'completed', 'ok'],
    [resumed.name, 'completed', 'ok'],
  ]);
  const empty = await e.km(['at', 'list']);
  assert.equal(empty.stdout, 'No schedules.\n');

  const tick = await e.km(['at', 'every 2 seconds', 'resume', 'demo', '--name', 'tick']);
  assert.equal(tick.code, 0, tick.stderr);
  const listed = await e.km(['at', 'list']);
  const stamp = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';
  assert.match(listed.stdout, new RegExp(`^NAME {2}COMMAND {2}TARGET {2}WHEN {13}NEXT {17}LAST +STATUS\\ntick {2}resume {3}demo {4}every 2 seconds {2}${stamp} {2}(-|${stamp} ok) +active\\n$`));
  await waitFires(e, 'tick', (f) => f.length >= 2);
  const cancelled = await e.km(['at', 'cancel', 'tick']);
  assert.equal(cancelled.stdout, 'Cancelled tick\n');
  const n = (await waitFires(e, 'tick', () => true)).length;
  await sleep(2500);
  assert.ok((await waitFires(e, 'tick', () => true)).length <= n + 1, 'no fires after cancel (one may have been running)');
  const unknown = await e.km(['at', 'cancel', 'nope']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'km: error: no schedule named "nope"\n  hint: see km at list (km at list --all shows finished ones)\n');

  // max_sandboxes is read when a create fires (here: changed after kmd started).
  writeFileSync(join(e.home, 'config.yaml'), 'max_sandboxes: 1\n');
  const extra = await e.km(['at', 'in 2 seconds', 'create', 'learn', '--alias', 'extra']);
  assert.equal(extra.code, 0, extra.stderr);
  const [refused] = await waitFires(e, 'km-at-create-extra-in-2-seconds', (f) => f.length === 1);
  assert.equal(refused?.outcome, 'failed');
  assert.equal(refused?.detail, 'limit reached: 1 of 1 sandboxes exist; destroy one or raise max_sandboxes');

  // Every fire left a redacted schedule.fired event on the sandbox.
  const store = await openSqliteStore(join(e.home, 'km.db'), { clock: createManualClock(0) });
  try {
    const events = await store.queryEvents({ types: ['schedule.fired'], sandboxId: sb.id });
    assert.ok(events.length >= 4, `${events.length} events`);
    assert.deepEqual(events[0]?.detail.schedule, 'km-at-pause-demo-in-2-seconds');
    assert.equal(events[0]?.source, 'kmd');
  } finally {
    await store.close();
  }
});

test('a scheduled create stores its profile; a destroy of its alias resolves when it fires; a missing target fails and the schedule continues; kill -9 of kmd loses nothing', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const file = join(e.dir, 'nightly.yaml');
  writeFileSync(file, 'apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata:\n  name: nightly-box\nspec:\n  lifecycle: { ttl: "2h", idleTimeout: "1h", teardownPolicy: destroy }\n');
  const create = await e.km(['at', 'in 3 seconds', 'create', 'nightly.yaml', '--alias', 'nightly', '--ttl', '90m']);
  assert.equal(create.code, 0, create.stderr);
  assert.match(create.stdout, /^Scheduled km-at-create-nightly-in-3-seconds — create nightly.yaml --alias nightly --ttl 90m, in 3 seconds/);
  // The profile was resolved and stored when scheduling: later edits of the file do not matter.
  writeFileSync(file, 'this is: [not a profile\n');
  const ghost = await e.km(['at', 'every 2 seconds', 'destroy', 'ghost', '--name', 'ghost']);
  assert.equal(ghost.code, 0, ghost.stderr);
  assert.equal(ghost.stderr, 'km: warning: no sandbox is called "ghost" now; it will be looked up when the schedule fires\n');
  const [made] = await waitFires(e, 'km-at-create-nightly-in-3-seconds', (f) => f.length === 1, 60_000);
  assert.equal(made?.outcome, 'ok', made?.detail ?? '');
  const sb = await e.json<SandboxJson>(['status', 'nightly']);
  assert.equal(sb.created_by, 'schedule');
  assert.equal(sb.profile, 'nightly-box');
  assert.equal(Date.parse(String(sb.expires_at)) - Date.parse(String(sb.created_at)), 90 * 60_000, '--ttl was applied');
  assert.match(made?.detail ?? '', new RegExp(`^created ${sb.id} \\(nightly, #1\\) from nightly-box$`));

  const kill = await e.km(['at', 'in 3 seconds', 'kill', 'nightly']);
  assert.equal(kill.code, 0, kill.stderr);
  const gone = await waitFires(e, 'km-at-destroy-nightly-in-3-seconds', (f) => f.length === 1, 30_000);
  assert.equal(gone[0]?.outcome, 'ok', gone[0]?.detail ?? '');
  assert.equal(await status(e, sb.id), 'destroyed');

  const fails = await waitFires(e, 'ghost', (f) => f.length >= 2);
  assert.deepEqual(new Set(fails.map((f) => f.outcome)), new Set(['failed']));
  assert.equal(fails[0]?.detail, 'no sandbox matches "ghost" (not an id, alias or number; see km list)');

  // kill -9: the schedule is still listed and still fires after the restart.
  const pid = Number(readFileSync(join(e.home, 'kmd.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  await sleep(5000);
  const listed = await e.json<ScheduleJson[]>(['at', 'list']);
  assert.deepEqual(listed.map((s) => [s.name, s.status]), [['ghost', 'active']]);
  const after = await waitFires(e, 'ghost', (f) => f.some((x) => Date.parse(x.fire_at) > killedAt + 5000 && x.outcome === 'failed'));
  assert.ok(after.some((f) => f.outcome === 'skipped' && f.detail === 'skipped: daemon down'), JSON.stringify(after));
});
