/**
 * The dashboard's first view, as the server and the page both need it (issue 18): the requests
 * it makes before it can paint (who is logged in, the grid's first page, the streams' health,
 * the first page of events), and where the server writes their answers into the page for a
 * visit with a session (dashboard/server/first-view-page.ts; the page takes them in
 * dashboard/src/api.ts).
 */
import { API_PATHS } from './api-paths';

/**
 * Cards per page of the camera grid: several screens of a wide window, few enough to build and
 * lay out in one short task. A fleet's 600 cards on one page cost a second of the browser's time
 * before the first of them showed, and every card after it on each later layout.
 */
export const CAMERA_PAGE = 48;

/** Events per page of the event list. */
export const EVENT_PAGE = 10;

/** The grid's first page of cameras (the grid asks for exactly this). */
export const FIRST_CAMERA_PAGE = `${API_PATHS.cameras}?limit=${CAMERA_PAGE}`;

export const FIRST_VIEW_REQUESTS: readonly string[] = [
  API_PATHS.session,
  FIRST_CAMERA_PAGE,
  API_PATHS.streams,
  `${API_PATHS.events}?limit=${EVENT_PAGE}`,
];

/** The element (a JSON script at the end of the page's body) the server writes the answers into. */
export const FIRST_VIEW_ANSWERS_ID = 'first-view-answers';

/** What the server writes there: each first-view path's answer (its status and JSON body). */
export type FirstViewAnswers = Record<string, { status: number; body: unknown } | undefined>;
