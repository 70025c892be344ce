import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { MjpegBroadcaster } from '../../../../nodes/lib/camera/mjpeg-preview';

const BOUNDARY = 'testframe';

/** A fake JPEG of `size` bytes whose first bytes after the SOI number it. */
function jpeg(n: number, size = 200): Buffer {
  const b = randomBytes(size);
  b.writeUInt16BE(0xffd8, 0);
  b.writeUInt32BE(n, 2);
  b.writeUInt16BE(0xffd9, size - 2);
  return b;
}
const number = (frame: Buffer): number => frame.readUInt32BE(2);

/** A browser's view of the stream: the response headers, and each part's headers and body as they arrive. */
class Viewer {
  readonly parts: Array<{ headers: Record<string, string>; body: Buffer }> = [];
  res!: IncomingMessage;
  ended = false;
  private buf = Buffer.alloc(0);
  readonly req: http.ClientRequest;
  readonly ready: Promise<IncomingMessage>;

  constructor(port: number, opts: { paused?: boolean } = {}) {
    this.req = http.get({ port, path: '/preview', agent: false });
    this.req.on('error', () => undefined); // destroyed on purpose by some tests
    this.ready = new Promise((resolve) => {
      this.req.once('response', (res) => {
        this.res = res;
        res.on('end', () => (this.ended = true));
        res.on('error', () => undefined);
        res.on('data', (chunk: Buffer) => this.take(chunk));
        if (opts.paused) res.pause(); // a stalled browser: the socket fills, then the server's buffer

        resolve(res);
      });
    });
  }

  /** the stream ended with the closing delimiter (RFC 2046 §5.1.1) */
  get closed(): boolean {
    return this.ended && this.buf.toString('latin1') === `--${BOUNDARY}--\r\n`;
  }

  get frames(): number[] {
    return this.parts.map((p) => number(p.body));
  }

