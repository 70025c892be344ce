/**
 * What crosses the node's wires: msg.topic and msg.payload in (checked before
 * anything is queued, so a bad message fails at once instead of sitting in
 * the outbox), the subscription's messages out.
 */

/** MQTT 3.1.1 §4.7: a PUBLISH topic is non-empty UTF-8 without wildcards or NUL, at most 65,535 bytes. */
export function publishTopic(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new Error("no topic: set the node's topic or msg.topic");
  if (/[+#\u0000]/.test(value)) throw new Error(`topic "${value.slice(0, 100)}" contains a wildcard (+ or #) or NUL`);
  if (Buffer.byteLength(value) > 65_535) throw new Error('topic longer than 65,535 bytes');
  return value;
}

/** A Buffer goes as it is, a string as UTF-8, anything else as JSON (the flow's readings are objects). */
export function payloadBytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (value === undefined || value === null) throw new Error('msg.payload is empty: nothing to publish');
  const json = JSON.stringify(value);
  if (json === undefined) throw new Error(`msg.payload of type ${typeof value} cannot be sent as JSON`);
  return Buffer.from(json);
}

/** Received payloads: the parsed value when it is JSON (commands are), else the UTF-8 text. */
export function receivedPayload(payload: Buffer): unknown {
  const text = payload.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // not JSON: the text itself is the payload
  }
}
