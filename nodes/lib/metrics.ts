/**
 * Counters nodes expose to the runtime's `/metrics` at no cost per message:
 * a node registers a function that reads the counters it keeps anyway, and the
 * runtime calls it only when scraped. The registry hangs off `globalThis`
 * because Node-RED loads each node file separately from the CLI that serves
 * the endpoint: a module-level map could exist twice.
 */
export interface CounterSource {
  type: string;
  id: string;
  read(): Readonly<Record<string, number>>;
}

const KEY = Symbol.for('picam-guardian.counter-sources');

function registry(): Map<string, CounterSource> {
  const g = globalThis as { [KEY]?: Map<string, CounterSource> };
  return (g[KEY] ??= new Map());
}

/** Registers a node's counters; call the returned function on close. */
export function exposeCounters(source: CounterSource): () => void {
  registry().set(source.id, source);
  return () => {
    if (registry().get(source.id) === source) registry().delete(source.id);
  };
}

/** Each counter summed over every node of a type. */
export function sumCounters(type: string): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const s of registry().values()) {
    if (s.type !== type) continue;
    for (const [k, v] of Object.entries(s.read())) sum[k] = (sum[k] ?? 0) + v;
  }
  return sum;
}
