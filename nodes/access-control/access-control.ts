/**
 * access-control: keeps the dashboard's users, API tokens and audit log in the picam-database
 * and serves their /api routes (users, tokens, sessions, audit, first run; access-api.ts).
 * The picam-guardian runtime owns the login checks and hands this node its access registry
 * through Node-RED's settings (`picamAccess`); the node attaches the store to it once the file
 * is open, so logins made on the admin pages count. In a Node-RED without that registry (a
 * stock install) the node says so and serves nothing.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { NodeConstructor } from '../lib/node-config';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import { ACCESS_ROUTES_ROOT } from '../lib/contract/api-routes';
import type { AccessRegistry } from '../lib/access/registry';
import { trustedProxiesFromSettings } from '../lib/client-address';
import { useDatabase } from '../lib/database-user';
import { StatusReporter } from '../lib/status';
import type { EventStore } from '../lib/store/store';
import { mountRouter } from '../lib/mount-router';
import { accessRouter } from './access-api';
import { publishStoredOverrides, settingsRouter } from './settings-api';
import type { SettingsOverrideStore } from '../lib/store/settings-overrides';
import type { RetentionOverrides } from '../lib/contract/admin-settings';
import { DEFAULTS } from '../lib/settings';
import { credentialSecret, SecretBox } from '../lib/secret-box';

interface AccessControlDef extends NodeDef {
  database: string;
}

/** The runtime's registry, by what it offers (a stock Node-RED has none). */
function registryFrom(settings: unknown): AccessRegistry | undefined {
  const r = (settings as { picamAccess?: Partial<AccessRegistry> } | undefined)?.picamAccess;
  return r && typeof r.attach === 'function' && typeof r.userPrincipal === 'function' ? (r as AccessRegistry) : undefined;
}

export default function register(RED: NodeAPI): void {
  function AccessControl(this: Node, def: AccessControlDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const access = registryFrom(RED.settings);
    if (!access) {
      status.now('warn', 'off: no dashboard logins in this runtime');
      return;
    }
    const db = def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null;
    if (!db) {
      status.now('error', 'no database: only the environment’s logins work');
      node.error('access-control needs a picam-database: users and tokens made on the admin pages cannot be kept');
      return;
    }
    const unmount = mountRouter(
      RED,
      ACCESS_ROUTES_ROOT,
      accessRouter({ access, trustedProxies: trustedProxiesFromSettings(RED.settings, (m) => node.warn(m)), log: (m) => node.log(m) }),
    );
    // The admin pages' settings (settings-api.ts): answered once the store is open.
    let overrides: SettingsOverrideStore | undefined;
    let retentionDefaults: Required<RetentionOverrides> | undefined;
    const unmountSettings = mountRouter(
      RED,
      ACCESS_ROUTES_ROOT,
      settingsRouter({
        overrides: () => overrides,
        retentionDefaults: () => retentionDefaults,
        box: new SecretBox(credentialSecret(RED.settings as { credentialSecret?: unknown })),
        log: (m) => node.log(m),
      }),
    );
    const summary = () => {
      const users = access.users().length;
      return `${users} user${users === 1 ? '' : 's'}${access.hasAdmin() || access.demo ? '' : ', no admin yet'}`;
    };
    let stopWatching: (() => void) | undefined;
    useDatabase<EventStore, never>({
      node,
      database: db,
      status,
      label: 'users',
      ready: async (store) => {
        await access.attach({ access: store.access(), audit: store.auditLog, failures: store.loginFailures() });
        retentionDefaults ??= {
          eventsDays: store.retention.activity,
          readingsDays: store.retention.sensors,
          recordingsDays: DEFAULTS.recordRetainSegmentDays,
        };
        overrides = store.settingsOverrides();
        await publishStoredOverrides(overrides).catch((err: Error) => node.warn(`admin page settings cannot be read: ${err.message}`));
        status.now(access.hasAdmin() || access.demo ? 'ok' : 'warn', summary());
        stopWatching ??= access.onUserChanged(() => status.soon(() => [access.hasAdmin() || access.demo ? 'ok' : 'warn', summary()]));
      },
      close: () => {
        stopWatching?.();
        unmount();
        unmountSettings();
        overrides = undefined;
        access.detach();
      },
    });
  }
  RED.nodes.registerType('access-control', AccessControl as unknown as NodeConstructor);
}
