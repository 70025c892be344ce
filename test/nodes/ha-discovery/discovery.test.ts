/**
 * Every discovery payload the node can build, checked against Home Assistant's documented
 * schema (test/support/ha-discovery-schema.ts): each device kind, with every entity it can gain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoveryPayload, discoveryTopic } from '../../../nodes/ha-discovery/discovery';
import { apiTopics } from '../../../nodes/lib/contract/mqtt-api';
import { DeviceView } from '../../../nodes/lib/mqtt/device-view';
import { checkDeviceDiscovery } from '../../support/ha-discovery-schema';

const options = {
  discoveryPrefix: 'homeassistant',
  api: apiTopics('picam'),
  origin: { name: 'PiCam Guardian', url: 'https://example.org' },
};
const base = { deviceType: 'picam', timeMs: 1 };

function devices() {
  const view = new DeviceView(['hive-cam', 'picam', 'ipcam']);
  view.apply({
    kind: 'connection',
    deviceId: 'CAM1',
    deviceType: 'hive-cam',
    timeMs: 1,
    status: 'connected',
    name: 'Front door',
    firmwareVersion: 'V1',
    raw: '',
  });
  view.apply({ kind: 'sensor', deviceId: 'picam-kitchen', ...base, temperature: 21 });
  view.apply({ kind: 'heartbeat', deviceId: 'picam-kitchen', ...base, batteryLevel: 80, signalStrength: -60, raw: '' });
  view.apply({ kind: 'activity-start', deviceId: 'garage', deviceType: 'ipcam', timeMs: 1, eventId: 'e1', activityType: 'PERSON' });
  view.apply({ kind: 'connection', deviceId: 'picam-kitchen.porch', deviceType: 'ipcam', timeMs: 1, status: 'connected', raw: '' });
  return [...view.all()];
}

describe('ha-discovery payloads', () => {
  it('every device kind builds a payload the documented schema accepts', () => {
    const list = devices();
    assert.equal(list.length, 4);
    for (const d of list) {
      const topic = discoveryTopic('homeassistant', d.id);
      const payload = JSON.parse(JSON.stringify(discoveryPayload(d, options)));
      assert.deepEqual(checkDeviceDiscovery(topic, payload), [], `${d.id}: ${topic}`);
    }
  });

  it('has the entities each device can serve', () => {
    const byId = new Map(devices().map((d) => [d.id, Object.keys(discoveryPayload(d, options).cmps).sort()]));
    assert.deepEqual(byId.get('CAM1'), ['battery', 'mode', 'motion', 'person', 'reboot', 'signal', 'snapshot']);
    assert.deepEqual(byId.get('picam-kitchen'), [
      'battery',
      'humidity',
      'mode',
      'motion',
      'pressure',
      'reboot',
      'signal',
      'snapshot',
      'temperature',
    ]);
    // an IP camera cannot be rebooted from here (device-commands.ts), and reported a person
    assert.deepEqual(byId.get('garage'), ['mode', 'motion', 'person', 'snapshot']);
    // a Pi-hosted camera's id holds a dot: the object id may not
    assert.equal(discoveryTopic('homeassistant', 'picam-kitchen.porch'), 'homeassistant/device/picam_picam-kitchen_porch/config');
  });

  it('points entities at the MQTT API topics, availability at the connection state', () => {
    const cam = devices().find((d) => d.id === 'CAM1')!;
    const p = discoveryPayload(cam, options);
    assert.equal(p.avty_t, 'picam/devices/CAM1/connection');
    assert.equal(p.cmps.mode!.cmd_t, 'picam/devices/CAM1/mode/set');
    assert.deepEqual(p.cmps.mode!.ops, ['ARMED', 'LIVESTREAMONLY', 'PRIVACY']);
    assert.equal(p.cmps.reboot!.cmd_t, 'picam/devices/CAM1/reboot/set');
    assert.equal(p.cmps.snapshot!.t, 'picam/devices/CAM1/snapshot');
    assert.equal(p.dev.name, 'Front door');
  });

  it('the schema check refuses what Home Assistant would refuse', () => {
    const cam = devices()[0]!;
    const good = JSON.parse(JSON.stringify(discoveryPayload(cam, options)));
    const broken = (change: (p: any) => void) => {
      const p = structuredClone(good);
      change(p);
      return checkDeviceDiscovery(discoveryTopic('homeassistant', cam.id), p);
    };
    assert.match(broken((p) => delete p.o).join(), /origin/);
    assert.match(broken((p) => delete p.dev.ids).join(), /identifiers/);
    assert.match(broken((p) => delete p.cmps.motion.uniq_id).join(), /unique_id/);
    assert.match(broken((p) => (p.cmps.motion.p = 'siren')).join(), /platform/);
    assert.match(broken((p) => delete p.cmps.mode.ops).join(), /options/);
    assert.match(broken((p) => (p.cmps.battery.unit_of_meas = 'V')).join(), /unit/);
    assert.match(broken((p) => (p.cmps.snapshot.uniq_id = p.cmps.motion.uniq_id)).join(), /used twice/);
    assert.match(broken((p) => (p.avty_t = 'picam/+/connection')).join(), /availability_topic/);
    assert.match(checkDeviceDiscovery('homeassistant/device/a.b/config', good).join(), /object id/);
  });
});
