/**
 * Upload retention and disk use. Rows go first, then their folders: a row
 * never points at a file that is gone, and a folder whose removal fails is
 * reported (and orphaned) rather than blocking the next run.
 */
import { rm, statfs } from 'node:fs/promises';
import { relative, isAbsolute } from 'node:path';
import type { UploadStore, UploadUsage } from '../picam-database/uploads';

export interface PruneResult {
  files: number;
  folders: number;
  /** folders that could not be removed, with why */
  failures: string[];
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
  const result: PruneResult = { files: 0, folders: 0, failures: [] };
  if (!(days > 0)) return result;
  const cutoff = Math.floor((nowMs - days * 86_400_000) / 1000);
  for (;;) {
    const old = await store.olderThan(cutoff);
    if (old.length === 0) break;
    result.files += await store.forget(old);
    for (const dir of new Set(old.map((u) => u.uploadDir))) {
      // The row says where the files are; refuse to delete anything outside the uploads folder.
      if (!dir || !inside(uploadsRoot, dir)) {
        result.failures.push(`${dir}: not inside ${uploadsRoot}, left alone`);
        continue;
      }
      try {
        await rm(dir, { recursive: true, force: true });
        result.folders++;
      } catch (err) {
        result.failures.push(`${dir}: ${(err as Error).message}`);
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
