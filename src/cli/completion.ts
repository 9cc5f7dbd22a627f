/**
 * Shell completion. The scripts call back into `km __complete <words…>`, which answers
 * from the same command table as help and parsing, so completion never drifts.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KmError } from '../core/errors.ts';
import { INSTALL_ROOT } from '../core/install-root.ts';
import { GLOBAL_OPTIONS } from './global.ts';
import { childNames, type Table } from './parse.ts';
import type { CommandModule, CommandSpec } from './spec.ts';
import { buildTable } from './table.ts';
import { sandboxCandidates } from './completion-sandboxes.ts';

const BASH = `# km bash completion
_km_complete() {
  local IFS=$'\\n'
  COMPREPLY=( $(km __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
}
complete -o default -F _km_complete km
`;

const ZSH = `#compdef km
# km zsh completion
_km() {
  local -a candidates
  candidates=("\${(@f)$(km __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -- $candidates
}
compdef _km km
`;

export const completionCommand: CommandModule = {
  async run(ctx) {
    const shell = ctx.args[0];
    if (shell === 'bash') ctx.io.stdout.write(BASH);
    else if (shell === 'zsh') ctx.io.stdout.write(ZSH);
    else throw new KmError('usage', `unsupported shell "${shell}"; use bash or zsh`);
  },
};

/** Sources of dynamic candidates; sandbox references are added once the store exists. */
export interface CompletionSources {
  profiles(cwd: string): string[];
  sandboxes(): string[];
}

export const defaultSources: CompletionSources = {
  profiles(cwd) {
    const out: string[] = [];
    for (const dir of [join(cwd, 'profiles'), `${INSTALL_ROOT}profiles/`]) {
      try {
        for (const f of readdirSync(dir)) if (f.endsWith('.yaml')) out.push(f.slice(0, -5));
      } catch {
        /* directory absent */
      }
    }
    return [...new Set(out)].sort();
  },
  sandboxes: () => sandboxCandidates(),
};

/** Candidates for the last word, given the words typed so far (pure over the table). */
export function complete(table: Table, words: readonly string[], cwd: string, sources: CompletionSources = defaultSources): string[] {
  const typed = words.slice(0, -1);
  const current = words[words.length - 1] ?? '';
  const path: string[] = [];
  let spec: CommandSpec | undefined;
  let positional = 0;
  for (const w of typed) {
    if (w.startsWith('-')) continue;
    if (!spec) {
      const kids = childNames(table, path);
      if (kids.includes(w)) {
        path.push(w);
        spec = table.commands.find((c) => c.path.length === path.length && c.path.every((p, i) => p === path[i]));
        continue;
      }
    }
    positional++;
  }
  let candidates: string[];
  if (current.startsWith('-')) {
    const opts = [...(spec?.options ?? []), ...GLOBAL_OPTIONS];
    candidates = opts.map((o) => `--${o.name}`);
  } else if (!spec) {
    candidates = childNames(table, path);
  } else {
    const arg = spec.args?.[Math.min(positional, (spec.args?.length ?? 1) - 1)];
    if (arg?.complete === 'profile') candidates = sources.profiles(cwd);
    else if (arg?.complete === 'sandbox') candidates = sources.sandboxes();
    else candidates = [];
  }
  return candidates.filter((c) => c.startsWith(current));
}

export const completeCommand: CommandModule = {
  async run(ctx) {
    const words = ctx.raw.length === 0 ? [''] : ctx.raw;
    for (const c of complete(buildTable(), words, ctx.cwd)) ctx.io.stdout.write(c + '\n');
  },
};
