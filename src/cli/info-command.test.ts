import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderInfo, type InfoBody } from './info-command.ts';

const body = (over: Partial<InfoBody> = {}): InfoBody => ({
  version: '1.2.3',
  config_files: [],
  state_dir: '/h/.km',
  store: { kind: 'sqlite', location: '/h/.km/km.db' },
  config: { default_substrate: 'local' },
  daemon: { running: false, pid: null, version: null, socket: '/h/.km/kmd.sock', uptime_s: null },
  substrates: {
    local: { available: true, reason: null },
    docker: { available: false, reason: 'the docker CLI is not installed' },
    ec2: { available: false, reason: 'AWS is not configured (see km init)' },
    ecs: { available: false, reason: 'AWS is not configured (see km init)' },
  },
  email_domain: null,
  aws: null,
  ...over,
});

test('renderInfo: one aligned line per fact, substrates with reasons, config indented', () => {
  const text = renderInfo(body());
  assert.match(text, /^version {6}1\.2\.3\n/);
  assert.match(text, /\nconfig {7}\(none; defaults\)\n/);
  assert.match(text, /\ndaemon {7}not running \(\/h\/\.km\/kmd\.sock\)\n/);
  assert.match(text, /\n {2}local {3}available\n/);
  assert.match(text, /\n {2}docker {2}unavailable: the docker CLI is not installed\n/);
  assert.match(text, /\neffective config \(secrets masked\)\n {2}default_substrate: local\n$/);
});

test('renderInfo: running daemon, email domain and AWS names', () => {
  const text = renderInfo(
    body({
      daemon: { running: true, pid: 42, version: '1.2.3', socket: '/s', uptime_s: 7 },
      email_domain: 'sandboxes.example.com',
      aws: { region: 'eu-west-1', resource_prefix: 'km', artifacts_bucket: null, state_bucket: null },
    }),
  );
  assert.match(text, /daemon {7}running, pid 42, version 1\.2\.3, up 7s \(\/s\)/);
  assert.match(text, /email domain sandboxes\.example\.com/);
  assert.match(text, /aws {10}region eu-west-1, prefix km/);
});
