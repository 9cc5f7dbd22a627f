/**
 * Files km keeps outside KM_HOME are masked in sandboxes like KM_HOME itself (SPEC §9.1):
 * the config file `KM_CONFIG` names and the SQLite store `store.path` puts elsewhere. They are
 * placed under /var (which sandboxes see, copy-on-write) and made readable to everyone, so
 * only the mask can hide them; a sibling file stays visible (the control).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cannotRunSandboxes, lifecycleEnv } from './lifecycle-support.ts';

const skip = cannotRunSandboxes();

test('the KM_CONFIG file and a store outside KM_HOME are masked inside sandboxes', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const dir = mkdtempSync('/var/tmp/km-e2e-private-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'store'), { mode: 0o755 });
  const config = join(dir, 'km-config.yaml');
  const store = join(dir, 'store', 'km.db');
  writeFileSync(config, `# operator secrets live here\nstore:\n  path: ${store}\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'visible.txt'), 'visible\n', { mode: 0o644 });
  const env = { KM_CONFIG: config };
  const created = await e.km(['create', 'sealed', '--alias', 'priv'], env);
  assert.equal(created.code, 0, created.stderr);
  assert.ok(statSync(store).size > 0, 'kmd keeps its store at store.path');
  chmodSync(store, 0o644);
  const r = await e.km(['exec', 'priv', '--', 'sh', '-c', `cat ${config}; echo "config: $?"; cat ${join(dir, 'visible.txt')}; wc -c < ${store}`], env);
  assert.equal(r.stdout, 'config: 0\nvisible\n0\n', r.stderr);

  // A sandbox made by an older km (no such masks recorded) gets them at its next start.
  const { id } = JSON.parse((await e.km(['status', 'priv', '--json'], env)).stdout) as { id: string };
  const specFile = join(e.home, 'sandboxes', id, 'spec.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as { masks: string[] };
  assert.ok(spec.masks.includes(config) && spec.masks.includes(store), 'recorded at create');
  writeFileSync(specFile, JSON.stringify({ ...spec, masks: spec.masks.filter((m) => !m.startsWith(dir)) }));
  for (const step of ['stop', 'resume']) assert.equal((await e.km([step, 'priv'], env)).code, 0, step);
  const again = await e.km(['exec', 'priv', '--', 'sh', '-c', `cat ${config}; wc -c < ${store}`], env);
  assert.equal(again.stdout, '0\n', again.stderr);
});
