/**
 * Upload retention and disk use. Rows go first, then their folders: a row
 * never points at a file that is gone, and a folder whose removal fails is
 * reported (and orphaned) rather than blocking the next run.
 */
import { readdir, rm, stat, statfs } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import type { UploadStore, UploadUsage } from '../lib/store/uploads';

export interface PruneResult {
  files: number;
  folders: number;
  /** folders that could not be removed, with why: the first MAX_FAILURES */
  failures: string[];
  /** how many could not be removed in all (a moved uploads folder fails every old row's) */
  failed: number;
}

/** Failures named in a result; beyond them only counted, so a run's memory stays bounded. */
export const MAX_FAILURES = 100;

function fail(result: PruneResult, why: string): void {
  result.failed++;
  if (result.failures.length < MAX_FAILURES) result.failures.push(why);
}

export interface DiskUse extends UploadUsage {
  /** the file system holding the uploads: free and total bytes */
  disk?: { freeBytes: number; totalBytes: number };
}

function inside(root: string, dir: string): boolean {
  const rel = relative(root, dir);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Removes uploads older than `days` (0 keeps them forever). */
export async function pruneUploads(store: UploadStore, uploadsRoot: string, days: number, nowMs = Date.now()): Promise<PruneResult> {
  const result: PruneResult = { files: 0, folders: 0, failures: [], failed: 0 };
  if (!(days > 0)) return result;
  const cutoff = Math.floor((nowMs - days * 86_400_000) / 1000);
  for (;;) {
    const old = await store.olderThan(cutoff);
    if (old.length === 0) break;
    // An event folder gathers several uploads: every row in a folder that goes, goes with it.
    const folders = new Set(old.map((u) => u.uploadDir));
    const sameFolder = await store.inFolders([...folders].filter(Boolean));
    const ids = new Set(old.map((u) => u.id));
    result.files += await store.forget([...old, ...sameFolder.filter((u) => !ids.has(u.id))]);
    for (const dir of folders) {
      // The row says where the files are; refuse to delete anything outside the uploads folder.
      if (!dir || !inside(uploadsRoot, dir)) {
        fail(result, `${dir}: not inside ${uploadsRoot}, left alone`);
        continue;
      }
      try {
        await rm(dir, { recursive: true, force: true });
        result.folders++;
      } catch (err) {
        fail(result, `${dir}: ${(err as Error).message}`);
      }
    }
  }
  return result;
}

export async function diskUse(store: UploadStore, uploadsRoot: string): Promise<DiskUse> {
  const usage: DiskUse = await store.usage();
  try {
    const fs = await statfs(uploadsRoot);
    usage.disk = { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  } catch {
    // the folder appears with the first upload
  }
  return usage;
}

/** The temporary folder uploads are received into, inside the uploads folder. */
export const INCOMING_DIR = '.incoming';
/** safe-zip extracts into `.{folder}.partial-XXXXXX` beside the upload's folder, then renames it. */
const PARTIAL_EXTRACTION = /^\..+\.partial-[A-Za-z0-9]+$/;

export interface SweepResult {
  removed: number;
  failures: string[];
}

async function removeIfOlder(path: string, cutoffMs: number, result: SweepResult): Promise<void> {
  try {
    if ((await stat(path)).mtimeMs > cutoffMs) return;
    await rm(path, { recursive: true, force: true });
    result.removed++;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') result.failures.push(`${path}: ${(err as Error).message}`);
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return []; // not there yet, or a file and not a camera's folder
    throw err;
  }
}

/**
 * Removes what interrupted uploads left: received bodies in `.incoming` and
 * half-extracted archives, when last written more than `olderThanMs` ago (0:
 * all of them, for the start, when nothing is uploading yet).
 */
export async function sweepTemporaries(uploadsRoot: string, olderThanMs: number, nowMs = Date.now()): Promise<SweepResult> {
  const result: SweepResult = { removed: 0, failures: [] };
  const cutoff = nowMs - olderThanMs;
  const incoming = join(uploadsRoot, INCOMING_DIR);
  for (const name of await entries(incoming)) await removeIfOlder(join(incoming, name), cutoff, result);
  for (const camera of await entries(uploadsRoot)) {
    if (camera === INCOMING_DIR) continue;
    const dir = join(uploadsRoot, camera);
    for (const name of (await entries(dir)).filter((n) => PARTIAL_EXTRACTION.test(n))) await removeIfOlder(join(dir, name), cutoff, result);
  }
  return result;
}
