/**
 * Safe extraction of camera upload ZIPs. A VBC01 camera uploads a thumbnail ZIP
 * (one JPEG) and recording ZIPs holding `aes.key` and AES-128 encrypted
 * `720p/N.ts` / `1080p/N.ts` segments, names sometimes with a leading `/`
 * (vbc01-protocol.md §3.4); older uploads hold a recording file and JSON.
 *
 * Names are decoded as the ZIP format says (UTF-8 when flag bit 11 or the
 * Info-ZIP Unicode Path field says so, CP437 otherwise) and checked by yauzl's
 * own validator after our policy has normalised the one thing cameras do that
 * yauzl refuses (a leading `/`); yauzl also checks the entry sizes itself.
 *
 * Every check runs on the central directory before anything is written, so a
 * rejected archive leaves no trace. Extraction then goes into a fresh temporary
 * directory next to destDir, is size-checked again on the real decompressed
 * bytes (headers can lie), and is renamed into place only when complete.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';

export type ZipLimits = {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  /** uncompressed/compressed, per entry */
  maxRatio: number;
  /** lower-case, with dot, e.g. ['.jpg','.jpeg','.png','.mp4','.ts','.h264','.json','.key'] */
  allowedExtensions: string[];
};

/**
 * `key`: a recording part's `aes.key`; `segment`: an HLS segment in a
 * resolution folder (`720p/3.ts`); `recording`: any other video file.
 */
export type ExtractedFileType = 'thumbnail' | 'recording' | 'metadata' | 'key' | 'segment';

export type ExtractedFile = {
  /** relative, normalised, '/'-separated */
  name: string;
  /** absolute, inside destDir */
  path: string;
  bytes: number;
  type: ExtractedFileType;
};

export type UnsafeZipReason =
  'traversal' | 'absolute' | 'symlink' | 'too-many-files' | 'too-large' | 'ratio' | 'type' | 'duplicate' | 'corrupt' | 'name' | 'key';

export class UnsafeZipError extends Error {
  override readonly name = 'UnsafeZipError';
  constructor(
    readonly reason: UnsafeZipReason,
    message: string,
    readonly entry?: string,
  ) {
    super(message);
  }
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  // A recording part holds a key and about seven 3-second segments per resolution (21 s files).
  maxFiles: 64,
  maxFileBytes: 200 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxRatio: 100,
  allowedExtensions: ['.jpg', '.jpeg', '.png', '.mp4', '.ts', '.h264', '.json', '.key'],
};

/** The AES-128 key of a recording part: exactly this name and 16 bytes. */
export const KEY_NAME = 'aes.key';
export const KEY_BYTES = 16;
/** Segment folders of a recording part, best first. */
export const RESOLUTIONS = ['1080p', '720p'] as const;
const SEGMENT = /^(1080p|720p)\/(\d{1,6})\.ts$/;

/** A segment's resolution and number, or undefined for any other name. */
export function segmentOf(name: string): { resolution: (typeof RESOLUTIONS)[number]; index: number } | undefined {
  const m = SEGMENT.exec(name);
  return m ? { resolution: m[1] as (typeof RESOLUTIONS)[number], index: Number(m[2]) } : undefined;
}

const THUMBNAIL_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif']);
const RECORDING_EXT = new Set(['.mp4', '.ts', '.h264', '.mkv', '.mov', '.m4s', '.avi', '.webm']);
const METADATA_EXT = new Set(['.json']);

/** Classifies a normalised file name; undefined when it is none of the kinds we keep. */
export function classifyUpload(name: string): ExtractedFileType | undefined {
  if (name === KEY_NAME) return 'key';
  if (segmentOf(name)) return 'segment';
  const ext = path.posix.extname(name).toLowerCase();
  if (THUMBNAIL_EXT.has(ext)) return 'thumbnail';
  if (RECORDING_EXT.has(ext)) return 'recording';
  if (METADATA_EXT.has(ext)) return 'metadata';
  return undefined;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

type PlannedEntry = {
  entry: yauzl.Entry;
  name: string;
  type: ExtractedFileType;
  declared: number;
};

/**
 * Entry names the file system can hold anywhere under the uploads folder: a
 * longer one would fail at write time (ENAMETOOLONG), after the checks.
 * Camera archives hold names like `1080p/12.ts`.
 */
export const MAX_ENTRY_NAME_BYTES = 1024;
export const MAX_NAME_SEGMENT_BYTES = 255;
export const MAX_NAME_DEPTH = 16;

/** Quoted entry name for messages (control characters escaped, long names cut). */
function q(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);
}

