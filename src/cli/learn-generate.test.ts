import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshPath } from './learn-generate.ts';
import { renderLearnStatus } from './learn-render.ts';

test('output files are never overwritten: a timestamped name, then -2, -3 …', () => {
  const taken = new Set(['/w/observed-profile.yaml', '/w/observed-profile.20270303-081502.yaml']);
  const exists = (p: string) => taken.has(p);
  assert.equal(freshPath('/w/new.yaml', '20270303-081502', exists), '/w/new.yaml');
  assert.equal(freshPath('/w/observed-profile.yaml', '20270303-081503', exists), '/w/observed-profile.20270303-081503.yaml');
  assert.equal(freshPath('/w/observed-profile.yaml', '20270303-081502', exists), '/w/observed-profile.20270303-081502-2.yaml');
  taken.add('/w/team');
  assert.equal(freshPath('/w/team', '20270303-081502', exists), '/w/team.20270303-081502');
});

test('status lines: recording, stopped (times in the operator zone), no session', () => {
  const counts = { dns_names: 14, hosts: 9, repos: 2, refs: 1, commands: 23, denials: 3 };
  const base = { sandbox_id: 'sb-1', session_id: 'ls-2', started_at: '2027-03-03T08:00:00Z', counts };
  assert.equal(
    renderLearnStatus({ ...base, recording: true, stopped_at: null }, 'demo', 'Europe/Berlin'),
    'demo: recording since 2027-03-03 09:00 CET (learn session ls-2)\nobserved: 14 DNS names, 9 hosts, 2 repos, 1 ref, 23 commands, 3 denials\n',
  );
  assert.match(renderLearnStatus({ ...base, recording: false, stopped_at: '2027-03-03T08:30:00Z' }, 'demo', 'UTC'), /^demo: not recording; learn session ls-2 ran from 2027-03-03 08:00 UTC to 2027-03-03 08:30 UTC\n/);
  assert.equal(
    renderLearnStatus({ ...base, recording: false, session_id: null, started_at: null, stopped_at: null }, 'demo', 'UTC'),
    'demo has no learn session; start one with km learn start demo\n',
  );
});
