/**
 * A table of what nodes offer the rest of the process (counters for /metrics,
 * health for /healthz, the embedded broker for other nodes), keyed by node id.
 * It hangs off `globalThis`: Node-RED loads each node file apart from the CLI
 * that serves the endpoints, so a module-level map could exist twice.
 */
export interface ProcessRegistry<T> {
  /** Adds `value` under `id`; the returned function removes it again (a later entry under the same id is left alone). */
  register(id: string, value: T): () => void;
  get(id: string): T | undefined;
  values(): IterableIterator<T>;
}

export function processRegistry<T>(name: string): ProcessRegistry<T> {
  const key = Symbol.for(`picam-guardian.${name}`);
  const map = (): Map<string, T> => {
    const g = globalThis as { [key: symbol]: Map<string, T> | undefined };
    return (g[key] ??= new Map());
  };
  return {
    register(id, value) {
      map().set(id, value);
      return () => {
        if (map().get(id) === value) map().delete(id);
      };
    },
    get: (id) => map().get(id),
    values: () => map().values(),
  };
}
