import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { descendants, findDescendant, innerPid, isAlive, namespaceMembers, readStat, refOf } from './proctree.ts';

test('stat, identity by start time, descendants and namespace membership', async () => {
  const me = readStat(process.pid);
  assert.ok(me && me.ppid > 0 && me.startTime > 0);
  const ref = refOf(process.pid);
  assert.ok(ref && isAlive(ref));
  assert.equal(isAlive({ pid: process.pid, startTime: (ref?.startTime ?? 0) + 1 }), false, 'a recycled pid is not ours');
  assert.equal(innerPid(process.pid), process.pid);
  const child = spawn('sleep', ['5']);
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(descendants(process.pid).includes(child.pid as number));
    assert.ok(namespaceMembers(process.pid).includes(child.pid as number));
  } finally {
    child.kill('SIGKILL');
  }
});

test('findDescendant reads only newer pids first and falls back to every entry (pid wrap-around)', async () => {
  const child = spawn('sh', ['-c', 'sleep 5 & wait']);
  try {
    await new Promise((r) => setTimeout(r, 100));
    const sleeper = descendants(child.pid as number)[0];
    assert.ok(sleeper !== undefined && sleeper !== child.pid);
    const isSleeper = (p: number): boolean => p === sleeper;
    assert.equal(findDescendant(process.pid, child.pid as number, isSleeper), sleeper);
    // As if the pids had wrapped: nothing from `since` on, found by the full scan.
    assert.equal(findDescendant(process.pid, (sleeper as number) + 1_000_000, isSleeper), sleeper);
    assert.equal(findDescendant(process.pid, 1, () => false), undefined);
    assert.deepEqual(descendants(process.pid, (sleeper as number) + 1), [], 'minPid skips older entries');
  } finally {
    child.kill('SIGKILL');
  }
});
