/**
 * The dashboard's page with the first view's answers written in (issue 18). For a visit with a
 * session, the server asks its own routes for what the first view needs (contract/first-view.ts: who is
 * logged in, the grid's first page, the streams' health, the first page of events) while it
 * writes the page, and puts each answer into it as JSON. The page's script takes them
 * instead of asking (api.ts), so the first cards and events paint without a round trip after
 * the HTML.
 *
 * The answers are asked of the runtime's own server in memory (own-requests.ts) with the visit's
 * cookie, headers and client address: every check a browser's own request meets applies
 * unchanged (the login, the role, the camera limit, the trusted proxy). A visit without a
 * session gets the page as built.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { DASHBOARD_CLIENT_HEADER, DASHBOARD_CLIENT_VALUE } from '../../nodes/lib/contract/dashboard-api';
import { FIRST_VIEW_ANSWERS_ID, FIRST_VIEW_REQUESTS, type FirstViewAnswers } from '../../nodes/lib/contract/first-view';
import { askOwnServer } from './own-requests';

/** Where the page as built takes the answers (dashboard/static/index.html). */
const ANSWERS_SLOT = /<!-- first-view answers:[^>]*-->/;

/**
 * What an asked answer carries over from the visit: the login, who the client is (behind a
 * trusted proxy), and the host and scheme it asked for (links in an answer are built from them).
 */
const CARRIED_HEADERS = ['cookie', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'];

export interface FirstViewPageOptions {
  /** the runtime's HTTP server: the answers go through all of it, as a browser's requests do */
  server: Server;
  /** dist/dashboard */
  staticDir: string;
  /** how long an answer may take before the page goes without them (and asks for itself) */
  answerTimeoutMs?: number;
  warn(message: string): void;
}

/**
 * The answers normally take tens of milliseconds; a runtime slower than this sends the page at once
 * rather than hold it back.
 */
const ANSWER_TIMEOUT_MS = 2000;

/**
 * GET of the page (`/dashboard/`, `/dashboard/index.html`): the page with the visit's answers, never
 * cached. Everything before the answers' place (the whole page but its end) is sent at once: while
 * the server asks for the answers, the browser takes down the page it had, reads the markup and
 * loads the script, which runs only once the page has ended, so the answers are in by then.
 */
export function firstViewPage(o: FirstViewPageOptions): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (req.method !== 'GET' || (req.path !== '/' && req.path !== '/index.html')) return next();
    readFile(join(o.staticDir, 'index.html'), 'utf8')
      .then(async (page) => {
        // The answers are this login's: no cache may keep them or give them to another cookie.
        res.set({ 'Cache-Control': 'no-store', Vary: 'Cookie' }).type('html');
        const parts = splitAtSlot(page);
        if (!parts) return void res.send(page);
        const [start, end] = parts;
        res.write(start);
        const answers = await answersFor(req);
        res.end(answersElement(answers) + end);
      })
      .catch(next);
  };

  /** The first view's answers for this visit; none when it has no session (or asking failed). */
  async function answersFor(req: Request): Promise<FirstViewAnswers> {
    try {
      const [session, ...rest] = FIRST_VIEW_REQUESTS;
      // The session first: a visit nobody is logged in to costs one cheap answer, not four.
      const answers: FirstViewAnswers = { [session!]: await ask(req, session!) };
      if (answers[session!]!.status !== 200) return {};
      await Promise.all(rest.map(async (path) => (answers[path] = await ask(req, path))));
      return answers;
    } catch (err) {
      o.warn(`dashboard: the page is sent without its first view's answers: ${(err as Error).message}`);
      return {};
    }
  }

  /** One answer as the page would get it: its status and JSON body (a body that is not JSON fails the lot). */
  async function ask(req: Request, path: string): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json', [DASHBOARD_CLIENT_HEADER]: DASHBOARD_CLIENT_VALUE };
    for (const name of CARRIED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await askOwnServer(o.server, path, headers, req.socket, o.answerTimeoutMs ?? ANSWER_TIMEOUT_MS);
    return { status: answer.status, body: JSON.parse(answer.body) as unknown };
  }
}

/** The page before and after the answers' place (none in a page without it: it gets no answers). */
function splitAtSlot(page: string): [string, string] | undefined {
  const slot = ANSWERS_SLOT.exec(page);
  if (!slot) return undefined;
  return [page.slice(0, slot.index), page.slice(slot.index + slot[0].length)];
}

/**
 * The answers as the page's JSON element; nothing when there are none. `<` is escaped in the JSON, so
 * nothing in an answer (a camera's name, say) can end the script element or open a comment.
 */
export function answersElement(answers: FirstViewAnswers): string {
  if (Object.keys(answers).length === 0) return '';
  const json = JSON.stringify(answers).replace(/</g, '\\u003c');
  return `<script type="application/json" id="${FIRST_VIEW_ANSWERS_ID}">${json}</script>`;
}
