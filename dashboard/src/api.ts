/**
 * Talking to the runtime: every request sends the session cookie (same origin),
 * the dashboard header (so a 401 never opens the browser's Basic login box) and,
 * for changes, the session's CSRF token.
 */
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import { DASHBOARD_CLIENT_HEADER, DASHBOARD_CLIENT_VALUE, type ApiError, type SessionInfo } from '../../nodes/lib/contract/dashboard-api';
import { FIRST_VIEW_ANSWERS_ID, FIRST_VIEW_REQUESTS, type FirstViewAnswers } from '../../nodes/lib/contract/first-view';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
/** called on a 401 from any request: the session ended (logout elsewhere, expiry, restart with a new secret) */
let onLoggedOut: () => void = () => undefined;

export function useSession(s: SessionInfo): void {
  csrfToken = s.csrfToken;
}
export function whenLoggedOut(handler: () => void): void {
  onLoggedOut = handler;
}

/** An answer: its status and its JSON body (undefined: none). */
interface Answer {
  status: number;
  statusText: string;
  data: unknown;
}

/**
 * The first view's answers the server wrote into the page for a visit with a session
 * (nodes/lib/contract/first-view.ts): the first view takes them instead of asking, with no task
 * between them and the cards (a fetch's body would wait for one). None when it wrote none (nobody
 * logged in) or they cannot be read: the page then asks for itself. Read at the first request
 * (the page is parsed by then: the script is a module).
 */
let inPage: Map<string, Answer> | undefined;

function answersInPage(): Map<string, Answer> {
  if (inPage) return inPage;
  inPage = new Map();
  const text = document.getElementById(FIRST_VIEW_ANSWERS_ID)?.textContent;
  if (!text) return inPage;
  try {
    const answers = JSON.parse(text) as FirstViewAnswers;
    for (const path of FIRST_VIEW_REQUESTS) {
      const a = answers[path];
      if (a) inPage.set(path, { status: a.status, statusText: '', data: a.body });
    }
  } catch {
    inPage.clear();
  }
  return inPage;
}

/**
 * Once the first view has asked for what it needs (or nobody is logged in), answers not taken
 * are stale: later requests go to the server.
 */
export function dropAnswersInPage(): void {
  inPage = new Map();
}

/** The page's answer for a GET of `path`, once. */
function takeFromPage(path: string): Answer | undefined {
  const answers = answersInPage();
  const answer = answers.get(path);
  answers.delete(path);
  return answer;
}

async function send(method: string, path: string, body: unknown): Promise<Answer> {
  const headers: Record<string, string> = { [DASHBOARD_CLIENT_HEADER]: DASHBOARD_CLIENT_VALUE, accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = res.status === 204 ? '' : await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { error: text.slice(0, 200) };
  }
  return { status: res.status, statusText: res.statusText, data };
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  // Taken before any await: the first view's loads ask synchronously, then main.ts drops the rest.
  const { status, statusText, data } = (method === 'GET' ? takeFromPage(path) : undefined) ?? (await send(method, path, body));
  if (status < 200 || status > 299) {
    const message = (data as ApiError | undefined)?.error ?? `${status} ${statusText}`;
    if (status === 401 && !path.startsWith(API_PATHS.login) && !path.startsWith(API_PATHS.session)) onLoggedOut();
    throw new ApiFailure(status, message);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);

/** A query string from the values that are set. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** For sections that may not exist on this server (no MediaMTX, no alert nodes): 404 or empty reads as "none". */
export async function getOptional<T>(path: string): Promise<T | undefined> {
  try {
    return await get<T>(path);
  } catch (err) {
    if (err instanceof ApiFailure && (err.status === 404 || err.status === 503)) return undefined;
    throw err;
  }
}
