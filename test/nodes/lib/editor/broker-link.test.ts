/**
 * The broker-link editor rows ha-discovery and mqtt-api share, in a real Node-RED editor
 * (Chromium): the script is served from the package, each node's dialog shows the rows once with
 * their labels, the defaults are the runtime's (the contract's API prefix and device types), and
 * the login is a credential: the password never lands in the flow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLOUD_DEVICE_TYPES, DEFAULT_API_PREFIX } from '../../../../nodes/lib/contract/mqtt-api';
import { skipWithoutChromium } from '../../../support/browser';
import { openEditor, type EditorSession } from '../../../support/node-red-editor';

const LINK_NODES = ['ha-discovery', 'mqtt-api'];
const LINK_INPUTS = 'database broker host port user password usetls caFile certFile keyFile apiPrefix deviceTypes'.split(' ');

describe('the broker-link editor rows', { skip: skipWithoutChromium }, () => {
  let editor: EditorSession;
  before(async () => {
    editor = await openEditor('mqtt-api');
  });
  after(() => editor?.close());

  it('is served from the package', async () => {
    const res = await fetch(`${editor.base}/resources/picam-guardian/broker-link.js`);
    assert.equal(res.status, 200, editor.output());
  });

  for (const type of LINK_NODES) {
    it(`${type}: the dialog shows the broker link once, labelled, with the runtime's defaults and the login as a credential`, async () => {
      const { page } = editor;
      await editor.edit(type);
      await page.waitForSelector('#node-input-deviceTypes', { state: 'visible' });
      const shown = await page.evaluate(
        (inputs) =>
          inputs.map((i): [string, number, string, string] => [
            i,
            document.querySelectorAll(`#node-input-${i}`).length,
            document.querySelector(`label[for="node-input-${i}"]`)?.textContent?.trim() ?? '',
            (document.querySelector(`#node-input-${i}`) as HTMLInputElement | null)?.type ?? '',
          ]),
        LINK_INPUTS,
      );
      for (const [input, count, label] of shown) {
        assert.equal(count, 1, `${type}: #node-input-${input} is in the dialog once`);
        assert.ok(label && !label.includes('.label.'), `${type}: ${input} has its label (${label})`);
      }
      assert.equal(shown.find(([i]) => i === 'password')![3], 'password', 'the password field hides what is typed');
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
});
