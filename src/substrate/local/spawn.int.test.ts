/**
 * Exec into a sandbox with cgroups (root kmd): with km-spawn the launcher is created inside the
 * sandbox's v2 cgroup, without it the launcher moves there first. Either way every exec'd
 * process is in the sandbox's cgroup (so pause freezes it and limits apply), exit codes and
 * signals are the command's, and kill() reaches the command.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { createLocalSubstrate, localSubstrateAvailability } from '../index.ts';
import { nativeHelper } from '../../native/index.ts';
import { descendants, waitFor } from './proctree.ts';
import { runIn, scratch } from './test-helpers.ts';

const avail = localSubstrateAvailability();
const helper = nativeHelper('km-spawn');
const skip: string | false = !avail.ok ? (avail.reason ?? 'local sandboxes unavailable') : process.getuid?.() !== 0 ? 'needs root (cgroups)' : 'reason' in helper ? helper.reason : false;

describe('exec into the sandbox cgroup', { skip, concurrency: false }, () => {
  const s = scratch('km-spawn-');
  const spawnPath = 'path' in helper ? helper.path : null;
  const viaSpawn = createLocalSubstrate({ kmHome: s.kmHome, spawnHelper: spawnPath });
  const viaMove = createLocalSubstrate({ kmHome: s.kmHome, spawnHelper: null });
  const id = 'ks-00000001';
  after(async () => {
    await viaSpawn.destroy(id).catch(() => undefined);
    s.cleanup();
  });

  test('both launchers put the command in the sandbox v2 cgroup; codes and signals are the command\'s', async () => {
    await viaSpawn.create(s.spec(id));
    await viaMove.adopt(id, s.spec(id).stateDir);
    const rt = JSON.parse(readFileSync(`${s.spec(id).stateDir}/runtime.json`, 'utf8')) as { cgroups: { v2: string; v1: Record<string, string> } };
    assert.ok(rt.cgroups.v2, 'a v2 cgroup');
    const rel = rt.cgroups.v2.replace(/^\/sys\/fs\/cgroup\/unified/, '');
    for (const [name, sub] of [['km-spawn', viaSpawn], ['move', viaMove]] as const) {
      const h = await sub.exec(id, ['sleep', '30'], { stdio: ['ignore', 'ignore', 'ignore'] });
      const sleeper = await (async () => {
        let found: number | undefined;
        await waitFor(() => (found = descendants(h.pid).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep'))) !== undefined, 5000, 10);
        return found;
      })();
      assert.ok(sleeper, `${name}: the command runs`);
      assert.match(readFileSync(`/proc/${sleeper}/cgroup`, 'utf8'), new RegExp(`^0::${rel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `${name}: in the sandbox cgroup`);
      h.kill('SIGTERM');
      assert.equal(await h.exit, 143, `${name}: kill() reaches the command`);
      assert.equal((await runIn(sub, id, ['sh', '-c', 'exit 7'])).code, 7, `${name}: exit code`);
      assert.equal((await runIn(sub, id, ['sh', '-c', 'kill -9 $$'])).code, 137, `${name}: death by signal`);
      assert.equal((await runIn(sub, id, ['no-such-command-here'])).code, 127, `${name}: not found`);
      const out = await runIn(sub, id, ['sh', '-c', 'cat; echo err >&2'], { input: 'through stdin\n' });
      assert.deepEqual([out.stdout, out.stderr], ['through stdin\n', 'err\n'], `${name}: stdio`);
    }
  });

  test('a tree killed behind the substrate\'s back loses its cgroup when it is adopted', async () => {
    const dead = 'ks-00000002';
    const info = await viaSpawn.create(s.spec(dead));
    const rt = JSON.parse(readFileSync(`${s.spec(dead).stateDir}/runtime.json`, 'utf8')) as { cgroups: { v2: string } };
    assert.ok(existsSync(rt.cgroups.v2));
    process.kill(info.pid as number, 'SIGKILL');
    assert.ok(await waitFor(() => readFileSync(`${rt.cgroups.v2}/cgroup.procs`, 'utf8').trim() === '', 5000, 25), 'the tree is gone');
    const other = createLocalSubstrate({ kmHome: s.kmHome });
    assert.equal((await other.adopt(dead, s.spec(dead).stateDir)).status, 'stopped');
    assert.equal(existsSync(rt.cgroups.v2), false, 'the empty cgroup was removed');
    await other.destroy(dead);
    assert.equal(existsSync(s.spec(dead).stateDir), false);
  });
});
