/** Commands of the policy area. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const policyGroups: GroupSpec[] = [];

export const policyCommands: CommandSpec[] = [];
