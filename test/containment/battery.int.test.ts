/**
 * The containment battery (battery.ts) as named tests: once as the user running the suite
 * and, when that is root, once more as a fresh unprivileged user in a child process; each
 * with km-setup and with the bash setup (its fallback). The results are printed as a list
 * (test diagnostics).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { nativeHelper } from '../../src/native/index.ts';
import { localSubstrateAvailability } from '../../src/substrate/index.ts';
import { asUser, tempUser, userScratch } from '../../src/substrate/local/test-helpers.ts';
import { formatResults, runBattery } from './battery.ts';
import type { BatteryResult } from './battery.ts';

const avail = localSubstrateAvailability();
const skip = avail.ok ? false : `local substrate unavailable: ${avail.reason}`;
const root = process.getuid?.() === 0;
const built = nativeHelper('km-setup');
const SETUPS = [
  { label: 'km-setup', skip: 'reason' in built ? built.reason : false, bash: false },
  { label: 'bash setup', skip: false, bash: true },
] as const;

async function report(t: test.TestContext, label: string, results: BatteryResult[]): Promise<void> {
  t.diagnostic(`${label}\n${formatResults(results)}`);
  process.stderr.write(`\ncontainment battery (${label}):\n${formatResults(results)}\n`);
  assert.ok(results.length >= 40, 'every attempt ran');
  for (const r of results) {
    await t.test(r.name, (tt) => {
      if (r.skipped) tt.skip(r.skipped);
      else assert.ok(r.ok, `${r.name}: ${r.detail}`);
    });
  }
}

describe('containment battery', { skip, concurrency: false }, () => {
  for (const setup of SETUPS) {
    const who = root ? 'root' : 'unprivileged';
    test(`${root ? 'as root' : 'as an unprivileged user'}, ${setup.label}`, { skip: setup.skip }, async (t) => {
      await report(t, `${who}, ${setup.label}`, await runBattery(setup.bash ? { setupHelper: null } : {}));
    });

    test(`as a fresh unprivileged user, ${setup.label}`, { skip: setup.skip || (root ? false : 'not root: cannot create a user (the run above is unprivileged)') }, async (t) => {
      const user = tempUser();
      const dir = userScratch(user.uid);
      try {
        const r = spawnSync(asUser(user.name)[0] as string, [
          ...asUser(user.name).slice(1), process.execPath, new URL('./run-battery.ts', import.meta.url).pathname, ...(setup.bash ? ['--bash-setup'] : []),
        ], { encoding: 'utf8', cwd: '/tmp', timeout: 180_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: `/home/${user.name}`, TMPDIR: dir, KM_SCRATCH_BASE: dir } });
        assert.equal(r.status, 0, `battery child failed: ${r.stderr.slice(-2000)}`);
        const results = JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as BatteryResult[];
        await report(t, `unprivileged user ${user.name}, ${setup.label}`, results);
      } finally {
        user.remove();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
