import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { JpegSplitter } from '../../../../nodes/lib/camera/jpeg-frames';
import { skipWithoutFfmpeg } from '../../../support/ffmpeg';

const skip = skipWithoutFfmpeg;

/** Three 64×48 JPEGs, as the analysis decoder's image2pipe writes them. */
function ffmpegMjpeg(): Buffer {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=1'];
  const run = spawnSync('ffmpeg', [...args, '-frames:v', '3', '-c:v', 'mjpeg', '-f', 'image2pipe', '-'], { maxBuffer: 1 << 24 });
  assert.equal(run.status, 0, run.stderr?.toString());
  return run.stdout;
}

/** The frames of a stream known to be well formed: each SOI to the next EOI. */
function naiveSplit(stream: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; (at = stream.indexOf('ffd8', at, 'hex')) >= 0;) {
    const end = stream.indexOf('ffd9', at, 'hex') + 2;
    frames.push(stream.subarray(at, end));
    at = end;
  }
  return frames;
}

/** An APP1 (EXIF) segment holding a whole thumbnail JPEG, inserted after the SOI. */
function withThumbnail(jpeg: Buffer, thumbnail: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumbnail]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), app1, body, jpeg.subarray(2)]);
}

function collect(splitter: JpegSplitter, chunks: Buffer[]): Buffer[] {
  return chunks.flatMap((c) => splitter.push(c));
}

describe('JpegSplitter', { skip }, () => {
  let stream: Buffer;
  let frames: Buffer[];
  before(() => {
    stream = ffmpegMjpeg();
    frames = naiveSplit(stream);
    assert.equal(frames.length, 3);
    assert.deepEqual(Buffer.concat(frames), stream, 'ffmpeg writes the frames back to back');
  });

  it('finds every frame wherever the stream is cut in two', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const skipped: number[] = [];
      const splitter = new JpegSplitter({ onSkip: (n) => skipped.push(n) });
      const out = collect(splitter, [stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(out, frames, `cut at ${cut}`);
      assert.deepEqual(skipped, [], `cut at ${cut}`);
      assert.equal(splitter.buffered, 0);
    }
  });

  it('reads a byte at a time, a frame across many chunks, and several frames per chunk', () => {
    const bytes = [...stream].map((b) => Buffer.of(b));
    assert.deepEqual(collect(new JpegSplitter(), bytes), frames);
    const twice = Buffer.concat([stream, stream]);
    const splitter = new JpegSplitter();
    assert.deepEqual(splitter.push(twice), [...frames, ...frames], 'six frames in one chunk');
    assert.equal(splitter.stats.frames, 6);
    for (const size of [7, 100, 1000, 4096]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < twice.length; at += size) chunks.push(twice.subarray(at, at + size));
      assert.deepEqual(collect(new JpegSplitter(), chunks), [...frames, ...frames], `${size}-byte chunks`);
    }
  });

  it('keeps an EXIF thumbnail, EOI and all, inside its frame', () => {
    const big = withThumbnail(frames[0]!, frames[1]!);
    const input = Buffer.concat([big, frames[2]!]);
    for (let cut = 0; cut <= input.length; cut += 13) {
      const out = collect(new JpegSplitter(), [input.subarray(0, cut), input.subarray(cut)]);
      assert.deepEqual(out, [big, frames[2]], `cut at ${cut}`);
    }
  });

  it('skips and reports garbage between frames, a false SOI and a frame cut short', () => {
    const skips: Array<[number, string]> = [];
    const splitter = new JpegSplitter({ onSkip: (n, why) => skips.push([n, why]) });
    const noise = Buffer.from('not a jpeg \xff\x00\xff', 'latin1');
    const falseSoi = Buffer.from([0xff, 0xd8, 0x12, 0x34, 0x56]);
    const cut = frames[1]!.subarray(0, 700);
    const input = Buffer.concat([noise, frames[0]!, falseSoi, noise, frames[1]!, cut, frames[2]!]);
    const out: Buffer[] = [];
    for (let at = 0; at < input.length; at += 50) out.push(...splitter.push(input.subarray(at, at + 50)));
    assert.deepEqual(out, frames);
    const total = skips.reduce((sum, [n]) => sum + n, 0);
    assert.equal(total, noise.length * 2 + falseSoi.length + cut.length, JSON.stringify(skips));
    assert.equal(splitter.stats.skippedBytes, total);
    assert.ok(skips.some(([, why]) => why.includes('cut short')));
    assert.ok(skips.some(([, why]) => why.includes('not a JPEG')));
  });

  it('bounds the buffer: a frame that never ends is dropped, and the next one is found', () => {
    const skips: Array<[number, string]> = [];
    const max = 64 * 1024;
    const splitter = new JpegSplitter({ maxFrameBytes: max, onSkip: (n, why) => skips.push([n, why]) });
    // SOI, a valid SOS header, then entropy data without a marker: a frame without end
    const sos = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]);
    assert.deepEqual(splitter.push(sos), []);
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      assert.deepEqual(splitter.push(Buffer.alloc(10_000, 0x55)), []);
      peak = Math.max(peak, splitter.buffered);
    }
    assert.ok(peak <= max + 64 * 1024, `buffered at most ${peak} bytes`);
    assert.equal(splitter.stats.oversized, 1);
    assert.ok(skips[0]![1].includes('larger than'));
    // the endless frame's rest is garbage; a big chunk of garbage is not held either
    splitter.push(Buffer.alloc(5 * max, 0x55));
    assert.equal(splitter.buffered, 0);
    assert.deepEqual(splitter.push(stream), frames);
    assert.equal(splitter.stats.skippedBytes, sos.length + 200 * 10_000 + 5 * max);
  });

  it('reset() forgets an unfinished frame and reports it', () => {
    const skips: number[] = [];
    const splitter = new JpegSplitter({ onSkip: (n) => skips.push(n) });
    assert.deepEqual(splitter.push(stream.subarray(0, 1000)), []);
    splitter.reset();
    assert.deepEqual(skips, [1000]);
    assert.deepEqual(splitter.push(stream.subarray(frames[0]!.length)), frames.slice(1));
  });
});
