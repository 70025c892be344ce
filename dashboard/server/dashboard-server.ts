/**
 * The dashboard on the runtime's one HTTP server:
 *
 *   /dashboard/        the page and its bundled assets (dist/dashboard): public, they hold no data; a
 *                      visit with a session gets the page with its first view's answers in (first-view-page.ts)
 *   GET  /api/session  who is logged in, the CSRF token, the video settings
 *   POST /api/login    {username, password, remember} → session cookie
 *   POST /api/logout   ends the session (CSRF token required)
 *   GET  /api/stream-token  a minutes-long token for one live-video connection (nodes/lib/access/stream-tokens.ts)
 *   /api/ws            the live feed (WebSocket), session cookie or API token
 *
 * and the guard in front of everything Node-RED serves on httpNode (the API,
 * /api/media, previews): a session cookie (plus the CSRF token for changes), an
 * `Authorization: Bearer` API token, or the API user's HTTP Basic login as before.
 * The demo has no logins (bound to 127.0.0.1), as before.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { clientAddress, type TrustedProxies } from '../../nodes/lib/client-address';
import type { LoginLimiter } from '../../nodes/lib/login-limiter';
import {
  API_PRINCIPAL_LOCAL,
  API_USER_LOCAL,
  AUDIT_LOCAL,
  DASHBOARD_CLIENT_HEADER,
  DASHBOARD_CLIENT_VALUE,
  type DashboardClientConfig,
  type SessionInfo,
} from '../../nodes/lib/contract/dashboard-api';
import {
  API_PATHS,
  API_ROOT,
  LIVE_FEED_PATH,
  matchRoute,
  routeInOtherCase,
  roleAtLeast,
  takesStreamToken,
  type ApiRole,
  type MatchedRoute,
} from '../../nodes/lib/contract/api-routes';
import { DEMO_PRINCIPAL, type AccessRegistry, type Principal } from '../../nodes/lib/access/registry';
import { auditDetail } from '../../nodes/lib/access/audit-detail';
import { limitRows, othersRow } from '../../nodes/lib/access/camera-limit';
import type { DashboardConfig } from './dashboard-config';
import { basicAuth } from '../../cli/runtime/http-auth';
import { EVENT_LINK_PATH } from '../../nodes/lib/event-links';
import { eventLinkHandler } from './event-links';
import { firstViewPage } from './first-view-page';
import type { LiveFeedHub } from './live-feed';
import { issueStreamToken, STREAM_TOKEN_TTL_MS, verifyStreamToken } from '../../nodes/lib/access/stream-tokens';
import { clearedCookie, CSRF_HEADER, readCookie, SESSION_COOKIE, SessionManager, sessionCookie, type Session } from './sessions';

export interface DashboardServerOptions {
  config: DashboardConfig;
  /** PICAM_CREDENTIAL_SECRET */
  secret: string;
  /** the API user's Basic login (httpNodeAuth) */
  basic?: { user: string; pass: string };
  /** dist/dashboard */
  staticDir: string;
  adminRoot: string;
  dataDir: string;
  hub: LiveFeedHub;
  /** who may log in and with which role: the environment's logins and the store's (issue 23) */
  access: AccessRegistry;
  /** PICAM_TRUSTED_PROXIES: whose X-Forwarded-Proto/-For are believed */
  trustedProxies: TrustedProxies;
  /** the runtime's one login failure count per client (also the editor's; in a cluster, shared through the store) */
  limiter?: LoginLimiter;
  warn(message: string): void;
}

export const DASHBOARD_PATH = '/dashboard/';
/** What esbuild names a built file after its content (dashboard/build.ts: `[name]-[hash]`). */
const BUILT_ASSET_NAME = /-[A-Z0-9]{8}\.(js|css)$/;
const WS_PATH = LIVE_FEED_PATH;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface MountedDashboard {
  /** everything Node-RED serves on httpNode goes through this (cloud role) */
  guard: (req: Request, res: Response, next: NextFunction) => void;
  sessions: SessionManager;
}

