/**
 * The launcher script run for real by /bin/sh on this host (no sandbox): argv fidelity,
 * stdin for big prompts, environment, exit codes, statuses, the run timeout and a cancel
 * marker. The run directory is written with the same tar the run service sends into sandboxes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runFiles, type RunFilesInput } from './launcher.ts';
import { tarOf } from './sandbox-io.ts';

const hostile = `it's "quoted" $(touch /tmp/pwned) \`id\` ; echo $HOME\nline2 && exit 1\n\n`;

function setup(t: TestContext, input: Partial<RunFilesInput> & { argv: string[] }): string {
  const root = mkdtempSync(join(tmpdir(), 'km-launcher-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'run');
  const files = runFiles({ prompt: 'p', stdinFromPrompt: false, env: {}, unset: [], timeoutS: 60, ...input });
  spawnSync('mkdir', [dir]);
  const r = spawnSync('tar', ['-x', '-C', dir], { input: tarOf(files) });
  assert.equal(r.status, 0, r.stderr.toString());
  return dir;
}

function launch(dir: string, env: NodeJS.ProcessEnv = {}): Promise<number | null> {
  return new Promise((resolve) => {
    const c = spawn('/bin/sh', [join(dir, 'launch.sh'), dir], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'ignore' });
    c.on('close', (code) => resolve(code));
  });
}

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

/** A fake agent that prints its argv NUL-separated, then stdin, then two variables. */
function fakeAgent(dir: string): string {
  const p = join(dir, '..', 'agent.sh');
  writeFileSync(p, '#!/bin/sh\nprintf "%s\\0" "$@"\nprintf "[stdin:"; cat; printf "]"\nprintf "%s|%s" "${KM_T_SET-}" "${KM_T_GONE-unset}"\nexit "${KM_T_EXIT:-0}"\n');
  chmodSync(p, 0o755);
  return p;
}

test('argv arrives verbatim, one element per argument; env set and unset; succeeded', async (t) => {
  const dir = setup(t, { argv: ['placeholder'] });
  const agent = fakeAgent(dir);
  const dir2 = setup(t, { argv: [agent, '-p', hostile, '', '--x'], env: { KM_T_SET: 'a b $(c)' }, unset: ['KM_T_GONE'] });
  rmSync('/tmp/pwned', { force: true });
  await launch(dir2, { KM_T_GONE: 'present' });
  const out = read(dir2, 'output.json');
  const [args, rest] = [out.slice(0, out.lastIndexOf('\0') + 1), out.slice(out.lastIndexOf('\0') + 1)];
  assert.deepEqual(args.split('\0').slice(0, -1), ['-p', hostile, '', '--x']);
  assert.equal(rest, '[stdin:]a b $(c)|unset');
  assert.equal(existsSync('/tmp/pwned'), false);
  assert.deepEqual([read(dir2, 'status'), read(dir2, 'exit_code')], ['succeeded\n', '0\n']);
  assert.ok(Number(read(dir2, 'ended_at')) >= Number(read(dir2, 'started_at')));
});

test('big prompts go through stdin; a non-zero exit is failed with its code', async (t) => {
  const big = 'y'.repeat(150 * 1024) + '\n$(x)\n';
  const dir0 = setup(t, { argv: ['x'] });
  const agent = fakeAgent(dir0);
  const dir = setup(t, { argv: [agent, '-p'], prompt: big, stdinFromPrompt: true, env: { KM_T_EXIT: '7' } });
  await launch(dir);
  assert.ok(read(dir, 'output.json').includes(`[stdin:${big}]`));
  assert.deepEqual([read(dir, 'status'), read(dir, 'exit_code')], ['failed\n', '7\n']);
});

test('the run timeout ends the agent with SIGTERM and records timed_out', async (t) => {
  const dir = setup(t, { argv: ['sleep', '30'], timeoutS: 1 });
  const started = Date.now();
  await launch(dir);
  assert.ok(Date.now() - started < 10_000, 'ended long before the agent would have');
  assert.deepEqual([read(dir, 'status'), read(dir, 'exit_code')], ['timed_out\n', '143\n']);
});

test('an agent that ignores SIGTERM is killed after the grace period', { timeout: 30_000 }, async (t) => {
  const dir = setup(t, { argv: ['sh', '-c', 'trap "" TERM; sleep 40 & wait; sleep 40'], timeoutS: 1 });
  const started = Date.now();
  await launch(dir);
  const took = Date.now() - started;
  assert.ok(took >= 10_000 && took < 20_000, `took ${took} ms`);
  assert.deepEqual([read(dir, 'status'), read(dir, 'exit_code')], ['timed_out\n', '137\n']);
});

test('a cancel marker and a signal give cancelled', async (t) => {
  const dir = setup(t, { argv: ['sleep', '30'] });
  const done = launch(dir);
  for (let i = 0; i < 100 && !existsSync(join(dir, 'agent.pid')); i++) await new Promise((r) => setTimeout(r, 50));
  writeFileSync(join(dir, 'stop_reason'), 'cancelled\n');
  process.kill(Number(read(dir, 'agent.pid')), 'SIGINT');
  await done;
  assert.deepEqual([read(dir, 'status'), read(dir, 'exit_code')], ['cancelled\n', '130\n']);
});

test('agent.pid appears only once the agent takes SIGINT, so an immediate cancel is not lost', async (t) => {
  // An env that dawdles before it resets SIGINT widens the window in which the forked job
  // still ignores it (inherited from the launcher's background job).
  const dir = setup(t, { argv: ['sleep', '20'] });
  const bin = join(dir, '..', 'bin');
  spawnSync('mkdir', [bin]);
  const realEnv = spawnSync('sh', ['-c', 'command -v env']).stdout.toString().trim();
  writeFileSync(join(bin, 'env'), `#!/bin/sh\nsleep 0.4\nexec ${realEnv} "$@"\n`);
  chmodSync(join(bin, 'env'), 0o755);
  const started = Date.now();
  const done = launch(dir, { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
  while (!existsSync(join(dir, 'agent.pid')) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 5));
  const pid = Number(read(dir, 'agent.pid'));
  const sigIgn = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^SigIgn:\s*([0-9a-f]+)/m)?.[1] ?? '';
  assert.equal(BigInt(`0x${sigIgn}`) & 2n, 0n, `SIGINT still ignored when agent.pid appeared (SigIgn ${sigIgn})`);
  writeFileSync(join(dir, 'stop_reason'), 'cancelled\n');
  process.kill(pid, 'SIGINT');
  await done;
  assert.ok(Date.now() - started < 10_000, 'the SIGINT ended the agent');
  assert.deepEqual([read(dir, 'status'), read(dir, 'exit_code')], ['cancelled\n', '130\n']);
  assert.equal(existsSync(join(dir, '.ready')), false, 'the ready mark is removed');
});
