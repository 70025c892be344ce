/**
 * The MP4s of time ranges the video route cut (`GET /api/recordings/:camera/video`): a browser
 * asks for one range in several range requests, so each is cut once and kept a few minutes,
 * at most a handful at a time (they are copies of footage the segments still hold).
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

const KEEP_MS = 10 * 60_000;
const KEEP_FILES = 8;

export class VideoCache {
  private readonly making = new Map<string, Promise<string | undefined>>();

  constructor(private readonly dir: string) {}

  /** The cached file for `key`, made by `make(out)` when missing (false: nothing to make). */
  get(key: string, make: (out: string) => Promise<boolean>): Promise<string | undefined> {
    const file = join(this.dir, `${key.replace(/[^A-Za-z0-9_-]/g, '_')}.mp4`);
    try {
      if (statSync(file).isFile()) return Promise.resolve(file);
    } catch {
      // not cut yet
    }
    let p = this.making.get(file);
    if (!p) {
      mkdirSync(this.dir, { recursive: true });
      p = make(file)
        .then((made) => (made ? file : undefined))
        .finally(() => this.making.delete(file));
      this.making.set(file, p);
      void p.then(
        () => this.prune(),
        () => undefined,
      );
    }
    return p;
  }

  /** Deletes cuts older than the keep time, and the oldest beyond the count. */
  async prune(nowMs = Date.now()): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.mp4'));
    } catch {
      return; // no cut yet
    }
    const files = names
      .map((n) => {
        try {
          return { file: join(this.dir, n), mtimeMs: statSync(join(this.dir, n)).mtimeMs };
        } catch {
          return undefined;
        }
      })
      .filter((f): f is { file: string; mtimeMs: number } => !!f)
      .sort((a, b) => b.mtimeMs - a.mtimeMs);
    const stale = files.filter((f, i) => i >= KEEP_FILES || nowMs - f.mtimeMs > KEEP_MS);
    await Promise.all(stale.map((f) => rm(f.file, { force: true })));
  }
}