/** Mounts the page, the login routes and the WebSocket; returns the guard for httpNode. */
export function mountDashboard(app: Express, server: Server, o: DashboardServerOptions): MountedDashboard {
  const sessions = new SessionManager({
    secret: o.secret,
    // Every login's hash, the environment's and the store's: the registry keeps this map current.
    users: o.access.hashes,
    revokedFile: join(o.dataDir, 'dashboard-logouts.json'),
    ...(o.limiter && { limiter: o.limiter }),
  });
  const overTls = (req: IncomingMessage): boolean => {
    if ((req.socket as TLSSocket).encrypted) return true;
    if (!o.trustedProxies.has(req.socket.remoteAddress ?? '')) return false;
    const proto = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!;
    return proto.trim().toLowerCase() === 'https';
  };
  /** Rate limits are per client: behind a trusted proxy, the client it names. */
  const clientOf = (req: IncomingMessage): string => clientAddress(req, o.trustedProxies);
  /**
   * The request's session: signed, not expired, not logged out here, and (runtimes sharing a store) not ended
   * through another runtime. Rejects when the shared store cannot be asked (answered 503: `cannotCheck`).
   */
  const sessionOf = async (req: IncomingMessage): Promise<Session | undefined> => {
    const s = sessions.verify(readCookie(req.headers.cookie, SESSION_COOKIE));
    return s && !(await o.access.sessionEnded(s.id)) ? s : undefined;
  };
  const clientConfig: DashboardClientConfig = { webrtcUrl: o.config.webrtcUrl, mjpeg: o.config.mjpeg, runtimeLive: o.config.runtimeLive };
  const info = (s: Session | undefined, p: Principal = DEMO_PRINCIPAL): SessionInfo =>
    s
      ? {
          user: s.user,
          open: false,
          csrfToken: sessions.csrfToken(s),
          expiresAt: s.expiresMs,
          remember: s.remember,
          role: p.role,
          cameras: p.cameras,
          config: clientConfig,
        }
      : { user: null, open: true, csrfToken: '', expiresAt: null, remember: false, role: 'admin', cameras: null, config: clientConfig };
  /** A verified session and who it is now (a removed user's session is no longer one). */
  const loggedIn = async (req: IncomingMessage): Promise<{ session: Session; principal: Principal } | undefined> => {
    const session = await sessionOf(req);
    const principal = session && o.access.userPrincipal(session.user);
    return session && principal ? { session, principal } : undefined;
  };
  // An admin ended a session or removed a user: that session's cookie and sockets are done.
  o.access.onSessionEnded((id, expiresMs) => {
    const notKept = sessions.revoke({ id, expiresMs });
    if (notKept) o.warn(`dashboard: an ended session is not kept across restarts: ${notKept}`);
    o.hub.endSession(id);
  });
  // A cluster: sessions logged out through another runtime close their sockets here too (within seconds).
  let feedCheckWarned = false;
  o.hub.watchEndedSessions(
    async (ids) => {
      const ended = await o.access.endedSessions(ids);
      feedCheckWarned = false;
      return ended;
    },
    (err) => {
      if (!feedCheckWarned) o.warn(`dashboard: cannot look up ended sessions for the live feed: ${err.message}`);
      feedCheckWarned = true;
    },
  );
  // A user's role or cameras changed: their sockets reconnect and are checked again.
  o.access.onUserChanged((name) => o.hub.endUser(name));
  const fail = (res: Response, status: number, error: string) => res.status(status).json({ error });
  /** The shared store (cluster role) could not say whether a session was ended elsewhere: not a 500, and not a pass. */
  const cannotCheck = (res: Response) => (err: Error) => {
    o.warn(`dashboard: cannot check sessions in the database: ${err.message}`);
    if (!res.headersSent) fail(res, 503, 'the session cannot be checked now: try again shortly');
  };

  // A browser says where a request comes from (Sec-Fetch-Site); another site's page may not change anything
  // here, whatever credentials the browser would attach (cookies, cached Basic logins). curl sends no such header.
  const sameOriginOnly = (req: Request, res: Response, next: NextFunction) => {
    const site = req.headers['sec-fetch-site'];
    if (UNSAFE.has(req.method) && (site === 'cross-site' || site === 'same-site')) {
      return fail(res, 403, 'cross-site requests may not change anything');
    }
    next();
  };
  app.use([API_ROOT, '/dashboard'], sameOriginOnly);

  // ---- the page
  if (o.adminRoot !== '/') app.get('/', (_req, res) => res.redirect(302, DASHBOARD_PATH));
  // A regular expression: express's '/dashboard' would also match '/dashboard/' and redirect it to itself.
  app.get(/^\/dashboard$/, (_req, res) => res.redirect(301, DASHBOARD_PATH));
  // A signed link from an alert (issue 19): checked here, then the page (and its login) shows the event.
  app.get(EVENT_LINK_PATH, eventLinkHandler(o.secret));
  const csp = contentSecurityPolicy(o.config);
  app.use(
    '/dashboard',
    (_req, res, next) => {
      res.set({
        'Content-Security-Policy': csp,
        'X-Content-Type-Options': 'nosniff',
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': 'same-origin',
      });
      if (!existsSync(join(o.staticDir, 'index.html'))) return fail(res, 503, 'the dashboard is not built: npm run build');
      next();
    },
    firstViewPage({ server, staticDir: o.staticDir, warn: o.warn }),
    // The script, style sheet and chunks are named by their content (build.ts): kept for good, never asked
    // about again. The rest (icon, manifest, service worker) keep fixed names: revalidated on each load (ETag).
    express.static(o.staticDir, {
      index: 'index.html',
      cacheControl: true,
      maxAge: 0,
      fallthrough: false,
      setHeaders: (res, path) => {
        if (BUILT_ASSET_NAME.test(path)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      },
    }),
  );

  // ---- login
  app.get(API_PATHS.session, (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (o.config.open) return res.json(info(undefined));
    loggedIn(req)
      .then((l) => {
        if (!l) return fail(res, 401, 'not logged in');
        res.json(info(l.session, l.principal));
      }, cannotCheck(res))
      .catch(next);
  });

  // A fresh token for each live-video connection: the browser hands it to MediaMTX, which asks /mediamtx/auth.
  app.get(API_PATHS.streamToken, (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (o.config.open) return res.json({ token: '', expiresAt: null });
    sessionOf(req)
      .then((s) => {
        if (!s) return fail(res, 401, 'not logged in');
        const now = Date.now();
        res.json({ token: issueStreamToken(o.secret, s.user, now), expiresAt: now + STREAM_TOKEN_TTL_MS });
      }, cannotCheck(res))
      .catch(next);
  });

  app.post(API_PATHS.login, express.json({ limit: '4kb' }), (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (o.config.open) return fail(res, 400, 'the demo has no logins');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { username, password, remember = false } = body;
    if (typeof username !== 'string' || typeof password !== 'string' || typeof remember !== 'boolean' || username.length > 64) {
      return fail(res, 400, 'send JSON {"username": "...", "password": "...", "remember": true|false}');
    }
    sessions.login(username, password, remember, clientOf(req)).then((r) => {
      if (!r.ok) {
        if (r.status === 429) res.set('Retry-After', String(r.retryAfter));
        else o.warn(`dashboard: failed login for "${username.slice(0, 64)}" from ${clientOf(req)}`);
        return fail(res, r.status, r.error);
      }
      const principal = o.access.userPrincipal(r.session.user);
      if (!principal) return fail(res, 401, 'wrong user name or password');
      o.access.recordSession({
        id: r.session.id,
        username: r.session.user,
        client: clientOf(req),
        issuedMs: r.session.issuedMs,
        expiresMs: r.session.expiresMs,
      });
      res.set(
        'Set-Cookie',
        sessionCookie(r.cookie, { secure: overTls(req), maxAgeMs: r.session.remember ? r.session.expiresMs - Date.now() : undefined }),
      );
      res.json(info(r.session, principal));
    }, next);
  });

  app.post(API_PATHS.logout, (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (o.config.open) return fail(res, 400, 'the demo has no logins');
    sessionOf(req)
      .then(async (s) => {
        if (!s) return fail(res, 401, 'not logged in');
        if (!sessions.checkCsrf(s, req.headers[CSRF_HEADER])) return fail(res, 403, 'missing or wrong X-CSRF-Token header');
        const notKept = sessions.revoke(s);
        if (notKept) o.warn(`dashboard: a logout is not kept across restarts: ${notKept}`);
        o.hub.endSession(s.id);
        // In the store before the answer: every runtime sharing it refuses the cookie from now on.
        const notShared = await o.access.loggedOut({ ...s, username: s.user, client: clientOf(req) });
        if (notShared) o.warn(`dashboard: a logout is not noted in the database (other runtimes may still accept it): ${notShared}`);
        res
          .set('Set-Cookie', clearedCookie(overTls(req)))
          .status(204)
          .end();
      }, cannotCheck(res))
      .catch(next);
  });

  // ---- the guard for httpNode
  // One failure count per client for every way of logging in: alternating methods gains a guesser nothing.
  const basic = o.basic
    ? basicAuth(o.basic.user, o.basic.pass, { limiter: sessions.limiter, trustedProxies: o.trustedProxies })
    : undefined;
  const authorize = authorizer(o.access, o.warn);
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const matched = matchRoute(method, req.path);
    const otherCase = matched ? undefined : routeInOtherCase(method, req.path);
    if (otherCase) {
      return void res
        .status(404)
        .json({ error: `no route ${method} ${req.path}: routes have one spelling (${otherCase.method} ${otherCase.path})` });
    }
    if (o.config.open) return authorize(req, res, next, DEMO_PRINCIPAL, matched);
    // Public routes (the first-run page's) answer nobody logged in; they check what they need themselves.
    // So does a signed picture link (a phone's notification loads it without our login): the route checks the signature.
    if (matched?.route.auth === 'public' || matched?.route.auth === 'signed-link') return next();
    const authorization = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (bearer) return void bearerLogin(req, res, next, bearer[1]!, matched).catch(next);
    if (basic && /^Basic /i.test(authorization)) {
      // The API user is the installation's own login (an admin), as it was before roles.
      return basic(req, res, () => authorize(req, res, next, { name: o.basic!.user, role: 'admin', cameras: null }, matched));
    }
    loggedIn(req)
      .then((l) => {
        if (l) {
          if (UNSAFE.has(req.method) && !sessions.checkCsrf(l.session, req.headers[CSRF_HEADER])) {
            return void fail(res, 403, 'missing or wrong X-CSRF-Token header');
          }
          return authorize(req, res, next, l.principal, matched);
        }
        // Integrators' tools expect the Basic challenge; the dashboard page must not get the browser's login box.
        if (req.headers[DASHBOARD_CLIENT_HEADER] !== DASHBOARD_CLIENT_VALUE) res.set('WWW-Authenticate', 'Basic realm="PiCam Guardian"');
        fail(res, 401, 'authentication required');
      }, cannotCheck(res))
      .catch(next);
  };
  /** `Authorization: Bearer`: an API token, or a stream token for WHEP; a wrong one counts as a failed login. */
  const bearerLogin = async (req: Request, res: Response, next: NextFunction, presented: string, matched: MatchedRoute | undefined) => {
    const client = clientOf(req);
    const wait = await sessions.limiter.retryAfter(client);
    if (wait > 0) {
      res.set('Retry-After', String(wait));
      return void fail(res, 429, 'too many failed logins: try again later');
    }
    const token = o.access.tokenPrincipal(presented);
    if (token) return authorize(req, res, next, token, matched);
    // WHEP to the VBC01 live view: the browser holds a stream token, as it would for MediaMTX.
    const streamUser = takesStreamToken(req.method, req.path) ? verifyStreamToken(o.secret, presented) : undefined;
    const streamPrincipal = streamUser === undefined ? undefined : o.access.userPrincipal(streamUser);
    if (streamPrincipal) return authorize(req, res, next, streamPrincipal, matched);
    await sessions.limiter.fail(client);
    fail(res, 401, 'unknown API token');
  };

  // ---- the live feed
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== WS_PATH) return; // Node-RED's own listeners (editor comms, websocket nodes) take the rest
    const refuse = (status: string, error: string) =>
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ error })}`);
    // A page on another site could open a WebSocket with this site's cookie: only our own pages may.
    const origin = req.headers.origin;
    if (origin !== undefined && safeHost(origin) !== req.headers.host) return refuse('403 Forbidden', 'cross-site WebSocket refused');
    if (o.config.open) return o.hub.accept(req, socket, head, { user: null, cameras: null });
    // The same failure count as the API's token and login checks: a token guesser gains nothing here.
    feedLogin(req, socket, head, refuse).catch((err: Error) => {
      o.warn(`dashboard: cannot check the live feed's login: ${err.message}`);
      refuse('503 Service Unavailable', 'the session cannot be checked now: try again shortly');
    });
  });
  const feedLogin = async (req: IncomingMessage, socket: Duplex, head: Buffer, refuse: (status: string, error: string) => void) => {
    const client = clientOf(req);
    const wait = await sessions.limiter.retryAfter(client);
    if (wait > 0) return refuse(`429 Too Many Requests\r\nRetry-After: ${wait}`, 'too many failed logins: try again later');
    // The feed is a viewer's route like any other (its role is in the route table); a limited login gets its cameras only.
    const feedRole = matchRoute('GET', LIVE_FEED_PATH)!.route.role;
    const refuseRole = (p: Principal) => refuse('403 Forbidden', `the live feed needs the ${feedRole} role; ${p.name} is ${p.role}`);
    const l = await loggedIn(req);
    if (l) {
      if (!roleAtLeast(l.principal.role, feedRole)) return refuseRole(l.principal);
      const { session: s, principal: p } = l;
      return o.hub.accept(req, socket, head, { user: s.user, sessionId: s.id, expiresMs: s.expiresMs, cameras: p.cameras });
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = bearer ? o.access.tokenPrincipal(bearer[1]!) : undefined;
    if (token) {
      if (!roleAtLeast(token.role, feedRole)) return refuseRole(token);
      return o.hub.accept(req, socket, head, { user: token.name, cameras: token.cameras });
    }
    // A wrong token is a guess; a browser whose cookie expired is not (it sends no token).
    if (bearer) await sessions.limiter.fail(client);
    refuse('401 Unauthorized', bearer ? 'unknown API token' : 'log in to the dashboard first');
  };

  return { guard, sessions };
}

