/**
 * `km at … --dry-run` end to end through bin/km (SPEC §11.3): JSON shape, exit codes, the
 * seed examples, refusals, and the examples shown in `km at --help`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scheduleCommands } from '../../src/cli/commands/schedule.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KM = join(ROOT, 'bin', 'km');
const NOW = ['--now', '2027-03-03T08:15:00+01:00', '--tz', 'Europe/Berlin'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'km-at-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KM_HOME: join(dir, 'km'), TZ: 'UTC', NO_COLOR: '1' };
  const run = (args: string[], extraEnv: Record<string, string> = {}, file = KM): Promise<Run> =>
    new Promise((resolve) => {
      execFile(file, args, { cwd: dir, env: { ...env, ...extraEnv }, timeout: 120_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  return { dir, run };
}

const json = (r: Run): Record<string, unknown> => {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

test('SPEC §11.2/§11.3 example, exactly', async (t) => {
  const { run } = setup(t);
  const [weekly, once] = await Promise.all([
    run(['at', 'every weekday at 7:45pm', 'stop', 'demo', '--dry-run', '--json', ...NOW]),
    run(['at', ...NOW, 'tomorrow 06:30', 'stop', 'sb-5e0c9a12', '--json', '--dry-run']),
  ]);
  assert.deepEqual(json(weekly), {
    input: 'every weekday at 7:45pm',
    kind: 'recurring',
    expression: '45 19 * * 1-5',
    aws_expression: 'cron(45 19 ? * MON-FRI *)',
    timezone: 'Europe/Berlin',
    next_fire_times: ['2027-03-03T19:45:00+01:00', '2027-03-04T19:45:00+01:00', '2027-03-05T19:45:00+01:00'],
    command: ['stop', 'demo'],
    name: 'km-at-stop-demo-every-weekday-at-7-45pm',
  });
  assert.equal(weekly.stderr, 'km: warning: no sandbox is called "demo" now; it will be looked up when the schedule fires\n');
  assert.deepEqual(json(once), {
    input: 'tomorrow 06:30',
    kind: 'once',
    expression: '2027-03-04T06:30:00+01:00',
    aws_expression: 'at(2027-03-04T06:30:00)',
    timezone: 'Europe/Berlin',
    next_fire_times: ['2027-03-04T06:30:00+01:00'],
    command: ['stop', 'sb-5e0c9a12'],
    name: 'km-at-stop-sb-5e0c9a12-tomorrow-06-30',
  });
  assert.match(once.stderr, /no sandbox sb-5e0c9a12 exists now/);
});

test('the seed examples', async (t) => {
  const { run } = setup(t);
  const goose = join(ROOT, 'profiles', 'goose.yaml');
  const cases: Array<[string[], Partial<Record<string, unknown>>]> = [
    [['in 2 hours', 'destroy', 'demo'], { kind: 'once', expression: '2027-03-03T10:15:00+01:00', command: ['destroy', 'demo'], name: 'km-at-destroy-demo-in-2-hours' }],
    [
      ['5pm tomorrow', 'agent', 'run', 'demo', '--prompt', 'nightly tests', '--auto-start'],
      { kind: 'once', aws_expression: 'at(2027-03-04T17:00:00)', command: ['agent', 'run', 'demo', '--prompt', 'nightly tests', '--auto-start'] },
    ],
    [
      ['every day at 9am', 'agent', 'run', 'demo', '--prompt', 'daily check', '--auto-start'],
      { expression: '0 9 * * *', aws_expression: 'cron(0 9 * * ? *)', name: 'km-at-agent-run-demo-every-day-at-9am' },
    ],
    [['10pm tomorrow', 'create', goose, '--alias', 'nightly'], { expression: '2027-03-04T22:00:00+01:00', name: 'km-at-create-nightly-10pm-tomorrow' }],
    [['every weekday at 11pm', 'kill', 'nightly'], { aws_expression: 'cron(0 23 ? * MON-FRI *)', command: ['destroy', 'nightly'], name: 'km-at-destroy-nightly-every-weekday-at-11pm' }],
    [
      ['6am tomorrow', 'agent', 'run', 'nightly', '--prompt', 'pull main, run tests', '--auto-start'],
      { next_fire_times: ['2027-03-04T06:00:00+01:00'], name: 'km-at-agent-run-nightly-6am-tomorrow' },
    ],
    [
      ['every monday at 9am', 'budget-add', 'nightly', '--ai', '5.00'],
      { expression: '0 9 * * 1', aws_expression: 'cron(0 9 ? * MON *)', next_fire_times: ['2027-03-08T09:00:00+01:00', '2027-03-15T09:00:00+01:00', '2027-03-22T09:00:00+01:00'] },
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => run(['at', ...args, '--dry-run', '--json', ...NOW])));
  cases.forEach(([args, expected], i) => {
    const out = json(results[i] as Run);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(out[k], v, `${args.join(' ')}: ${k}`);
  });
});

test('--cron, the schedule alias, --name, and the zone from the environment', async (t) => {
  const { run } = setup(t);
  const [cron, alias, named, envZone] = await Promise.all([
    run(['at', '--cron', '0 23 * * 1-5', 'kill', 'nightly', '--dry-run', '--json', ...NOW]),
    run(['schedule', 'every 2 hours', 'pause', '#3', '--dry-run', '--json', ...NOW]),
    run(['at', 'hourly', 'stop', 'demo', '--name', 'My Hourly Stop', '--dry-run', '--json', ...NOW]),
    run(['at', 'every day at 9am', 'stop', 'demo', '--dry-run', '--json', '--now', '2027-03-03T08:15:00+05:30'], { KM_TIMEZONE: 'Asia/Kolkata' }),
  ]);
  const c = json(cron);
  assert.equal(c.aws_expression, 'cron(0 23 ? * MON-FRI *)');
  assert.equal(c.name, 'km-at-destroy-nightly-0-23-1-5');
  const a = json(alias);
  assert.deepEqual([a.expression, a.aws_expression, a.command], ['rate(2 hours)', 'rate(2 hours)', ['pause', '3']]);
  assert.deepEqual(a.next_fire_times, ['2027-03-03T10:15:00+01:00', '2027-03-03T12:15:00+01:00', '2027-03-03T14:15:00+01:00']);
  assert.match(alias.stderr, /#3 is not a current sandbox number/);
  assert.equal(json(named).name, 'my-hourly-stop');
  const e = json(envZone);
  assert.equal(e.timezone, 'Asia/Kolkata');
  assert.deepEqual(e.next_fire_times, ['2027-03-03T09:00:00+05:30', '2027-03-04T09:00:00+05:30', '2027-03-05T09:00:00+05:30']);
});

test('human output', async (t) => {
  const { run } = setup(t);
  const r = await run(['at', 'every weekday at 7:45pm', 'stop', 'demo', '--dry-run', ...NOW]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^aws {9}cron\(45 19 \? \* MON-FRI \*\)$/m);
  assert.match(r.stdout, /^next {8}Wed 2027-03-03 19:45 \+01:00\n {12}Thu 2027-03-04 19:45 \+01:00\n {12}Fri 2027-03-05 19:45 \+01:00\n$/m);
});

test('refusals exit 2 with the message', async (t) => {
  const { run, dir } = setup(t);
  writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata: {name: broken}\nspec: {nonsense: 1}\n');
  const [leftover, humanLeftover, notSchedulable, unquoted, unquotedRecurring, notSaved, badProfile, badTz, badFlag, past] = await Promise.all([
    run(['at', '5pm tomorrow-ish', 'stop', 'demo', '--dry-run', '--json', ...NOW]),
    run(['at', '5pm tomorrow-ish', 'stop', 'demo', '--dry-run', ...NOW]),
    run(['at', 'in 2 hours', 'validate', 'x.yaml', '--dry-run', ...NOW]),
    run(['at', '5pm', 'tomorrow', 'stop', 'demo', '--dry-run', ...NOW]),
    run(['at', 'every', 'day', 'at', '9am', 'stop', 'demo', '--dry-run', ...NOW]),
    run(['at', 'in 2 hours', 'destroy', 'demo', '--json', ...NOW]),
    run(['at', 'in 2 hours', 'create', 'broken.yaml', '--dry-run', ...NOW]),
    run(['at', 'in 2 hours', 'stop', 'demo', '--dry-run', '--tz', 'Mars/Olympus']),
    run(['at', 'in 2 hours', 'stop', 'demo', '--force', '--dry-run']),
    run(['at', 'today at 8am', 'stop', 'demo', '--dry-run', ...NOW]),
  ]);
  assert.equal(leftover.code, 2);
  assert.equal(leftover.stdout, '');
  const err = JSON.parse(leftover.stderr) as { error: { code: string; message: string; details: unknown } };
  assert.equal(err.error.code, 'usage');
  assert.equal(err.error.message, 'could not understand "5pm tomorrow-ish": understood "5pm tomorrow", left "-ish"');
  assert.deepEqual(err.error.details, { understood: '5pm tomorrow', left: '-ish' });
  assert.equal(humanLeftover.code, 2);
  assert.match(humanLeftover.stderr, /^km: error: could not understand "5pm tomorrow-ish": understood "5pm tomorrow", left "-ish"\n {2}hint: /);
  assert.equal(notSchedulable.code, 2);
  assert.equal(
    notSchedulable.stderr,
    'km: error: "validate" cannot be scheduled; schedulable: create, destroy (kill), stop, pause, resume, extend, budget-add, agent run\n',
  );
  assert.equal(unquoted.code, 2);
  assert.match(unquoted.stderr, /hint: quote the whole time: km at '5pm tomorrow' stop demo/);
  assert.equal(unquotedRecurring.code, 2);
  assert.match(unquotedRecurring.stderr, /^km: error: could not understand "every"\n {2}hint: quote the whole time: km at 'every day at 9am' stop demo\n$/);
  assert.equal(notSaved.code, 2);
  assert.equal(notSaved.stdout, '');
  assert.deepEqual(JSON.parse(notSaved.stderr), {
    error: { code: 'usage', message: '--now only applies to --dry-run', hint: 'a saved schedule counts from when kmd saves it; drop --now' },
  });
  assert.equal(badProfile.code, 2);
  assert.match(badProfile.stderr, /broken\.yaml:\d+:\d+: /);
  assert.match(badProfile.stderr, /km: error: broken\.yaml is invalid/);
  assert.equal(badTz.code, 2);
  assert.match(badTz.stderr, /--tz: unknown time zone "Mars\/Olympus"/);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /unknown flag --force for km stop/);
  assert.equal(past.code, 2);
  assert.match(past.stderr, /"today at 8am" is in the past \(2027-03-03T08:00:00\+01:00; now is 2027-03-03T08:15:00\+01:00\)/);
});

test('the examples in km at --help run', async (t) => {
  const { run } = setup(t);
  const examples = scheduleCommands.flatMap((c) => c.examples ?? []);
  assert.ok(examples.length >= 3);
  const results = await Promise.all(examples.map((e) => run(['-c', e.replace(/^km /, `"${KM}" `)], {}, '/bin/sh')));
  results.forEach((r, i) => assert.equal(r.code, 0, `${examples[i]}: ${r.stderr}`));
  const help = await run(['at', '--help']);
  assert.equal(help.code, 0);
  for (const e of examples) assert.ok(help.stdout.includes(e), e);
});
