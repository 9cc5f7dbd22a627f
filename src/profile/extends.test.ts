import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDiagnostic, type Diagnostic } from '../core/diagnostics.ts';
import { createFsReader, createMemoryReader, resolveProfile, type ProfileReader, type ResolveResult } from './index.ts';

const HEAD = 'apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\n';

/** A profile text: envelope + optional extends + name + body (already indented YAML under spec). */
function prof(name: string, opts: { extends?: string | string[]; abstract?: boolean; spec?: string; meta?: string } = {}): string {
  const ext = opts.extends === undefined ? '' : `extends: ${JSON.stringify(opts.extends)}\n`;
  const meta = `metadata:\n  name: ${name}\n${opts.abstract ? '  abstract: true\n' : ''}${opts.meta ?? ''}`;
  return `${HEAD}${ext}${meta}${opts.spec ? `spec:\n${opts.spec}` : ''}`;
}

/** Memory files first, then the real file system (for built-ins). */
function reader(files: Record<string, string>): ProfileReader {
  const mem = createMemoryReader(files);
  const fs = createFsReader();
  return { read: (p) => mem.read(p) ?? fs.read(p), isDirectory: (p) => mem.isDirectory(p) || fs.isDirectory(p) };
}

function resolve(files: Record<string, string>, ref: string, searchPaths: string[] = ['/p/profiles']): ResolveResult {
  return resolveProfile(ref, { cwd: '/p', searchPaths, reader: reader(files) });
}

const lines = (ds: readonly Diagnostic[]) => ds.map(formatDiagnostic);

function errorsOf(r: ResolveResult): string[] {
  assert.equal(r.ok, false, 'expected the profile to be invalid');
  return r.ok ? [] : lines(r.errors);
}

function profileOf(r: ResolveResult) {
  assert.equal(r.ok, true, r.ok ? '' : lines(r.errors).join('\n'));
  if (!r.ok) throw new Error('unreachable');
  return r.resolved;
}

test('a cycle is an error naming the chain, at the extends entry that closes it', () => {
  const r = resolve(
    {
      '/p/a.yaml': prof('a', { extends: 'b' }),
      '/p/b.yaml': prof('b', { extends: 'c' }),
      '/p/c.yaml': prof('c', { extends: 'a' }),
    },
    'a.yaml',
  );
  assert.deepEqual(errorsOf(r), ['c.yaml:3:10: extends: extends cycle: a → b → c → a (inherited by a.yaml)']);
});

test('a self-extending profile is a cycle', () => {
  const r = resolve({ '/p/a.yaml': prof('a', { extends: ['a'] }) }, 'a.yaml');
  assert.deepEqual(errorsOf(r), ['a.yaml:3:11: extends[0]: extends cycle: a → a']);
});

function chain(levels: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i <= levels; i++) files[`/p/l${i}.yaml`] = prof(`l${i}`, i < levels ? { extends: `l${i + 1}` } : {});
  return files;
}

test('10 extends hops are allowed; an 11th is an error', () => {
  const ok = profileOf(resolve(chain(10), 'l0.yaml'));
  assert.equal(ok.sources.length, 11);
  assert.deepEqual(ok.sources.map((s) => s.name).slice(0, 2), ['l10', 'l9']);
  const errors = errorsOf(resolve(chain(11), 'l0.yaml'));
  assert.deepEqual(errors, ['l10.yaml:3:10: extends: extends chain is 11 levels deep; the maximum is 10 (inherited by l0.yaml)']);
});

test('a diamond merges the shared ancestor once, at its first position', () => {
  const files = {
    '/p/base.yaml': prof('base', { abstract: true, spec: '  network:\n    egress:\n      allowedDNSSuffixes: [.base.com]\n' }),
    '/p/left.yaml': prof('left', { extends: 'base', spec: '  network:\n    egress:\n      allowedDNSSuffixes: [.left.com]\n' }),
    '/p/right.yaml': prof('right', { extends: 'base', spec: '  network:\n    egress:\n      allowedDNSSuffixes: [.right.com]\n' }),
    '/p/leaf.yaml': prof('leaf', { extends: ['left', 'right'], spec: '  network:\n    egress:\n      allowedDNSSuffixes: [.leaf.com]\n' }),
  };
  const r = profileOf(resolve(files, 'leaf.yaml'));
  assert.deepEqual(
    r.sources.map((s) => s.name),
    ['base', 'left', 'right', 'leaf'],
  );
  assert.deepEqual(r.profile.spec.network.egress.allowedDNSSuffixes, ['.base.com', '.left.com', '.right.com', '.leaf.com']);
});

