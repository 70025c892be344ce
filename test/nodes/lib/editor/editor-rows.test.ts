/**
 * The editor rows our nodes share (nodes/lib/editor/), in one real Node-RED editor (Chromium): a
 * plain Node-RED loads this package from its root (the build's dist/ and resources/) and serves
 * each shared script at /resources/picam-guardian/. One editor for the three: each took a
 * Node-RED and a Chromium of its own, a minute of the test run's time.
 *
 * - The alert nodes' rows: each alert node's dialog shows them and flags a zone name the
 *   contract (ZONE_NAME_PATTERN) refuses.
 * - The broker link ha-discovery and mqtt-api share: shown once with their labels, the
 *   runtime's defaults (the contract's API prefix and device types), the login a credential;
 *   command-sender's part of it (no API rows, its queue required), with the properties a flow
 *   saved before it used the shared rows read as they were.
 * - The analysis rows rpicam-rtsp and ipcam share: shown once with their labels, the detector's
 *   defaults the runtime's (DEFAULT_FILTER), the zones checked by the contract's own reader.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLOUD_DEVICE_TYPES, DEFAULT_API_PREFIX } from '../../../../nodes/lib/contract/mqtt-api';
import { DEFAULT_FILTER } from '../../../../nodes/lib/detect/types';
import { ZONE_NAME_PATTERN } from '../../../../nodes/lib/contract/zones';
import { zonesProblem } from '../../../../nodes/lib/editor/camera-analysis';
import { parseBoolean } from '../../../../nodes/lib/settings';
import { skipWithoutChromium } from '../../../support/browser';
import { openEditor, type EditorSession } from '../../../support/node-red-editor';
import type { Page } from 'playwright-core';

const ALERT_NODES = ['telegram-alert', 'webhook-alert', 'ntfy-alert', 'pushover-alert', 'webpush-alert'];
/** One input of each shared row. */
const SHARED_INPUTS = 'modes zones onlyLabels cooldownSeconds quietStart quietEnd quietAction timeZone giveUpHours'.split(' ');

const LINK_NODES = ['ha-discovery', 'mqtt-api'];
const LINK_INPUTS = 'database broker host port user password usetls caFile certFile keyFile apiPrefix deviceTypes'.split(' ');
/** command-sender's flow properties, as flows saved them before it used the shared rows. */
// `amqp` since cloud flow 3.7.0 (the cluster role's amqp-ingest node); an old flow leaves it empty.
const COMMAND_SENDER_PROPERTIES =
  'name database broker amqp host port usetls caFile certFile keyFile protocolVersion rebootTtlSeconds settingsTtlSeconds modeTtlSeconds'.split(
    ' ',
  );

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

interface ShownInput {
  /** how many inputs of that id the dialog holds */
  count: number;
  label: string;
  type: string;
  value: string;
}

/** What the open edit dialog shows of each input: how often it is there, its label, its type and value. */
async function inputsShown(page: Page, inputs: string[]): Promise<Map<string, ShownInput>> {
  const shown = await page.evaluate(
    (ids) =>
      ids.map((i) => {
        const field = document.querySelector(`#node-input-${i}`) as HTMLInputElement | null;
        return {
          count: document.querySelectorAll(`#node-input-${i}`).length,
          label: document.querySelector(`label[for="node-input-${i}"]`)?.textContent?.trim() ?? '',
          type: field?.type ?? '',
          value: field?.value ?? '',
        };
      }),
    inputs,
  );
  return new Map(inputs.map((input, n) => [input, shown[n]!]));
}

