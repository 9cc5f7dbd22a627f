/**
 * The built-in profiles (SPEC §2.4), shipped as YAML in the project's `profiles/`.
 */
import { INSTALL_ROOT } from '../core/install-root.ts';

export const BUILTINS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'learn', description: 'Default exploratory profile: allow everything, record everything' },
  { name: 'goose', description: "The Goose agent profile: Bedrock, hibernation, EFS, repo allowlist, Slack" },
  { name: 'codex', description: 'OpenAI Codex agent' },
  { name: 'hardened', description: 'Agent talks only to its model provider' },
  { name: 'sealed', description: 'No egress at all (offline computation)' },
  { name: 'open-dev', description: 'Permissive developer box with package registries' },
  { name: 'restricted-dev', description: 'Base for team profiles: narrow registries, repos added by the child' },
];

/** Directory holding the built-in YAML files. */
export const builtinDir = (): string => `${INSTALL_ROOT}profiles/`;

export const builtinPath = (name: string): string | undefined =>
  BUILTINS.some((b) => b.name === name) ? `${builtinDir()}${name}.yaml` : undefined;

export function builtinProfiles(): Array<{ name: string; description: string; path: string }> {
  return BUILTINS.map((b) => ({ ...b, path: `${builtinDir()}${b.name}.yaml` }));
}
