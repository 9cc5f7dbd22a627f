/** Hourly on-demand list prices of common instance types (SPEC §6.4), from a versioned file. */
import table from './instance-prices.json' with { type: 'json' };

export interface InstancePriceTable {
  version: string;
  region: string;
  types: Record<string, number>;
}

export const INSTANCE_PRICES: InstancePriceTable = table as InstancePriceTable;

/** USD per hour for the type, or undefined when the table does not list it. */
export function instanceHourlyUsd(type: string, prices: InstancePriceTable = INSTANCE_PRICES): number | undefined {
  const v = prices.types[type.toLowerCase()];
  return typeof v === 'number' ? v : undefined;
}
