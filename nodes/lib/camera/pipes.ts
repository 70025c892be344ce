/**
 * The byte streams between the processes.
 *
 * One H.264 source, several consumers: the camera can be opened only once, so
 * the source's stdout is copied into the relay's and the analyser's stdin.
 * A consumer that falls behind must not stall the others:
 * - 'pause' (the relay): the source is paused until the consumer drains, as
 *   pipe() would, but for at most `maxPauseMs`; past that the consumer is
 *   treated like a 'drop' one so a stuck relay cannot freeze the analysis.
 * - 'drop' (the analyser): once more than `maxBufferedBytes` wait in its
 *   stdin, its data is dropped until it drains.
 * Data dropped mid-stream corrupts the picture until the next key frame, so a
 * consumer that dropped (or just joined) is fed again only from the next SPS,
 * which rpicam-vid --inline repeats at every key frame.
 *
 * And back: the analyser's raw grey frames, reassembled whatever the chunking.
 */
import type { Readable, Writable } from 'node:stream';
import type { GreyFrame } from './types';

export type OutletPolicy = 'pause' | 'drop';

/** NAL unit type 7: sequence parameter set, the start of a key frame in an --inline stream. */
const NAL_SPS = 7;

/**
 * Where the first SPS NAL unit starts (its Annex B start code, 3 or 4 bytes), or -1.
 * A start code split across two chunks is missed: the consumer then starts at the key frame after.
 */
export function findKeyFrame(buf: Buffer): number {
  for (let i = buf.indexOf(1, 2); i !== -1 && i + 1 < buf.length; i = buf.indexOf(1, i + 1)) {
    if (buf[i - 1] === 0 && buf[i - 2] === 0 && (buf[i + 1]! & 0x1f) === NAL_SPS) {
      return i >= 3 && buf[i - 3] === 0 ? i - 3 : i - 2;
    }
  }
  return -1;
}

export class Outlet {
  /** bytes thrown away for this consumer, in total */
  droppedBytes = 0;
  /** bytes handed to this consumer, in total */
  writtenBytes = 0;
  /** true until the next key frame: the consumer has just joined or has lost data */
  private needKeyFrame = true;
  /** waiting for 'drain' after data was dropped */
  private dropping = false;

  constructor(
    readonly stream: Writable,
    readonly policy: OutletPolicy,
    private readonly maxBufferedBytes: number,
    private readonly onDrop: (outlet: Outlet) => void,
  ) {}

  /** Writes what the consumer can take; false when it asks the source to wait. */
  write(chunk: Buffer): boolean {
    if (!this.stream.writable) return true;
    if (this.dropping || (this.policy === 'drop' && this.stream.writableLength > this.maxBufferedBytes)) {
      this.drop(chunk.length);
      return true;
    }
    let data = chunk;
    if (this.needKeyFrame) {
      const at = findKeyFrame(chunk);
      if (at < 0) return true;
      data = chunk.subarray(at);
      this.needKeyFrame = false;
    }
    this.writtenBytes += data.length;
    return this.stream.write(data) || this.policy === 'drop';
  }

  /** Drops data from now until the consumer has drained, then resumes at a key frame. */
  drop(bytes: number): void {
    this.droppedBytes += bytes;
    if (this.dropping) return;
    this.dropping = true;
    this.onDrop(this);
    this.stream.once('drain', () => {
      this.dropping = false;
      this.needKeyFrame = true;
    });
  }
}

export interface FanoutOptions {
  /** longest the source waits for a 'pause' consumer (default 1000 ms) */
  maxPauseMs?: number;
  /** a 'drop' consumer's stdin backlog beyond which data is dropped (default 512 kB, ~2 s at 2 Mbit/s) */
  maxBufferedBytes?: number;
  onDrop?: (outlet: Outlet) => void;
}

export class H264Fanout {
  private readonly outlets = new Set<Outlet>();
  private waitingFor?: Outlet;
  private pauseTimer?: NodeJS.Timeout;
  private readonly onData = (chunk: Buffer): void => this.write(chunk);

  constructor(
    private readonly source: Readable,
    private readonly opts: FanoutOptions = {},
  ) {
    source.on('data', this.onData);
  }

  add(stream: Writable, policy: OutletPolicy): Outlet {
    const outlet = new Outlet(stream, policy, this.opts.maxBufferedBytes ?? 512 * 1024, (o) => this.opts.onDrop?.(o));
    this.outlets.add(outlet);
    return outlet;
  }

  remove(outlet: Outlet | undefined): void {
    if (!outlet) return;
    this.outlets.delete(outlet);
    if (this.waitingFor === outlet) this.resume();
  }

  /** Stops reading the source and clears the pause timer (safe twice). */
  close(): void {
    this.source.off('data', this.onData);
    this.outlets.clear();
    this.resume();
  }

  private write(chunk: Buffer): void {
    for (const outlet of this.outlets) {
      if (outlet.write(chunk) || this.waitingFor) continue;
      this.pauseFor(outlet);
    }
  }

  private pauseFor(outlet: Outlet): void {
    this.waitingFor = outlet;
    this.source.pause();
    outlet.stream.once('drain', () => {
      if (this.waitingFor === outlet) this.resume();
    });
    // A consumer that does not drain in time loses data instead of holding up the others.
    this.pauseTimer = setTimeout(() => {
      if (this.waitingFor !== outlet) return;
      outlet.drop(0);
      this.resume();
    }, this.opts.maxPauseMs ?? 1000);
  }

  private resume(): void {
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    this.waitingFor = undefined;
    this.source.resume();
  }
}

/** Reassembles width×height grey frames from the analyser's byte stream, whatever its chunking. */
export function greyFrames(width: number, height: number, emit: (frame: GreyFrame) => void): (chunk: Buffer) => void {
  const size = width * height;
  let frame = Buffer.alloc(size);
  let filled = 0;
  return (chunk) => {
    for (let at = 0; at < chunk.length;) {
      const n = chunk.copy(frame, filled, at, Math.min(chunk.length, at + size - filled));
      filled += n;
      at += n;
      if (filled < size) continue;
      emit({ width, height, data: frame, timeMs: Date.now() });
      frame = Buffer.alloc(size);
      filled = 0;
    }
  };
}
