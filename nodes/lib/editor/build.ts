/**
 * Bundles the editor scripts the alert nodes share (alert-settings.ts and the contract it
 * imports) into the package's top-level `resources/` folder, which Node-RED serves at
 * `/resources/<package name>/` (called by tsup.config.ts). One classic script that sets the
 * global `PicamAlertSettings`: the editor loads it with a plain <script src>.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

/** The folder Node-RED serves a module's resources from (the module's root, not dist/). */
export const RESOURCES_DIR = 'resources';
export const ALERT_SETTINGS_SCRIPT = 'alert-settings.js';

export async function buildEditorResources(root: string): Promise<void> {
  await build({
    entryPoints: [join(root, 'nodes', 'lib', 'editor', 'alert-settings.ts')],
    outfile: join(root, RESOURCES_DIR, ALERT_SETTINGS_SCRIPT),
    bundle: true,
    format: 'iife',
    globalName: 'PicamAlertSettings',
    platform: 'browser',
    // The browsers Node-RED 4's editor supports.
    target: ['chrome100', 'firefox100', 'safari15'],
    sourcemap: false,
    logLevel: 'warning',
  });
}
