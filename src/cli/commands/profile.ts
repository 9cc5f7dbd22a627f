/** Commands of the profile area. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const profileGroups: GroupSpec[] = [];

export const profileCommands: CommandSpec[] = [];
