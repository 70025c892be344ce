/**
 * Uploaded media for the dashboard, under the runtime's API (and its login):
 *
 *   GET /api/media/thumbnail/{event_id}                 the event's newest thumbnail
 *   GET /api/media/playlist/{event_id}.m3u8             HLS playlist of its recording (seed 004)
 *   GET /api/media/playlist/{event_id}/segmentNNN.ts    the playlist's segments
 *   GET /api/media/playlist/{event_id}/{N}.ts           a VBC01 recording's (decrypted) segments
 *   GET /api/media/recording/{event_id}                 the recording as uploaded (download, ranges);
 *                                                       a VBC01 recording's segments joined (MPEG-TS)
 *   GET /api/media/usage                                files, bytes and free disk
 *   GET /api/media/picture?c=&e=&t=&x=&s=               an event's newest thumbnail by a signed link
 *                                                       (nodes/lib/event-links.ts): no login, so the
 *                                                       signature is checked here, 403 without a valid one
 *
 * Two cameras may use the same event id: `?camera={camera_id}` names the
 * camera's event; without it an id that several cameras used answers 409.
 *
 * Every answer carries `X-Content-Type-Options: nosniff` and a Content-Type
 * taken from what the stored file really is (its first bytes), never from the
 * name a device gave it: a device's "thumbnail" that is HTML is refused, not
 * rendered as a page on our origin.
 */
import { dirname, join } from 'node:path';
import type { Request, Response, Router } from 'express';
import { EVENT_ID_PATTERN } from '../lib/types';
import { describeContent, EXPECTED_IMAGE, EXPECTED_VIDEO, imageType, readHead, videoType } from '../lib/uploads/media-type';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { RESOLUTIONS, segmentOf } from '../lib/uploads/safe-zip';
import { AmbiguousEvent, type StoredUpload, type UploadStore } from '../lib/store/uploads';
import { SEGMENT_NAME, servedPlaylist } from './hls';
import type { DiskUse } from './retention';
import { ANY_DEVICE_ID_PATTERN } from '../lib/hosted-devices';
import { verifyEventLink } from '../lib/event-links';
import { cameraLimitOf } from '../lib/access/camera-limit';
import { apiRouter } from '../lib/mount-router';

export interface MediaDeps {
  store: () => UploadStore | undefined;
  usage: () => Promise<DiskUse>;
  /** whether recordings are turned into HLS here (ffmpeg present) */
  hlsAvailable: () => boolean;
  /** the runtime's credential secret, which signs picture links; undefined: no picture link opens */
  linkSecret?: string;
}

/** One camera's event files, when the request named the camera. */
interface EventFiles {
  cameraId?: string;
  latest: (eventId: string, fileType: 'thumbnail' | 'recording') => ReturnType<UploadStore['latest']>;
  /** the event's decrypted VBC01 segments of its best resolution, in play order */
  segments: (eventId: string) => Promise<StoredUpload[]>;
}

/** The segments of the best resolution (1080p, else 720p), in numeric order (§3.5). */
export function playOrder(rows: StoredUpload[]): StoredUpload[] {
  const parsed = rows.map((r) => ({ row: r, seg: segmentOf(r.fileName) })).filter((x) => x.seg);
  const best = RESOLUTIONS.find((res) => parsed.some((x) => x.seg!.resolution === res));
  return parsed
    .filter((x) => x.seg!.resolution === best)
    .sort((a, b) => a.seg!.index - b.seg!.index)
    .map((x) => x.row);
}

class NotYourCamera extends Error {
  constructor(eventId: string) {
    super(`this login may not see the cameras of event ${eventId}`);
  }
}

/**
 * The camera whose files of `eventId` to serve: the one asked for, or for a login limited to some
 * cameras (issue 23) the one of theirs that used the id. An event only other cameras have is refused:
 * event ids are not secrets (the live feed, a shared link), so the camera limit must hold here too.
 */
async function cameraFor(
  store: UploadStore,
  eventId: string,
  camera: string | undefined,
  limit: readonly string[] | null,
): Promise<string | undefined> {
  if (limit === null) return camera;
  if (camera !== undefined) {
    if (!limit.includes(camera)) throw new NotYourCamera(eventId);
    return camera;
  }
  const owners = await store.camerasOf(eventId);
  const mine = owners.filter((c) => limit.includes(c));
  if (owners.length > 0 && mine.length === 0) throw new NotYourCamera(eventId);
  return mine.length === 1 ? mine[0] : undefined;
}

