/**
 * The analysis rows rpicam-rtsp and ipcam share, in a real Node-RED editor (Chromium): served
 * from the package, shown once per dialog with their labels, the detector's defaults the
 * runtime's (DEFAULT_FILTER), and the zones checked in the dialog by the contract's own reader.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_FILTER } from '../../../../nodes/lib/detect/types';
import { zonesProblem } from '../../../../nodes/lib/editor/camera-analysis';
import { skipWithoutChromium } from '../../../support/browser';
import { openEditor, type EditorSession } from '../../../support/node-red-editor';

const CAMERA_NODES = ['rpicam-rtsp', 'ipcam'];
const ANALYSIS_INPUTS =
  'motion sensitivity minMotionSeconds quietSeconds zones detect detectThreshold detectMinBox detectHoldSeconds detectLabels'.split(' ');
const GOOD_ZONES = JSON.stringify([
  {
    kind: 'zone',
    name: 'driveway',
    points: [
      [0, 50],
      [60, 50],
      [60, 100],
    ],
  },
]);
const NAMELESS_ZONE = JSON.stringify([
  {
    kind: 'zone',
    points: [
      [0, 50],
      [60, 50],
      [60, 100],
    ],
  },
]);

describe('the camera analysis editor rows', { skip: skipWithoutChromium }, () => {
  let editor: EditorSession;
  before(async () => {
    editor = await openEditor('ipcam');
  });
  after(() => editor?.close());

  it('is served from the package', async () => {
    const res = await fetch(`${editor.base}/resources/picam-guardian/camera-analysis.js`);
    assert.equal(res.status, 200, editor.output());
  });

  for (const type of CAMERA_NODES) {
    it(`${type}: the dialog shows the analysis rows once, with the runtime's detector defaults, and refuses bad zones`, async () => {
      const { page } = editor;
      await editor.edit(type);
      await page.waitForSelector('#node-input-zones', { state: 'visible' });
      const shown = await page.evaluate(
        (inputs) => inputs.map((i): [string, number] => [i, document.querySelectorAll(`#node-input-${i}`).length]),
        ANALYSIS_INPUTS,
      );
      for (const [input, count] of shown) assert.equal(count, 1, `${type}: #node-input-${input} is in the dialog once`);
      const labels = await page.$$eval('.picam-camera-analysis [data-i18n]', (spans) => spans.map((s) => s.textContent ?? ''));
      assert.ok(
        labels.length >= 10 && labels.every((l) => l && !l.includes('.label.')),
        `${type}: every label is translated: ${labels.join(' | ')}`,
      );
      const defaults = await page.evaluate((t) => {
        const d = (window as unknown as { RED: any }).RED.nodes.getType(t).defaults;
        return {
          threshold: d.detectThreshold.value,
          minBox: d.detectMinBox.value,
          labels: d.detectLabels.value,
          sensitivity: d.sensitivity.value,
        };
      }, type);
      assert.deepEqual(defaults, {
        threshold: DEFAULT_FILTER.threshold,
        minBox: DEFAULT_FILTER.minBoxPercent,
        labels: DEFAULT_FILTER.labels.join(', '),
        sensitivity: 0.5,
      });

      const zonesFlagged = async (value: string) => {
        await page.fill('#node-input-zones', value);
        await page.dispatchEvent('#node-input-zones', 'change');
        return page.$eval('#node-input-zones', (e) => e.classList.contains('input-error'));
      };
      assert.equal(await zonesFlagged(GOOD_ZONES), false, 'good zones pass');
      assert.equal(await zonesFlagged(''), false, 'no zones pass');
      assert.equal(await zonesFlagged(NAMELESS_ZONE), true, 'a zone without a name is flagged in the dialog, not only at deploy');
      assert.equal(await zonesFlagged('[{"kind":"zone"'), true, 'broken JSON is flagged');
      await page.click('#node-dialog-cancel');
      await page.waitForSelector('#node-input-zones', { state: 'detached' });
    });
  }

  it("gives the contract's reason for zones it refuses", () => {
    assert.equal(zonesProblem(GOOD_ZONES), undefined);
    assert.match(zonesProblem(NAMELESS_ZONE) ?? '', /a zone needs a name/);
  });
});
