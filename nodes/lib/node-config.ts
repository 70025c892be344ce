/** Reading node properties as the editor stores them (strings, or `${ENV}` already resolved). */
import type { NodeAPI } from 'node-red';

/** A numeric property; empty or not a number means the default. */
export function numberSetting(value: string | number | undefined, def: number): number {
  const n = typeof value === 'number' ? value : Number(value);
  return value === '' || value === undefined || !Number.isFinite(n) ? def : n;
}

/**
 * A switch that a flow may set from the environment (`"${PICAM_GATEWAY_HTTPS}"`
 * is a string once resolved): true/false, on/off, yes/no, 1/0; empty means the
 * default; anything else throws, so a typo is not silently "off".
 */
export function booleanSetting(value: string | boolean | undefined, def: boolean): boolean {
  if (typeof value === 'boolean') return value;
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return def;
  if (['true', 'on', 'yes', '1'].includes(v)) return true;
  if (['false', 'off', 'no', '0'].includes(v)) return false;
  throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
}

/** The constructor type registerType wants; our constructors type `this` and `def` more narrowly. */
export type NodeConstructor = Parameters<NodeAPI['nodes']['registerType']>[1];
