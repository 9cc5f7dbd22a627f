/** Runs the containment battery and prints the results as JSON (used for the unprivileged run). */
import { runBattery } from './battery.ts';

const results = await runBattery();
process.stdout.write(`${JSON.stringify(results)}\n`);
