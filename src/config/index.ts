/**
 * Operator configuration (SPEC §14.1, §14.2): schema, layered loading with located errors,
 * secret masking for display, and editing for `km configure`.
 */
export { OperatorConfigSchema, operatorConfigJsonSchema, SECRET_PATHS, PROMPTED_KEYS, isIpPort, type OperatorConfig, type OperatorConfigInput } from './schema.ts';
export { loadOperatorConfig, configFiles, fsReader, type ConfigReader, type LoadConfigOptions, type LoadedConfig } from './load.ts';
export { loadOperatorConfigCached } from './memo.ts';
export { formatConfigDiagnostic } from './layers.ts';
export { configKeys, findKey, coerceText, type ConfigKey, type KeyKind } from './keys.ts';
export { maskSecrets, MASK } from './mask.ts';
export { resolveStateDir, stateFiles } from './paths.ts';
export { expandConfigPath, operatorPrivateFiles, profileSearchPaths, sqliteStorePath, type ExpandContext } from './expand.ts';
export { configure, type ConfigureOptions, type ConfigureResult } from './configure.ts';
