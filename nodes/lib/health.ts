/**
 * What the runtime's `/healthz` asks of the nodes: a node that cannot do its
 * work (the database config node when it cannot write) registers a reader, and
 * /healthz answers 503 with the reason while any says so. Kept on `globalThis`
 * for the same reason as the counters in metrics.ts: Node-RED loads node files
 * apart from the CLI that serves the endpoint.
 */
export interface HealthState {
  ok: boolean;
  /** why not, for people: "cannot write: disk full (…)" */
  reason?: string;
  sinceMs?: number;
}

export interface HealthSource {
  id: string;
  /** what it is, for the answer: "database" */
  name: string;
  read(): HealthState;
}

const KEY = Symbol.for('picam-guardian.health-sources');

function registry(): Map<string, HealthSource> {
  const g = globalThis as { [KEY]?: Map<string, HealthSource> };
  return (g[KEY] ??= new Map());
}

/** Registers a source; call the returned function on close. */
export function exposeHealth(source: HealthSource): () => void {
  registry().set(source.id, source);
  return () => {
    if (registry().get(source.id) === source) registry().delete(source.id);
  };
}

/** Every source that is not healthy now, with its reason. */
export function healthProblems(): Array<{ name: string; reason: string; sinceMs?: number }> {
  const problems = [];
  for (const s of registry().values()) {
    const h = s.read();
    if (!h.ok) problems.push({ name: s.name, reason: h.reason ?? 'unavailable', sinceMs: h.sinceMs });
  }
  return problems;
}
