/**
 * How a change made on the admin pages reaches the nodes it is for, in this process
 * (issue 23): the access-control node publishes each scope's override after reading the store
 * and after every change; alert nodes and the database node watch their scope. Values and
 * watchers live in process registries (process-registry.ts), because Node-RED loads each node
 * file apart. A node that starts before the store is read reads its override itself too
 * (readOverride), so the order of starting does not matter. The channels' connections
 * (`alerts.<channel>.connection`, secrets still sealed) travel the same way: alerts/page-connection.ts.
 */
import { processRegistry } from './process-registry';
import { parseRetentionOverrides, RETENTION_SCOPE, type AlertChannelInfo, type RetentionOverrides } from './contract/admin-settings';
import type { RetentionDays } from './store/retention';

type Watcher = { scope: string; changed(value: Record<string, unknown>): void };

const current = processRegistry<Record<string, unknown>>('settings-overrides');
const watchers = processRegistry<Watcher>('settings-override-watchers');
/** the running alert nodes, for the admin page's list (never their credentials) */
export const alertChannels = processRegistry<AlertChannelInfo>('alert-channels');

let nextWatcher = 0;

/** The override now in force for `scope` ({} for none); every watcher of the scope hears it. */
export function publishOverride(scope: string, value: Record<string, unknown>): void {
  current.register(scope, value);
  for (const w of [...watchers.values()]) if (w.scope === scope) w.changed(value);
}

/** The last published override of `scope`, if any was published in this process. */
export const publishedOverride = (scope: string): Record<string, unknown> | undefined => current.get(scope);

/** Calls `changed` with each later override of `scope`; returns the function that stops it. */
export function watchOverride(scope: string, changed: (value: Record<string, unknown>) => void): () => void {
  return watchers.register(`w${++nextWatcher}`, { scope, changed });
}

/** The store's retention as the page names it (events, readings); the other kinds keep their settings. */
export function retentionWith(defaults: RetentionDays, o: RetentionOverrides): RetentionDays {
  return { ...defaults, activity: o.eventsDays ?? defaults.activity, sensors: o.readingsDays ?? defaults.sensors };
}

/**
 * Makes the retention runs of `retention` (the store's own object, read at each run) follow the
 * admin page; returns the function that stops it. A value that does not parse is left out.
 */
export function followRetention(retention: RetentionDays, warn: (m: string) => void): () => void {
  return followRetentionOverride(retention, (defaults, o) => retentionWith(defaults, o), warn);
}

/**
 * The recorder's rules follow the page's recordings days: event clips (continuous footage keeps
 * its own setting, and the recorder's free-space floor still applies to both).
 */
export function followRecordingRetention<R extends { retainClipDays: number }>(rules: R, warn: (m: string) => void): () => void {
  return followRetentionOverride(
    rules,
    (defaults, o) => ({ ...defaults, retainClipDays: o.recordingsDays ?? defaults.retainClipDays }),
    warn,
  );
}

function followRetentionOverride<T extends object>(
  target: T,
  merge: (defaults: T, o: RetentionOverrides) => T,
  warn: (m: string) => void,
): () => void {
  const defaults = { ...target };
  const apply = (value: Record<string, unknown>) => {
    try {
      Object.assign(target, merge(defaults, parseRetentionOverrides(value)));
    } catch (err) {
      warn(`the admin page's retention is not used: ${(err as Error).message}`);
    }
  };
  const published = publishedOverride(RETENTION_SCOPE);
  if (published) apply(published);
  const stop = watchOverride(RETENTION_SCOPE, apply);
  return () => {
    stop();
    Object.assign(target, defaults);
  };
}
