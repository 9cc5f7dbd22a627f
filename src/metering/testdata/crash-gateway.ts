/**
 * A gateway with metering in its own process, for the kill -9 test.
 * argv: <db path> <sandbox id> <fake port> <fake CA file> <exchange id>. Prints {port, caFile}.
 */
import { readFile } from 'node:fs/promises';
import { systemClock } from '../../core/clock.ts';
import { openSqliteStore } from '../../store/index.ts';
import { startMeteredGateway } from './harness.ts';

const [dbPath, sandboxId, fakePort, fakeCaFile, exchangeId] = process.argv.slice(2) as [string, string, string, string, string];
const store = await openSqliteStore(dbPath, { clock: systemClock });
const g = await startMeteredGateway({
  store,
  sandboxId,
  fake: { port: Number(fakePort), caPem: await readFile(fakeCaFile, 'utf8') },
  newExchangeId: () => exchangeId,
});
process.stdout.write(JSON.stringify({ port: g.port, caFile: g.caFile }) + '\n');