const article = (role: ApiRole) => (role === 'admin' || role === 'operator' ? `an ${role}` : `a ${role}`);

/**
 * The one role check (issue 23): the route table's role for `method path` (routes not in the
 * table: viewer to read, admin to change), the login's camera limit, the list filter, and the
 * audit entry of every change that succeeded.
 */
function authorizer(access: AccessRegistry, warn: (message: string) => void) {
  return (req: Request, res: Response, next: NextFunction, p: Principal, matched: MatchedRoute | undefined): void => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const needed: ApiRole = matched?.route.role ?? (UNSAFE.has(method) ? 'admin' : 'viewer');
    const who = p.name === null ? 'this login' : `"${p.name}"`;
    if (!roleAtLeast(p.role, needed)) {
      const what = matched ? `${method} ${matched.route.path}` : `${method} ${req.path}`;
      return void res.status(403).json({ error: `${what} needs the ${needed} role; ${who} is ${article(p.role)}`, role: p.role, needed });
    }
    const cameraParam = matched?.route.camera;
    if (p.cameras !== null && cameraParam !== undefined) {
      const camera = matched!.params[cameraParam]!;
      if (!p.cameras.includes(camera)) return void res.status(403).json({ error: `${who} may not use camera "${camera}"` });
    }
    if (p.cameras !== null && matched?.route.lists) limitListAnswer(res, p.cameras, matched.route.lists);
    if (p.cameras !== null && matched?.route.one) refuseOthersRow(res, p.cameras, matched.route.one, who);
    if (p.name !== null) res.locals[API_USER_LOCAL] = p.name;
    res.locals[API_PRINCIPAL_LOCAL] = p;
    if (UNSAFE.has(method)) {
      res.on('finish', () => {
        if (res.statusCode >= 400) return;
        const refined = res.locals[AUDIT_LOCAL] as { action?: string; target?: string; detail?: string } | undefined;
        // After the answer, outside any handler: what throws here would end the process.
        try {
          access.audit({
            actor: p.name ?? 'local',
            role: p.role,
            action: refined?.action ?? (matched ? `${method} ${matched.route.path}` : `${method} ${req.path}`),
            target: refined?.target ?? Object.values(matched?.params ?? {}).join(' '),
            detail: refined?.detail ?? auditDetail(req.body, req.query as Record<string, unknown>),
          });
        } catch (err) {
          warn(`dashboard: the audit entry of ${method} ${req.path} was not kept: ${(err as Error).message}`);
        }
      });
    }
    next();
  };
}

