import { KmError } from '../../core/errors.ts';
import type { CommandModule } from '../spec.ts';

const mod: CommandModule = {
  async run(ctx) {
    throw new KmError('not_available', `km ${ctx.command.join(' ')} is not available in this version`, {
      hint: 'see km --help for the commands this version has',
    });
  },
};
export default mod;
