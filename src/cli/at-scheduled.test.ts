import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KmError } from '../core/errors.ts';
import { parseSandboxRef, scheduleTarget, validateScheduledCommand } from './at-scheduled.ts';

const usage = (re: RegExp) => (e: unknown) => e instanceof KmError && e.code === 'usage' && e.exitCode === 2 && re.test(e.message);
const NOT_SCHEDULABLE = 'cannot be scheduled; schedulable: create, destroy (kill), stop, pause, resume, extend, budget-add, agent run';

test('every schedulable command, in canonical form', () => {
  const cases: Array<[string[], string[], string]> = [
    [['stop', 'demo'], ['stop', 'demo'], 'demo'],
    [['pause', 'SB-5E0C9A12'], ['pause', 'sb-5e0c9a12'], 'sb-5e0c9a12'],
    [['resume', '#3'], ['resume', '3'], '3'],
    [['destroy', 'demo'], ['destroy', 'demo'], 'demo'],
    [['kill', 'nightly'], ['destroy', 'nightly'], 'nightly'],
    [['kill', 'nightly', '--yes'], ['destroy', 'nightly', '--yes'], 'nightly'],
    [['extend', 'demo', '2h'], ['extend', 'demo', '2h'], 'demo'],
    [['extend', 'demo', '--idle', '30 minutes'], ['extend', 'demo', '--idle', '30 minutes'], 'demo'],
    [['budget-add', 'nightly', '--ai', '5.00'], ['budget-add', 'nightly', '--ai', '5.00'], 'nightly'],
    [['budget', 'add', 'nightly', '--compute=2', '--ai', '1'], ['budget-add', 'nightly', '--ai', '1', '--compute', '2'], 'nightly'],
    [
      ['agent', 'run', 'nightly', '--auto-start', '--prompt', 'pull main, run tests', '--codex', '--run-timeout', '2 hours', '--', '--model', 'x'],
      ['agent', 'run', 'nightly', '--prompt', 'pull main, run tests', '--auto-start', '--codex', '--run-timeout', '2 hours', '--', '--model', 'x'],
      'nightly',
    ],
    [['create', 'profiles/goose.yaml', '--alias', 'nightly'], ['create', 'profiles/goose.yaml', '--alias', 'nightly'], 'nightly'],
    [['create', 'profiles/goose.yaml', '--docker', '--ttl', '8h', '--ai', '2.5', '--prompt', 'a', '--prompt', 'b'], ['create', 'profiles/goose.yaml', '--ttl', '8h', '--docker', '--ai', '2.5', '--prompt', 'a', '--prompt', 'b'], 'goose'],
  ];
  for (const [input, argv, target] of cases) {
    const cmd = validateScheduledCommand(input);
    assert.deepEqual(cmd.argv, argv, input.join(' '));
    assert.equal(scheduleTarget(cmd), target, input.join(' '));
  }
});

test('commands that cannot be scheduled', () => {
  assert.throws(() => validateScheduledCommand(['validate', 'x.yaml']), usage(new RegExp(`^"validate" ${NOT_SCHEDULABLE.replace(/[()]/g, '\\$&')}$`)));
  assert.throws(() => validateScheduledCommand(['agent', 'results', 'demo']), usage(/^"agent results" cannot be scheduled/));
  assert.throws(() => validateScheduledCommand(['agent-run', 'demo']), usage(/^"agent-run" cannot be scheduled/));
  assert.throws(() => validateScheduledCommand(['shell', 'demo']), usage(/^"shell" cannot be scheduled/));
  assert.throws(() => validateScheduledCommand(['toString']), usage(/^"toString" cannot be scheduled/));
});

test('unknown flags and bad values are refused (exit 2)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['stop', 'demo', '--force'], /unknown flag --force for km stop/],
    [['stop'], /missing argument <sb>/],
    [['stop', 'a', 'b'], /unexpected argument "b"/],
    [['stop', 'Demo!'], /"Demo!" is not a sandbox reference/],
    [['stop', '#0'], /"#0" is not a sandbox reference/],
    [['extend', 'demo', '90x'], /invalid duration "90x": use forms like 45m, 2h30m, 1d/],
    [['extend', 'demo'], /nothing to extend; give a duration and\/or --idle/],
    [['budget-add', 'demo'], /budget-add needs --ai USD and\/or --compute USD/],
    [['budget-add', 'demo', '--ai', '-5'], /invalid amount "-5" for --ai/],
    [['budget-add', 'demo', '--ai', '0'], /invalid amount "0" for --ai/],
    [['budget-add', 'demo', '--compute', 'lots'], /invalid amount "lots" for --compute/],
    [['agent', 'run', 'demo'], /agent run needs --prompt TEXT or --prompt-file F/],
    [['agent', 'run', 'demo', '--prompt', 'a', '--prompt-file', 'f'], /either --prompt or --prompt-file, not both/],
    [['agent', 'run', 'demo', '--prompt-file', '-'], /cannot read its prompt from stdin/],
    [['agent', 'run', 'demo', '--prompt', 'a', '--claude', '--goose'], /choose one agent, not --claude and --goose/],
    [['agent', 'run', 'demo', '--prompt', 'a', '--run-timeout', 'soon'], /--run-timeout: invalid duration "soon"/],
    [['agent', 'run', 'demo', '--prompt', 'a', '--wait'], /unknown flag --wait for km agent run/],
    [['agent', 'run', 'demo', '--prompt', '  '], /the prompt is empty/],
    [['create'], /missing argument <profile>/],
    [['create', 'p.yaml', '--alias', 'Bad_Alias'], /invalid alias "Bad_Alias"/],
    [['create', 'p.yaml', '--alias', 'sb-5e0c9a12'], /invalid alias "sb-5e0c9a12"/],
    [['create', 'p.yaml', '--ttl', '1 fortnight'], /--ttl: invalid duration/],
    [['create', 'p.yaml', '--substrate', 'moon'], /invalid value "moon" for --substrate/],
    [['create', 'p.yaml', '--docker', '--substrate', 'ec2'], /flag conflict: --docker and --substrate ec2/],
    [['create', 'p.yaml', '--wait'], /unknown flag --wait for km create/],
  ];
  for (const [input, re] of cases) assert.throws(() => validateScheduledCommand(input), usage(re), input.join(' '));
});

test('sandbox references by form', () => {
  assert.deepEqual(parseSandboxRef('sb-5e0c9a12'), { kind: 'id', value: 'sb-5e0c9a12' });
  assert.deepEqual(parseSandboxRef('Nightly'), { kind: 'alias', value: 'nightly' });
  assert.deepEqual(parseSandboxRef('#12'), { kind: 'number', value: '12' });
  assert.deepEqual(parseSandboxRef('3'), { kind: 'number', value: '3' });
  for (const bad of ['', '-x', 'a_b', 'x'.repeat(33), '#', '#x']) assert.throws(() => parseSandboxRef(bad), usage(/is not a sandbox reference/), bad);
});
