/** `spec.network.enforcement` at create (SPEC §3.5): effective mode, warnings, require_ebpf. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KmError } from '../core/errors.ts';
import type { SandboxHandleInfo } from '../substrate/index.ts';
import { basicSpec, harness, profileOf, request, testConfig } from './test-harness.ts';
import type { ProgressSink } from './types.ts';

const ebpfSpec = `${basicSpec()}    enforcement: ebpf\n`;

function collect(): { sink: ProgressSink; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, sink: (e) => void (e.type === 'warning' && warnings.push(e.message)) };
}

/** Makes the double's create report whether the gatekeeper attached. */
function gatekeeperOutcome(sub: { create: (s: never) => Promise<SandboxHandleInfo> }, attached: boolean, warning?: string): void {
  const create = sub.create.bind(sub);
  sub.create = async (spec: never) => {
    const info = await create(spec);
    return { ...info, features: { ...info.features, gatekeeper: attached }, warnings: warning ? [warning] : [] };
  };
}

test('enforcement: proxy asks for no gatekeeper and warns about nothing', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const c = collect();
  const j = await h.service.create(request(profileOf('p', basicSpec())), c.sink);
  assert.deepEqual(j.enforcement, { requested: 'proxy', effective: 'proxy' });
  assert.equal(h.substrate.specs.get(j.id)?.gatekeeper, false);
  assert.deepEqual(c.warnings, []);
});

test('enforcement: ebpf on a substrate without a gatekeeper: proxy with the reason, or an error under require_ebpf', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const c = collect();
  const j = await h.service.create(request(profileOf('p', ebpfSpec)), c.sink);
  assert.deepEqual(j.enforcement, { requested: 'ebpf', effective: 'proxy' });
  assert.deepEqual(c.warnings, ['enforcement: ebpf requested, proxy effective (BPF unavailable: the local substrate has no BPF gatekeeper)']);
  await assert.rejects(h.service.create(request(profileOf('p', ebpfSpec), { config: testConfig({ requireEbpf: true }) })), (e: KmError) =>
    e.code === 'substrate_unavailable' && e.message === 'enforcement: ebpf requested but BPF is unavailable (the local substrate has no BPF gatekeeper)');
});

test('enforcement: ebpf where the gatekeeper attaches is effective ebpf', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  h.substrate.gatekeeperUnavailable = () => null;
  gatekeeperOutcome(h.substrate as never, true);
  const c = collect();
  const j = await h.service.create(request(profileOf('p', ebpfSpec)), c.sink);
  assert.deepEqual(j.enforcement, { requested: 'ebpf', effective: 'ebpf' });
  assert.equal(h.substrate.specs.get(j.id)?.gatekeeper, true);
  assert.deepEqual(c.warnings, []);
});

test('enforcement: a gatekeeper that fails to attach falls back to proxy, or fails the create under require_ebpf', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  h.substrate.gatekeeperUnavailable = () => null;
  gatekeeperOutcome(h.substrate as never, false, 'BPF gatekeeper not attached: attaching to the cgroup (BPF_PROG_ATTACH): Invalid argument');
  const c = collect();
  const j = await h.service.create(request(profileOf('p', ebpfSpec)), c.sink);
  assert.deepEqual(j.enforcement, { requested: 'ebpf', effective: 'proxy' });
  assert.ok(c.warnings.includes('enforcement: ebpf requested, proxy effective (BPF unavailable: attaching to the cgroup (BPF_PROG_ATTACH): Invalid argument)'), c.warnings.join('\n'));
  await assert.rejects(h.service.create(request(profileOf('p', ebpfSpec), { config: testConfig({ requireEbpf: true }) })), /BPF is unavailable \(attaching to the cgroup/);
  const failed = (await h.store.listSandboxes()).filter((s) => s.status === 'failed');
  assert.equal(failed.length, 1);
});
