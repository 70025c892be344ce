import type { MqttClient } from 'mqtt';

/** How a broker answered a connection attempt: `connected`, `connack <code>`, or the TLS error. */
export async function connectOutcome(attempt: Promise<MqttClient>): Promise<string> {
  try {
    const c = await attempt;
    await c.endAsync();
    return 'connected';
  } catch (err) {
    const e = err as { code?: number | string; message: string };
    return typeof e.code === 'number' ? `connack ${e.code}` : `tls: ${e.code ?? e.message}`;
  }
}
