/**
 * Where segments recorded elsewhere are handed in: MediaMTX's `runOnRecordSegmentComplete` hook
 * posts each finished segment to the runtime's internal listener (cli/runtime/recording-hook.ts),
 * which gives it to the recorder node registered here. A process-wide table (process-registry.ts):
 * the runtime and the node are loaded apart.
 */
import { processRegistry } from '../process-registry';
import type { FinishedSegment } from './segmenter';

export type SegmentSink = (segment: FinishedSegment) => Promise<void>;

const sinks = processRegistry<SegmentSink>('recording-segment-sinks');

/** Registers a recorder's sink; call the returned function on close. */
export const registerSegmentSink = (id: string, sink: SegmentSink): (() => void) => sinks.register(id, sink);

/** The first recorder's sink, or undefined when no recorder runs. */
export function segmentSink(): SegmentSink | undefined {
  return sinks.values().next().value;
}
