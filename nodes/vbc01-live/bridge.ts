/**
 * Which live-video bridge the node runs. The bridge itself (nodes/lib/live/rtp-bridge.ts,
 * `new LiveBridge(opts)`) is built beside this node against nodes/lib/live/bridge-types.ts;
 * tests and the benchmark hand in their own through the runtime's settings
 * (`picamLiveBridge`: a function from LiveBridgeOptions to a bridge), as the dashboard's hub
 * is handed to the dashboard-feed node.
 */
import type { LiveBridgeOptions, LiveStream, LiveStreamOptions, LiveStreamStats } from '../lib/live/bridge-types';

/** What the node uses of a bridge (the real LiveBridge has exactly these). */
export interface LiveBridgeLike {
  open(opts: LiveStreamOptions): Promise<LiveStream>;
  streams(): LiveStreamStats[];
  close(): Promise<void>;
}

export type LiveBridgeFactory = (opts: LiveBridgeOptions) => LiveBridgeLike;

/**
 * The built-in bridge. MERGE: this branch was built before rtp-bridge.ts existed; with it, this is
 * `(opts) => new LiveBridge(opts)` (import { LiveBridge } from '../lib/live/rtp-bridge').
 */
export const builtInBridge: LiveBridgeFactory = () => ({
  open: () => Promise.reject(new Error('this build has no RTP bridge (nodes/lib/live/rtp-bridge.ts)')),
  streams: () => [],
  close: () => Promise.resolve(),
});

/** The settings' bridge factory when one is given, else the built-in bridge. */
export function bridgeFactory(settings: { picamLiveBridge?: unknown }): LiveBridgeFactory {
  const given = settings.picamLiveBridge;
  return typeof given === 'function' ? (given as LiveBridgeFactory) : builtInBridge;
}
