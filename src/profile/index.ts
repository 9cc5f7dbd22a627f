/**
 * The profile domain's public surface: schema, JSON Schema, resolution with `extends`,
 * validation, built-ins. Pure except for `createFsReader`.
 */
export { createFsReader } from './fs.ts';
export { createMemoryReader } from './memory-reader.ts';
export type { ProfileReader } from './graph.ts';
export { MAX_EXTENDS_DEPTH, displayPath } from './graph.ts';
export { resolveProfile, assertCreatable, type ResolveOptions, type ResolvedProfile, type ResolveResult } from './resolve.ts';
export { builtinProfiles, builtinDir } from './builtins.ts';
export { profileJsonSchema, ProfileSchema, API_VERSION, KIND, type Profile, type ProfileInput, type ProfileSpec } from './schema.ts';
export { SUBSTRATES, type Substrate } from './schema-sections.ts';
export { instanceSpec, DEFAULT_INSTANCE_TYPE, type InstanceSpec } from './instance-types.ts';
export { GITHUB_HOSTS, parseEgressEntry, entryMatches, normaliseName, type ParsedEntry } from './egress.ts';
export { durationSeconds } from './durations.ts';
export { diagnosticText, profileInvalidError } from './errors.ts';
export { semanticFindings } from './rules.ts';
