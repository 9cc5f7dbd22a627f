/**
 * The zone a schedule is read in (SPEC §11.2): `--tz`, else the operator config's
 * `timezone` (`KM_TIMEZONE`, the project file, the user file — loaded and validated by
 * `src/config`), else the system's IANA zone (`TZ`, `/etc/localtime`, `/etc/timezone`),
 * else UTC.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { ConfigReader } from '../config/index.ts';
import { loadOperatorConfigCached } from '../config/memo.ts';
import { KmError } from '../core/errors.ts';
import { checkTimeZone } from '../schedule-grammar/index.ts';

export type ZoneSource = 'flag' | 'config' | 'system' | 'default';

export interface ZoneInputs {
  flag?: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Reader for the operator config files (default: the file system). */
  configReader?: ConfigReader;
  /** System file text, or undefined when the file does not exist. */
  readText?: (path: string) => string | undefined;
  /** Symlink target, or undefined. */
  readLink?: (path: string) => string | undefined;
}

const readTextOrUndefined = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

const readLinkOrUndefined = (path: string): string | undefined => {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
};

/** `…/zoneinfo/Europe/Berlin` or `:Europe/Berlin` → `Europe/Berlin`. */
function zoneNameOf(text: string): string {
  const t = text.trim().replace(/^:/, '');
  const i = t.indexOf('zoneinfo/');
  return i >= 0 ? t.slice(i + 'zoneinfo/'.length) : t;
}

function fromSystem(inputs: ZoneInputs, readText: (p: string) => string | undefined, readLink: (p: string) => string | undefined): string | undefined {
  const candidates = [inputs.env.TZ, readLink('/etc/localtime'), readText('/etc/timezone')];
  for (const c of candidates) {
    if (c === undefined || c.trim() === '') continue;
    const check = checkTimeZone(zoneNameOf(c));
    if (check.ok) return check.timeZone;
  }
  return undefined;
}

export async function resolveScheduleTimeZone(inputs: ZoneInputs): Promise<{ timeZone: string; source: ZoneSource }> {
  if (inputs.flag !== undefined) {
    const check = checkTimeZone(inputs.flag);
    if (!check.ok) throw new KmError('usage', `--tz: ${check.message}`);
    return { timeZone: check.timeZone, source: 'flag' };
  }
  const loaded = await loadOperatorConfigCached(inputs.configReader ? { env: inputs.env, cwd: inputs.cwd, reader: inputs.configReader } : { env: inputs.env, cwd: inputs.cwd });
  const configured = loaded.config.timezone;
  if (configured !== undefined) {
    const check = checkTimeZone(configured);
    if (!check.ok) throw new KmError('config_invalid', `timezone: ${check.message}`, { hint: `fix it in ${loaded.files.join(' or ') || 'KM_TIMEZONE'}` });
    return { timeZone: check.timeZone, source: 'config' };
  }
  const system = fromSystem(inputs, inputs.readText ?? readTextOrUndefined, inputs.readLink ?? readLinkOrUndefined);
  if (system !== undefined) return { timeZone: system, source: 'system' };
  return { timeZone: 'UTC', source: 'default' };
}
