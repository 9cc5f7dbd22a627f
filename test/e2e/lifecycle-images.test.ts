/** `km image bake | list | delete` on local (SPEC §9.6): a baked layer seeds new sandboxes. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cannotRunSandboxes, lifecycleEnv } from './lifecycle-support.ts';

const skip = cannotRunSandboxes();

interface Image {
  name: string;
  base: string;
  size_bytes: number;
  source_sandbox: string;
  used_by: { sandboxes: string[]; profiles: string[] };
}

test('bake an image, create from runtime.ami, delete refused while used, then deleted', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  assert.equal((await e.km(['create', 'sealed', '--alias', 'src'])).code, 0);
  await e.km(['exec', 'src', '--', 'sh', '-c', 'echo baked > /workspace/f']);
  const baked = await e.km(['image', 'bake', 'src', '--name', 'web-base']);
  assert.match(baked.stdout, /^Baked image web-base from sb-[0-9a-f]{8} \(/, baked.stderr);
  const dup = await e.km(['image', 'bake', 'src', '--name', 'web-base']);
  assert.deepEqual([dup.code, dup.stderr.split('\n')[0]], [2, 'km: error: image web-base already exists']);

  mkdirSync(join(e.dir, 'profiles'), { recursive: true });
  const yaml = (ami: string) => `apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata:\n  name: fromimg\nextends: sealed\nspec:\n  runtime:\n    ami: ${ami}\n`;
  writeFileSync(join(e.dir, 'profiles', 'fromimg.yaml'), yaml('web-base'));
  writeFileSync(join(e.dir, 'profiles', 'ghost.yaml'), yaml('ghost').replace('fromimg', 'ghost'));
  const ghost = await e.km(['create', 'profiles/ghost.yaml']);
  assert.equal(ghost.code, 2);
  assert.match(ghost.stderr, /runtime\.ami: no local image "ghost" \(see km image list\)/);
  assert.equal((await e.km(['create', 'profiles/fromimg.yaml', '--alias', 'fi'])).code, 0);
  assert.equal((await e.km(['exec', 'fi', '--', 'cat', '/workspace/f'])).stdout, 'baked\n');

  const list = await e.json<Image[]>(['ami', 'list']);
  assert.equal(list.length, 1);
  assert.deepEqual([list[0]!.name, list[0]!.base, list[0]!.used_by.sandboxes, list[0]!.used_by.profiles], ['web-base', 'host', ['fi'], ['fromimg']]);
  assert.ok(list[0]!.size_bytes > 0);
  const refused = await e.km(['image', 'delete', 'web-base', '--yes']);
  assert.deepEqual([refused.code, refused.stderr], [1, 'km: error: image web-base is used by fi; destroy them first\n']);
  const noYes = await e.km(['image', 'delete', 'web-base']);
  assert.deepEqual([noYes.code, noYes.stderr], [2, 'km: error: deleting image web-base needs confirmation; re-run with --yes\n']);
  assert.equal((await e.km(['destroy', 'fi', '--yes'])).code, 0);
  assert.equal((await e.km(['image', 'delete', 'web-base', '--yes'])).stdout, 'Deleted image web-base\n');
  assert.deepEqual(await e.json<Image[]>(['image', 'list']), []);
});
