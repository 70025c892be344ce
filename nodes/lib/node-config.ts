/** Reading node properties as the editor stores them (strings, or `${ENV}` already resolved). */
import type { NodeAPI } from 'node-red';

/** A numeric property; empty or not a number means the default. */
export function numberSetting(value: string | number | undefined, def: number): number {
  const n = typeof value === 'number' ? value : Number(value);
  return value === '' || value === undefined || !Number.isFinite(n) ? def : n;
}

/** The constructor type registerType wants; our constructors type `this` and `def` more narrowly. */
export type NodeConstructor = Parameters<NodeAPI['nodes']['registerType']>[1];
