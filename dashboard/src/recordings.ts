/**
 * The recorder's routes as the page reads them (issue 19; nodes/lib/contract/recordings.ts):
 * a camera's time line, disk use, and an event's clip. A runtime without the recorder answers
 * 404 here: the page then shows no clips and no recordings, and says so where it matters.
 */
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import { MAX_TIMELINE_MS, type EventClip, type RecordingTimeline, type RecordingUsage } from '../../nodes/lib/contract/recordings';
import { getOptional, query } from './api';
import { h } from './dom';
import { fmtClock, fmtTime } from './format';

/** The timeline route answers at most two days at once. */

export function timeline(cameraId: string, fromMs: number, toMs: number): Promise<RecordingTimeline | undefined> {
  return getOptional<RecordingTimeline>(`${apiUrl(API_PATHS.recordingTimeline, { cameraId })}${query({ from: fromMs, to: toMs })}`);
}

/** How long the page trusts what it learnt of the recorder (whether it runs, which cameras it records). */
const USAGE_FRESH_MS = 60_000;
let lastUsage: { atMs: number; answer: Promise<RecordingUsage | undefined> } | undefined;

/** Disk use, and whether this server records at all (undefined: no recorder); `fresh` asks again now. */
export function usage(fresh = false): Promise<RecordingUsage | undefined> {
  if (fresh || !lastUsage || Date.now() - lastUsage.atMs > USAGE_FRESH_MS) {
    const answer = getOptional<RecordingUsage>(API_PATHS.recordings);
    lastUsage = { atMs: Date.now(), answer };
    answer.catch(() => (lastUsage = undefined)); // a failure is not remembered
  }
  return lastUsage.answer;
}

/**
 * The cameras the recorder keeps something of (undefined: no recorder on this server). The page
 * asks a camera's time line only for these: a page of events from ten cameras on a server
 * without recordings must not cost ten requests that all answer 404.
 */
export async function recordedCameras(): Promise<Set<string> | undefined> {
  const u = await usage().catch(() => undefined);
  if (!u) return undefined;
  return new Set(u.cameras.filter((c) => c.mode !== 'off' || c.segmentBytes + c.clipBytes > 0).map((c) => c.cameraId));
}

/** The MP4 of a stretch of a camera's recording (the recorder cuts it at key frames, at most an hour). */
export const videoUrl = (cameraId: string, startMs: number, endMs: number): string =>
  `${apiUrl(API_PATHS.recordingVideo, { cameraId })}${query({ start: Math.round(startMs), end: Math.round(endMs) })}`;

/** The clip's MP4: the URL the recorder gave, or the contract's path when it gave none. */
export const clipUrl = (clip: EventClip): string =>
  clip.url || apiUrl(API_PATHS.recordingClip, { cameraId: clip.cameraId, eventId: clip.eventId });

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80);

/**
 * A plain <video> of an MP4 (the browser asks for ranges as it plays and seeks) and a
 * "Download MP4" link to the same file.
 */
export function mp4Player(url: string, label: string, fileName: string): { video: HTMLVideoElement; download: HTMLAnchorElement } {
  const video = h('video', { controls: true, playsinline: true, preload: 'metadata', src: url, 'aria-label': label });
  const download = h('a', { href: url, download: `${safeName(fileName)}.mp4`, class: 'download' }, 'Download MP4');
  return { video, download };
}

/** The player for an event's clip; `onClose` puts the focus back where the user came from. */
export function clipPlayer(clip: EventClip, cameraName: string, onClose: () => void): HTMLElement[] {
  const { video, download } = mp4Player(
    clipUrl(clip),
    `Clip of the event at ${cameraName}, ${fmtTime(clip.startMs)}`,
    `${clip.cameraId}-${clip.eventId}`,
  );
  video.dataset.clip = clip.eventId;
  const close = h('button', { type: 'button' }, 'Close player');
  close.addEventListener('click', onClose);
  const what =
    clip.state === 'recording'
      ? 'The event is still being recorded: this is what there is so far.'
      : `${fmtClock(clip.startMs)}–${fmtClock(clip.endMs)}${clip.durationMs !== null ? `, ${Math.round(clip.durationMs / 1000)} s` : ''}`;
  return [
    h('h3', {}, `Clip: ${cameraName}, ${fmtTime(clip.startMs)}`),
    h('p', {}, what),
    video,
    h('p', { class: 'actions' }, download, ' ', close),
  ];
}

/**
 * The clips of the events on one page of the timeline, asked of the recorder once per camera
 * (an event row says only that its event has a clip, and where). Events further apart than the
 * route's two days are looked up around the newest ones only.
 */
export async function clipsFor(
  events: Array<{ cameraId: string; eventId: string; startMs: number; endMs: number }>,
): Promise<Map<string, EventClip>> {
  const clips = new Map<string, EventClip>();
  const recorded = await recordedCameras();
  if (!recorded) return clips;
  const byCamera = new Map<string, typeof events>();
  for (const e of events) if (recorded.has(e.cameraId)) byCamera.set(e.cameraId, [...(byCamera.get(e.cameraId) ?? []), e]);
  await Promise.all(
    [...byCamera].map(async ([cameraId, list]) => {
      const to = Math.max(...list.map((e) => e.endMs)) + 60_000;
      const from = Math.max(Math.min(...list.map((e) => e.startMs)) - 60_000, to - MAX_TIMELINE_MS + 1);
      const t = await timeline(cameraId, from, to).catch(() => undefined);
      for (const e of t?.events ?? []) if (e.clip && e.clip.state !== 'failed') clips.set(`${cameraId}/${e.eventId}`, e.clip);
    }),
  );
  return clips;
}
