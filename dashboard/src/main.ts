/**
 * The dashboard page: asks who is logged in, shows the login or the app, and
 * routes live feed messages to each section.
 */
import './styles.css';
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import { ApiFailure, dropAnswersInPage, get, post, useSession, whenLoggedOut } from './api';
import { CameraGrid } from './cameras';
import type { SessionInfo } from '../../nodes/lib/contract/dashboard-api';
import { DayView } from './day-view';
import { byId } from './dom';
import { EventTimeline } from './events';
import { LiveFeed } from './feed';
import { HealthView } from './health';
import { IpcamForm } from './ipcams';
import { showLogin } from './login';
import type { AdminPage } from './admin';
import type { AdminCameras } from './admin-cameras';
import type { AdminSettings } from './admin-settings';
import { firstRunNeeded, showFirstRun } from './first-run';
import { setUpPush } from './push';
import { SensorPanels } from './sensors';
import { StoragePanel } from './storage';

let running: { stop(): void } | undefined;
/** Built once: their listeners sit on the page's fixed elements; a new login reloads them. */
let views: { sensors: SensorPanels; events: EventTimeline; health: HealthView; day: DayView; storage: StoragePanel } | undefined;
let ipcamForm: IpcamForm | undefined;
let grid: CameraGrid | undefined;
let admin: AdminPage | undefined;
let adminCameras: AdminCameras | undefined;
let adminSettings: AdminSettings | undefined;
let belowTheFold: IntersectionObserver[] | undefined;

/** What this login's role shows: the Admin section and adding cameras for admins only (the server checks each request anyway). */
function showForRole(session: SessionInfo): void {
  const isAdmin = session.role === 'admin';
  byId('nav-admin').hidden = !isAdmin;
  byId('admin').hidden = !isAdmin;
  byId('ipcam-add').hidden = !isAdmin;
  document.body.dataset.role = session.role;
}

/**
 * A section below the first screen loads when it is first seen (its link, or a scroll down), not
 * at each login: the admin lists (most visits never open them), the health tables, the disk use.
 * Their requests would queue beside the first view's.
 */
function whenSeen(section: HTMLElement, load: () => void): IntersectionObserver {
  const seen = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    seen.disconnect();
    load();
  });
  seen.observe(section);
  return seen;
}

function showAdmin(): void {
  loadAdmin().catch((err: Error) => (byId('admin-result').textContent = `The admin page could not be loaded: ${err.message}`));
}

/** The Admin section's code loads with it (its own chunks): most visits never open it. */
async function loadAdmin(): Promise<void> {
  const [{ AdminPage }, { AdminCameras }, { AdminSettings }] = await Promise.all([
    import('./admin'),
    import('./admin-cameras'),
    import('./admin-settings'),
  ]);
  admin ??= new AdminPage();
  void admin.load().catch((err: Error) => (byId('admin-result').textContent = `The admin lists could not be loaded: ${err.message}`));
  adminCameras ??= new AdminCameras();
  void adminCameras.load();
  adminSettings ??= new AdminSettings();
  void adminSettings
    .load()
    .catch((err: Error) => (byId('settings-result').textContent = `The settings could not be loaded: ${err.message}`));
  byId<HTMLFieldSetElement>('admin-controls').disabled = false; // its forms have their handlers now
}

