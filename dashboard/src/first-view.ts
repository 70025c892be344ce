/**
 * The requests the dashboard's first view makes before it can paint: who is logged in, the
 * grid's first page, the streams' health and the first page of events. `first.js` (built from
 * early-requests.ts) sends them as soon as the HTML names it, while the page's own script is
 * still loading; the page then takes each answer instead of asking again (api.ts). Waiting for
 * the script, then the session, then the rest, put a quarter of a second between the HTML and
 * the first cards at 600 devices (issue 18).
 */
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import { CAMERA_PAGE } from './camera-pages';

/** Events per page of the event list. */
export const EVENT_PAGE = 10;

/** The grid's first page of cameras (cameras.ts asks for exactly this). */
export const FIRST_CAMERA_PAGE = `${API_PATHS.cameras}?limit=${CAMERA_PAGE}`;

export const FIRST_VIEW_REQUESTS: readonly string[] = [
  API_PATHS.session,
  FIRST_CAMERA_PAGE,
  API_PATHS.streams,
  `${API_PATHS.events}?limit=${EVENT_PAGE}`,
];

/** Where first.js leaves its requests for the page: the global (window) property of this name. */
export const EARLY_REQUESTS_KEY = '__picamEarlyRequests';

export type EarlyRequests = Map<string, Promise<Response>>;
