/**
 * Rebuilds the C helpers and addons (native/*.c) that are missing or older than their source,
 * as ./setup does; run by `npm test` first, so that a test of a helper never skips as "not
 * built" after its source changed. Every helper is optional: one that cannot be built is named
 * with the reason, and the script still succeeds (km takes the slower path without it).
 */
import { buildNative } from '../src/native/index.ts';

for (const r of buildNative()) {
  if (r.reason) console.error(`native: ${r.name} not built: ${r.reason}`);
  else if (r.rebuilt) console.error(`native: rebuilt ${r.name}`);
}
