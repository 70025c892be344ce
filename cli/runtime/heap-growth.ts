/**
 * How far V8 lets the heap grow between full garbage collections. By default
 * V8 grows the old generation to up to four times what survived the last full
 * collection, and more when allocation is fast. Under a flood the live set is
 * small and bounded (messages in flight are capped at the broker and the
 * ingest), but each message leaves garbage that outlives two scavenges, so the
 * heap, and with it RSS, climbed to ~500 MB of mostly garbage while the live
 * heap was ~80 MB (bench/flood.ts). A growing factor of 1.2 holds the flood
 * under 300 MB for a few per cent of throughput. It is no hard cap: a runtime
 * that really needs more memory still gets it, only with more frequent GCs.
 *
 * Set before Node-RED starts (V8 reads the flag whenever it sizes the heap);
 * `node --heap-growing-percent=N` on the command line wins.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 20;

export function limitHeapGrowth(argv: readonly string[] = process.execArgv): boolean {
  if (argv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
