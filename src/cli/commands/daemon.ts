/** Commands of the daemon and operations area: `km daemon …`, `km doctor`, `km info` (SPEC §14.2–14.3). */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const daemonGroups: GroupSpec[] = [{ path: ['daemon'], summary: 'start, stop or inspect kmd, the local daemon' }];

export const daemonCommands: CommandSpec[] = [
  {
    path: ['daemon', 'start'],
    summary: 'start kmd (normally started on demand)',
    description:
      'Start kmd, the local daemon that owns gateways, the reconciler and the scheduler. It listens on $KM_HOME/kmd.sock.\n' +
      'Without --foreground it runs detached (log in $KM_HOME/kmd.log) and the command prints its pid and socket.',
    options: [{ name: 'foreground', type: 'boolean', description: 'run in this process until SIGINT/SIGTERM, logging to stderr' }],
    json: true,
    examples: ['km daemon start', 'km daemon start --foreground'],
    load: async () => (await import('../daemon-commands.ts')).daemonStartCommand,
  },
  {
    path: ['daemon', 'stop'],
    summary: 'stop kmd (sandbox egress fails closed until it restarts)',
    description: 'Stop kmd gracefully. Sandboxes keep running; their egress fails closed until kmd starts again. Safe to repeat.',
    json: true,
    examples: ['km daemon stop'],
    load: async () => (await import('../daemon-commands.ts')).daemonStopCommand,
  },
  {
    path: ['daemon', 'status'],
    summary: 'show whether kmd is running (exit 0 either way)',
    json: true,
    examples: ['km daemon status', 'km daemon status --json'],
    load: async () => (await import('../daemon-commands.ts')).daemonStatusCommand,
  },
  {
    path: ['doctor'],
    summary: 'check the host, the store and kmd, with fixes',
    description:
      'Run named checks (node, config, state-dir, store, daemon, user-namespaces, bubblewrap, overlay-in-userns, nftables,\n' +
      'cgroups, bpf, tmux, socat, disk-space, stale-sandboxes, ca-expiry, docker, agent-clis), each pass, warn, fail or skip.\n' +
      'Exits 1 if any check fails. --fix applies only safe repairs (remove a stale kmd socket or pid file, restart kmd).',
    options: [
      { name: 'quiet', short: 'q', type: 'boolean', description: 'hide passing checks' },
      { name: 'fix', type: 'boolean', description: 'apply safe repairs and report each' },
    ],
    json: true,
    examples: ['km doctor', 'km doctor --quiet', 'km doctor --fix', 'km doctor --json'],
    load: async () => (await import('../doctor-command.ts')).doctorCommand,
  },
  {
    path: ['info'],
    summary: 'show version, config files, state directory, store, daemon and substrates',
    json: true,
    examples: ['km info', 'km info --json'],
    load: async () => (await import('../info-command.ts')).infoCommand,
  },
];
