/**
 * The recorder's clip messages as alert input (issue 19): `msg.topic` `clip/ready` or
 * `clip/failed`, `msg.payload` a ClipReadyPayload (nodes/lib/contract/recordings.ts). A clip
 * belongs to the alert of its event; the outbox holds it until that alert went out, so the
 * video always follows its photo (or text), never comes before it.
 */
import { CLIP_FAILED_TOPIC, CLIP_READY_TOPIC, type ClipReadyPayload, type ClipState } from '../contract/recordings';
import { ANY_DEVICE_ID_PATTERN } from '../hosted-devices';
import { EVENT_ID_PATTERN } from '../types';

export const isClipTopic = (topic: unknown): boolean => topic === CLIP_READY_TOPIC || topic === CLIP_FAILED_TOPIC;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The clip, or why the payload is not one. */
export function readClip(payload: unknown, topic: unknown): ClipReadyPayload | string {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return `${String(topic)}: msg.payload must be a clip object`;
  const p = payload as Record<string, unknown>;
  const state: ClipState = topic === CLIP_READY_TOPIC ? 'ready' : 'failed';
  if (typeof p.cameraId !== 'string' || !ANY_DEVICE_ID_PATTERN.test(p.cameraId)) {
    return `clip cameraId must match ${ANY_DEVICE_ID_PATTERN.source}`;
  }
  if (typeof p.eventId !== 'string' || !EVENT_ID_PATTERN.test(p.eventId)) return `clip eventId must match ${EVENT_ID_PATTERN.source}`;
  if (p.state !== undefined && p.state !== state) return `clip state "${String(p.state)}" does not match msg.topic ${String(topic)}`;
  if (!isNumber(p.startMs) || !isNumber(p.endMs)) return 'clip startMs and endMs must be Unix milliseconds';
  if (typeof p.url !== 'string' || !p.url) return 'clip url must be the API path of the MP4';
  if (p.file !== undefined && p.file !== null && (typeof p.file !== 'string' || !p.file.startsWith('/'))) {
    return 'clip file must be an absolute path or null';
  }
  if (state === 'ready' && typeof p.file !== 'string') return 'a ready clip needs its file (the MP4 on this runtime)';
  return {
    cameraId: p.cameraId,
    eventId: p.eventId,
    state,
    startMs: p.startMs,
    endMs: p.endMs,
    durationMs: isNumber(p.durationMs) ? p.durationMs : null,
    bytes: isNumber(p.bytes) ? p.bytes : null,
    ...(typeof p.reason === 'string' ? { reason: p.reason.slice(0, 300) } : {}),
    url: p.url,
    file: typeof p.file === 'string' ? p.file : null,
  };
}