function checkNameSize(raw: string, parts: string[]): void {
  const bytes = Buffer.byteLength(raw);
  if (bytes > MAX_ENTRY_NAME_BYTES) {
    throw new UnsafeZipError('name', `zip entry ${q(raw)} has a name of ${bytes} bytes (limit ${MAX_ENTRY_NAME_BYTES})`, raw);
  }
  if (parts.length > MAX_NAME_DEPTH) {
    throw new UnsafeZipError('name', `zip entry ${q(raw)} is ${parts.length} folders deep (limit ${MAX_NAME_DEPTH})`, raw);
  }
  const long = parts.find((p) => Buffer.byteLength(p) > MAX_NAME_SEGMENT_BYTES);
  if (long) throw new UnsafeZipError('name', `zip entry ${q(raw)} has a path part longer than ${MAX_NAME_SEGMENT_BYTES} bytes`, raw);
}

/**
 * The entry's name as the ZIP format defines it, decoded by yauzl itself:
 * UTF-8 when bit 11 is set (or from a valid Info-ZIP Unicode Path field),
 * CP437 otherwise. Strict: a backslash stays a backslash (and is refused).
 */
function decodeName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer | string;
  if (typeof raw === 'string') return raw;
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, true);
}

/** yauzl's own verdict on a name, in our reasons (it is stricter than nothing, never looser than ours). */
function yauzlNameCheck(raw: string, name: string): void {
  const problem = yauzl.validateFileName(name);
  if (!problem) return;
  const reason: UnsafeZipReason = problem.startsWith('absolute') ? 'absolute' : 'traversal';
  throw new UnsafeZipError(reason, `zip entry ${q(raw)} is refused by the ZIP reader: ${problem}`, raw);
}

/** Recording folders hold numbered segments only: `720p/12.ts`, not `720p/x.ts` or `720p/a/1.ts`. */
function checkSegmentName(raw: string, name: string): void {
  const folder = name.split('/')[0];
  if ((RESOLUTIONS as readonly string[]).includes(folder ?? '') && name.endsWith('.ts') && !segmentOf(name)) {
    throw new UnsafeZipError('name', `zip entry ${q(raw)}: segments in ${folder}/ must be named N.ts with an integer N`, raw);
  }
}

/**
 * Validates and normalises an entry name. Returns the normalised relative name
 * and whether it denotes a directory.
 */
export function normaliseEntryName(raw: string): { name: string; isDir: boolean } {
  if (raw.length === 0) throw new UnsafeZipError('corrupt', 'zip entry with an empty name', raw);
  if (/[\u0000-\u001f\u007f]/.test(raw) || raw.includes('\ufffd')) {
    throw new UnsafeZipError('corrupt', `zip entry ${q(raw)} has control or undecodable characters in its name`, raw);
  }
  if (raw.startsWith('\\') || /^[A-Za-z]:/.test(raw)) {
    throw new UnsafeZipError('absolute', `zip entry ${q(raw)} has an absolute path`, raw);
  }
  if (raw.includes('\\')) {
    throw new UnsafeZipError('traversal', `zip entry ${q(raw)} contains a backslash`, raw);
  }
  // Cameras write `/aes.key` and `/720p/0.ts`: the leading slash means the archive's root, as
  // Python's extractor (the real platform's) reads it. Never the file system's root.
  const relativeName = raw.replace(/^\/+/, '');
  const isDir = raw.endsWith('/');
  const parts: string[] = [];
  for (const seg of relativeName.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new UnsafeZipError('traversal', `zip entry ${q(raw)} escapes the destination`, raw);
    parts.push(seg);
  }
  if (parts.length === 0 && !isDir) throw new UnsafeZipError('corrupt', `zip entry ${q(raw)} has no file name`, raw);
  checkNameSize(raw, parts);
  const name = parts.join('/');
  yauzlNameCheck(raw, name);
  checkSegmentName(raw, name);
  return { name, isDir };
}

function openZip(zipPath: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      zipPath,
      // decodeStrings off only so that a leading `/` is ours to normalise (yauzl would end the
      // whole archive on it); the names are then decoded and validated by yauzl's own functions.
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true, strictFileNames: true },
      (err, zip) => {
        if (err || !zip) reject(new UnsafeZipError('corrupt', `not a readable zip archive: ${err?.message ?? 'unknown error'}`));
        else resolve(zip);
      },
    );
  });
}

