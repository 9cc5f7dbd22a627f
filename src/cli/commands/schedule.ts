/** Commands of the scheduling area: `km at` (alias `km schedule`), SPEC §11. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const scheduleGroups: GroupSpec[] = [];

export const scheduleCommands: CommandSpec[] = [
  {
    path: ['at'],
    aliases: ['schedule'],
    summary: 'run a sandbox command later or repeatedly, in plain English',
    description: [
      'Run a sandbox command at a time given in plain English, or repeatedly.',
      "Also: km at --cron '<expr>' <command> [args…] [flags].",
      'Schedulable: create, destroy (kill), stop, pause, resume, extend, budget-add, agent run.',
      "km at's own flags are recognised anywhere on the line; every other flag after <command>",
      'belongs to the scheduled command.',
      '',
      'One-shot: in 30 minutes, in 2h, 5pm tomorrow, tomorrow 09:15, tonight at 11pm, today at 3pm,',
      '  friday at 9am (today counts if still ahead), next tuesday at 2pm (never today), 9:30pm,',
      '  2027-03-04T06:30 (with or without an offset). Times: 9am, 9:30pm, 21:30, noon, midnight.',
      'Recurring: every day at 9am, daily at 9am, every weekday at 11pm, every weekend at noon,',
      '  every monday, wednesday at 8:30am, every 2 hours, every 15 minutes, every 3 days,',
      '  every hour, hourly, every minute. Intervals count from when the schedule is created.',
      'Seconds (for tests and short local schedules): in 30 seconds, every 10 seconds. EventBridge',
      '  runs intervals of whole minutes only, so a seconds interval has no AWS expression and runs',
      '  on the local scheduler only.',
      'Refused: leftovers ("5pm tomorrow-ish"), a weekday without a time, numeric dates such as 3/4',
      '  (use ISO dates), weekly/monthly/"every 2 weeks" (use --cron), one-shots in the past.',
      '',
      '--cron takes a 5-field cron (M H DOM MON DOW, names allowed, DOW 0-7) or EventBridge',
      '  cron(M H DOM MON DOW YEAR) (exactly one of DOM/DOW is ?, DOW 1 = Sunday), rate(N unit),',
      '  at(YYYY-MM-DDTHH:MM:SS).',
      'Time zone: --tz, else the operator config timezone, else the system zone, else UTC.',
      'Daily times follow the zone across DST: a time skipped by the clock change fires at the',
      '  first instant after the gap; a time that happens twice fires once, the first time.',
      '',
      '--dry-run prints the parsed schedule (next three fire times, EventBridge expression, name)',
      '  and saves nothing; --now fixes the reference time. Saving schedules needs the scheduler',
      '  in kmd, which this version does not have yet.',
    ].join('\n'),
    json: true,
    rawArgs: true,
    args: [
      { name: 'when', required: true },
      { name: 'command', required: true, variadic: true },
    ],
    options: [
      { name: 'cron', type: 'string', valueName: 'EXPR', description: 'a cron, cron(…), rate(…) or at(…) expression instead of <when>' },
      { name: 'tz', type: 'string', valueName: 'ZONE', description: 'IANA time zone of the schedule, e.g. Europe/Berlin' },
      { name: 'name', type: 'string', valueName: 'N', description: 'schedule name (default km-at-<command>-<target>-<when>)' },
      { name: 'dry-run', type: 'boolean', description: 'print the parsed schedule without saving it' },
      { name: 'now', type: 'string', valueName: 'ISO', description: 'reference time for the dry run, e.g. 2027-03-03T08:15:00+01:00' },
    ],
    examples: [
      "km at 'every weekday at 7:45pm' stop demo --dry-run --tz Europe/Berlin",
      "km at 'in 2 hours' destroy demo --dry-run",
      "km at '5pm tomorrow' agent run demo --prompt 'nightly tests' --auto-start --dry-run",
      "km at 'every monday at 9am' budget-add nightly --ai 5.00 --dry-run",
      "km at --cron '0 23 * * 1-5' kill nightly --dry-run",
    ],
    load: async () => (await import('../at-command.ts')).atCommand,
  },
];