test('lists concatenate and de-duplicate (first wins, structural equality); maps deep-merge; scalars later-wins', () => {
  const files = {
    '/p/base.yaml': prof('base', {
      meta: '  prefix: base\n  labels: { team: infra, tier: a }\n',
      spec:
        '  lifecycle: { ttl: 4h, idleTimeout: 30m }\n' +
        '  network:\n    egress:\n      allowedHosts: [a.example.com, b.example.com]\n' +
        '      pathRules:\n        - { host: a.example.com, allow: ["GET /x"] }\n',
    }),
    '/p/leaf.yaml': prof('leaf', {
      extends: 'base',
      meta: '  labels: { tier: b }\n',
      spec:
        '  lifecycle: { ttl: 6h }\n' +
        '  network:\n    egress:\n      allowedHosts: [c.example.com, a.example.com]\n' +
        '      pathRules:\n        - { host: a.example.com, allow: ["GET /x"] }\n        - { host: b.example.com, allow: ["GET /y"] }\n',
    }),
  };
  const r = profileOf(resolve(files, 'leaf.yaml'));
  const spec = r.profile.spec;
  assert.deepEqual(spec.network.egress.allowedHosts, ['a.example.com', 'b.example.com', 'c.example.com']);
  assert.deepEqual(spec.network.egress.pathRules, [
    { host: 'a.example.com', allow: ['GET /x'] },
    { host: 'b.example.com', allow: ['GET /y'] },
  ]);
  assert.equal(spec.lifecycle.ttl, '6h');
  assert.equal(spec.lifecycle.idleTimeout, '30m');
  assert.equal(r.profile.metadata.prefix, 'base');
  assert.deepEqual(r.profile.metadata.labels, { team: 'infra', tier: 'b' });
  assert.equal(r.profile.extends, undefined);
});

test('metadata.name and metadata.abstract are never inherited', () => {
  const files = {
    '/p/frag.yaml': prof('frag', { abstract: true }),
    '/p/leaf.yaml': `${HEAD}extends: frag\nmetadata:\n  prefix: lf\n`,
    '/p/named.yaml': prof('named', { extends: 'frag' }),
  };
  assert.deepEqual(errorsOf(resolve(files, 'leaf.yaml')), [
    'leaf.yaml:5:3: metadata.name: required; name the profile, or set metadata.abstract: true for a fragment that is only extended',
  ]);
  const named = profileOf(resolve(files, 'named.yaml'));
  assert.equal(named.abstract, false);
  assert.equal(named.name, 'named');
  const frag = profileOf(resolve(files, 'frag.yaml'));
  assert.equal(frag.abstract, true);
});

test('!replace replaces an inherited list and an inherited map', () => {
  const files = {
    '/p/base.yaml': prof('base', {
      spec:
        '  network:\n    egress:\n      allowedDNSSuffixes: [.npmjs.org, .github.com]\n' +
        '  sourceAccess:\n    github: { allowedRepos: [acme/web], allowedRefs: [main], allowForcePush: true }\n',
    }),
    '/p/leaf.yaml': prof('leaf', {
      extends: 'base',
      spec:
        '  network:\n    egress:\n      allowedDNSSuffixes: !replace [.pypi.org, .pythonhosted.org]\n' +
        '  sourceAccess:\n    github: !replace { allowedRepos: [acme/api] }\n',
    }),
  };
  const r = profileOf(resolve(files, 'leaf.yaml'));
  assert.deepEqual(r.profile.spec.network.egress.allowedDNSSuffixes, ['.pypi.org', '.pythonhosted.org']);
  assert.deepEqual(r.profile.spec.sourceAccess.github.allowedRepos, ['acme/api']);
  assert.equal(r.profile.spec.sourceAccess.github.allowedRefs, undefined);
  assert.equal(r.profile.spec.sourceAccess.github.allowForcePush, false);
});

test('a later parent can !replace what earlier parents accumulated', () => {
  const files = {
    '/p/a.yaml': prof('a', { abstract: true, spec: '  network:\n    egress:\n      allowedHosts: [a.example.com]\n' }),
    '/p/b.yaml': prof('b', { abstract: true, spec: '  network:\n    egress:\n      allowedHosts: !replace [b.example.com]\n' }),
    '/p/leaf.yaml': prof('leaf', { extends: ['a', 'b'] }),
  };
  assert.deepEqual(profileOf(resolve(files, 'leaf.yaml')).profile.spec.network.egress.allowedHosts, ['b.example.com']);
});

test('!replace on a scalar is an error; without extends it is a warning', () => {
  const scalar = {
    '/p/base.yaml': prof('base'),
    '/p/leaf.yaml': prof('leaf', { extends: 'base', spec: '  lifecycle:\n    ttl: !replace 4h\n' }),
  };
  assert.deepEqual(errorsOf(resolve(scalar, 'leaf.yaml')), ['leaf.yaml:8:19: spec.lifecycle.ttl: !replace has no effect on a scalar; just set the value']);
  const alone = resolve({ '/p/x.yaml': prof('x', { spec: '  execution:\n    initCommands: !replace [make]\n' }) }, 'x.yaml');
  assert.equal(alone.ok, true);
  assert.deepEqual(lines(alone.warnings), ['x.yaml:7:28: spec.execution.initCommands: warning: !replace has no effect in a profile without extends']);
});

