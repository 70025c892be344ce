/**
 * The shipped Mosquitto ACL (cloud/mosquitto/acl) in a real Mosquitto: a Pi publishes
 * for the IP cameras it hosts (…/ipcam/{pi}/{camera}) and for no other device, and
 * reads its cameras' commands while another Pi cannot. The embedded broker's copy of
 * these rules is tested in test/nodes/picam-broker.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { skipWithoutMosquitto, startMosquitto } from '../support/mosquitto';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const DEVICES = { username: 'devices', password: 'acl-devices-secret' };
/** The ACL's cloud user (`user picam-cloud`): reads every device, writes every command. */
const CLOUD = { username: 'picam-cloud', password: 'acl-cloud-secret' };
const dir = tempDir('picam-acl-');

let broker: ChildProcess | undefined;
let url = '';
const clients: MqttClient[] = [];

async function client(clientId: string, login: typeof DEVICES): Promise<MqttClient> {
  const c = await waitFor(`Mosquitto (${clientId})`, () =>
    mqtt.connectAsync(url, { ...login, clientId, reconnectPeriod: 0 }).catch(() => undefined),
  );
  clients.push(c);
  return c;
}

/** Topics a client receives, in order. */
function heard(c: MqttClient): string[] {
  const topics: string[] = [];
  c.on('message', (t) => topics.push(t));
  return topics;
}

before(() => {
  if (skipWithoutMosquitto) return;
  return (async () => {
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    // Mosquitto, started as root, reads its files as the "mosquitto" user: a readable copy.
    const acl = join(dir, 'acl');
    copyFileSync(join(__dirname, '..', '..', 'cloud', 'mosquitto', 'acl'), acl);
    chmodSync(acl, 0o644);
    broker = startMosquitto(dir, port, [DEVICES, CLOUD], (passwords) =>
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${passwords}`,
        `acl_file ${acl}`,
        'persistence false',
        '',
      ].join('\n'),
    );
  })();
});

after(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  broker?.kill('SIGTERM');
});

describe('Mosquitto with the shipped ACL: IP cameras hosted by a Pi', { skip: skipWithoutMosquitto }, () => {
  it("takes a Pi's messages for its own IP cameras and refuses them for another Pi's camera or another device", async () => {
    const cloud = await client('acl-cloud', CLOUD);
    const cloudHeard = heard(cloud);
    await cloud.subscribeAsync('prod/device/#', { qos: 1 });
    const pi = await client('piA', DEVICES);
    const own = [
      'prod/device/connection/ipcam/piA/door',
      'prod/device/status/ipcam/piA/door',
      'prod/device/message/ipcam/piA/door/activity/start',
      'prod/device/message/ipcam/piA/door/activity/thumbnail/evt-1',
      'prod/device/status/picam/piA',
    ];
    const refused = [
      'prod/device/connection/ipcam/piB/door',
      'prod/device/status/ipcam/piB/door',
      'prod/device/message/ipcam/piB/door/activity/start',
      'prod/device/status/picam/piB',
      'prod/device/status/ipcam/piA.door',
      'prod/device/status/picam/piA/door',
    ];
    // The refused ones first: once the Pi's last own message is in, a refused one let through would be ahead of it.
    for (const t of [...refused, ...own]) await pi.publishAsync(t, '{}', { qos: 1 });
    await waitFor('the Pi own messages at the cloud', async () => (cloudHeard.length >= own.length ? true : undefined));
    assert.deepEqual(cloudHeard, own);
  });

  it("delivers a mode command for a Pi's camera to that Pi only", async () => {
    const cloud = await client('acl-cloud-commands', CLOUD);
    const piA = await client('piA-commands', DEVICES);
    const piB = await client('piB', DEVICES);
    // piA-commands reads its own commands; piB tries to read every Pi's.
    const heardA = heard(piA);
    const heardB = heard(piB);
    await piA.subscribeAsync('prod/honeycomb/piA-commands/#', { qos: 1 });
    await piB.subscribeAsync('prod/honeycomb/#', { qos: 1 });
    const forA = 'prod/honeycomb/piA-commands/ipcam/door/system/setmode';
    await cloud.publishAsync(forA, JSON.stringify({ mode: 'PRIVACY' }), { qos: 1 });
    await cloud.publishAsync('prod/honeycomb/piB/system/setmode', JSON.stringify({ mode: 'ARMED' }), { qos: 1 });
    await waitFor('the command at piA', async () => (heardA.length >= 1 ? true : undefined));
    assert.deepEqual(heardA, [forA]);
    // piB's own command came after piA's: had piA's reached piB, it would be first.
    await waitFor('the command at piB', async () => (heardB.length >= 1 ? true : undefined));
    assert.deepEqual(heardB, ['prod/honeycomb/piB/system/setmode']);
  });
});
