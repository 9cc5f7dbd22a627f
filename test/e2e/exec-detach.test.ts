/**
 * `km exec` waits for the command's output to close (as ssh does), so a job the command left
 * running with stdout open keeps km waiting; a SIGTERM or Ctrl-C then ends the wait and km
 * returns the command's exit code, leaving the job running in the sandbox.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { cannotRunSandboxes, KM, lifecycleEnv } from './lifecycle-support.ts';

test('a signal after the command has exited ends km exec\'s wait for output held by a job it left', { timeout: 90_000 }, async (t) => {
  const why = cannotRunSandboxes();
  if (why) return t.skip(why);
  const e = await lifecycleEnv(t);
  const made = await e.km(['create', 'sealed', '--alias', 'bg']);
  assert.equal(made.code, 0, made.stderr);
  const child = spawn(KM, ['exec', 'bg', '--', 'sh', '-c', '(sleep 120 &); echo started; exit 4'], { env: e.env, cwd: e.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number | null>((r) => child.on('close', r));
  while (!out.includes('started')) await new Promise((r) => setTimeout(r, 20));
  // The command has exited; km still waits because `sleep` holds its stdout.
  const early = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('waiting'), 1500))]);
  assert.equal(early, 'waiting');
  const t0 = Date.now();
  child.kill('SIGTERM');
  assert.equal(await closed, 4, "km returns the command's exit code");
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  // The job it left is still running in the sandbox.
  const ps = await e.km(['exec', 'bg', '--', 'sh', '-c', 'ps -eo args | grep -c "^sleep 120"']);
  assert.equal(ps.stdout.trim(), '1', ps.stderr);

  // While the command runs, the signal still goes to it.
  const running = spawn(KM, ['exec', 'bg', '--', 'sh', '-c', 'echo up; exec sleep 100'], { env: e.env, cwd: e.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => running.kill('SIGKILL'));
  let up = '';
  running.stdout.on('data', (d: Buffer) => (up += d.toString()));
  const done = new Promise<number | null>((r) => running.on('close', r));
  while (!up.includes('up')) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  running.kill('SIGTERM');
  assert.equal(await done, 143, 'the command was killed by SIGTERM');
});