/** Reads and checks the whole central directory. Nothing is written. */
function planEntries(zip: yauzl.ZipFile, limits: ZipLimits): Promise<PlannedEntry[]> {
  const allowed = new Set(limits.allowedExtensions.map((e) => e.toLowerCase()));
  return new Promise((resolve, reject) => {
    const planned: PlannedEntry[] = [];
    const seen = new Set<string>();
    const dirsOfFiles = new Set<string>();
    let total = 0;
    let done = false;
    const fail = (e: unknown): void => {
      if (done) return;
      done = true;
      reject(e instanceof UnsafeZipError ? e : new UnsafeZipError('corrupt', `corrupt zip archive: ${(e as Error).message}`));
    };
    zip.on('error', fail);
    zip.on('end', () => {
      if (done) return;
      // A file whose name is also a parent directory of another file.
      for (const p of planned) {
        if (dirsOfFiles.has(p.name.toLowerCase())) {
          return fail(new UnsafeZipError('duplicate', `zip entry ${q(p.name)} is both a file and a directory`, p.name));
        }
      }
      done = true;
      resolve(planned);
    });
    zip.on('entry', (entry: yauzl.Entry) => {
      if (done) return;
      try {
        const raw = decodeName(entry);
        const { name, isDir } = normaliseEntryName(raw);
        const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
        if (mode === S_IFLNK) throw new UnsafeZipError('symlink', `zip entry ${q(raw)} is a symbolic link`, raw);
        if (mode !== 0 && mode !== S_IFREG && mode !== S_IFDIR) {
          throw new UnsafeZipError('symlink', `zip entry ${q(raw)} is a special file (mode ${mode.toString(8)})`, raw);
        }
        const msdosDir = (entry.externalFileAttributes & 0x10) !== 0;
        if (isDir || mode === S_IFDIR || msdosDir) {
          zip.readEntry();
          return; // directory entries are skipped; directories come from file paths
        }
        const key = name.toLowerCase(); // case-insensitive: safe on any filesystem
        if (seen.has(key)) throw new UnsafeZipError('duplicate', `zip entry ${q(raw)} appears more than once`, raw);
        seen.add(key);
        const segs = key.split('/');
        for (let i = 1; i < segs.length; i++) dirsOfFiles.add(segs.slice(0, i).join('/'));
        if (planned.length + 1 > limits.maxFiles) {
          throw new UnsafeZipError('too-many-files', `zip entry ${q(raw)} exceeds the limit of ${limits.maxFiles} files`, raw);
        }
        const ext = path.posix.extname(name).toLowerCase();
        const type = classifyUpload(name);
        if (!allowed.has(ext) || !type) {
          throw new UnsafeZipError('type', `zip entry ${q(raw)} has a disallowed file type ${q(ext)}`, raw);
        }
        if ((entry.generalPurposeBitFlag & 0x1) !== 0) {
          throw new UnsafeZipError('corrupt', `zip entry ${q(raw)} is encrypted`, raw);
        }
        if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
          throw new UnsafeZipError('corrupt', `zip entry ${q(raw)} uses unsupported compression method ${entry.compressionMethod}`, raw);
        }
        const declared = entry.uncompressedSize;
        if (type === 'key' && declared !== KEY_BYTES) {
          throw new UnsafeZipError('key', `zip entry ${q(raw)} holds ${declared} bytes: an AES-128 key is exactly ${KEY_BYTES}`, raw);
        }
        if (declared > limits.maxFileBytes) {
          throw new UnsafeZipError('too-large', `zip entry ${q(raw)} declares ${declared} bytes (limit ${limits.maxFileBytes})`, raw);
        }
        total += declared;
        if (total > limits.maxTotalBytes) {
          throw new UnsafeZipError(
            'too-large',
            `zip entry ${q(raw)} brings the total to ${total} bytes (limit ${limits.maxTotalBytes})`,
            raw,
          );
        }
        if (entry.compressionMethod === 0 && entry.compressedSize !== declared) {
          throw new UnsafeZipError('corrupt', `stored zip entry ${q(raw)} has mismatched sizes`, raw);
        }
        const ratio = declared === 0 ? 0 : entry.compressedSize === 0 ? Infinity : declared / entry.compressedSize;
        if (ratio > limits.maxRatio) {
          throw new UnsafeZipError(
            'ratio',
            `zip entry ${q(raw)} has compression ratio ${ratio.toFixed(1)} (limit ${limits.maxRatio})`,
            raw,
          );
        }
        planned.push({ entry, name, type, declared });
        zip.readEntry();
      } catch (e) {
        fail(e);
      }
    });
    zip.readEntry();
  });
}

