/**
 * A Pi's side of "the clips arrive later" (issue 19): each clip the Pi cut is offered to the cloud
 * once it has settled (`settleMs`; by then the cloud's own clip of the event, cut from the stream it got,
 * is ready or has failed). The cloud is asked first (HEAD of the clip's API path): one it has is
 * not sent. Otherwise the MP4 is posted to the recorder's clip route (nodes/recorder/api.ts), which
 * checks it and links it to the event. What the cloud answered is kept in the clip's row (migration
 * 15), so nothing acknowledged is sent again, across restarts too:
 *   2xx                       sent (stored, or the cloud had a clip already)
 *   400, 413, 415, 422 …      refused, with the cloud's reason: never offered again
 *   409, 404, 408, 429, 401, 403, 5xx   tried again later with backoff (the event's messages are still
 *                             in the outbox, the cloud's recorder is not running yet, the login is
 *                             wrong…), at most MAX_ATTEMPTS times
 *   no answer (uplink down)   the pass ends; the next one comes with backoff, and counts no attempt
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { backoffMs } from '../backoff';
import { API_PATHS, apiUrl } from '../contract/api-routes';
import type { RecordingStore, UnsentClip, UploadOutcome } from '../store/recordings';
import { recordingPath } from './paths';

export interface ClipUploaderOptions {
  root: string;
  store: RecordingStore;
  /** the cloud runtime's base URL (https://cloud.example.com:1880) */
  cloudUrl: string;
  /** an API token of the cloud (PICAM_API_TOKENS there), sent as a Bearer token */
  token?: string;
  /** how long a clip waits after it is cut before it is offered: the cloud's own cut of it is done by then (default a minute) */
  settleMs?: number;
  /** how often it looks for clips to offer while the uplink works (default 15 s) */
  everyMs?: number;
  log(text: string): void;
  warn(text: string): void;
  changed(): void;
}

/** 409 and its kind, twice a minute at first, then every 10 min: about a day before a clip is given up. */
const MAX_ATTEMPTS = 150;
const CLIP_RETRY = { baseMs: 30_000, maxMs: 600_000 };
const UPLINK_RETRY = { baseMs: 5_000, maxMs: 30_000 };
/** no byte moving for this long: the uplink is gone */
const IDLE_MS = 60_000;

const RETRY_STATUSES = new Set([401, 403, 404, 408, 409, 425, 429]);

class NoAnswer extends Error {}

interface Answer {
  status: number;
  reason: string;
}

export class ClipUploader {
  readonly counters = { sent: 0, refused: 0, alreadyThere: 0 };
  lastProblem?: string;
  private timer?: NodeJS.Timeout;
  private run?: Promise<void>;
  private uplinkFailures = 0;
  private closed = false;
  /** ends a request in flight on close: a clip going up a slow uplink must not hold a redeploy */
  private readonly abort = new AbortController();
  private readonly base: URL;

  constructor(private readonly o: ClipUploaderOptions) {
    this.base = new URL(o.cloudUrl);
    if (!/^https?:$/.test(this.base.protocol)) throw new Error(`the cloud URL must be http(s)://… (got ${this.base.protocol})`);
  }

  start(): void {
    this.schedule(1000);
  }

  /** Looks for clips to offer now (one pass at a time). */
  pass(nowMs = Date.now()): Promise<void> {
    this.run ??= this.passOnce(nowMs).finally(() => (this.run = undefined));
    return this.run;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.run;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const next = () => this.schedule(this.nextPassMs());
    this.timer = setTimeout(() => void this.pass().then(next, (err: Error) => (this.o.warn(`sending clips: ${err.message}`), next())), ms);
  }

  private nextPassMs(): number {
    return this.uplinkFailures ? backoffMs(this.uplinkFailures, UPLINK_RETRY) : (this.o.everyMs ?? 15_000);
  }

  private async passOnce(nowMs: number): Promise<void> {
    const due = await this.o.store.unsentClips(nowMs, nowMs - (this.o.settleMs ?? 60_000));
    for (const clip of due) {
      if (this.closed) return;
      try {
        const outcome = await this.offer(clip);
        await this.o.store.settleUpload(clip.cameraId, clip.eventId, outcome);
        this.uplinkFailures = 0;
        this.note(clip, outcome);
      } catch (err) {
        if (!(err instanceof NoAnswer)) {
          // The index could not be read or written, or the answer broke off: the next pass tries again.
          this.lastProblem = `clip of event ${clip.eventId}: ${(err as Error).message}`;
          this.o.warn(`sending clips: ${(err as Error).message}`);
          this.o.changed();
          return;
        }
        this.uplinkFailures++;
        this.lastProblem = `the cloud does not answer (${err.message}): ${due.length} clip${due.length > 1 ? 's' : ''} wait`;
        this.o.changed();
        return;
      }
    }
  }

