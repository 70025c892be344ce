/**
 * Where an alert channel sends as the admin page set it (contract/alert-connection.ts), for the
 * nodes of this process: the same override machinery as the page's noise control
 * (admin-settings.ts: the access-control node publishes each scope after reading the store and
 * after every change). The stored secrets stay sealed in the registry; each reader opens them
 * with the runtime's credential secret when it asks. A field the page left alone or cleared is
 * absent: the node's own setting (its `${ENV}` credential) applies.
 */
import type { NodeAPI } from 'node-red';
import { publishedOverride, watchOverride } from '../admin-settings';
import type { AlertChannel } from '../contract/admin-settings';
import { CONNECTION_FIELDS, connectionScope, isSealedValue } from '../contract/alert-connection';
import { credentialSecret, SecretBox } from '../secret-box';

export interface PageConnection {
  /** the fields the page sets now, opened (read at each call: always the latest published) */
  values(): Record<string, string>;
  /** true when the page sets any field */
  readonly inForce: boolean;
  /** calls `changed` after each later change; returns the function that stops it */
  onChange(changed: () => void): () => void;
}

/**
 * Follows the page's connection of `channel`. A secret that does not open (another credential
 * secret) is left out with a warning that names the field, never its value.
 */
export function pageConnection(RED: NodeAPI, channel: AlertChannel, warn: (message: string) => void): PageConnection {
  const box = new SecretBox(credentialSecret(RED.settings as { credentialSecret?: unknown }));
  const scope = connectionScope(channel);
  let opened: { from: Record<string, unknown> | undefined; values: Record<string, string> } | undefined;

  const values = (): Record<string, string> => {
    const stored = publishedOverride(scope);
    if (opened && opened.from === stored) return opened.values;
    const out: Record<string, string> = {};
    for (const f of CONNECTION_FIELDS[channel]) {
      const v = stored?.[f.name];
      if (typeof v === 'string' && !f.secret) out[f.name] = v;
      else if (isSealedValue(v)) {
        try {
          out[f.name] = box.open(v.sealed);
        } catch (err) {
          warn(`the admin page's ${f.label.toLowerCase()} is not used: ${(err as Error).message}`);
        }
      }
    }
    opened = { from: stored, values: out };
    return out;
  };

  return {
    values,
    get inForce() {
      return Object.keys(values()).length > 0;
    },
    onChange: (changed) => watchOverride(scope, () => changed()),
  };
}