/** A limited login's list answers: other cameras' rows left out, whichever way the route answers JSON. */
function limitListAnswer(res: Response, cameras: string[], field: true | string): void {
  const json = res.json.bind(res);
  const jsonp = res.jsonp.bind(res);
  const rowField = field === true ? undefined : field;
  res.json = (body: unknown) => json(limitRows(body, cameras, rowField));
  res.jsonp = (body: unknown) => jsonp(limitRows(body, cameras, rowField));
}

/** A limited login's answer about one row of another camera: a 403 instead. */
function refuseOthersRow(res: Response, cameras: string[], field: string, who: string): void {
  const refusal = { error: `${who} may not see another camera's ${field}` };
  for (const send of ['json', 'jsonp'] as const) {
    const original = res[send].bind(res);
    res[send] = (body: unknown) => {
      if (!othersRow(body, cameras, field)) return original(body);
      res.status(403);
      return original(refusal);
    };
  }
}

function safeHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** Only our own scripts, and video from where the settings say it comes from. */
function contentSecurityPolicy(c: DashboardConfig): string {
  const origins = (urls: string[]) => [...new Set(urls.filter((u) => /^https?:\/\//.test(u)).map((u) => new URL(u).origin))].join(' ');
  const mjpeg = origins(Object.values(c.mjpeg));
  const webrtc = origins(c.webrtcUrl ? [c.webrtcUrl] : []);
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob: ${mjpeg}`.trim(),
    "media-src 'self' blob:",
    `connect-src 'self' ${webrtc}`.trim(),
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}