  private note(clip: UnsentClip, outcome: UploadOutcome): void {
    const what = `clip of event ${clip.eventId}`;
    if (outcome.state === 'sent') {
      if (/already/.test(outcome.reason)) this.counters.alreadyThere++;
      else this.counters.sent++;
      this.o.log(`${what}: ${outcome.reason}`);
      this.lastProblem = undefined;
    } else if (outcome.state === 'refused') {
      this.counters.refused++;
      this.lastProblem = `${what} refused: ${outcome.reason}`;
      this.o.warn(`the cloud refused the ${what}: ${outcome.reason}; it is not sent again`);
    } else this.lastProblem = `${what}: ${outcome.reason}`;
    this.o.changed();
  }

  private async offer(clip: UnsentClip): Promise<UploadOutcome> {
    const path = apiUrl(API_PATHS.recordingClip, { cameraId: clip.cameraId, eventId: clip.eventId });
    const has = await this.call('HEAD', path);
    if (has.status === 200) return { state: 'sent', reason: 'the cloud already has a clip of this event' };
    if (has.status !== 404) return this.outcome(clip, has);
    let file: string;
    let bytes: number;
    try {
      file = recordingPath(this.o.root, clip.file);
      bytes = (await stat(file)).size;
    } catch (err) {
      return { state: 'refused', reason: `the clip's file cannot be read here: ${(err as Error).message}` };
    }
    const query = `?start=${clip.startMs}&end=${clip.endMs}`;
    return this.outcome(clip, await this.call('POST', path + query, { file, bytes }));
  }

  private outcome(clip: UnsentClip, a: Answer): UploadOutcome {
    if (a.status >= 200 && a.status < 300) return { state: 'sent', reason: a.reason || 'stored by the cloud' };
    const reason = `${a.status} ${a.reason}`.trim();
    if (a.status < 500 && !RETRY_STATUSES.has(a.status)) return { state: 'refused', reason };
    if (clip.attempts + 1 >= MAX_ATTEMPTS) return { state: 'refused', reason: `given up after ${clip.attempts + 1} tries: ${reason}` };
    return { state: 'retry', reason, nextMs: Date.now() + backoffMs(clip.attempts + 1, CLIP_RETRY) };
  }

  /** One request to the cloud; NoAnswer when none came (refused, unreachable, cut off). */
  private call(method: 'HEAD' | 'POST', path: string, body?: { file: string; bytes: number }): Promise<Answer> {
    const url = new URL(path.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base.href : `${this.base.href}/`);
    const headers: Record<string, string> = {};
    if (this.o.token) headers.Authorization = `Bearer ${this.o.token}`;
    if (body) Object.assign(headers, { 'Content-Type': 'video/mp4', 'Content-Length': String(body.bytes) });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        { method, headers, timeout: IDLE_MS, signal: this.abort.signal },
        (res) => void readAnswer(res).then(resolve, reject),
      );
      req.on('timeout', () => req.destroy(new Error(`nothing moved for ${IDLE_MS / 1000} s`)));
      req.on('error', (err) => reject(new NoAnswer(err.message)));
      if (!body) return void req.end();
      const stream = createReadStream(body.file);
      stream.on('error', (err) => req.destroy(err));
      stream.pipe(req);
    });
  }
}

/** The answer's status and its reason (the API's `error`, or `reason` for a clip it had already). */
async function readAnswer(res: IncomingMessage): Promise<Answer> {
  let text = '';
  for await (const chunk of res) if (text.length < 4000) text += (chunk as Buffer).toString();
  let reason = res.statusMessage ?? '';
  try {
    const json = JSON.parse(text) as { error?: unknown; reason?: unknown };
    if (typeof json.error === 'string') reason = json.error;
    else if (typeof json.reason === 'string') reason = json.reason;
    else if (res.statusCode === 201) reason = 'stored by the cloud';
  } catch {
    // not JSON (a proxy's page): the status line says it
  }
  return { status: res.statusCode ?? 0, reason: reason.slice(0, 300) };
}