  private take(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const [delimiter, ...lines] = this.buf.subarray(0, headEnd).toString('latin1').split('\r\n');
      if (delimiter === `--${BOUNDARY}--`) return;
      assert.equal(delimiter, `--${BOUNDARY}`);
      const headers = Object.fromEntries(lines.map((l) => l.split(': ') as [string, string]));
      const length = Number(headers['Content-Length']);
      const end = headEnd + 4 + length;
      if (this.buf.length < end + 2) return;
      assert.equal(this.buf.subarray(end, end + 2).toString(), '\r\n');
      this.parts.push({ headers, body: this.buf.subarray(headEnd + 4, end) });
      this.buf = this.buf.subarray(end + 2);
    }
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('MjpegBroadcaster', () => {
  let server: http.Server;
  let port: number;
  let mjpeg: MjpegBroadcaster;
  const responses: ServerResponse[] = [];

  function start(opts: { maxViewers?: number; stalledMs?: number } = {}): void {
    mjpeg = new MjpegBroadcaster({ boundary: BOUNDARY, ...opts });
  }

  beforeEach(async () => {
    responses.length = 0;
    start();
    server = http.createServer((req, res) => {
      responses.push(res);
      mjpeg.addViewer(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    mjpeg.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends every viewer the same frames as multipart parts, with the right headers', async () => {
    const a = new Viewer(port);
    const b = new Viewer(port);
    const [resA, resB] = await Promise.all([a.ready, b.ready]);
    for (const res of [resA, resB]) {
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], `multipart/x-mixed-replace; boundary=${BOUNDARY}`);
      assert.equal(res.headers['cache-control'], 'no-cache, no-store');
    }
    await until('two viewers', () => mjpeg.viewers === 2);
    const sent = [1, 2, 3, 4, 5].map((n) => jpeg(n, 100 + n * 1000));
    for (const f of sent) mjpeg.push(f);
    await until('five parts each', () => a.parts.length === 5 && b.parts.length === 5);
    for (const v of [a, b]) {
      assert.deepEqual(
        v.parts.map((p) => p.body),
        sent,
      );
      for (const [i, p] of v.parts.entries()) {
        assert.deepEqual(p.headers, { 'Content-Type': 'image/jpeg', 'Content-Length': String(sent[i]!.length) });
      }
    }
    assert.equal(mjpeg.lastFrame, sent[4]);
  });

  it('sends a late viewer the last frame at once', async () => {
    mjpeg.push(jpeg(1));
    mjpeg.push(jpeg(2));
    const late = new Viewer(port);
    await until('the last frame', () => late.parts.length === 1);
    assert.deepEqual(late.frames, [2]);
    mjpeg.push(jpeg(3));
    await until('the next frame', () => late.parts.length === 2);
    assert.deepEqual(late.frames, [2, 3]);
  });

  it('removes a viewer that disconnects', async () => {
    const stays = new Viewer(port);
    const leaves = new Viewer(port);
    await Promise.all([stays.ready, leaves.ready]);
    await until('two viewers', () => mjpeg.viewers === 2);
    leaves.req.destroy();
    await until('one viewer', () => mjpeg.viewers === 1);
    mjpeg.push(jpeg(1));
    await until('a frame', () => stays.parts.length === 1);
    assert.deepEqual(leaves.frames, []);
  });

  it('answers 503 beyond maxViewers', async () => {
    mjpeg.close();
    start({ maxViewers: 2 });
    const viewers = [new Viewer(port), new Viewer(port), new Viewer(port)];
    const statuses = (await Promise.all(viewers.map((v) => v.ready))).map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [200, 200, 503]);
    assert.equal(mjpeg.viewers, 2);
  });

  it('cuts off viewers that take nothing for a while, so clients that never read cannot hold every slot', async () => {
    mjpeg.close();
    start({ maxViewers: 2, stalledMs: 300 });
    const stalled = [new Viewer(port, { paused: true }), new Viewer(port, { paused: true })];
    await Promise.all(stalled.map((v) => v.ready));
    // Frames until both sockets are full (their writes stop being taken).
    for (let n = 1; mjpeg.stats.skipped < 2 && n < 2000; n++) {
      mjpeg.push(jpeg(n, 64 * 1024));
      await tick();
    }
    assert.equal((await new Viewer(port).ready).statusCode, 503, 'both slots held for now');
    await new Promise((r) => setTimeout(r, 400));
    const next = new Viewer(port);
    assert.equal((await next.ready).statusCode, 200, 'the stalled ones were cut off, and a new viewer gets in');
    assert.equal(mjpeg.viewers, 1);
  });

  it('skips frames for a viewer that cannot keep up, without buffering them, and serves the fast one every frame', async () => {
    const slow = new Viewer(port, { paused: true });
    await slow.ready;
    const fast = new Viewer(port);
    await fast.ready;
    await until('two viewers', () => mjpeg.viewers === 2);
    const slowRes = responses[0]!;
    const size = 64 * 1024;
    let pushed = 0;
    let peak = 0;
    const pushOne = async (): Promise<void> => {
      mjpeg.push(jpeg(++pushed, size));
      peak = Math.max(peak, slowRes.writableLength);
      await until(`frame ${pushed} at the fast viewer`, () => fast.parts.length === pushed);
      await tick(); // the fast viewer's 'drain', if its write was buffered
    };
    // until the slow viewer's socket buffers are full, then 100 frames more
    while (mjpeg.stats.skipped === 0 && pushed < 2000) await pushOne();
    assert.ok(mjpeg.stats.skipped > 0, `no frame skipped after ${pushed} frames`);
    const firstSkip = pushed;
    for (let i = 0; i < 100; i++) await pushOne();
    assert.deepEqual(
      fast.frames,
      [...Array(pushed).keys()].map((i) => i + 1),
      'the fast viewer got every frame',
    );
    assert.ok(mjpeg.stats.skipped >= 100, `skipped ${mjpeg.stats.skipped}`);
    assert.ok(peak <= 2 * size, `the slow viewer's response buffered at most ${peak} bytes`);
    // the slow viewer, reading again, gets what was in flight and then new frames
    slow.res.resume();
    await until('the slow viewer to read what was in flight', () => slow.frames.includes(firstSkip - 1));
    const missed = pushed;
    await until('a new frame at the slow viewer', () => {
      if ((slow.frames.at(-1) ?? 0) > missed) return true;
      mjpeg.push(jpeg(++pushed, size));
      return false;
    });
    assert.deepEqual(
      slow.frames.slice(0, firstSkip - 1),
      [...Array(firstSkip - 1).keys()].map((i) => i + 1),
    );
    assert.ok(slow.parts.length < pushed - 100, `the slow viewer got ${slow.parts.length} of ${pushed}`);
  });

  it('close() ends every response with the closing boundary, and refuses new viewers', async () => {
    const a = new Viewer(port);
    const b = new Viewer(port);
    await Promise.all([a.ready, b.ready]);
    await until('two viewers', () => mjpeg.viewers === 2);
    mjpeg.push(jpeg(1));
    await until('a frame each', () => a.parts.length === 1 && b.parts.length === 1);
    mjpeg.close();
    mjpeg.close();
    await until('both responses to end', () => a.ended && b.ended);
    assert.ok(a.closed && b.closed, 'with the closing boundary');
    assert.equal(mjpeg.viewers, 0);
    assert.equal(mjpeg.lastFrame, undefined);
    const after = new Viewer(port);
    assert.equal((await after.ready).statusCode, 503);
  });
});
