/** Commands of the config area. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const configGroups: GroupSpec[] = [];

export const configCommands: CommandSpec[] = [];
