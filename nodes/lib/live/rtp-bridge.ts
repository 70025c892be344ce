/**
 * The live-video bridge (issue 17): plain RTP in from cameras (a VBC01, or an
 * ffmpeg copy of an RTSP stream), WHEP out to browsers, no re-encoding. One
 * `LiveStream` per camera stream, whatever the number of viewers; the
 * contract is bridge-types.ts.
 */
import type { LiveBridgeOptions, LiveStream, LiveStreamOptions, LiveStreamStats } from './bridge-types';
import { BridgeStream, type LiveStreamExtraOptions } from './live-stream';
import { checkRembLimits } from './remb-controller';
import { PortAllocator, type PortPair } from './port-allocator';

export type { LiveStreamExtraOptions };
export { PortRangeExhaustedError } from './port-allocator';
export { BadOfferError } from './whep-viewer';

export class LiveBridge {
  private readonly ports: PortAllocator;
  private readonly open_ = new Set<BridgeStream>();
  private closed = false;

  constructor(private readonly opts: LiveBridgeOptions) {
    this.ports = new PortAllocator(opts.portMin, opts.portMax, opts.bindAddress ?? '0.0.0.0');
  }

  /** A new stream on two fresh port pairs (video, audio); throws PortRangeExhaustedError when the range is used up. */
  async open(opts: LiveStreamOptions & LiveStreamExtraOptions): Promise<LiveStream> {
    if (this.closed) throw new Error('the live bridge is closed');
    validate(opts);
    const video = await this.ports.take();
    let audio: PortPair;
    try {
      audio = await this.ports.take();
    } catch (err) {
      await this.ports.release(video);
      throw err;
    }
    const stream = new BridgeStream(opts, {
      video,
      audio,
      iceAddress: this.opts.iceAddress,
      icePortRange: this.opts.icePortRange,
      release: async (pairs) => {
        await Promise.all(pairs.map((p) => this.ports.release(p)));
        this.open_.delete(stream);
      },
    });
    this.open_.add(stream);
    return stream;
  }

  streams(): LiveStreamStats[] {
    return [...this.open_].map((s) => s.stats());
  }

  /** Closes every stream (its viewers, sockets); safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.open_].map((s) => s.close()));
  }
}

function validate(o: LiveStreamOptions): void {
  const ssrc = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;
  if (!o.cameraId) throw new Error('a live stream needs a cameraId');
  if (!ssrc(o.videoSsrc)) throw new Error(`videoSsrc must be a 32-bit unsigned integer, got ${String(o.videoSsrc)}`);
  if (o.audioSsrc !== undefined && !ssrc(o.audioSsrc))
    throw new Error(`audioSsrc must be a 32-bit unsigned integer, got ${String(o.audioSsrc)}`);
  checkRembLimits({ startBps: o.rembStartBps, floorBps: o.rembFloorBps });
  if (!(o.stallAfterMs > 0)) throw new Error(`stallAfterMs must be > 0, got ${o.stallAfterMs}`);
}
