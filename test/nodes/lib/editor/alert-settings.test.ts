/**
 * The alert nodes' shared editor rows in a real Node-RED editor (Chromium): a plain Node-RED
 * loads this package from its root (the build's dist/ and resources/), serves the shared script
 * at /resources/picam-guardian/alert-settings.js, and each alert node's edit dialog shows the
 * shared rows and flags a zone name the contract (ZONE_NAME_PATTERN) refuses.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ZONE_NAME_PATTERN } from '../../../../nodes/lib/contract/zones';
import { launchChromium, skipWithoutChromium } from '../../../support/browser';
import { freePort } from '../../../support/ports';
import { tempDir } from '../../../support/tmp';
import { waitFor } from '../../../support/wait';

const ROOT = join(__dirname, '..', '..', '..', '..');
const ALERT_NODES = ['telegram-alert', 'webhook-alert', 'ntfy-alert', 'pushover-alert', 'webpush-alert'];
/** One input of each shared row. */
const SHARED_INPUTS = 'modes zones onlyLabels cooldownSeconds quietStart quietEnd quietAction timeZone giveUpHours'.split(' ');

let nodeRed: ChildProcess | undefined;
let output = '';
let browser: Browser | undefined;
let page: Page;
let base = '';

describe("the alert nodes' shared editor rows", { skip: skipWithoutChromium }, () => {
  before(async () => {
    const dir = tempDir('picam-editor-');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
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
    nodeRed = spawn(process.execPath, [join(ROOT, 'node_modules', 'node-red', 'red.js'), '--settings', settings], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nodeRed.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    nodeRed.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor('the editor', async () => ((await fetch(`${base}/settings`).catch(() => undefined))?.ok ? true : undefined), 60_000);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (err) => (output += `page error: ${err.message}\n`));
    await page.goto(base);
    await page.waitForFunction(
      () => {
        const RED = (window as unknown as { RED?: { nodes?: { getType(t: string): unknown } } }).RED;
        return !!RED?.nodes?.getType('webpush-alert') && !!document.querySelector('#red-ui-workspace-chart');
      },
      undefined,
      { timeout: 60_000 },
    );
  });

  after(async () => {
    await browser?.close();
    if (nodeRed && nodeRed.exitCode === null) {
      const exited = new Promise((resolve) => nodeRed!.once('exit', resolve));
      nodeRed.kill('SIGTERM');
      await exited;
    }
  });

  it("serves the shared script from the package, with the contract's zone-name pattern in it", async () => {
    const res = await fetch(`${base}/resources/picam-guardian/alert-settings.js`);
    assert.equal(res.status, 200, output);
    assert.ok((await res.text()).includes(ZONE_NAME_PATTERN.source), 'the pattern comes from nodes/lib/contract/zones.ts');
  });

  for (const type of ALERT_NODES) {
    it(`${type}: the edit dialog shows the shared rows and flags a bad zone name`, async () => {
      await page.evaluate((t) => {
        const { RED } = window as unknown as { RED: any };
        const id = `test-${t}`;
        RED.view.importNodes([{ id, type: t, z: RED.workspaces.active(), x: 200, y: 100, wires: [] }]);
        RED.editor.edit(RED.nodes.node(id));
      }, type);
      await page.waitForSelector('#node-input-zones', { state: 'visible' });
      const shown = await page.evaluate(
        (inputs) =>
          inputs.map((i): [string, number, string] => [
            i,
            document.querySelectorAll(`#node-input-${i}`).length,
            document.querySelector(`label[for="node-input-${i}"]`)?.textContent?.trim() ?? '',
          ]),
        SHARED_INPUTS,
      );
      const sharedRows = await page.$$eval('.picam-alert-setting', (rows) => rows.length);
      assert.equal(sharedRows, 7, `${type}: the seven shared rows come from the shared script`);
      for (const [input, count] of shown) assert.equal(count, 1, `${type}: #node-input-${input} is in the dialog once`);
      const labels = Object.fromEntries(shown.map(([i, , l]) => [i, l]));
      for (const input of ['modes', 'zones', 'onlyLabels', 'cooldownSeconds', 'quietStart', 'timeZone', 'giveUpHours']) {
        assert.ok(labels[input] && !String(labels[input]).includes('.label.'), `${type}: ${input} has its label (${labels[input]})`);
      }
      // The shared defaults are the node type's (a node dropped from the palette starts with them).
      const defaults = await page.evaluate((t) => {
        const d = (window as unknown as { RED: any }).RED.nodes.getType(t).defaults;
        return { modes: d.modes.value, cooldown: d.cooldownSeconds.value, giveUp: d.giveUpHours.value, quiet: d.quietAction.value };
      }, type);
      assert.deepEqual(defaults, { modes: 'ARMED', cooldown: 60, giveUp: 24, quiet: type === 'webhook-alert' ? 'drop' : 'silent' });

      await page.fill('#node-input-zones', 'driveway, front door');
      await page.dispatchEvent('#node-input-zones', 'change');
      assert.equal(await page.$eval('#node-input-zones', (e) => e.classList.contains('input-error')), false, 'good names pass');
      await page.fill('#node-input-zones', 'driveway, ../etc');
      await page.dispatchEvent('#node-input-zones', 'change');
      await page.waitForFunction(() => document.querySelector('#node-input-zones')?.classList.contains('input-error'));

      await page.click('#node-dialog-cancel');
      await page.waitForSelector('#node-input-zones', { state: 'detached' });
    });
  }
});
