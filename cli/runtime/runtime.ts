/**
 * Runs Node-RED embedded with a role's settings: one HTTP server for the editor,
 * the API and the dashboard; the role's flow installed on first start (with its
 * credentials given as ${ENV} references, which Node-RED resolves at run time).
 */
import type { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { selectBroker, type BrokerMode } from '../flows/broker-choice';
import { readFlow, type FlowNode } from '../flows/flow-file';
import { DASHBOARD_PATH, mountDashboard } from '../../dashboard/server/dashboard-server';
import { editorLoginLimit, type EditorUser } from './editor-login-limit';
import { basicAuth } from './http-auth';
import { apiBodyParsers, requestErrorHandler, unknownApiRoute, wholeQueries } from './http-errors';
import { refuseLocalOnlyPaths, startInternalServer, type InternalServer } from './internal-server';
import { LiveFeedHub } from '../../dashboard/server/live-feed';
import { mediamtxAuthHandler } from './mediamtx-auth';
import { segmentHookRouter } from './recording-hook';
import { API_ROOT, METRICS_PATH } from '../../nodes/lib/contract/api-routes';
import { FlowState } from './flow-state';
import { Ops } from './ops';
import { LOGIN_LIMITS } from '../../dashboard/server/sessions';
import { LoginLimiter } from '../../nodes/lib/login-limiter';
import { verifyStreamToken } from '../../nodes/lib/access/stream-tokens';
import { limitHeapGrowth } from './heap-growth';
import { AccessRegistry } from '../../nodes/lib/access/registry';
import { packageRoot } from '../flows/package-root';
import { applyFlowEnv, type RoleSettings } from './roles';
import { startCluster } from './cluster';

export interface RunningRuntime {
  url: string;
  /** Node-RED's message hooks (https://nodered.org/docs/api/hooks/), for instrumentation */
  hooks: { add(name: string, hook: (event: never) => void): void };
  adminUrl: string;
  /** the dashboard page; undefined for the Pi role, which has none */
  dashboardUrl?: string;
  /** the cloud role's 127.0.0.1-only listener for local hooks (MediaMTX's /mediamtx/auth) */
  internalUrl?: string;
  server: Server;
  stop(): Promise<void>;
}

/** The repository's flows/ folder, wherever the package is installed. */
export const FLOWS_DIR = join(packageRoot(), 'flows');

/** The demo is the cloud flow and the Pi flow in one runtime, the Pi with a simulated Sense HAT. */
export const ROLE_FLOWS: Record<RoleSettings['role'], string[]> = {
  demo: ['cloud.json', 'pi.json'],
  cloud: ['cloud.json'],
  pi: ['pi.json'],
  cluster: ['cloud.json'],
};

export async function startRuntime(
  role: RoleSettings,
  flowFiles = ROLE_FLOWS[role.role].map((f) => join(FLOWS_DIR, f)),
): Promise<RunningRuntime> {
  if (role.problems.length > 0) throw new Error(`cannot start the ${role.role} role:\n  - ${role.problems.join('\n  - ')}`);
  applyFlowEnv(role);
  limitHeapGrowth();

  // node-red is loaded here, not at import time, so `--help` stays fast.
  const RED = (await import('node-red')).default as unknown as NodeRedEmbedded;
  // The dashboard's live feed: the dashboard-feed node finds it in the settings (RED.settings.picamDashboard).
  const hub = role.role === 'pi' ? undefined : new LiveFeedHub();
  // One failure count per client for every login of this runtime: editor, dashboard, API tokens, Basic, first-run codes;
  // with a store shared by several runtimes (the cluster role), counted there too, once the access-control node attaches it.
  const loginLimiter = new LoginLimiter(LOGIN_LIMITS, { warn: (m) => RED.log.warn(m) });
  // Who may log in and what they may do: the access-control node attaches the store's users (picamAccess).
  const access = hub ? accessRegistry(role, loginLimiter, (m) => RED.log.warn(m)) : undefined;
  // With PostgreSQL (PICAM_DB_URL, the cluster role): one runtime leads the jobs that must run once
  // (picamLeadership), and the live feed shows what every runtime committed. On one box: this runtime, alone.
  const cluster = startCluster({
    url: role.role === 'pi' ? undefined : process.env.PICAM_DB_URL || undefined,
    hub,
    log: (m) => RED.log.info(m),
    warn: (m) => RED.log.warn(m),
  });
  // picamLiveOpen: the dashboard has no logins (demo), so the VBC01 live view asks for no stream token either.
  const settings = {
    ...role.node,
    picamLeadership: cluster.leadership,
    ...(hub && { picamDashboard: cluster.hub, picamLiveOpen: role.dashboard.open, picamAccess: access }),
  } as Record<string, unknown>;
  const userDir = settings.userDir as string;
  // Read before anything starts, so a missing or broken flow file stops us at once.
  const firstFlows = existsSync(join(userDir, settings.flowFile as string))
    ? undefined
    : selectBroker(flowFiles.flatMap(readFlow), role.flowEnv.PICAM_MQTT_BROKER as BrokerMode);

  const app = express();
  // One spelling per route: a guard mounted on /api must see every request the routes behind it answer.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.use(wholeQueries);
  // Local hooks never exist here, in any spelling: a proxy in front makes every caller look local.
  app.use(refuseLocalOnlyPaths);
  // HTTPS directly when the role has a certificate; otherwise plain HTTP, for a reverse proxy in front.
  const server = role.tls
    ? createHttpsServer({ cert: readFileSync(role.tls.cert), key: readFileSync(role.tls.key) }, app)
    : createServer(app);
  // Every socket, so a stop can end them all: closeAllConnections() leaves upgraded ones (WebSockets)
  // open, and server.close() then waits for them for ever.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  RED.init(server, settings);
  const warn = (m: string) => RED.log.warn(m);
  // Health without a login (load balancers, watchdogs); metrics behind the API's login, below.
  const flows = new FlowState(RED.events);
  let open = false;
  const ops = new Ops({
    role: role.role,
    // PostgreSQL (PICAM_DB_URL): the database node reports its health; these figures are SQLite's file only for now.
    dbFile: role.role === 'pi' || role.flowEnv.PICAM_DB_URL ? undefined : role.flowEnv.PICAM_DB_FILE,
    // Ready once the routes open (below), not at the flows' start event: a moment apart on a first start.
    flowsStarted: () => open && flows.started,
    leadership: () => cluster.leadership.status(),
  });
  app.get('/healthz', ops.health);
  // Nothing else until Node-RED has started: a login to the editor while its storage is still
  // initialising crashes the process (Node-RED 4.1 reads an undefined sessions file).
  app.use((_req, res, next) => {
    if (open) return next();
    res.status(503).set('Retry-After', '2').json({ error: 'starting: try again in a moment' });
  });
  const nodeAuth = settings.httpNodeAuth as { user: string; pass: string } | undefined;
  // The dashboard page and its login routes come before the editor, which the demo serves at /.
  const dashboard = hub
    ? mountDashboard(app, server, {
        config: role.dashboard,
        secret: settings.credentialSecret as string,
        basic: nodeAuth,
        staticDir: join(packageRoot(), 'dist', 'dashboard'),
        adminRoot: settings.httpAdminRoot as string,
        dataDir: userDir,
        hub,
        access: access!,
        trustedProxies: role.trustedProxies,
        limiter: loginLimiter,
        warn,
      })
    : undefined;
  const adminAuth = settings.adminAuth as { users?: EditorUser[] } | undefined;
  if (adminAuth?.users) app.use(settings.httpAdminRoot as string, editorLoginLimit(adminAuth.users, loginLimiter, role.trustedProxies));
  app.use(settings.httpAdminRoot as string, RED.httpAdmin);
  // The API: a dashboard session, an API token or the Basic login (cloud); open in the demo.
  const trustedProxies = role.trustedProxies;
  if (dashboard) app.use(settings.httpNodeRoot as string, dashboard.guard);
  else if (nodeAuth)
    app.use(settings.httpNodeRoot as string, basicAuth(nodeAuth.user, nodeAuth.pass, { limiter: loginLimiter, trustedProxies }));
  app.get(METRICS_PATH, ops.metrics);
  // Bodies read here, with clear 400/413s, so http in nodes never answer a malformed body with their bare 500.
  app.use(settings.httpNodeRoot as string, ...apiBodyParsers((settings.apiMaxLength as string | undefined) ?? '5mb'));
  app.use(settings.httpNodeRoot as string, RED.httpNode);
  app.use(`${(settings.httpNodeRoot as string).replace(/\/$/, '')}${API_ROOT}`, unknownApiRoute);
  app.use(requestErrorHandler({ warn }));

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(settings.uiPort as number, settings.uiHost as string, () => ok());
  }).catch(async (err: Error) => {
    await cluster.close();
    throw err;
  });
  // MediaMTX asks here who may publish and watch (authMethod: http): on 127.0.0.1 only, never on the public port.
  let internal: InternalServer | undefined;
  if (role.internalPort !== undefined) {
    const secret = settings.credentialSecret as string;
    const mediamtx = { ...role.mediamtxAuth, streamToken: (token: string) => verifyStreamToken(secret, token) };
    internal = await startInternalServer(
      role.internalPort,
      (local) => {
        local.post('/mediamtx/auth', mediamtxAuthHandler(mediamtx, { warn }));
        // MediaMTX's finished recording segments, for the recorder node's index (recording-hook.ts).
        local.use(segmentHookRouter({ warn }));
      },
      { warn },
    ).catch(async (err: Error) => {
      server.close();
      await cluster.close();
      throw err;
    });
  }
  // Neither RED.start() nor setFlows waits for the flows: their http in routes would answer 404 until they run.
  const loaded = flows.next();
  await RED.start();
  await loaded;
  if (firstFlows) {
    // setFlows keeps the inline credentials (only ${ENV} references) in the
    // encrypted credentials file; a plain file copy would drop them.
    const installed = flows.next();
    await RED.runtime.flows.setFlows({ flows: { flows: firstFlows }, deploymentType: 'full' });
    await installed;
    RED.log.info(`installed ${flowFiles.join(', ')} into ${userDir}`);
  }
  // Open only now: on a first start the API's routes exist once the role's flow is installed.
  open = true;

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (settings.uiPort as number);
  const host = settings.uiHost === '0.0.0.0' ? '127.0.0.1' : (settings.uiHost as string);
  const url = `${role.tls ? 'https' : 'http'}://${host}:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    url,
    adminUrl: `${url}${(settings.httpAdminRoot as string).replace(/\/$/, '')}/`,
    dashboardUrl: hub ? `${url}${DASHBOARD_PATH}` : undefined,
    internalUrl: internal?.url,
    server,
    hooks: RED.hooks,
    stop: () =>
      (stopping ??= (async () => {
        await RED.stop();
        await cluster.close();
        await internal?.close();
        await ops.close();
        const closed = new Promise<void>((ok) => server.close(() => ok()));
        for (const socket of sockets) socket.destroy();
        await closed;
      })()),
  };
}

/** The environment's logins (admins unless an entry names a role) in the registry the dashboard and the access-control node share. */
function accessRegistry(role: RoleSettings, limiter: LoginLimiter, warn: (m: string) => void): AccessRegistry {
  const d = role.dashboard;
  return new AccessRegistry({
    users: [...d.users].map(([name, passwordHash]) => ({ name, passwordHash, role: d.roles.get(name) ?? 'admin' })),
    tokens: d.tokens,
    // The demo has no logins: no first-run code either.
    open: d.open,
    limiter,
    log: warn,
    warn,
  });
}

interface NodeRedEmbedded {
  init(server: Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: express.Express;
  httpNode: express.Express;
  log: { info(msg: string): void; warn(msg: string): void };
  events: EventEmitter;
  hooks: RunningRuntime['hooks'];
  runtime: { flows: { setFlows(opts: { flows: { flows: FlowNode[] }; deploymentType: string }): Promise<unknown> } };
}
