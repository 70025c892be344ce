/**
 * A live preview for browsers: one JPEG source shared by every viewer, each viewer
 * an HTTP response of `multipart/x-mixed-replace` whose parts are the frames (the
 * stream an `<img src>` shows as video; seed 003's Flask generator, with one encoder
 * for all viewers instead of one capture each).
 *
 * Works on Node's `http.ServerResponse`, so on Express's and Node-RED's httpNode
 * responses too. A viewer whose connection cannot keep up (`write` returned false)
 * skips frames until its socket drains, so a stalled client costs at most one frame
 * of buffered memory, and a fast viewer is never held back by it.
 */
import type { ServerResponse } from 'node:http';

export interface MjpegOptions {
  /** viewers served at once; more get 503 (default 10) */
  maxViewers?: number;
  /** a viewer that takes nothing for this long is cut off (STALLED_MS) */
  stalledMs?: number;
  /** multipart boundary, 1–70 characters of RFC 2046's bchars (default "picam-guardian-frame") */
  boundary?: string;
}

export interface MjpegStats {
  viewers: number;
  /** frames pushed */
  frames: number;
  /** frames not sent to a viewer because its connection was still busy, over all viewers */
  skipped: number;
}

interface Viewer {
  res: ServerResponse;
  /** write() returned false: frames are skipped until 'drain' */
  busy: boolean;
  /** when it became busy (Date.now()) */
  busySinceMs: number;
  sent: number;
  skipped: number;
}

/**
 * A viewer that has taken nothing for this long is cut off: its slot is one of few, and a
 * client that never reads (ten of them took every slot for as long as they liked) must not
 * keep everyone else from the live view.
 */
const STALLED_MS = 30_000;

// RFC 2046 §5.1.1: bchars, not ending with a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const CRLF = Buffer.from('\r\n');

export class MjpegBroadcaster {
  readonly boundary: string;
  private readonly maxViewers: number;
  private readonly stalledMs: number;
  private readonly list = new Set<Viewer>();
  private last?: Buffer;
  private closed = false;
  private frames = 0;
  private skippedGone = 0;

  constructor(opts: MjpegOptions = {}) {
    this.boundary = opts.boundary ?? 'picam-guardian-frame';
    if (!BOUNDARY.test(this.boundary)) throw new RangeError(`invalid multipart boundary ${JSON.stringify(this.boundary)}`);
    this.maxViewers = opts.maxViewers ?? 10;
    this.stalledMs = opts.stalledMs ?? STALLED_MS;
    if (!(Number.isInteger(this.maxViewers) && this.maxViewers >= 1)) throw new RangeError('maxViewers must be a whole number ≥ 1');
  }

  get viewers(): number {
    return this.list.size;
  }

  /** The last frame pushed, for snapshots. */
  get lastFrame(): Buffer | undefined {
    return this.last;
  }

  get stats(): MjpegStats {
    let skipped = this.skippedGone;
    for (const v of this.list) skipped += v.skipped;
    return { viewers: this.list.size, frames: this.frames, skipped };
  }

  /**
   * Starts streaming to `res`: the headers at once, then the last frame if there is
   * one, then every frame pushed. Returns false, having answered 503, when the
   * broadcaster is full or closed.
   */
  addViewer(res: ServerResponse): boolean {
    this.dropStalled();
    if (this.closed || this.list.size >= this.maxViewers) {
      const why = this.closed ? 'preview stopped' : `too many preview viewers (at most ${this.maxViewers})`;
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '5' });
      res.end(`${why}\n`);
      return false;
    }
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${this.boundary}`,
      'Cache-Control': 'no-cache, no-store',
      Pragma: 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    res.socket?.setNoDelay(true);
    const viewer: Viewer = { res, busy: false, busySinceMs: 0, sent: 0, skipped: 0 };
    this.list.add(viewer);
    const remove = (): void => this.remove(viewer);
    // 'close' comes when the client goes away and after end(); a failed write is
    // followed by it too, so 'error' needs only to be kept from throwing.
    res.once('close', remove);
    res.on('error', remove);
    res.on('drain', () => {
      viewer.busy = false;
    });
    if (this.last) this.send(viewer, this.part(this.last), this.last);
    else res.flushHeaders();
    return true;
  }

  /** Sends a JPEG to every viewer that is ready for it. */
  push(jpeg: Buffer): void {
    if (this.closed) return;
    this.last = jpeg;
    this.frames++;
    if (this.list.size === 0) return;
    this.dropStalled();
    const head = this.part(jpeg);
    for (const v of this.list) {
      if (v.busy) v.skipped++;
      else this.send(v, head, jpeg);
    }
  }

  /**
   * Ends every response with the closing boundary; a viewer whose connection is
   * still busy is cut off instead, since its data may never drain. Later viewers get
   * 503. Safe to call twice.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const end = Buffer.from(`--${this.boundary}--\r\n`);
    for (const v of [...this.list]) {
      this.remove(v);
      if (v.busy) v.res.destroy();
      else v.res.end(end);
    }
    this.last = undefined;
  }

  private part(jpeg: Buffer): Buffer {
    return Buffer.from(`--${this.boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
  }

  private send(v: Viewer, head: Buffer, jpeg: Buffer): void {
    const { res } = v;
    if (res.destroyed || res.writableEnded) return;
    res.cork();
    res.write(head);
    res.write(jpeg);
    const ok = res.write(CRLF);
    res.uncork();
    v.sent++;
    if (!ok) {
      v.busy = true;
      v.busySinceMs = Date.now();
    }
  }

  /** Cuts off the viewers that have taken nothing for `stalledMs`. */
  private dropStalled(): void {
    const before = Date.now() - this.stalledMs;
    for (const v of this.list) {
      if (!v.busy || v.busySinceMs > before) continue;
      this.remove(v);
      v.res.destroy();
    }
  }

  private remove(v: Viewer): void {
    if (this.list.delete(v)) this.skippedGone += v.skipped;
  }
}
