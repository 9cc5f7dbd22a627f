/** The `[y/N]` question destructive commands ask on a terminal (SPEC §0.3). */
import { createInterface } from 'node:readline';
import type { CommandContext } from './spec.ts';

export async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
