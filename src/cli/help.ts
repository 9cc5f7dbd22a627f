/** Help text generated from the command table (pure). */
import { GLOBAL_OPTIONS } from './global.ts';
import type { Table } from './parse.ts';
import type { ArgSpec, CommandSpec, GroupSpec, OptionSpec } from './spec.ts';

const argText = (a: ArgSpec): string => {
  const inner = `${a.name}${a.variadic ? '...' : ''}`;
  return a.required ? `<${inner}>` : `[${inner}]`;
};

export function usageLine(spec: CommandSpec): string {
  const parts = ['km', ...spec.path];
  if ((spec.options ?? []).length > 0 || spec.json) parts.push('[flags]');
  for (const a of spec.args ?? []) parts.push(argText(a));
  if (spec.passthrough) parts.push('[-- args...]');
  return parts.join(' ');
}

function optionRows(options: readonly OptionSpec[]): string[] {
  const rows = options.map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    const extra = [o.choices ? `one of: ${o.choices.join(', ')}` : '', o.multiple ? 'repeatable' : ''].filter(Boolean).join('; ');
    return [flag, extra ? `${o.description} (${extra})` : o.description] as const;
  });
  const width = Math.min(34, Math.max(0, ...rows.map(([f]) => f.length)) + 2);
  return rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`);
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${usageLine(spec)}`, '', spec.description ?? spec.summary];
  if (spec.aliases?.length) lines.push('', `Aliases: ${spec.aliases.map((a) => ['km', ...spec.path.slice(0, -1), a].join(' ')).join(', ')}`);
  const own = [...(spec.options ?? [])];
  if (own.length > 0) lines.push('', 'Flags:', ...optionRows(own));
  const globals = GLOBAL_OPTIONS.filter((g) => g.name !== 'json' || spec.json);
  lines.push('', 'Global flags:', ...optionRows(globals));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

export function groupHelp(table: Table, group: GroupSpec | undefined, path: readonly string[]): string {
  const depth = path.length + 1;
  const under = <T extends { path: readonly string[]; hidden?: boolean }>(xs: readonly T[]) =>
    xs.filter((x) => !x.hidden && x.path.length === depth && path.every((w, i) => x.path[i] === w));
  const rows: Array<[string, string]> = [
    ...under(table.commands).map((c): [string, string] => [c.path[depth - 1] as string, c.summary]),
    ...under(table.groups).map((g): [string, string] => [g.path[depth - 1] as string, g.summary]),
  ].sort((a, b) => a[0].localeCompare(b[0]));
  const width = Math.max(...rows.map(([n]) => n.length), 4) + 3;
  const title = path.length === 0 ? 'km — Klanker Maker: contained, budgeted, audited sandboxes for AI coding agents' : (group?.summary ?? '');
  const lines = [
    title,
    '',
    `Usage: km ${path.length ? path.join(' ') + ' ' : ''}<command> [flags]`,
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(width)}${s}`),
    '',
    'Global flags:',
    ...optionRows(GLOBAL_OPTIONS),
    '',
    `Run "km ${path.length ? path.join(' ') + ' ' : ''}<command> --help" for a command's flags.`,
  ];
  return lines.join('\n') + '\n';
}
