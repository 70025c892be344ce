/**
 * Counters nodes expose to the runtime's `/metrics` at no cost per message:
 * a node registers a function that reads the counters it keeps anyway, and the
 * runtime calls it only when scraped.
 */
import { processRegistry } from './process-registry';

export interface CounterSource {
  type: string;
  id: string;
  read(): Readonly<Record<string, number>>;
  /** counters per item, told apart by labels (one series per live stream, labelled with its camera) */
  series?(): LabelledCounters[];
}

export interface LabelledCounters {
  labels: Readonly<Record<string, string>>;
  values: Readonly<Record<string, number>>;
}

const counters = processRegistry<CounterSource>('counter-sources');

/** Registers a node's counters; call the returned function on close. */
export const exposeCounters = (source: CounterSource): (() => void) => counters.register(source.id, source);

/** Each counter summed over every node of a type. */
export function sumCounters(type: string): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const s of counters.values()) {
    if (s.type !== type) continue;
    for (const [k, v] of Object.entries(s.read())) sum[k] = (sum[k] ?? 0) + v;
  }
  return sum;
}

/** Every labelled series of every node of a type. */
export function seriesOf(type: string): LabelledCounters[] {
  const all: LabelledCounters[] = [];
  for (const s of counters.values()) if (s.type === type && s.series) all.push(...s.series());
  return all;
}
