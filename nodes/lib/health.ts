/**
 * What the runtime's `/healthz` asks of the nodes: a node that cannot do its
 * work (the database config node when it cannot write) registers a reader, and
 * /healthz answers 503 with the reason while any says so.
 */
import { processRegistry } from './process-registry';

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

const sources = processRegistry<HealthSource>('health-sources');

/**
 * A failure a node remembers until it clears (a store it could not open, a port it could not
 * listen on): `state` is what its source reads, undefined while all is well; `sinceMs` is when
 * the first of a run of failures happened.
 */
export class Failure {
  state: HealthState | undefined;

  set(reason: string): void {
    this.state = { ok: false, reason, sinceMs: this.state?.sinceMs ?? Date.now() };
  }

  clear(): void {
    this.state = undefined;
  }
}

/** Registers a source; call the returned function on close. */
export const exposeHealth = (source: HealthSource): (() => void) => sources.register(source.id, source);

/** Every source that is not healthy now, with its reason. */
export function healthProblems(): Array<{ name: string; reason: string; sinceMs?: number }> {
  const problems = [];
  for (const s of sources.values()) {
    const h = s.read();
    if (!h.ok) problems.push({ name: s.name, reason: h.reason ?? 'unavailable', sinceMs: h.sinceMs });
  }
  return problems;
}
