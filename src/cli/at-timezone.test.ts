import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmError } from '../core/errors.ts';
import { resolveScheduleTimeZone } from './at-timezone.ts';

/** A temp dir standing in for the working directory, KM_HOME and the system files. */
function fixture(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'km-at-tz-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  const cwd = join(dir, 'work');
  mkdirSync(home);
  mkdirSync(cwd);
  const system = join(dir, 'etc');
  mkdirSync(system);
  /** The real files, with /etc/* redirected into the fixture. */
  const redirect = (p: string) => (p.startsWith('/etc/') ? join(system, p.slice('/etc/'.length)) : p);
  return { home, cwd, system, redirect };
}

test('precedence: --tz, KM_TIMEZONE, project config, user config, TZ, /etc/localtime, UTC', async (t) => {
  const f = fixture(t);
  const { readFileSync, readlinkSync } = await import('node:fs');
  const readText = (p: string) => {
    try {
      return readFileSync(f.redirect(p), 'utf8');
    } catch {
      return undefined;
    }
  };
  const readLink = (p: string) => {
    try {
      return readlinkSync(f.redirect(p));
    } catch {
      return undefined;
    }
  };
  const resolveWith = (env: NodeJS.ProcessEnv, flag?: string) =>
    resolveScheduleTimeZone({ flag, env: { KM_HOME: f.home, ...env }, cwd: f.cwd, readText, readLink });

  assert.deepEqual(await resolveWith({}), { timeZone: 'UTC', source: 'default' });
  symlinkSync('/usr/share/zoneinfo/Asia/Kolkata', join(f.system, 'localtime'));
  assert.deepEqual(await resolveWith({}), { timeZone: 'Asia/Kolkata', source: 'system' });
  assert.deepEqual(await resolveWith({ TZ: ':America/New_York' }), { timeZone: 'America/New_York', source: 'system' });
  assert.deepEqual(await resolveWith({ TZ: 'CET-1CEST' }), { timeZone: 'Asia/Kolkata', source: 'system' });
  writeFileSync(join(f.home, 'config.yaml'), 'timezone: Europe/Berlin\nmax_sandboxes: 3\n');
  assert.deepEqual(await resolveWith({ TZ: 'America/New_York' }), { timeZone: 'Europe/Berlin', source: 'config' });
  writeFileSync(join(f.cwd, 'km-config.yaml'), 'timezone: America/New_York\n');
  assert.deepEqual(await resolveWith({}), { timeZone: 'America/New_York', source: 'config' });
  writeFileSync(join(f.cwd, 'other.yaml'), 'timezone: UTC\n');
  assert.deepEqual(await resolveWith({ KM_CONFIG: 'other.yaml' }), { timeZone: 'UTC', source: 'config' });
  assert.deepEqual(await resolveWith({ KM_TIMEZONE: 'asia/kolkata' }), { timeZone: 'Asia/Kolkata', source: 'config' });
  assert.deepEqual(await resolveWith({ KM_TIMEZONE: 'UTC' }, 'Europe/Berlin'), { timeZone: 'Europe/Berlin', source: 'flag' });
});

test('invalid zones are errors, never a silent fallback', async (t) => {
  const f = fixture(t);
  const base = { env: { KM_HOME: f.home }, cwd: f.cwd };
  const configInvalid = (re: RegExp) => (e: unknown) => e instanceof KmError && e.code === 'config_invalid' && e.exitCode === 2 && re.test(`${e.message}\n${e.hint ?? ''}`);
  await assert.rejects(resolveScheduleTimeZone({ ...base, flag: 'Mars/Olympus' }), (e: unknown) => e instanceof KmError && e.code === 'usage' && /--tz: unknown time zone "Mars\/Olympus"/.test(e.message));
  await assert.rejects(resolveScheduleTimeZone({ ...base, env: { ...base.env, KM_TIMEZONE: 'nowhere' } }), configInvalid(/KM_TIMEZONE/));
  await assert.rejects(resolveScheduleTimeZone({ ...base, env: { ...base.env, KM_TIMEZONE: '+01:00' } }), configInvalid(/timezone: unknown time zone "\+01:00"/));
  writeFileSync(join(f.cwd, 'km-config.yaml'), 'timezone: Berlin\n');
  await assert.rejects(resolveScheduleTimeZone(base), configInvalid(/km-config\.yaml/));
  writeFileSync(join(f.cwd, 'km-config.yaml'), 'timezone: [a\n');
  await assert.rejects(resolveScheduleTimeZone(base), configInvalid(/km-config\.yaml/));
  // --tz wins without reading the (broken) config at all.
  assert.deepEqual(await resolveScheduleTimeZone({ ...base, flag: 'UTC' }), { timeZone: 'UTC', source: 'flag' });
});