describe('the shared editor rows', { skip: skipWithoutChromium }, () => {
  let editor: EditorSession;
  before(async () => {
    editor = await openEditor('ipcam');
  });
  after(() => editor?.close());

  describe("the alert nodes' shared editor rows", () => {
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

  describe('the broker-link editor rows', () => {
    it('is served from the package', async () => {
      const res = await fetch(`${editor.base}/resources/picam-guardian/broker-link.js`);
      assert.equal(res.status, 200, editor.output());
    });

    for (const type of LINK_NODES) {
      it(`${type}: the dialog shows the broker link once, labelled, with the runtime's defaults and the login as a credential`, async () => {
        const { page } = editor;
        await editor.edit(type);
        await page.waitForSelector('#node-input-deviceTypes', { state: 'visible' });
        const shown = await inputsShown(page, LINK_INPUTS);
        for (const [input, { count, label }] of shown) {
          assert.equal(count, 1, `${type}: #node-input-${input} is in the dialog once`);
          assert.ok(label && !label.includes('.label.'), `${type}: ${input} has its label (${label})`);
        }
        assert.equal(shown.get('password')?.type, 'password', 'the password field hides what is typed');
        // The node type's defaults: what a node dropped from the palette starts with.
        const definition = await page.evaluate((t) => {
          const d = (window as unknown as { RED: any }).RED.nodes.getType(t);
          return {
            credentials: d.credentials,
            defaults: Object.keys(d.defaults),
            apiPrefix: d.defaults.apiPrefix.value,
            deviceTypes: d.defaults.deviceTypes.value,
            port: d.defaults.port.value,
          };
        }, type);
        assert.equal(definition.apiPrefix, DEFAULT_API_PREFIX);
        assert.equal(definition.deviceTypes, CLOUD_DEVICE_TYPES.join(','));
        assert.equal(definition.port, 1883);
        assert.deepEqual(definition.credentials, { user: { type: 'text' }, password: { type: 'password' } });
        assert.ok(!definition.defaults.includes('password'), 'the password is no flow property');
        await page.click('#node-dialog-cancel');
        await page.waitForSelector('#node-input-deviceTypes', { state: 'detached' });
      });
    }

    it("command-sender: the shared connection rows without the API's, its queue required, an old flow's values kept", async () => {
      const { page } = editor;
      const connection = LINK_INPUTS.filter((i) => i !== 'apiPrefix' && i !== 'deviceTypes');
      // A node as a flow saved it when the dialog had its own rows (usetls was a checkbox: a boolean).
      const id = await page.evaluate(() => {
        const { RED } = window as unknown as { RED: any };
        const nodeId = `old-command-sender-${Date.now()}`;
        const old = { host: 'mqtt.example', port: 8883, usetls: true, caFile: '/etc/ca.pem', broker: '', protocolVersion: '5' };
        RED.view.importNodes([{ id: nodeId, type: 'command-sender', z: RED.workspaces.active(), x: 200, y: 100, wires: [[], []], ...old }]);
        RED.editor.edit(RED.nodes.node(nodeId));
        return nodeId;
      });
      await page.waitForSelector('#node-input-host', { state: 'visible' });
      const shown = await inputsShown(page, [...connection, 'apiPrefix', 'deviceTypes', 'protocolVersion']);
      const row = (input: string) => shown.get(input)!;
      for (const input of [...connection, 'protocolVersion']) {
        const { count, label } = row(input);
        assert.equal(count, 1, `#node-input-${input} is in the dialog once`);
        assert.ok(label && !label.includes('.label.'), `${input} has its label (${label})`);
      }
      assert.equal(row('apiPrefix').count + row('deviceTypes').count, 0, "the MQTT API's rows are not command-sender's");
      assert.equal(
        await page.$$eval('.picam-broker-link', (rows) => rows.length),
        connection.length,
        'the rows come from the shared script',
      );
      assert.deepEqual(
        ['host', 'port', 'usetls', 'caFile', 'protocolVersion'].map((i) => row(i).value),
        ['mqtt.example', '8883', 'true', '/etc/ca.pem', '5'],
        "the old flow's values are what the dialog shows",
      );
      const definition = await page.evaluate(() => {
        const d = (window as unknown as { RED: any }).RED.nodes.getType('command-sender');
        return { credentials: d.credentials, defaults: Object.keys(d.defaults).sort(), databaseRequired: d.defaults.database.required };
      });
      assert.deepEqual(definition.defaults, [...COMMAND_SENDER_PROPERTIES].sort(), 'the flow properties it saves, no more');
      assert.equal(definition.databaseRequired, true, 'a command sender without its queue is flagged in the editor');
      assert.deepEqual(definition.credentials, { user: { type: 'text' }, password: { type: 'password' } });

      // Saved again, TLS stays on: the runtime reads usetls "true" as it read true.
      await page.click('#node-dialog-ok');
      await page.waitForSelector('#node-input-host', { state: 'detached' });
      const saved = await page.evaluate((nodeId) => (window as unknown as { RED: any }).RED.nodes.node(nodeId).usetls, id);
      assert.equal(parseBoolean('usetls', saved as string | boolean, false), true);
    });
  });

  describe('the camera analysis editor rows', () => {
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
});
