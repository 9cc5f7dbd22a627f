import type { OptionSpec } from './spec.ts';

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: 'json', type: 'boolean', description: 'print data as one JSON document (errors as JSON on stderr)' },
  { name: 'debug', type: 'boolean', description: 'show stack traces and debug detail' },
  { name: 'no-color', type: 'boolean', description: 'disable colour (also NO_COLOR)' },
  { name: 'help', short: 'h', type: 'boolean', description: 'show help for the command' },
  { name: 'version', type: 'boolean', description: 'print the km version' },
];
