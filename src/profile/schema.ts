/**
 * The `klankermaker.ai/v1alpha1` SandboxProfile schema (SPEC §1.1–1.2): the one source
 * for validation, defaults, the `Profile` type and the published JSON Schema.
 */
import { z } from 'zod';
import { bool, describeValue } from './schema-fields.ts';
import { Spec } from './schema-sections.ts';

export const API_VERSION = 'klankermaker.ai/v1alpha1';
export const KIND = 'SandboxProfile';

export const apiVersionSchema = z
  .literal(API_VERSION, {
    error: (iss) =>
      iss.input === undefined
        ? `missing; this version of km reads ${API_VERSION}`
        : `unsupported ${typeof iss.input === 'string' ? JSON.stringify(iss.input) : describeValue(iss.input)}; this version of km reads ${API_VERSION}`,
  })
  .describe(`Schema version; exactly ${API_VERSION}`);

export const kindSchema = z
  .literal(KIND, {
    error: (iss) =>
      iss.input === undefined
        ? `missing; a profile has kind: ${KIND}`
        : `unsupported ${typeof iss.input === 'string' ? JSON.stringify(iss.input) : describeValue(iss.input)}; a profile has kind: ${KIND}`,
  })
  .describe(`Document kind; exactly ${KIND}`);

export const extendsSchema = z
  .union([
    z.string().min(1, 'empty profile name'),
    z.array(z.string().min(1, 'empty profile name')).min(1, 'extends needs at least one profile; remove it to extend nothing'),
  ])
  .describe('Parent profiles: a name, path or builtin:<name>, or a list of them (merged left to right)');

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const Metadata = z
  .strictObject({
    name: z
      .string()
      .regex(NAME_RE, { error: (i) => `${JSON.stringify(i.input)} is not a valid name; use 1–63 characters [A-Za-z0-9._-], starting with a letter or digit` })
      .optional()
      .describe('Profile name; required for leaf profiles'),
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,11}$/, { error: (i) => `${JSON.stringify(i.input)} is not a valid prefix; use 1–12 lowercase letters and digits, starting with a letter` })
      .default('sb')
      .describe('Sandbox ID prefix'),
    labels: z.record(z.string(), z.string()).default({}).describe('Free-form labels'),
    abstract: bool().default(false).describe('true = a fragment that can only be extended, never created'),
  })
  .describe('Name, ID prefix, labels');

export const ProfileSchema = z
  .strictObject({
    apiVersion: apiVersionSchema,
    kind: kindSchema,
    extends: extendsSchema.optional(),
    metadata: Metadata,
    spec: Spec,
  })
  .describe('A Klanker Maker SandboxProfile');

/** A profile after parsing, with every default applied. */
export type Profile = z.output<typeof ProfileSchema>;
/** A profile as written (defaults not applied). */
export type ProfileInput = z.input<typeof ProfileSchema>;
export type ProfileSpec = Profile['spec'];

/** The JSON Schema (draft 2020-12) of what a profile file may contain. */
export function profileJsonSchema(): object {
  const schema = z.toJSONSchema(ProfileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://klankermaker.ai/schemas/v1alpha1/sandbox-profile.json', title: 'SandboxProfile' };
}
