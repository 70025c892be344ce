/**
 * The alert nodes' shared editor rows in a real Node-RED editor (Chromium): a plain Node-RED
 * loads this package from its root (the build's dist/ and resources/), serves the shared script
 * at /resources/picam-guardian/alert-settings.js, and each alert node's edit dialog shows the
 * shared rows and flags a zone name the contract (ZONE_NAME_PATTERN) refuses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ZONE_NAME_PATTERN } from '../../../../nodes/lib/contract/zones';
import { skipWithoutChromium } from '../../../support/browser';
import { openEditor, type EditorSession } from '../../../support/node-red-editor';

const ALERT_NODES = ['telegram-alert', 'webhook-alert', 'ntfy-alert', 'pushover-alert', 'webpush-alert'];
/** One input of each shared row. */
const SHARED_INPUTS = 'modes zones onlyLabels cooldownSeconds quietStart quietEnd quietAction timeZone giveUpHours'.split(' ');

describe("the alert nodes' shared editor rows", { skip: skipWithoutChromium }, () => {
  let editor: EditorSession;
  before(async () => {
    editor = await openEditor('webpush-alert');
  });
  after(() => editor?.close());

  it("serves the shared script from the package, with the contract's zone-name pattern in it", async () => {
    const res = await fetch(`${editor.base}/resources/picam-guardian/alert-settings.js`);
    assert.equal(res.status, 200, editor.output());
    assert.ok((await res.text()).includes(ZONE_NAME_PATTERN.source), 'the pattern comes from nodes/lib/contract/zones.ts');
  });

  for (const type of ALERT_NODES) {
    it(`${type}: the edit dialog shows the shared rows and flags a bad zone name`, async () => {
      const { page } = editor;
      await editor.edit(type);
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
