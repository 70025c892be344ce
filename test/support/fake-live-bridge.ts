/**
 * An in-memory live-video bridge following nodes/lib/live/bridge-types.ts, for the tests of
 * what drives it (vbc01-live) while the real one (nodes/lib/live/rtp-bridge.ts) is built beside
 * it. No sockets: the test plays the camera (`packet()`, `stall()`) and the bridge keeps the
 * contract's bookkeeping (ports from the range, viewers, stats, events, close).
 */
import { BadOfferError } from '../../nodes/lib/live/whep-viewer';
import { EventEmitter } from 'node:events';
import type {
  LiveBridgeOptions,
  LiveStream,
  LiveStreamOptions,
  LiveStreamPorts,
  LiveStreamStats,
  WhepAnswer,
} from '../../nodes/lib/live/bridge-types';
import type { LiveBridgeLike } from '../../nodes/vbc01-live/bridge';

export class FakeLiveStream extends EventEmitter implements LiveStream {
  readonly id: string;
  closed = false;
  private readonly viewerIds = new Set<string>();
  private counters = { packets: 0, bytes: 0 };
  private state: LiveStreamStats['state'] = 'waiting';
  private nextViewer = 1;

  constructor(
    readonly options: LiveStreamOptions,
    readonly ports: LiveStreamPorts,
    private readonly bridge: FakeLiveBridge,
  ) {
    super();
    this.id = `${options.cameraId}-${ports.videoRtp}`;
  }

  /** The camera's RTP arrives: the first one is 'first-packet', after a stall 'resume'. */
  packet(bytes = 1200): void {
    this.counters.packets++;
    this.counters.bytes += bytes;
    if (this.state === 'waiting') {
      this.state = 'playing';
      this.emit('first-packet');
    } else if (this.state === 'stalled') {
      this.state = 'playing';
      this.emit('resume');
    }
  }

  stall(): void {
    this.state = 'stalled';
    this.emit('stall');
  }

  stats(): LiveStreamStats {
    return {
      cameraId: this.options.cameraId,
      state: this.closed ? 'closed' : this.state,
      packets: this.counters.packets,
      bytes: this.counters.bytes,
      lost: 0,
      spoofed: 0,
      bitrateBps: this.state === 'playing' ? 2_000_000 : 0,
      rembSent: this.counters.packets > 0 ? 1 : 0,
      lastRembBps: this.options.rembStartBps,
      keyframeRequests: 0,
      viewers: this.viewerIds.size,
    };
  }

  addViewer(offerSdp: string): Promise<WhepAnswer> {
    if (this.closed) return Promise.reject(new Error('the stream is closed'));
    if (!offerSdp.includes('a=recvonly') && !offerSdp.includes('a=sendrecv'))
      return Promise.reject(new BadOfferError('the offer receives no video'));
    const viewerId = `viewer-${this.nextViewer++}`;
    this.viewerIds.add(viewerId);
    this.emit('viewers', this.viewerIds.size);
    return Promise.resolve({
      viewerId,
      sdp: `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 103\r\na=sendonly\r\n`,
    });
  }

  removeViewer(viewerId: string): void {
    if (this.viewerIds.delete(viewerId)) this.emit('viewers', this.viewerIds.size);
  }

  /** How often the driver said its sender restarted (forgetSource). */
  sourcesForgotten = 0;

  forgetSource(): void {
    this.sourcesForgotten++;
  }

  /** A browser whose connection died: the bridge drops it and says so. */
  dropAllViewers(): void {
    this.viewerIds.clear();
    this.emit('viewers', 0);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.bridge.release(this);
      this.emit('closed');
    }
    return Promise.resolve();
  }
}

export class FakeLiveBridge implements LiveBridgeLike {
  readonly opened: FakeLiveStream[] = [];
  closed = false;
  private readonly inUse = new Set<number>();
  private readonly waiters: Array<() => void> = [];

  constructor(readonly options: LiveBridgeOptions) {}

  open(opts: LiveStreamOptions): Promise<LiveStream> {
    if (this.closed) return Promise.reject(new Error('the bridge is closed'));
    let base = this.options.portMin + (this.options.portMin % 2);
    while (this.inUse.has(base)) base += 4;
    if (base + 3 > this.options.portMax) return Promise.reject(new Error('no free ports in the range'));
    this.inUse.add(base);
    const ports = { videoRtp: base, videoRtcp: base + 1, audioRtp: base + 2, audioRtcp: base + 3 };
    const stream = new FakeLiveStream(opts, ports, this);
    this.opened.push(stream);
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve(stream);
  }

  release(stream: FakeLiveStream): void {
    this.inUse.delete(stream.ports.videoRtp);
  }

  streams(): LiveStreamStats[] {
    return this.opened.filter((s) => !s.closed).map((s) => s.stats());
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.opened.map((s) => s.close()));
  }

  /** The stream opened `n`-th (from 1), once it is. */
  async stream(n = 1): Promise<FakeLiveStream> {
    while (this.opened.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.opened[n - 1]!;
  }
}

/** A factory for the runtime's settings (`picamLiveBridge`) that keeps every bridge it made. */
export function fakeBridges(): { factory: (o: LiveBridgeOptions) => FakeLiveBridge; made: FakeLiveBridge[] } {
  const made: FakeLiveBridge[] = [];
  return {
    made,
    factory: (o) => {
      const b = new FakeLiveBridge(o);
      made.push(b);
      return b;
    },
  };
}
