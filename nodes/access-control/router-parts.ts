/**
 * What the access-control node's two routers (access-api.ts: users, tokens, audit, first run;
 * settings-api.ts: the admin pages' settings) share: their paths, their handlers' error path,
 * who is asking, and the audit entry the API guard writes for a change.
 */
import type { Request, Response } from 'express';
import { ACCESS_ROUTES_ROOT } from '../lib/contract/api-routes';
import { API_PRINCIPAL_LOCAL, AUDIT_LOCAL } from '../lib/contract/dashboard-api';
import type { Principal } from '../lib/access/registry';

/** Paths relative to ACCESS_ROUTES_ROOT, where the routers are mounted. */
export const rel = (path: string) => path.slice(ACCESS_ROUTES_ROOT.length);

/** An async handler whose failures reach the router's error handler; answers are never cached. */
export const wrap =
  (h: (req: Request, res: Response) => Promise<void> | void) => (req: Request, res: Response, next: (err?: unknown) => void) => {
    res.set('Cache-Control', 'no-store');
    Promise.resolve()
      .then(() => h(req, res))
      .catch(next);
  };

/** Who made the request (the API guard's principal); `local` for the machine's own first run. */
export const actor = (res: Response) => (res.locals[API_PRINCIPAL_LOCAL] as Principal | undefined)?.name ?? 'local';

/** What the API guard writes to the audit for this change, in place of its route and body. */
export const audit = (res: Response, action: string, target: string, detail = '') => (res.locals[AUDIT_LOCAL] = { action, target, detail });
