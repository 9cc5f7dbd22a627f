import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTable } from '../cli/table.ts';
import { notServed, parseHello, type ClientHello, type HostIdentity } from './client-hello.ts';
import { notHosted } from './cli-host.ts';
import { encodeList, encodeBytes } from './frames.ts';

const self: HostIdentity = { stateDir: '/var/km/home', installRoot: '/opt/km/', uid: 1000, staleVersion: () => null };
const client: ClientHello = { argv: ['list'], env: { HOME: '/home/op', KM_HOME: '/var/km/home' }, cwd: '/work', uid: 1000, install: '/opt/km/' };

test('hello: decoded from the frame the native client sends', () => {
  const f = { t: 'cli', argv: encodeList(['status', 'demo']), environ: encodeList(['HOME=/h', 'A=b=c']), cwd: encodeBytes('/w'), install: encodeBytes('/opt/km/'), uid: 7 };
  assert.deepEqual(parseHello(f), { argv: ['status', 'demo'], env: { HOME: '/h', A: 'b=c' }, cwd: '/w', uid: 7, install: '/opt/km/' });
  assert.equal(parseHello({ ...f, uid: '7' }), null);
  assert.equal(parseHello({ ...f, argv: 'x' }), null);
});

test('served only for the same user, installation, version and state directory', () => {
  assert.equal(notServed(client, self), null);
  assert.match(notServed({ ...client, uid: 0 }, self) ?? '', /another user/);
  assert.match(notServed({ ...client, install: '/other/' }, self) ?? '', /another installation/);
  assert.match(notServed(client, { ...self, staleVersion: () => '0.2.0' }) ?? '', /version 0\.2\.0/);
  assert.match(notServed({ ...client, env: { ...client.env, KM_HOME: 'rel/home' } }, self) ?? '', /relative/);
  assert.match(notServed({ ...client, env: { KM_HOME: '/var/km/home' } }, self) ?? '', /HOME is not set/);
  assert.match(notServed({ ...client, env: { ...client.env, KM_HOME: '/var/km/other' } }, self) ?? '', /another state directory/);
  assert.equal(notServed({ ...client, env: { HOME: '/var/km', KM_HOME: '' } }, { ...self, stateDir: '/var/km/.km' }), null, '$HOME/.km');
  assert.equal(notServed({ ...client, env: { ...client.env, KM_HOME: '/var/km/./home/' } }, self), null, 'resolved like path.resolve');
});

test('hosted: create, list and status; not other commands, nor a create that reads stdin or waits', () => {
  const table = buildTable();
  for (const argv of [['list'], ['list', '--json', '--wide'], ['status'], ['status', 'demo', '--json'], ['create', 'learn', '--alias', 'x', '--prompt', 'hi'], ['create', '--help']]) {
    assert.equal(notHosted(table, argv), null, argv.join(' '));
  }
  assert.equal(notHosted(table, ['create', 'learn', '--bogus']), null, 'runCli reports the usage error itself');
  assert.match(notHosted(table, ['create', 'learn', '--prompt-file', '-']) ?? '', /stdin/);
  assert.match(notHosted(table, ['create', 'learn', '--prompt', 'x', '--wait']) ?? '', /--wait/);
  assert.match(notHosted(table, ['destroy', 'demo']) ?? '', /not a command/);
  assert.match(notHosted(table, ['exec', 'demo', '--', 'true']) ?? '', /not a command/);
  assert.match(notHosted(table, ['nonsense']) ?? '', /not a command/);
});
