import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { builtinProfiles, createFsReader, profileJsonSchema, resolveProfile, SUBSTRATES } from './index.ts';

/** The seed's goose profile, kept verbatim (SPEC §1.1); the design copy is compared when present. */
const GOOSE_SEED = fileURLToPath(new URL('./testdata/goose-from-seed.yaml', import.meta.url));
const DESIGN_COPY = '/work/shared/profiles/goose-from-seed.yaml';
const opts = { cwd: '/', searchPaths: [], reader: createFsReader() };

function ajvValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  return ajv.compile(profileJsonSchema());
}

test('the goose seed validates verbatim with no errors or warnings', (t) => {
  if (existsSync(DESIGN_COPY)) assert.equal(readFileSync(GOOSE_SEED, 'utf8'), readFileSync(DESIGN_COPY, 'utf8'));
  else t.diagnostic('design copy of the seed not present; using the in-repo copy');
  const r = resolveProfile(GOOSE_SEED, opts);
  assert.equal(r.ok, true, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(r.warnings, []);
  if (!r.ok) return;
  const p = r.resolved.profile;
  assert.equal(p.metadata.name, 'goose');
  assert.equal(p.metadata.prefix, 'gebpfgk');
  assert.equal(p.spec.runtime.substrate, 'ec2');
  assert.equal(p.spec.runtime.rootVolumeSize, 15);
  assert.deepEqual(p.spec.runtime.additionalVolume, { size: 20, mountPoint: '/data', encrypted: true });
  assert.equal(p.spec.execution.configFiles['/home/sandbox/.claude/settings.json'], '{"trustedDirectories":["/home/sandbox","/workspace"]}\n');
  assert.deepEqual(p.spec.sourceAccess.github.allowedRefs, ['main', 'feature/*', 'fix/*']);
  assert.equal(p.spec.budget.compute?.maxSpendUSD, 0.5);
  assert.equal(p.spec.email.encryption, 'required');
});

test('every built-in resolves without errors on every substrate and sets no substrate', () => {
  const names = builtinProfiles().map((b) => b.name);
  assert.deepEqual(names, ['learn', 'goose', 'codex', 'hardened', 'sealed', 'open-dev', 'restricted-dev']);
  for (const b of builtinProfiles()) {
    const raw = parse(readFileSync(b.path, 'utf8'));
    assert.equal(raw.spec?.runtime?.substrate, undefined, `${b.name} sets runtime.substrate`);
    assert.equal(raw.spec?.execution?.workingDir, '/workspace', `${b.name} workingDir`);
    for (const s of SUBSTRATES) {
      const r = resolveProfile(b.name, { ...opts, substrate: s });
      assert.equal(r.ok, true, `${b.name} on ${s}: ${r.ok ? '' : JSON.stringify(r.errors)}`);
      if (r.ok) {
        assert.equal(r.resolved.name, b.name);
        assert.equal(r.resolved.abstract, false);
        assert.equal(r.resolved.profile.spec.runtime.substrate, s);
      }
    }
    const local = resolveProfile(`builtin:${b.name}`, opts);
    assert.ok(local.ok && local.warnings.length === 0, `${b.name} has warnings on local: ${JSON.stringify(local.warnings)}`);
  }
});

test('built-ins carry the key values of SPEC §2.4', () => {
  const get = (n: string) => {
    const r = resolveProfile(n, opts);
    assert.ok(r.ok);
    return r.resolved.profile;
  };
  const learn = get('learn');
  assert.equal(learn.metadata.prefix, 'learn');
  assert.equal(learn.spec.observability.learnMode, true);
  assert.deepEqual(learn.spec.network.egress.allowedHosts, ['*']);
  assert.equal(learn.spec.budget.ai?.maxSpendUSD, 2);
  assert.equal(learn.spec.runtime.hibernation, true);
  assert.equal(learn.spec.runtime.spot, false);
  const goose = get('goose');
  assert.deepEqual(goose.spec.execution.initCommands, []);
  assert.equal(goose.spec.network.egress.allowedDNSSuffixes.length, 6);
  const codex = get('codex');
  assert.equal(codex.spec.cli.agent, 'codex');
  assert.equal(codex.spec.lifecycle.idleTimeout, '30m');
  const hardened = get('hardened');
  assert.equal(hardened.spec.network.httpsOnly, true);
  assert.deepEqual(hardened.spec.network.egress.allowedHosts, ['api.anthropic.com', 'bedrock-runtime.us-east-1.amazonaws.com']);
  const sealed = get('sealed');
  assert.deepEqual(sealed.spec.network.egress, { allowedDNSSuffixes: [], allowedHosts: [], pathRules: [] });
  assert.equal(get('open-dev').spec.budget.ai, undefined);
  assert.deepEqual(get('restricted-dev').spec.sourceAccess.github.allowedRefs, ['main', 'develop']);
});

test('ajv (an independent validator) accepts every built-in and the goose seed against the generated schema', () => {
  const validate = ajvValidator();
  for (const file of [...builtinProfiles().map((b) => b.path), GOOSE_SEED]) {
    const doc = parse(readFileSync(file, 'utf8'));
    assert.equal(validate(doc), true, `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

test('the generated schema rejects what the validator rejects: unknown keys, wrong types, wrong apiVersion', () => {
  const validate = ajvValidator();
  const doc = parse(readFileSync(GOOSE_SEED, 'utf8'));
  assert.equal(validate({ ...doc, spec: { ...doc.spec, lifecylce: {} } }), false);
  assert.equal(validate({ ...doc, apiVersion: 'klankermaker.ai/v1' }), false);
  assert.equal(validate({ ...doc, spec: { ...doc.spec, network: { httpsOnly: 'true' } } }), false);
  assert.equal(validate({ ...doc, spec: { ...doc.spec, lifecycle: { ttl: '90x' } } }), false);
});

test('every field in the JSON Schema has a description', () => {
  const missing: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.properties && typeof n.properties === 'object') {
      for (const [k, v] of Object.entries(n.properties as Record<string, unknown>)) {
        if (typeof (v as Record<string, unknown>).description !== 'string') missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
    }
    for (const key of ['items', 'additionalProperties', 'anyOf']) {
      const child = n[key];
      if (Array.isArray(child)) child.forEach((c) => walk(c, path));
      else walk(child, path);
    }
  };
  const schema = profileJsonSchema() as Record<string, unknown>;
  walk(schema, '');
  assert.deepEqual(missing, []);
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
});