/** Cameras record about 3 s per segment; the player follows the real timestamps. */
const SEGMENT_SECONDS = 3;

/** An HLS playlist of plain segments, each served next to the playlist URL (`{eventId}/{N}.ts`). */
export function segmentPlaylist(eventId: string, segments: StoredUpload[], cameraId?: string): string {
  const query = cameraId ? `?camera=${encodeURIComponent(cameraId)}` : '';
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${SEGMENT_SECONDS}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
  ];
  for (const s of segments) {
    lines.push(`#EXTINF:${SEGMENT_SECONDS.toFixed(3)},`, `${encodeURIComponent(eventId)}/${s.fileName.split('/').at(-1)}${query}`);
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

const NUMBERED_SEGMENT = /^\d{1,6}\.ts$/;

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}

/** Where the picture route leaves the event its signed link names, for the thumbnail handler. */
const SIGNED_EVENT = 'picamSignedEvent';

export function mediaRouter(deps: MediaDeps): Router {
  const router = apiRouter();
  router.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });

  // Every route below takes an event id; a bad one never reaches SQL or a path.
  const withStore = (handler: (req: Request, res: Response, store: EventFiles, eventId: string) => Promise<void>) => {
    return (req: Request, res: Response) => {
      // A signed picture link names its event in the (checked) signature's fields, not in the path.
      const signed = res.locals[SIGNED_EVENT] as { eventId: string; cameraId: string } | undefined;
      const eventId = signed?.eventId ?? String(req.params.eventId ?? '');
      if (!EVENT_ID_PATTERN.test(eventId)) return fail(res, 400, `event id must match ${EVENT_ID_PATTERN.source}`);
      const camera = signed?.cameraId ?? req.query.camera;
      if (camera !== undefined && (typeof camera !== 'string' || !ANY_DEVICE_ID_PATTERN.test(camera))) {
        return fail(res, 400, `camera must match ${ANY_DEVICE_ID_PATTERN.source}`);
      }
      const store = deps.store();
      if (!store) return fail(res, 503, 'the database is not open yet');
      // A signed link has no login: its signature named the camera. A login may be limited to some cameras.
      const limit = cameraLimitOf(res.locals);
      const serve = async () => {
        const owner = await cameraFor(store, eventId, camera, limit);
        const files: EventFiles = {
          cameraId: owner,
          latest: (id, type) => store.latest(id, type, owner),
          segments: async (id) => {
            let one = owner;
            if (one === undefined) {
              const cameras = await store.camerasOf(id);
              if (cameras.length > 1) throw new AmbiguousEvent(id, cameras);
              one = cameras[0];
            }
            return one === undefined ? [] : playOrder(await store.segments(id, one));
          },
        };
        await handler(req, res, files, eventId);
      };
      serve().catch((err: Error) => {
        if (res.headersSent) return;
        if (err instanceof AmbiguousEvent) fail(res, 409, err.message);
        else if (err instanceof NotYourCamera) fail(res, 403, err.message);
        else fail(res, 500, err.message);
      });
    };
  };

  /** The first bytes of a stored file, or undefined (and a 404 sent) when it is gone. */
  const headOf = (res: Response, path: string) =>
    readHead(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      fail(res, 404, 'the file is gone (removed by retention?)');
      return undefined;
    });

  const sendStored = (res: Response, path: string, type: string) =>
    new Promise<void>((resolve) => {
      res.type(type);
      res.set('Cache-Control', 'private, max-age=3600');
      res.sendFile(path, { dotfiles: 'allow' }, (err) => {
        if (err && !res.headersSent) fail(res, 404, 'the file is gone (removed by retention?)');
        resolve();
      });
    });

  /** An MPEG-TS recording is its segments one after another: the download is them joined. */
  const sendJoined = async (res: Response, eventId: string, segments: StoredUpload[]) => {
    res.type('video/mp2t').attachment(`recording_${eventId}.ts`).set('Cache-Control', 'private, max-age=3600');
    for (const s of segments) {
      try {
        await pipeline(createReadStream(s.filePath), res, { end: false });
      } catch (err) {
        if (!res.headersSent) return fail(res, 404, 'a segment is gone (removed by retention?)');
        res.destroy(err as Error);
        return;
      }
    }
    res.end();
  };

  const thumbnail = withStore(async (_req, res, store, eventId) => {
    const thumb = await store.latest(eventId, 'thumbnail');
    if (!thumb) return fail(res, 404, `no thumbnail for event ${eventId}`);
    const head = await headOf(res, thumb.filePath);
    if (!head) return;
    const image = imageType(head);
    if (!image) return fail(res, 415, `the thumbnail of event ${eventId} is ${describeContent(head)}, not ${EXPECTED_IMAGE}: not served`);
    await sendStored(res, thumb.filePath, image.contentType);
  });
  router.get('/thumbnail/:eventId', thumbnail);

  // Reached without a login (the API guard lets `signed-link` routes through): nothing before the signature's check.
  router.get(
    '/picture',
    (req, res, next) => {
      // The query holds the signature: keep it out of caches and of any Referer.
      res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
      if (!deps.linkSecret) return fail(res, 403, 'this server signs no picture links (it has no credential secret)');
      const check = verifyEventLink(deps.linkSecret, new URL(req.originalUrl, 'http://link').searchParams, Date.now(), 'picture');
      if (!check.ok) return fail(res, check.status === 400 ? 400 : 403, `picture link refused: ${check.reason}`);
      // res.locals, not req.query: Express 5 (Node-RED 5) parses req.query anew on each read.
      res.locals[SIGNED_EVENT] = { eventId: check.eventId, cameraId: check.cameraId };
      next();
    },
    thumbnail,
  );

  router.get(
    '/recording/:eventId',
    withStore(async (_req, res, store, eventId) => {
      const rec = await store.latest(eventId, 'recording');
      if (!rec) {
        const segments = await store.segments(eventId);
        if (segments.length === 0) return fail(res, 404, `no recording for event ${eventId}`);
        return sendJoined(res, eventId, segments);
      }
      const head = await headOf(res, rec.filePath);
      if (!head) return;
      // Always a download; a file of no known video format goes as plain bytes.
      res.attachment(rec.fileName.split('/').at(-1));
      await sendStored(res, rec.filePath, videoType(head)?.contentType ?? 'application/octet-stream');
    }),
  );

  router.get(
    /^\/playlist\/([^/]+)\.m3u8$/,
    (req, _res, next) => {
      req.params.eventId = req.params[0]!;
      next();
    },
    withStore(async (_req, res, store, eventId) => {
      const segments = await store.segments(eventId);
      if (segments.length > 0) {
        res.type('application/vnd.apple.mpegurl').set('Cache-Control', 'no-cache');
        res.send(segmentPlaylist(eventId, segments, store.cameraId));
        return;
      }
      const rec = await store.latest(eventId, 'recording');
      if (!rec) return fail(res, 404, `no recording for event ${eventId}`);
      if (!rec.hlsPlaylist) {
        const head = await headOf(res, rec.filePath);
        if (!head) return;
        if (!videoType(head)) {
          const what = describeContent(head);
          return fail(res, 415, `the recording of event ${eventId} is ${what}, not ${EXPECTED_VIDEO}: it is not converted for playback`);
        }
        return deps.hlsAvailable()
          ? fail(res, 404, `the recording of event ${eventId} is still being prepared for playback`)
          : fail(res, 404, `no playlist: ffmpeg is not installed on the server; download the recording instead`);
      }
      res.type('application/vnd.apple.mpegurl').set('Cache-Control', 'no-cache');
      res.send(await servedPlaylist(rec.hlsPlaylist, eventId, store.cameraId));
    }),
  );

  router.get(
    '/playlist/:eventId/:segment',
    withStore(async (req, res, store, eventId) => {
      const segment = String(req.params.segment);
      if (NUMBERED_SEGMENT.test(segment)) {
        // A VBC01 segment: the path comes from the database row, never from the request.
        const row = (await store.segments(eventId)).find((s) => s.fileName.split('/').at(-1) === segment);
        if (!row) return fail(res, 404, `event ${eventId} has no segment ${segment}`);
        return sendStored(res, row.filePath, 'video/mp2t');
      }
      if (!SEGMENT_NAME.test(segment)) return fail(res, 400, 'not a segment name');
      const rec = await store.latest(eventId, 'recording');
      if (!rec?.hlsPlaylist) return fail(res, 404, `no playlist for event ${eventId}`);
      await sendStored(res, join(dirname(rec.hlsPlaylist), segment), 'video/mp2t');
    }),
  );

  router.get('/usage', (_req, res) => {
    deps.usage().then(
      (u) => res.json(u),
      (err: Error) => fail(res, 503, err.message),
    );
  });

  return router;
}
