/**
 * JSON shapes of users, API tokens, the audit and the first run (issue 23), between the
 * access-control node's routes and the dashboard's admin pages. Browser-safe.
 */
import type { ApiRole } from './api-routes';

/** Where a login is defined: the environment (PICAM_DASHBOARD_USERS, the API user) or the store (the Users page). */
export type LoginSource = 'env' | 'store';

/** GET /api/users: one user (never the password hash) */
export interface UserInfo {
  name: string;
  role: ApiRole;
  /** the cameras this user may see; null: all of them */
  cameras: string[] | null;
  source: LoginSource;
  /** Unix ms; null for environment users */
  createdMs: number | null;
}

/** POST /api/users */
export interface AddUserRequest {
  name: string;
  password: string;
  role: ApiRole;
  cameras?: string[] | null;
}

/** POST /api/users/{name}: what to change (at least one field) */
export interface ChangeUserRequest {
  password?: string;
  role?: ApiRole;
  cameras?: string[] | null;
}

/** GET /api/users/{name}/sessions: one open dashboard session */
export interface SessionRow {
  id: string;
  /** the address it logged in from */
  client: string;
  issuedMs: number;
  expiresMs: number;
}

/** GET /api/tokens: one token (never the token or its hash) */
export interface TokenInfo {
  /** 0 for the environment's tokens (PICAM_API_TOKENS), which cannot be revoked here */
  id: number;
  name: string;
  role: ApiRole;
  cameras: string[] | null;
  source: LoginSource;
  createdBy: string | null;
  createdMs: number | null;
}

/** POST /api/tokens */
export interface AddTokenRequest {
  name: string;
  role: ApiRole;
  cameras?: string[] | null;
}

/** POST /api/tokens → 201: the token itself, shown this once */
export interface NewToken extends TokenInfo {
  token: string;
}

/** GET /api/audit: one change made through the API */
export interface AuditEntry {
  id: number;
  atMs: number;
  /** the user or token name; 'local' in the demo; 'first-run' for the first admin */
  actor: string;
  role: ApiRole;
  /** what was done, e.g. "POST /api/control/mode/:id/:mode" or "add user" */
  action: string;
  /** what it was done to (a camera, a user), '' when nothing in particular */
  target: string;
  /** the request's details, secrets left out */
  detail: string;
}

/** GET /api/audit */
export interface AuditPage {
  entries: AuditEntry[];
}

/** GET /api/first-run */
export interface FirstRunInfo {
  /** true while no admin exists: the page offers to make one */
  needed: boolean;
  /** whether this request comes from the machine itself (then no code is asked for) */
  local: boolean;
}

/** POST /api/first-run */
export interface FirstRunRequest {
  name: string;
  password: string;
  /** the one-time code from the runtime's log; not needed from the machine itself */
  code?: string;
}

/** What a user or token name may contain: as PICAM_DASHBOARD_USERS's names. */
export const LOGIN_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