test('an error in an inherited value is reported at the base file, followed by (inherited by <leaf>)', () => {
  const files = {
    '/p/profiles/base.yaml': prof('base', { abstract: true, spec: '  network:\n    egress:\n      allowedHosts:\n        - ok.example.com\n        - "*.npmjs.org"\n' }),
    '/p/leaf.yaml': prof('leaf', { extends: 'base', spec: '  network:\n    egress:\n      allowedHosts: [x.example.com]\n' }),
  };
  const r = resolve(files, 'leaf.yaml');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors.length, 1);
  const d = r.errors[0] as Diagnostic;
  assert.deepEqual({ file: d.file, line: d.line, col: d.col, path: d.path, inheritedBy: d.inheritedBy }, {
    file: 'profiles/base.yaml',
    line: 11,
    col: 11,
    path: 'spec.network.egress.allowedHosts[1]',
    inheritedBy: 'leaf.yaml',
  });
  assert.match(formatDiagnostic(d), /^profiles\/base\.yaml:11:11: .*write "\.npmjs\.org".* \(inherited by leaf\.yaml\)$/);
});

test('a semantic error in a child value next to an inherited one points at the child', () => {
  const files = {
    '/p/base.yaml': prof('base', { spec: '  lifecycle:\n    idleTimeout: 2h\n' }),
    '/p/leaf.yaml': prof('leaf', { extends: 'base', spec: '  lifecycle:\n    ttl: 1h\n' }),
  };
  assert.deepEqual(errorsOf(resolve(files, 'leaf.yaml')), ['leaf.yaml:8:10: spec.lifecycle.ttl: ttl (1h) is shorter than idleTimeout (2h); raise ttl or lower idleTimeout']);
});

test('names resolve in the extending file\'s directory, then the search paths, then the built-ins', () => {
  const files = {
    '/p/sub/leaf.yaml': prof('leaf', { extends: ['sibling', 'shared', 'sealed'] }),
    '/p/sub/sibling.yaml': prof('sibling'),
    '/p/profiles/shared.yaml': prof('shared'),
    '/p/profiles/sibling.yaml': prof('wrong-sibling'),
  };
  const r = profileOf(resolve(files, 'sub/leaf.yaml'));
  assert.deepEqual(
    r.sources.map((s) => [s.name, s.builtin]),
    [['sibling', false], ['shared', false], ['sealed', true], ['leaf', false]],
  );
  assert.equal(r.sources[0]?.file, '/p/sub/sibling.yaml');
});

test('builtin:<name> forces the built-in; paths are relative to the extending file', () => {
  const files = {
    '/p/profiles/sealed.yaml': prof('local-sealed'),
    '/p/team/leaf.yaml': prof('leaf', { extends: ['builtin:sealed', '../bases/net.yaml'] }),
    '/p/bases/net.yaml': prof('net'),
  };
  const r = profileOf(resolve(files, 'team/leaf.yaml'));
  assert.deepEqual(r.sources.map((s) => s.name), ['sealed', 'net', 'leaf']);
  assert.equal(r.sources[0]?.builtin, true);
  const byName = profileOf(resolve(files, 'sealed'));
  assert.equal(byName.name, 'local-sealed', 'a search-path profile shadows a built-in of the same name');
});

test('an unresolvable parent names where it looked', () => {
  const r = resolve({ '/p/leaf.yaml': prof('leaf', { extends: ['base/net', 'nope.yaml', 'builtin:nope'] }) }, 'leaf.yaml');
  assert.deepEqual(errorsOf(r), [
    'leaf.yaml:3:11: extends[0]: profile "base/net" not found (looked in the extending file\'s directory, ./profiles and the built-ins)',
    'leaf.yaml:3:22: extends[1]: profile "nope.yaml" not found (looked in the extending file\'s directory)',
    'leaf.yaml:3:34: extends[2]: no built-in profile "nope" (built-ins: learn, goose, codex, hardened, sealed, open-dev, restricted-dev)',
  ]);
});

test('a parent that is not a profile is reported in that file', () => {
  const files = {
    '/p/base.yaml': 'apiVersion: v9\nkind: SandboxProfile\nmetadata: {name: base}\n',
    '/p/leaf.yaml': prof('leaf', { extends: 'base' }),
  };
  assert.deepEqual(errorsOf(resolve(files, 'leaf.yaml')), [
    'base.yaml:1:13: apiVersion: unsupported "v9"; this version of km reads klankermaker.ai/v1alpha1 (inherited by leaf.yaml)',
  ]);
});
