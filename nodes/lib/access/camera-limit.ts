/**
 * A login limited to some cameras (issue 23): list answers keep only those cameras' rows,
 * and the live feed sends only their messages. One place decides which camera a row or a
 * message is about.
 */
import type { FeedMessage } from '../contract/feed';
import { API_PRINCIPAL_LOCAL } from '../contract/dashboard-api';

/**
 * The cameras the login behind a request may see, as the runtime's API guard left its principal
 * on the Express response's locals; null: all (also when no guard ran, in a maker's own flow).
 */
export function cameraLimitOf(locals: Record<string, unknown> | undefined): string[] | null {
  const principal = locals?.[API_PRINCIPAL_LOCAL] as { cameras?: unknown } | undefined;
  return Array.isArray(principal?.cameras) ? principal.cameras.filter((c): c is string => typeof c === 'string') : null;
}

/** The fields a row of our API names its camera in (store rows, ipcam and recorder answers). */
const CAMERA_FIELDS = ['camera_id', 'cameraId', 'device_id', 'deviceId'] as const;

/** The camera a row is about, or undefined when it names none (kept: it is not a camera's). */
export function rowCamera(row: unknown, fields: readonly string[] = CAMERA_FIELDS): string | undefined {
  if (row === null || typeof row !== 'object') return undefined;
  const r = row as Record<string, unknown>;
  for (const f of fields) if (typeof r[f] === 'string') return r[f] as string;
  return undefined;
}

/**
 * A list answer with other cameras' rows left out: a top-level array, or each array
 * property of an object ({cameras: [...]}, {events: [...], nextCursor}).
 */
export function limitRows(body: unknown, cameras: readonly string[], field?: string): unknown {
  const keep = (rows: unknown[]) =>
    rows.filter((row) => {
      const id = rowCamera(row, field === undefined ? CAMERA_FIELDS : [field]);
      return id === undefined || cameras.includes(id);
    });
  if (Array.isArray(body)) return keep(body);
  if (body === null || typeof body !== 'object' || Buffer.isBuffer(body)) return body;
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? keep(v) : v]));
}

/** Whether an answer's `field` row is about another camera than `cameras` (a row naming none is nobody's). */
export function othersRow(body: unknown, cameras: readonly string[], field: string): boolean {
  if (body === null || typeof body !== 'object') return false;
  const id = rowCamera((body as Record<string, unknown>)[field]);
  return id !== undefined && !cameras.includes(id);
}

/** Whether a feed message may go to a login limited to `cameras` (null: all). */
export function feedMessageAllowed(message: FeedMessage, cameras: readonly string[] | null): boolean {
  if (cameras === null) return true;
  if (message.type === 'hello') return true;
  const id = message.type === 'stream-health' ? message.path : message.deviceId;
  return cameras.includes(id);
}
