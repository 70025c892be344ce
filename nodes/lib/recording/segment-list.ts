/**
 * ffmpeg's segment list, read as each segment finishes: one CSV line `file,start,end` (seconds of
 * the stream's own time line) per closed segment, written to a pipe (`-segment_list pipe:3`).
 *
 * The stream's time line starts at an unknown wall-clock instant. A line arrives when its segment
 * closes, that is when the first packet of the next one was read: at stream time `end`, plus the
 * time the packet took to reach us. So `arrival - end` overestimates the start instant by that
 * delay, and the smallest such value seen so far is the best estimate (ClockAnchor).
 */

export interface ListedSegment {
  /** the file name as ffmpeg wrote it (its last path part is what counts) */
  file: string;
  startS: number;
  endS: number;
}

/** One CSV line of the list, or undefined when it is not one (ffmpeg quotes names with commas: ours have none). */
export function parseListLine(line: string): ListedSegment | undefined {
  const m = /^(.+),(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(line.trim());
  if (!m) return undefined;
  const startS = Number(m[2]);
  const endS = Number(m[3]);
  if (!Number.isFinite(startS) || !Number.isFinite(endS) || endS < startS) return undefined;
  return { file: m[1]!, startS, endS };
}

/** The wall-clock instant (Unix ms) of stream time 0, from the arrival times of the list's lines. */
export class ClockAnchor {
  private zeroMs?: number;

  /** Feeds one line's arrival; returns the segment's wall-clock start and end. */
  place(segment: ListedSegment, arrivalMs: number): { startMs: number; endMs: number } {
    const estimate = arrivalMs - segment.endS * 1000;
    if (this.zeroMs === undefined || estimate < this.zeroMs) this.zeroMs = estimate;
    return { startMs: Math.round(this.zeroMs + segment.startS * 1000), endMs: Math.round(this.zeroMs + segment.endS * 1000) };
  }
}

/** Splits a byte stream into lines (the list arrives in arbitrary chunks). */
export class LineSplitter {
  private rest = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const parts = (this.rest + chunk.toString()).split('\n');
    this.rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) this.onLine(p);
  }
}
