/**
 * A plain Node-RED (no flows) that loads this package from its root (the build's dist/ and
 * resources/), with its editor open in Chromium: for tests of what the editor shows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { freePort } from './ports';
import { tempDir } from './tmp';
import { waitFor } from './wait';

const ROOT = join(__dirname, '..', '..');

export interface EditorSession {
  base: string;
  page: Page;
  /** Node-RED's output and the page's errors, for assertion messages */
  output(): string;
  /** Opens a new node of `type`'s edit dialog. */
  edit(type: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts Node-RED and opens its editor once `readyType` is registered there. */
export async function openEditor(readyType: string): Promise<EditorSession> {
  const dir = tempDir('picam-editor-');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const settings = join(dir, 'settings.js');
  writeFileSync(
    settings,
    `module.exports = ${JSON.stringify({
      uiHost: '127.0.0.1',
      uiPort: port,
      userDir: dir,
      flowFile: 'flows.json',
      nodesDir: [ROOT],
      httpAdminRoot: '/',
      credentialSecret: 'editor-test',
      editorTheme: { tours: false, projects: { enabled: false } },
      diagnostics: { enabled: false },
      telemetry: { enabled: false },
      logging: { console: { level: 'warn' } },
    })};\n`,
  );
  writeFileSync(join(dir, 'flows.json'), '[]');
  let output = '';
  const nodeRed: ChildProcess = spawn(process.execPath, [join(ROOT, 'node_modules', 'node-red', 'red.js'), '--settings', settings], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  nodeRed.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  nodeRed.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    if (nodeRed.exitCode === null) {
      const exited = new Promise((resolve) => nodeRed.once('exit', resolve));
      nodeRed.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await waitFor('the editor', async () => ((await fetch(`${base}/settings`).catch(() => undefined))?.ok ? true : undefined), 60_000);
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on('pageerror', (err) => (output += `page error: ${err.message}\n`));
    await page.goto(base);
    await page.waitForFunction(
      (t) => {
        const RED = (window as unknown as { RED?: { nodes?: { getType(t: string): unknown }; workspaces?: { active(): string } } }).RED;
        // A flow tab to add nodes to: the editor makes its first one after loading the flows.
        return !!RED?.nodes?.getType(t) && !!RED.workspaces?.active() && !!document.querySelector('#red-ui-workspace-chart');
      },
      readyType,
      { timeout: 60_000 },
    );
    const edit = (type: string) =>
      page.evaluate((t) => {
        const { RED } = window as unknown as { RED: any };
        const id = `test-${t}-${Date.now()}`;
        RED.view.importNodes([{ id, type: t, z: RED.workspaces.active(), x: 200, y: 100, wires: [] }]);
        RED.editor.edit(RED.nodes.node(id));
      }, type);
    return { base, page, output: () => output, edit, close };
  } catch (err) {
    await close();
    throw err;
  }
}
