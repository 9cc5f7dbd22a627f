import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createPackScan, scanPack } from './pack.ts';
import { git } from '../../../test/support/git-server.ts';

const run = promisify(execFile);

/** A repository whose commits have long, nearly identical messages, so git deltifies them. */
async function similarCommits(dir: string, home: string): Promise<void> {
  await git(['init', '-q', '-b', 'main', dir], { home });
  for (let i = 0; i < 12; i++) {
    await writeFile(join(dir, 'f.txt'), `v${i}\n`);
    await git(['add', '-A'], { cwd: dir, home });
    const body = Array.from({ length: 60 }, (_, k) => `detail line ${k} of a long commit description that repeats`).join('\n');
    await git(['commit', '-q', '-m', `commit ${i}\n\n${body}`], { cwd: dir, home });
  }
}

async function expectedParents(dir: string, home: string): Promise<Map<string, string[]>> {
  const out = (await git(['rev-list', '--parents', '--all'], { cwd: dir, home })).stdout.trim().split('\n');
  return new Map(out.map((l) => { const [c, ...p] = l.split(' '); return [c as string, p]; }));
}

/** Ids of commits stored as deltas, from `git verify-pack -v` (delta rows carry a depth and a base). */
async function deltifiedCommits(packPath: string, home: string): Promise<string[]> {
  const out = (await git(['verify-pack', '-v', packPath], { home })).stdout;
  return out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === 'commit' && f.length >= 7).map((f) => f[0] as string);
}

test('scanPack reads git-made packs with OFS_DELTA and REF_DELTA commits', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'km-pack-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const home = join(tmp, 'home');
  const dir = join(tmp, 'repo');
  await similarCommits(dir, home);
  await git(['repack', '-adf', '-q', '--window=50', '--depth=50'], { cwd: dir, home });
  const packDir = join(dir, '.git', 'objects', 'pack');
  const packFile = (await readdir(packDir)).find((f) => f.endsWith('.pack')) as string;
  const expected = await expectedParents(dir, home);

  const ofsPack = await readFile(join(packDir, packFile));
  const deltas = await deltifiedCommits(join(packDir, packFile), home);
  assert.ok(deltas.length > 0, 'git stored at least one commit as a delta');
  const s1 = createPackScan(0, 20);
  scanPack(s1, ofsPack, true);
  assert.equal(s1.state, 'done');
  assert.deepEqual(new Map([...s1.commits].filter(([id]) => expected.has(id))), expected);
  assert.equal(s1.commits.size, expected.size);

  const refPackBase = join(tmp, 'refdelta');
  await run('sh', ['-c', `git rev-list --objects --all | git pack-objects -q --no-delta-base-offset --window=50 --depth=50 ${refPackBase}`], {
    cwd: dir, env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' },
  });
  const refFile = (await readdir(tmp)).find((f) => f.startsWith('refdelta') && f.endsWith('.pack')) as string;
  const refPack = await readFile(join(tmp, refFile));
  assert.ok((await deltifiedCommits(join(tmp, refFile), home)).length > 0, 'REF_DELTA pack has deltified commits');
  const s2 = createPackScan(0, 20);
  scanPack(s2, refPack, true);
  assert.equal(s2.state, 'done');
  assert.deepEqual(s2.commits, expected);
});