function startApp(session: SessionInfo): void {
  running?.stop();
  useSession(session);
  byId('login-view').hidden = true;
  byId('first-run-view').hidden = true;
  byId('app-view').hidden = false;
  showForRole(session);
  byId('user-name').textContent = session.open ? 'demo (no login)' : (session.user ?? '');
  const logout = byId<HTMLButtonElement>('logout');
  logout.hidden = session.open;

  const feedState = byId('feed-state');
  views ??= {
    sensors: new SensorPanels(byId('sensor-panels')),
    events: new EventTimeline(),
    health: new HealthView(),
    day: new DayView(),
    storage: new StoragePanel(),
  };
  const { sensors, events, health, day, storage } = views;
  let linked = linkedEvent();
  const cameras = new CameraGrid(byId('camera-grid'), session.config, (rows) => {
    sensors.setDevices(rows);
    events.setCameras(rows);
    day.setCameras(rows);
    // A signed link from an alert (dashboard/server/event-links.ts) lands here after the login.
    if (linked) {
      day.show(linked.cameraId, linked.timeMs);
      void events.openEvent(linked.cameraId, linked.eventId, linked.timeMs);
      linked = undefined;
    }
  });
  const feed = new LiveFeed((state, detail) => {
    feedState.textContent = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
    feedState.title = detail ?? '';
    feedState.dataset.state = state;
  }, sessionEnded);
  feed.on((m) => {
    cameras.handle(m);
    sensors.handle(m);
    events.handle(m);
    health.handle(m);
  });
  feed.start();
  // Below the first screen: their requests wait until they are scrolled to (or their link is followed),
  // not queued beside the first view's on the server and in the browser. Watched once the grid's first
  // page has pushed them down.
  belowTheFold?.forEach((o) => o.disconnect());
  belowTheFold = [];
  void cameras
    .load()
    .catch((err: Error) => (byId('camera-grid').textContent = `Cameras could not be loaded: ${err.message}`))
    .finally(() => {
      if (running?.stop !== stop) return; // logged out meanwhile
      belowTheFold = [
        whenSeen(byId('health'), () => void health.load()),
        whenSeen(byId('storage-panel'), () => void storage.load()),
        ...(session.role === 'admin' ? [whenSeen(byId('admin'), showAdmin)] : []),
      ];
    });
  grid = cameras;
  // Built once (its listeners sit on the page's form); an added camera reloads the current grid.
  ipcamForm ??= new IpcamForm(() => void grid?.load().catch(() => undefined));
  void events.load();
  void setUpPush(byId<HTMLButtonElement>('push-toggle'));
  // Every load above asked for its first answer synchronously: the page's are taken or stale now.
  dropAnswersInPage();

  logout.onclick = async () => {
    stopApp(); // first: a request still in flight answers 401 once the session is gone, and that is no news
    await post(API_PATHS.logout).catch(() => undefined);
    loggedOut('You are logged out.');
  };
  const stop = () => {
    feed.stop();
    cameras.stop();
    sensors.reset();
    belowTheFold?.forEach((o) => o.disconnect());
  };
  running = { stop };
}

/** `#event=<camera>/<event>/<time ms>`: the event a signed link from an alert opens. */
function linkedEvent(): { cameraId: string; eventId: string; timeMs: number } | undefined {
  const m = /^#event=([^/]+)\/([^/]+)\/(\d{1,15})$/.exec(location.hash);
  if (!m) return undefined;
  try {
    return { cameraId: decodeURIComponent(m[1]!), eventId: decodeURIComponent(m[2]!), timeMs: Number(m[3]) };
  } catch {
    return undefined; // a damaged fragment: the page opens as usual
  }
}

function stopApp(): void {
  running?.stop();
  running = undefined;
  byId('camera-grid').replaceChildren();
}

function loggedOut(notice: string): void {
  stopApp();
  showLogin(startApp, notice);
}

/** The server refused the session (a 401, the feed closed with 4001): only news while the app runs. */
function sessionEnded(): void {
  if (running) loggedOut('Your session ended: please log in again.');
}

async function boot(): Promise<void> {
  whenLoggedOut(sessionEnded);
  try {
    startApp(await get<SessionInfo>(API_PATHS.session));
  } catch (err) {
    // Asked for nobody (or a session that ended): a login must not be shown those answers.
    dropAnswersInPage();
    if (err instanceof ApiFailure && err.status === 401) {
      const firstRun = await firstRunNeeded();
      if (firstRun) showFirstRun(firstRun, startApp);
      else showLogin(startApp);
    } else byId('boot-error').textContent = `The server cannot be reached: ${(err as Error).message}`;
  }
}

void boot();
