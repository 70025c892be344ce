import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { rawZip } from '../../../support/zip';
import { extractZip, UnsafeZipError, type UnsafeZipReason, type ZipLimits } from '../../../../nodes/lib/uploads/safe-zip';

const LIMITS: ZipLimits = {
  maxFiles: 8,
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 2 * 1024 * 1024,
  maxRatio: 50,
  allowedExtensions: ['.jpg', '.jpeg', '.png', '.mp4', '.ts', '.h264', '.json'],
};

let root: string;
let n = 0;

/** Fresh work area: a source dir for building zips and a parent for destDir. */
function area(): { src: string; parent: string; dest: string; zip: string } {
  const base = path.join(root, `case${n++}`);
  const src = path.join(base, 'src');
  const parent = path.join(base, 'out');
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(parent, { recursive: true });
  return { src, parent, dest: path.join(parent, 'event-1'), zip: path.join(base, 'upload.zip') };
}

function zipCli(cwd: string, zipPath: string, files: string[], extra: string[] = []): void {
  execFileSync('zip', ['-q', ...extra, zipPath, ...files], { cwd });
}

/** Walks a directory tree (not following links). */
function listAll(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String);
}

async function expectRejected(zipPath: string, dest: string, reason: UnsafeZipReason, limits: ZipLimits = LIMITS): Promise<UnsafeZipError> {
  let caught: unknown;
  try {
    await extractZip(zipPath, dest, limits);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UnsafeZipError, `expected UnsafeZipError, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  // Nothing written: no destination, no temp dir, nothing else next to it.
  assert.equal(fs.existsSync(dest), false, 'destDir must not exist');
  assert.deepEqual(listAll(path.dirname(dest)), [], 'parent of destDir must stay empty');
  return caught;
}

describe('extractZip', () => {
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'safe-zip-test-'));
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('extracts a good upload (thumbnail + recording + metadata) with types', async () => {
    const a = area();
    fs.writeFileSync(path.join(a.src, 'thumbnail.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]));
    fs.writeFileSync(path.join(a.src, 'clip.mp4'), Buffer.from('not really an mp4 but fine'.repeat(10)));
    fs.writeFileSync(path.join(a.src, 'meta.json'), JSON.stringify({ event_id: 'e1', camera_id: 'cam' }));
    fs.mkdirSync(path.join(a.src, 'sub'));
    fs.writeFileSync(path.join(a.src, 'sub', 'b.png'), 'png');
    zipCli(a.src, a.zip, ['thumbnail.jpg', 'clip.mp4', 'meta.json', 'sub']);
    zipCli(a.src, a.zip, ['-r', 'sub']);

    const files = await extractZip(a.zip, a.dest, LIMITS);
    const byName = Object.fromEntries(files.map((f) => [f.name, f]));
    assert.deepEqual(Object.keys(byName).sort(), ['clip.mp4', 'meta.json', 'sub/b.png', 'thumbnail.jpg']);
    assert.equal(byName['thumbnail.jpg']?.type, 'thumbnail');
    assert.equal(byName['clip.mp4']?.type, 'recording');
    assert.equal(byName['meta.json']?.type, 'metadata');
    assert.equal(byName['sub/b.png']?.type, 'thumbnail');
    for (const f of files) {
      assert.ok(path.isAbsolute(f.path) && f.path.startsWith(a.dest + path.sep));
      assert.deepEqual(fs.readFileSync(f.path), fs.readFileSync(path.join(a.src, f.name)));
      assert.equal(f.bytes, fs.statSync(f.path).size);
    }
    // Only the destination is left in the parent: the temp dir was renamed.
    assert.deepEqual(fs.readdirSync(a.parent), ['event-1']);
  });

  it('extracts deflated entries written by hand', async () => {
    const a = area();
    const data = Buffer.from('x'.repeat(1000) + 'y'.repeat(1000));
    fs.writeFileSync(a.zip, rawZip([{ name: 'a.h264', data: Buffer.from(data), deflate: true }]));
    const files = await extractZip(a.zip, a.dest, { ...LIMITS, maxRatio: 1000 });
    assert.equal(files.length, 1);
    assert.deepEqual(fs.readFileSync(files[0]!.path), data);
  });

  const evil: Array<[string, UnsafeZipReason, string]> = [
    ['../evil.jpg', 'traversal', 'evil.jpg'],
    ['ok/../../evil-b.jpg', 'traversal', 'evil-b.jpg'],
    // A leading `/` is the archive's root (cameras write `/aes.key`): `/../x` still climbs out.
    [`/${'..'}/tmp/evil-d.jpg`, 'traversal', 'evil-d.jpg'],
    [`//${'..'}/evil-i.jpg`, 'traversal', 'evil-i.jpg'],
    ['C:\\evil-e.jpg', 'absolute', 'C:\\evil-e.jpg'],
    ['C:evil-f.jpg', 'absolute', 'C:evil-f.jpg'],
    ['\\evil-g.jpg', 'absolute', '\\evil-g.jpg'],
    ['sub\\..\\..\\evil-h.jpg', 'traversal', 'sub\\..\\..\\evil-h.jpg'],
  ];
  for (const [name, reason, leaf] of evil) {
    it(`rejects ${JSON.stringify(name)} as ${reason} and writes nothing`, async () => {
      const a = area();
      fs.writeFileSync(
        a.zip,
        rawZip([
          { name: 'thumbnail.jpg', data: Buffer.from('ok') },
          { name, data: Buffer.from('pwned') },
        ]),
      );
      const err = await expectRejected(a.zip, a.dest, reason);
      assert.ok(err.message.includes(JSON.stringify(name)), err.message);
      for (const dir of [a.parent, path.dirname(a.parent), path.dirname(path.dirname(a.parent)), os.tmpdir(), '/tmp']) {
        assert.equal(fs.existsSync(path.join(dir, leaf)), false, `${leaf} in ${dir}`);
        assert.equal(fs.existsSync(path.join(dir, 'evil.jpg')), false, `evil.jpg in ${dir}`);
      }
    });
  }

  // Names the file system cannot hold failed at write time with ENAMETOOLONG: a 500 at the gateway (issue 13, item 16).
  const overlong: Array<[string, string, RegExp]> = [
    ['a 4,000-character name', `${'a'.repeat(4000)}.jpg`, /name of 4004 bytes \(limit 1024\)/],
    ['a 300-byte folder name', `${'x'.repeat(300)}/a.jpg`, /path part longer than 255 bytes/],
    ['a name 40 folders deep', `${'d/'.repeat(40)}a.jpg`, /41 folders deep \(limit 16\)/],
    ['a 200-character name of 3-byte characters', `${'€'.repeat(200)}.jpg`, /path part longer than 255 bytes/],
  ];
  for (const [what, name, message] of overlong) {
    it(`rejects ${what} as a bad name and writes nothing`, async () => {
      const a = area();
      fs.writeFileSync(a.zip, rawZip([{ name, data: Buffer.from('ok') }]));
      const err = await expectRejected(a.zip, a.dest, 'name');
      assert.match(err.message, message);
      assert.ok(err.message.length < 300, 'the name is quoted shortened');
    });
  }

  it('extracts odd but harmless names as they are', async () => {
    const a = area();
    const names = ['1080p/0.ts', 'with space.jpg', 'per%20cent.jpg', 'colon:name.json', 'ünïcödé/bild.png', `${'n'.repeat(250)}.jpg`];
    fs.writeFileSync(a.zip, rawZip(names.map((name) => ({ name, data: Buffer.from(name) }))));
    const files = await extractZip(a.zip, a.dest, LIMITS);
    assert.deepEqual(
      files.map((f) => f.name),
      names,
    );
    for (const f of files) assert.equal(fs.readFileSync(f.path, 'utf8'), f.name);
  });

  it('rejects a symlink entry (zip --symlinks) and writes nothing', async () => {
    const a = area();
    fs.writeFileSync(path.join(a.src, 'thumbnail.jpg'), 'ok');
    fs.symlinkSync('/etc/passwd', path.join(a.src, 'link.jpg'));
    zipCli(a.src, a.zip, ['thumbnail.jpg', 'link.jpg'], ['--symlinks']);
    const err = await expectRejected(a.zip, a.dest, 'symlink');
    assert.match(err.message, /link\.jpg/);
  });

  it('rejects a hand-written symlink mode', async () => {
    const a = area();
    fs.writeFileSync(a.zip, rawZip([{ name: 'x.jpg', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]));
    await expectRejected(a.zip, a.dest, 'symlink');
  });

  it('skips directory entries', async () => {
    const a = area();
    fs.mkdirSync(path.join(a.src, 'empty'));
    fs.writeFileSync(path.join(a.src, 'thumbnail.jpg'), 'ok');
    zipCli(a.src, a.zip, ['empty', 'thumbnail.jpg']);
    const files = await extractZip(a.zip, a.dest, LIMITS);
    assert.deepEqual(
      files.map((f) => f.name),
      ['thumbnail.jpg'],
    );
    assert.deepEqual(fs.readdirSync(a.dest), ['thumbnail.jpg']);
  });

  it('rejects duplicate names (also case-insensitive and via ./)', async () => {
    for (const second of ['thumbnail.jpg', 'THUMBNAIL.JPG', './thumbnail.jpg']) {
      const a = area();
      fs.writeFileSync(
        a.zip,
        rawZip([
          { name: 'thumbnail.jpg', data: Buffer.from('one') },
          { name: second, data: Buffer.from('two') },
        ]),
      );
      await expectRejected(a.zip, a.dest, 'duplicate');
    }
  });

  it('rejects a file that is also a directory of another file', async () => {
    const a = area();
    fs.writeFileSync(
      a.zip,
      rawZip([
        { name: 'a.jpg/b.jpg', data: Buffer.from('one') },
        { name: 'a.jpg', data: Buffer.from('two') },
      ]),
    );
    await expectRejected(a.zip, a.dest, 'duplicate');
  });

  it('rejects too many files', async () => {
    const a = area();
    const names: string[] = [];
    for (let i = 0; i < 9; i++) {
      names.push(`f${i}.jpg`);
      fs.writeFileSync(path.join(a.src, `f${i}.jpg`), `img ${i}`);
    }
    zipCli(a.src, a.zip, names);
    const err = await expectRejected(a.zip, a.dest, 'too-many-files');
    assert.match(err.message, /f8\.jpg/);
  });

  it('rejects a file over the per-file size', async () => {
    const a = area();
    fs.writeFileSync(path.join(a.src, 'clip.mp4'), Buffer.alloc(1024 * 1024 + 1, 7));
    zipCli(a.src, a.zip, ['-0', 'clip.mp4']);
    const err = await expectRejected(a.zip, a.dest, 'too-large');
    assert.match(err.message, /clip\.mp4/);
  });

  it('rejects archives over the total size', async () => {
    const a = area();
    for (const f of ['a.mp4', 'b.mp4', 'c.mp4']) fs.writeFileSync(path.join(a.src, f), Buffer.alloc(800 * 1024, 1));
    zipCli(a.src, a.zip, ['-0', 'a.mp4', 'b.mp4', 'c.mp4']);
    const err = await expectRejected(a.zip, a.dest, 'too-large');
    assert.match(err.message, /c\.mp4/);
  });

  it('rejects a high compression ratio (10 MB of zeros)', async () => {
    const a = area();
    fs.writeFileSync(path.join(a.src, 'zeros.mp4'), Buffer.alloc(10 * 1024 * 1024));
    zipCli(a.src, a.zip, ['zeros.mp4']);
    const err = await expectRejected(a.zip, a.dest, 'ratio', {
      ...LIMITS,
      maxFileBytes: 20 * 1024 * 1024,
      maxTotalBytes: 20 * 1024 * 1024,
    });
    assert.match(err.message, /zeros\.mp4/);
  });

  it('stops a bomb whose header lies about its size, and leaves nothing', async () => {
    const a = area();
    const big = Buffer.alloc(20 * 1024 * 1024);
    fs.writeFileSync(
      a.zip,
      rawZip([
        { name: 'thumbnail.jpg', data: Buffer.from('ok') },
        // 20 MB of zeros deflates to ~20 KB; the header claims 10 000 bytes (ratio < 1).
        { name: 'bomb.mp4', data: big, deflate: true, declaredSize: 10_000 },
      ]),
    );
    const err = await expectRejected(a.zip, a.dest, 'too-large');
    assert.match(err.message, /bomb\.mp4/);
    for (const dir of [a.parent, path.dirname(a.parent), os.tmpdir()]) {
      assert.equal(fs.existsSync(path.join(dir, 'bomb.mp4')), false);
      assert.equal(fs.existsSync(path.join(dir, 'thumbnail.jpg')), false);
    }
  });

  it('rejects an entry whose data is shorter than declared, or fails its CRC', async () => {
    const a = area();
    fs.writeFileSync(a.zip, rawZip([{ name: 'clip.mp4', data: Buffer.from('short'), declaredSize: 5 }]));
    // sanity: declared == actual is fine
    await extractZip(a.zip, a.dest, LIMITS);
    const b = area();
    fs.writeFileSync(b.zip, rawZip([{ name: 'clip.mp4', data: Buffer.from('short'), deflate: true, declaredSize: 50 }]));
    await expectRejected(b.zip, b.dest, 'corrupt', { ...LIMITS, maxRatio: 1000 });
    const c = area();
    const bytes = rawZip([{ name: 'clip.mp4', data: Buffer.from('hello world') }]);
    bytes.writeUInt8(bytes.readUInt8(30 + 'clip.mp4'.length) ^ 0xff, 30 + 'clip.mp4'.length); // flip a data byte: CRC no longer matches
    fs.writeFileSync(c.zip, bytes);
    await expectRejected(c.zip, c.dest, 'corrupt');
  });

  it('rejects a disallowed type (evil.sh)', async () => {
    const a = area();
    fs.writeFileSync(path.join(a.src, 'thumbnail.jpg'), 'ok');
    fs.writeFileSync(path.join(a.src, 'evil.sh'), '#!/bin/sh\nrm -rf /\n');
    zipCli(a.src, a.zip, ['thumbnail.jpg', 'evil.sh']);
    const err = await expectRejected(a.zip, a.dest, 'type');
    assert.match(err.message, /evil\.sh/);
  });

  it('rejects corrupt archives', async () => {
    const a = area();
    fs.writeFileSync(a.zip, Buffer.from('this is not a zip file at all, just text'));
    await expectRejected(a.zip, a.dest, 'corrupt');

    const b = area();
    fs.writeFileSync(path.join(b.src, 'thumbnail.jpg'), Buffer.alloc(5000, 3));
    zipCli(b.src, b.zip, ['thumbnail.jpg']);
    const full = fs.readFileSync(b.zip);
    fs.writeFileSync(b.zip, full.subarray(0, full.length - 30)); // truncated end record
    await expectRejected(b.zip, b.dest, 'corrupt');

    const c = area();
    const garbage = Buffer.from(zlib.deflateRawSync(Buffer.alloc(4000, 9)));
    const zipBytes = rawZip([{ name: 'clip.mp4', data: Buffer.alloc(4000, 9), deflate: true }]);
    // overwrite the deflate stream with junk of the same length
    Buffer.alloc(garbage.length, 0xff).copy(zipBytes, 30 + 'clip.mp4'.length);
    fs.writeFileSync(c.zip, zipBytes);
    await expectRejected(c.zip, c.dest, 'corrupt', { ...LIMITS, maxRatio: 1000 });
  });

  // What a VBC01 camera really uploads (vbc01-protocol.md §3.4).
  const VBC01: ZipLimits = { ...LIMITS, allowedExtensions: [...LIMITS.allowedExtensions, '.key'] };

  it('extracts a recording part in the real layout: aes.key and numbered segments, leading `/` as the archive root', async () => {
    const a = area();
    const key = Buffer.alloc(16, 7);
    fs.writeFileSync(
      a.zip,
      rawZip([
        { name: '/aes.key', data: key },
        { name: '/720p/0.ts', data: Buffer.alloc(376, 1) },
        { name: '720p/1.ts', data: Buffer.alloc(188, 2) },
        { name: '/1080p/12.ts', data: Buffer.alloc(188, 3) },
      ]),
    );
    const files = await extractZip(a.zip, a.dest, VBC01);
    assert.deepEqual(
      files.map((f) => [f.name, f.type]),
      [
        ['aes.key', 'key'],
        ['720p/0.ts', 'segment'],
        ['720p/1.ts', 'segment'],
        ['1080p/12.ts', 'segment'],
      ],
    );
    assert.deepEqual(fs.readFileSync(path.join(a.dest, 'aes.key')), key);
    assert.deepEqual(listAll(a.parent).sort(), [
      'event-1',
      'event-1/1080p',
      'event-1/1080p/12.ts',
      'event-1/720p',
      'event-1/720p/0.ts',
      'event-1/720p/1.ts',
      'event-1/aes.key',
    ]);
  });

  it('puts `/etc/x.jpg` inside the destination (the archive root), never in /etc', async () => {
    const a = area();
    fs.writeFileSync(a.zip, rawZip([{ name: '/etc/evil-c.jpg', data: Buffer.from('ok') }]));
    const [file] = await extractZip(a.zip, a.dest, LIMITS);
    assert.equal(file!.path, path.join(a.dest, 'etc', 'evil-c.jpg'));
    assert.equal(fs.existsSync('/etc/evil-c.jpg'), false);
  });

  const badParts: Array<[string, Array<{ name: string; data: Buffer }>, UnsafeZipReason, RegExp]> = [
    ['a 17-byte aes.key', [{ name: 'aes.key', data: Buffer.alloc(17) }], 'key', /17 bytes: an AES-128 key is exactly 16/],
    ['a 15-byte aes.key', [{ name: '/aes.key', data: Buffer.alloc(15) }], 'key', /15 bytes/],
    ['another .key file', [{ name: 'camera.key', data: Buffer.alloc(16) }], 'type', /camera\.key/],
    ['a segment without a number', [{ name: '720p/first.ts', data: Buffer.alloc(188) }], 'name', /must be named N\.ts/],
    ['a segment in a subfolder', [{ name: '1080p/a/1.ts', data: Buffer.alloc(188) }], 'name', /must be named N\.ts/],
  ];
  for (const [what, entries, reason, message] of badParts) {
    it(`refuses ${what} (${reason}) and writes nothing`, async () => {
      const a = area();
      fs.writeFileSync(a.zip, rawZip(entries));
      const err = await expectRejected(a.zip, a.dest, reason, VBC01);
      assert.match(err.message, message);
    });
  }

  it('decodes names as the ZIP format says: CP437 without the UTF-8 flag, UTF-8 with it', async () => {
    const a = area();
    // "café.jpg" in CP437 (é = 0x82) and "naïve.jpg" in UTF-8: latin1 would make 0x82 a control character.
    fs.writeFileSync(
      a.zip,
      rawZip([
        {
          name: 'cafe.jpg',
          rawName: Buffer.from([0x63, 0x61, 0x66, 0x82, 0x2e, 0x6a, 0x70, 0x67]),
          utf8Flag: false,
          data: Buffer.from('a'),
        },
        { name: 'naïve.jpg', data: Buffer.from('b') },
        { name: 'box.jpg', rawName: Buffer.from([0x62, 0xc9, 0x2e, 0x6a, 0x70, 0x67]), utf8Flag: false, data: Buffer.from('c') },
      ]),
    );
    const files = await extractZip(a.zip, a.dest, LIMITS);
    assert.deepEqual(
      files.map((f) => f.name),
      ['café.jpg', 'naïve.jpg', 'b╔.jpg'],
    );
    assert.ok(fs.existsSync(path.join(a.dest, 'café.jpg')));
  });

  it('refuses a non-empty destination without touching it', async () => {
    const a = area();
    fs.mkdirSync(a.dest);
    fs.writeFileSync(path.join(a.dest, 'keep.txt'), 'mine');
    fs.writeFileSync(a.zip, rawZip([{ name: 'thumbnail.jpg', data: Buffer.from('ok') }]));
    await assert.rejects(extractZip(a.zip, a.dest, LIMITS), /not empty/);
    assert.deepEqual(fs.readdirSync(a.dest), ['keep.txt']);
    assert.deepEqual(fs.readdirSync(a.parent), ['event-1']);
  });
});
