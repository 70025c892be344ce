/**
 * The defaults of the settings every alert node shares, read by the runtime (alert-node.ts) and
 * by the shared editor script (nodes/lib/editor/alert-settings.ts, bundled into the package's
 * resources/), so the editor shows what the node does. Browser-safe: no Node.js imports.
 */
export const ALERT_SETTING_DEFAULTS = {
  modes: 'ARMED',
  cooldownSeconds: 60,
  quietAction: 'silent',
  giveUpHours: 24,
} as const;
