/**
 * Test stand-in for a hung kmd: holds the instance lock and writes the pid file, but never
 * serves the socket and ignores SIGTERM, so only SIGKILL ends it. Prints "ready" when set.
 */
import { writeFileSync } from 'node:fs';
import { stateFiles } from '../../../config/paths.ts';
import { lockName, tryAcquire } from '../../lock.ts';

const stateDir = process.env.KM_HOME ?? '';
const lock = await tryAcquire(lockName(stateDir, 'kmd'));
if (!lock) throw new Error('lock already held');
writeFileSync(stateFiles(stateDir).pidFile, `${process.pid}\n`);
process.on('SIGTERM', () => {});
setInterval(() => {}, 60_000);
process.stdout.write('ready\n');
