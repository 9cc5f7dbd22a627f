/**
 * The bundled build: bin/km and bin/kmd pick dist/ only when it is newer than every source
 * file (an edit never runs stale code), and the bundle behaves as the sources do.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'scripts/node');

/** A copy of the launcher layout whose entry points print where they ran from. */
function layout(t: { after(fn: () => void): void }): { dir: string; run: (cmd: 'km' | 'kmd') => string; age: (rel: string, s: number) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'km-launch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const d of ['bin', 'scripts', 'src/bin', 'dist']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of ['bin/km', 'bin/kmd']) copyFileSync(join(ROOT, f), join(dir, f));
  writeFileSync(join(dir, 'scripts/node'), `#!/bin/sh\nexec ${JSON.stringify(NODE)} "$@"\n`, { mode: 0o755 });
  for (const name of ['km', 'kmd']) {
    writeFileSync(join(dir, `src/bin/${name}.ts`), `console.log('src ${name}');\n`);
    writeFileSync(join(dir, `dist/${name}.mjs`), `console.log('dist ${name}');\n`);
  }
  writeFileSync(join(dir, 'package.json'), '{}\n');
  writeFileSync(join(dir, 'package-lock.json'), '{}\n');
  writeFileSync(join(dir, 'dist/.built'), 'x\n');
  const age = (rel: string, s: number): void => {
    const when = new Date(Date.now() - s * 1000);
    utimesSync(join(dir, rel), when, when);
  };
  for (const f of ['src/bin/km.ts', 'src/bin/kmd.ts', 'src/bin', 'src', 'package.json', 'package-lock.json']) age(f, 100);
  const run = (cmd: 'km' | 'kmd'): string => execFileSync(join(dir, 'bin', cmd), [], { encoding: 'utf8' }).trim();
  return { dir, run, age };
}

test('a build newer than every source runs from dist/', (t) => {
  const l = layout(t);
  assert.equal(l.run('km'), 'dist km');
  assert.equal(l.run('kmd'), 'dist kmd');
});

test('a source, package.json or lockfile newer than the build runs the sources', (t) => {
  for (const newer of ['src/bin/km.ts', 'package.json', 'package-lock.json']) {
    const l = layout(t);
    l.age('dist/.built', 50);
    l.age(newer, 10);
    assert.equal(l.run('km'), 'src km', newer);
    assert.equal(l.run('kmd'), 'src kmd', newer);
  }
});

test('a build without its completion stamp is not used', (t) => {
  const l = layout(t);
  rmSync(join(l.dir, 'dist/.built'));
  assert.equal(l.run('km'), 'src km');
});

test('the bundle and the sources agree on the version, help and a validation error', (t) => {
  const check = spawnSync(NODE, [join(ROOT, 'scripts/build.ts'), '--check'], { encoding: 'utf8' });
  if (check.status !== 0) return t.skip('dist/ is not built (npm run build)');
  const home = mkdtempSync(join(tmpdir(), 'km-bundle-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const bad = join(home, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata:\n  name: x\nspec:\n  lifecylce: {}\n');
  const env = { ...process.env, KM_HOME: home, NO_COLOR: '1' };
  const both = (args: string[]) =>
    [join(ROOT, 'dist/km.mjs'), join(ROOT, 'src/bin/km.ts')].map((entry) => {
      const r = spawnSync(NODE, ['--disable-warning=ExperimentalWarning', entry, ...args], { encoding: 'utf8', env, cwd: home });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    });
  for (const args of [['--version'], ['exec', '--help'], ['validate', bad], ['validate', 'sealed'], ['profile', 'list', '--json']]) {
    const [dist, src] = both(args);
    assert.deepEqual(dist, src, args.join(' '));
  }
  const [v] = both(['validate', bad]);
  assert.match(v?.stderr ?? '', /lifecylce/);
});
