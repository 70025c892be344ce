/**
 * Bundles the editor scripts several nodes share (alert-settings.ts, broker-link.ts,
 * camera-analysis.ts, with the contract they import) into the package's top-level `resources/`
 * folder, which Node-RED serves at `/resources/<package name>/` (called by tsup.config.ts). Each
 * is one classic script that sets a global (`PicamAlertSettings`, `PicamBrokerLink`,
 * `PicamCameraAnalysis`): the editor loads it with a plain <script src>.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

/** The folder Node-RED serves a module's resources from (the module's root, not dist/). */
export const RESOURCES_DIR = 'resources';

/** Each shared script: its source in this folder, the global it sets, the file it becomes in resources/. */
export const EDITOR_SCRIPTS = [
  { source: 'alert-settings.ts', globalName: 'PicamAlertSettings', file: 'alert-settings.js' },
  { source: 'broker-link.ts', globalName: 'PicamBrokerLink', file: 'broker-link.js' },
  { source: 'camera-analysis.ts', globalName: 'PicamCameraAnalysis', file: 'camera-analysis.js' },
] as const;

export async function buildEditorResources(root: string): Promise<void> {
  for (const script of EDITOR_SCRIPTS) {
    await build({
      entryPoints: [join(root, 'nodes', 'lib', 'editor', script.source)],
      outfile: join(root, RESOURCES_DIR, script.file),
      bundle: true,
      format: 'iife',
      globalName: script.globalName,
      platform: 'browser',
      // The browsers Node-RED 4's editor supports.
      target: ['chrome100', 'firefox100', 'safari15'],
      sourcemap: false,
      logLevel: 'warning',
    });
  }
}
