/**
 * What the recorder deletes, and in what order (issue 19 item 4):
 *
 * 1. by age: continuous segments older than their days, event clips older than theirs (0 keeps
 *    them for ever);
 * 2. by free space: while the recordings folder's file system has less free than the floor
 *    (the larger of a percentage of the disk and a number of GB), the oldest continuous
 *    segments go first, then the oldest event clips. When even the last continuous segment
 *    is gone and the floor is still not kept, the disk is `low` (a storage-low alert).
 *
 * Every file is resolved inside the recordings folder first (paths.ts): a row that points
 * elsewhere loses its row and nothing on the disk.
 */
import { statfs as fsStatfs, rm } from 'node:fs/promises';
import type { RecordingStore } from '../store/recordings';
import { OutsideRecordings, recordingPath } from './paths';

export interface DiskSpace {
  totalBytes: number;
  freeBytes: number;
}

export type StatDisk = (path: string) => Promise<DiskSpace>;

/** The file system's size and the bytes an unprivileged writer may still use. */
export const statDisk: StatDisk = async (path) => {
  const s = await fsStatfs(path);
  return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
};

export interface RetentionRules {
  retainSegmentDays: number;
  retainClipDays: number;
  freePercent: number;
  freeGB: number;
}

export interface RetentionOutcome {
  segmentsDeleted: number;
  clipsDeleted: number;
  disk: DiskSpace;
  floorBytes: number;
  low: boolean;
}

export interface RetentionDeps {
  store: RecordingStore;
  root: string;
  rules: RetentionRules;
  statDisk?: StatDisk;
  /** a refused path or a file that could not be deleted */
  warn(text: string): void;
}

const DAY_MS = 86_400_000;
const BATCH = 50;

export function floorBytes(disk: DiskSpace, rules: Pick<RetentionRules, 'freePercent' | 'freeGB'>): number {
  return Math.max(Math.ceil((disk.totalBytes * rules.freePercent) / 100), Math.ceil(rules.freeGB * 1024 ** 3));
}

/** Deletes one indexed file, refusing any outside the folder; a file already gone is fine. */
async function deleteFile(d: RetentionDeps, file: string | null): Promise<void> {
  if (!file) return;
  try {
    await rm(recordingPath(d.root, file), { force: true });
  } catch (err) {
    if (err instanceof OutsideRecordings) d.warn(`${err.message}: its index row is dropped, the file is left alone`);
    else d.warn(`could not delete ${file}: ${(err as Error).message}`);
  }
}

async function deleteSegments(d: RetentionDeps, rows: ReadonlyArray<{ id: number; file: string }>): Promise<number> {
  for (const r of rows) await deleteFile(d, r.file);
  await d.store.removeSegments(rows.map((r) => r.id));
  return rows.length;
}

async function deleteClips(
  d: RetentionDeps,
  rows: ReadonlyArray<{ cameraId: string; eventId: string; file: string | null }>,
): Promise<number> {
  for (const r of rows) await deleteFile(d, r.file);
  await d.store.removeClips(rows);
  return rows.length;
}

async function byAge(d: RetentionDeps, nowMs: number): Promise<{ segments: number; clips: number }> {
  let segments = 0;
  let clips = 0;
  if (d.rules.retainSegmentDays > 0) {
    const before = nowMs - d.rules.retainSegmentDays * DAY_MS;
    for (let rows; (rows = await d.store.oldestSegments({ mode: 'continuous', endBeforeMs: before, limit: BATCH })).length;)
      segments += await deleteSegments(d, rows);
  }
  if (d.rules.retainClipDays > 0) {
    const before = nowMs - d.rules.retainClipDays * DAY_MS;
    for (
      let rows;
      (rows = (await d.store.oldestClips({ startBeforeMs: before, limit: BATCH })).filter((c) => c.state !== 'recording')).length;
    )
      clips += await deleteClips(d, rows);
  }
  return { segments, clips };
}

/** The oldest rows whose bytes make up `deficit` (at least one): freeing more than needed would lose footage for nothing. */
function enough<T extends { bytes: number | null }>(rows: readonly T[], deficit: number): T[] {
  let sum = 0;
  const out: T[] = [];
  for (const r of rows) {
    out.push(r);
    sum += r.bytes ?? 0;
    if (sum >= deficit) break;
  }
  return out;
}

/** One run: by age, then by free space. */
export async function enforceRetention(d: RetentionDeps, nowMs = Date.now()): Promise<RetentionOutcome> {
  const stat = d.statDisk ?? statDisk;
  const aged = await byAge(d, nowMs);
  let segmentsDeleted = aged.segments;
  let clipsDeleted = aged.clips;
  let disk = await stat(d.root);
  const floor = floorBytes(disk, d.rules);
  let low = false;
  while (disk.freeBytes < floor) {
    const deficit = floor - disk.freeBytes;
    const segments = enough(await d.store.oldestSegments({ mode: 'continuous', limit: BATCH }), deficit);
    if (segments.length) {
      segmentsDeleted += await deleteSegments(d, segments);
    } else {
      // No continuous footage left to give: from here the floor costs event clips.
      low = true;
      const clips = enough(
        (await d.store.oldestClips({ limit: BATCH })).filter((c) => c.state !== 'recording'),
        deficit,
      );
      if (!clips.length) break;
      clipsDeleted += await deleteClips(d, clips);
    }
    disk = await stat(d.root);
  }
  return { segmentsDeleted, clipsDeleted, disk, floorBytes: floor, low };
}