/** Counts real decompressed bytes and stops the stream as soon as a limit is passed. */
class ByteGuard extends Transform {
  bytes = 0;
  crc = 0;
  constructor(
    private readonly plan: PlannedEntry,
    private readonly limits: ZipLimits,
    private readonly totals: { bytes: number },
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.totals.bytes += chunk.length;
    const n = this.plan.name;
    if (this.bytes > this.plan.declared || this.bytes > this.limits.maxFileBytes) {
      return cb(new UnsafeZipError('too-large', `zip entry ${q(n)} decompresses to more than its declared ${this.plan.declared} bytes`, n));
    }
    if (this.totals.bytes > this.limits.maxTotalBytes) {
      return cb(new UnsafeZipError('too-large', `zip entry ${q(n)} takes the archive over ${this.limits.maxTotalBytes} bytes`, n));
    }
    this.crc = zlib.crc32(chunk, this.crc);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const n = this.plan.name;
    if (this.bytes !== this.plan.declared) {
      return cb(new UnsafeZipError('corrupt', `zip entry ${q(n)} holds ${this.bytes} bytes, not the declared ${this.plan.declared}`, n));
    }
    if (this.crc >>> 0 !== this.plan.entry.crc32 >>> 0) {
      return cb(new UnsafeZipError('corrupt', `zip entry ${q(n)} fails its CRC-32 check`, n));
    }
    cb();
  }
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(err ?? new Error('no stream')) : resolve(stream)));
  });
}

/**
 * Extracts an upload ZIP into destDir (which must not exist yet, or be an empty
 * directory; its parent is created if missing). Throws UnsafeZipError for a
 * hostile or broken archive; on any failure nothing is left behind.
 */
export async function extractZip(zipPath: string, destDir: string, limits: ZipLimits): Promise<ExtractedFile[]> {
  const dest = path.resolve(destDir);
  const zip = await openZip(zipPath);
  let tmp: string | undefined;
  try {
    const planned = await planEntries(zip, limits);

    // Refuse early (before writing) if the destination is already occupied.
    const existing = await fsp.readdir(dest).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [] as string[];
      throw e;
    });
    if (existing.length > 0) throw new Error(`extractZip: destination ${dest} already exists and is not empty`);

    const parent = path.dirname(dest);
    await fsp.mkdir(parent, { recursive: true });
    tmp = await fsp.mkdtemp(path.join(parent, `.${path.basename(dest)}.partial-`));
    const totals = { bytes: 0 };
    const results: ExtractedFile[] = [];
    for (const p of planned) {
      const target = path.join(tmp, ...p.name.split('/'));
      const rel = path.relative(tmp, target);
      if (rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new UnsafeZipError('traversal', `zip entry ${q(p.name)} escapes the destination`, p.name);
      }
      await fsp.mkdir(path.dirname(target), { recursive: true });
      let source: NodeJS.ReadableStream;
      try {
        source = await openEntry(zip, p.entry);
      } catch (e) {
        throw new UnsafeZipError('corrupt', `zip entry ${q(p.name)} cannot be read: ${(e as Error).message}`, p.name);
      }
      const guard = new ByteGuard(p, limits, totals);
      const out = createWriteStream(target, { flags: 'wx', mode: 0o644 });
      try {
        await pipeline(source, guard, out);
      } catch (e) {
        // Closed (and so created) before the caller removes what was extracted (clip-intake.ts receive).
        await finished(out).catch(() => undefined);
        (source as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        if (e instanceof UnsafeZipError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        if (code && !/^Z_|^ERR_/.test(code) && code !== 'EEXIST') throw e; // local I/O error (ENOSPC…)
        // yauzl's own size check (validateEntrySizes): more bytes than the header declared is a bomb.
        if (/too many bytes in the stream/.test((e as Error).message)) {
          throw new UnsafeZipError(
            'too-large',
            `zip entry ${q(p.name)} decompresses to more than its declared ${p.declared} bytes`,
            p.name,
          );
        }
        throw new UnsafeZipError('corrupt', `zip entry ${q(p.name)} is corrupt: ${(e as Error).message}`, p.name);
      }
      results.push({ name: p.name, path: path.join(dest, ...p.name.split('/')), bytes: guard.bytes, type: p.type });
    }
    if (existing.length === 0) await fsp.rmdir(dest).catch(() => undefined); // empty dir: rename needs it gone or empty
    await fsp.rename(tmp, dest);
    tmp = undefined;
    return results;
  } finally {
    zip.close();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}
