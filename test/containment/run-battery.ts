/** Runs the containment battery and prints the results as JSON (used for the unprivileged run). `--bash-setup`: without km-setup. */
import { runBattery } from './battery.ts';

const results = await runBattery(process.argv.includes('--bash-setup') ? { setupHelper: null } : {});
process.stdout.write(`${JSON.stringify(results)}\n`);
