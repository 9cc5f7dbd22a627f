/** Commands of the daemon area. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const daemonGroups: GroupSpec[] = [];

export const daemonCommands: CommandSpec[] = [];
