/**
 * Files in the recordings folder that the index does not know: a segment ffmpeg finished while
 * the runtime was stopping (or crashing) before it was indexed, a clip cut whose row never
 * committed, a half-written `.part`. Retention works from the index, so these would never be
 * deleted and the disk would slowly fill: the recorder sweeps them once at start. Files younger
 * than a minute are left alone (a segmenter may be writing them, or a Pi's clip arriving in
 * `.incoming`), as is everything that is not a segment or a clip.
 */
import { readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingStore } from '../store/recordings';
import { DEVICE_ID_PATTERN } from '../types';

const YOUNG_MS = 60_000;

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** Deletes the unindexed segments and clips under `root`; returns how many files went. */
export async function sweepOrphans(root: string, store: RecordingStore, nowMs = Date.now()): Promise<number> {
  let deleted = 0;
  const old = (file: string) => {
    try {
      return nowMs - statSync(file).mtimeMs > YOUNG_MS;
    } catch {
      return false;
    }
  };
  for (const cameraId of list(root).filter((d) => DEVICE_ID_PATTERN.test(d))) {
    const known = new Set(await store.indexedFiles(cameraId));
    const candidates = [
      ...list(join(root, cameraId))
        .filter((n) => n.endsWith('.ts'))
        .map((n) => `${cameraId}/${n}`),
      ...list(join(root, cameraId, 'clips'))
        .filter((n) => n.endsWith('.mp4') || n.endsWith('.mp4.part'))
        .map((n) => `${cameraId}/clips/${n}`),
    ];
    for (const rel of candidates) {
      const abs = join(root, rel);
      if (known.has(rel) || !old(abs)) continue;
      await rm(abs, { force: true });
      deleted++;
    }
  }
  // A Pi's clip that was arriving when the runtime stopped (clip-intake.ts).
  for (const n of list(join(root, '.incoming'))) {
    const abs = join(root, '.incoming', n);
    if (!old(abs)) continue;
    await rm(abs, { force: true });
    deleted++;
  }
  return deleted;
}
