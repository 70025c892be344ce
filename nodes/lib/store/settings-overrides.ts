/**
 * What the admin pages set (migration 24): one JSON object per scope ("alerts.telegram",
 * "retention"), with who set it and when. The environment and node settings stay the
 * defaults; the readers merge these over them (nodes/lib/admin-settings.ts).
 */
import type { Exclusive } from './command-queue';

export interface StoredOverride {
  scope: string;
  value: Record<string, unknown>;
  updatedMs: number;
  updatedBy: string;
}

export class SettingsOverrideStore {
  constructor(private readonly exclusive: Exclusive) {}

  async all(): Promise<StoredOverride[]> {
    const rows = await this.exclusive((db) =>
      db.all<{ scope: string; value: string; updatedMs: number; updatedBy: string }>(
        'SELECT scope, value, updated_ms AS "updatedMs", updated_by AS "updatedBy" FROM settings_overrides ORDER BY scope',
      ),
    );
    return rows.flatMap((r) => {
      const value = parseObject(r.value);
      return value ? [{ ...r, value }] : [];
    });
  }

  async get(scope: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.exclusive((db) => db.get<{ value: string }>('SELECT value FROM settings_overrides WHERE scope = ?', [scope]));
    return row ? parseObject(row.value) : undefined;
  }

  /** Replaces the scope's override; an empty object removes it (the defaults again). */
  async set(scope: string, value: object, by: string, nowMs = Date.now()): Promise<void> {
    await this.exclusive((db) =>
      Object.keys(value).length === 0
        ? db.run('DELETE FROM settings_overrides WHERE scope = ?', [scope])
        : db.run(
            `INSERT INTO settings_overrides (scope, value, updated_ms, updated_by) VALUES (?, ?, ?, ?)
             ON CONFLICT (scope) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by`,
            [scope, JSON.stringify(value), nowMs, by],
          ),
    );
  }
}

/** A row that is not an object (edited by hand) counts as absent rather than stopping the reader. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
