/**
 * The admin pages' settings (issue 23): alert channels (on/off, modes, cooldown, quiet hours,
 * which cameras alert) and retention days, kept in the store (migration 24) over what the node
 * settings and the environment say, which stay the defaults. Every change is written to the
 * store first, then published to the nodes of this process (nodes/lib/admin-settings.ts), and
 * the API guard audits it. Bad input is a 400 with the reason.
 */
import express, { type ErrorRequestHandler, type Router } from 'express';
import { actor, audit, rel, wrap } from './router-parts';
import { API_PATHS } from '../lib/contract/api-routes';
import {
  ALERT_CHANNELS,
  alertScope,
  describeOverrides,
  isAlertChannel,
  parseAlertOverrides,
  parseRetentionOverrides,
  RETENTION_SCOPE,
  SettingsProblem,
  type AlertChannel,
  type AlertSettingsPage,
  type RetentionOverrides,
  type RetentionSettingsPage,
} from '../lib/contract/admin-settings';
import {
  CONNECTION_FIELDS,
  connectionScope,
  connectionView,
  describeConnectionChange,
  parseConnectionChange,
  secretHint,
} from '../lib/contract/alert-connection';
import { alertChannels, publishOverride } from '../lib/admin-settings';
import type { SecretBox } from '../lib/secret-box';
import type { SettingsOverrideStore } from '../lib/store/settings-overrides';
import { apiRouter } from '../lib/mount-router';

export interface SettingsApiOptions {
  /** undefined until the database is open: the routes answer 503 until then */
  overrides(): SettingsOverrideStore | undefined;
  /** the retention the store was opened with, and the recorder's days (the page's defaults) */
  retentionDefaults(): Required<RetentionOverrides> | undefined;
  /** seals the channels' secrets (the runtime's credential secret) */
  box: SecretBox;
  log(message: string): void;
}

class Unavailable extends Error {}

/** 409: the request is good, but this runtime cannot keep a secret sealed. */
class NoCredentialSecret extends Error {
  readonly status = 409;
}

const channelOf = (value: unknown): AlertChannel => {
  if (!isAlertChannel(value)) throw new SettingsProblem(`unknown alert channel "${String(value)}" (known: ${ALERT_CHANNELS.join(', ')})`);
  return value;
};

export function settingsRouter(o: SettingsApiOptions): Router {
  const router = apiRouter({ strict: true });
  const json = express.json({ limit: '16kb' });
  const store = () => {
    const s = o.overrides();
    if (!s) throw new Unavailable('the database is not open yet: try again shortly');
    return s;
  };

  router.get(
    rel(API_PATHS.alertSettings),
    wrap(async (_req, res) => {
      const stored = new Map((await store().all()).map((r) => [r.scope, r.value]));
      const running = [...alertChannels.values()];
      const page: AlertSettingsPage = {
        channels: ALERT_CHANNELS.map((channel) => ({
          channel,
          running: running.filter((r) => r.channel === channel).map((r) => ({ channel, sendsTo: r.sendsTo })),
          overrides: stored.get(alertScope(channel)) ?? {},
          // never a secret: whether it is set, and a hint
          connection: connectionView(channel, stored.get(connectionScope(channel)) ?? {}),
        })),
      };
      res.json(page);
    }),
  );
  router.put(
    rel(API_PATHS.alertChannelSettings),
    json,
    wrap(async (req, res) => {
      const channel = channelOf(req.params.channel);
      const value = parseAlertOverrides(req.body);
      await store().set(alertScope(channel), value, actor(res));
      publishOverride(alertScope(channel), { ...value });
      audit(res, 'change alert settings', channel, describeOverrides(value));
      res.json({ channel, overrides: value });
    }),
  );

  // Where a channel sends: fields named are set (a secret sealed) or, when null, cleared; others stay.
  router.put(
    rel(API_PATHS.alertConnectionSettings),
    json,
    wrap(async (req, res) => {
      const channel = channelOf(req.params.channel);
      const change = parseConnectionChange(channel, req.body);
      const fields = new Map(CONNECTION_FIELDS[channel].map((f) => [f.name, f]));
      const sealing = Object.entries(change).some(([name, v]) => v !== null && fields.get(name)!.secret);
      if (sealing && !o.box.canSeal)
        throw new NoCredentialSecret('this runtime has no credential secret (PICAM_CREDENTIAL_SECRET), so it cannot keep a secret sealed');
      const scope = connectionScope(channel);
      const stored: Record<string, unknown> = { ...((await store().get(scope)) ?? {}) };
      for (const [name, v] of Object.entries(change)) {
        if (v === null) delete stored[name];
        else stored[name] = fields.get(name)!.secret ? { sealed: o.box.seal(v), hint: secretHint(v) } : v;
      }
      await store().set(scope, stored, actor(res));
      publishOverride(scope, stored);
      audit(res, 'change alert connection', channel, describeConnectionChange(channel, change));
      res.json({ channel, connection: connectionView(channel, stored) });
    }),
  );

  router.get(
    rel(API_PATHS.retentionSettings),
    wrap(async (_req, res) => {
      const defaults = o.retentionDefaults();
      if (!defaults) throw new Unavailable('the database is not open yet: try again shortly');
      const page: RetentionSettingsPage = { defaults, overrides: (await store().get(RETENTION_SCOPE)) ?? {} };
      res.json(page);
    }),
  );
  router.put(
    rel(API_PATHS.retentionSettings),
    json,
    wrap(async (req, res) => {
      const value = parseRetentionOverrides(req.body);
      await store().set(RETENTION_SCOPE, value, actor(res));
      publishOverride(RETENTION_SCOPE, { ...value });
      audit(res, 'change retention', 'storage', describeOverrides(value));
      res.json({ overrides: value });
    }),
  );

  const onError: ErrorRequestHandler = (err: Error & { status?: number }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof SettingsProblem) return void res.status(400).json({ error: err.message });
    if (err instanceof Unavailable) return void res.status(503).json({ error: err.message });
    if (err.status && err.status >= 400 && err.status < 500) return void res.status(err.status).json({ error: err.message });
    o.log(`settings API: ${err.message}`);
    res.status(503).json({ error: `settings cannot be read or changed now (${err.message.slice(0, 200)})` });
  };
  router.use(onError);
  return router;
}

/** Reads every stored override and publishes it, so the nodes of this process use it (at start). */
export async function publishStoredOverrides(store: SettingsOverrideStore): Promise<void> {
  for (const r of await store.all()) publishOverride(r.scope, r.value);
}
