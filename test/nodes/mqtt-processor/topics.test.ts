import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandTopic, parseDeviceTopic } from '../../../nodes/mqtt-processor/topics';
import { CAMERA, PI, topics } from '../../support/fixtures';

const cfg = { prefix: 'prod', deviceTypes: ['hive-cam', 'picam'] };

describe('device topic tree', () => {
  const cases: Array<[string, string, string, string]> = [
    [topics.connection(), 'connection', 'hive-cam', CAMERA],
    [topics.status(), 'heartbeat', 'hive-cam', CAMERA],
    [topics.start(), 'activity-start', 'hive-cam', CAMERA],
    [topics.stop(), 'activity-stop', 'hive-cam', CAMERA],
    [topics.state(), 'camera-state', 'hive-cam', CAMERA],
    [topics.environment(), 'sensor', 'picam', PI],
    [topics.connection(PI, 'picam'), 'connection', 'picam', PI],
  ];
  for (const [topic, kind, deviceType, deviceId] of cases) {
    it(`parses ${topic}`, () => {
      assert.deepEqual(parseDeviceTopic(topic, cfg), { ok: true, topic: { kind, deviceType, deviceId } });
    });
  }

  it('honours a configured prefix and device types', () => {
    const r = parseDeviceTopic('site7/device/status/doorbell/abc', { prefix: 'site7', deviceTypes: ['doorbell'] });
    assert.deepEqual(r, { ok: true, topic: { kind: 'heartbeat', deviceType: 'doorbell', deviceId: 'abc' } });
    assert.equal(parseDeviceTopic(topics.status(), { prefix: 'site7', deviceTypes: ['doorbell'] }).ok, false);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['other prefix', 'dev/device/status/hive-cam/abc', /not under prod\/device/],
    ['unknown section', 'prod/device/telemetry/hive-cam/abc', /unknown topic/],
    ['unknown message tail', 'prod/device/message/hive-cam/abc/activity/pause', /unknown topic/],
    ['extra level', 'prod/device/status/hive-cam/abc/extra', /unknown topic/],
    ['missing id', 'prod/device/status/hive-cam', /unknown topic/],
    ['unknown device type', 'prod/device/status/toaster/abc', /unknown device type "toaster"/],
    ['id with a dot', 'prod/device/status/hive-cam/a.b', /invalid device id/],
    ['id too long', `prod/device/status/hive-cam/${'a'.repeat(65)}`, /invalid device id/],
    ['empty id', 'prod/device/status/hive-cam/', /invalid device id/],
    ['SQL in the id', "prod/device/status/hive-cam/x';DROP TABLE camera_registry;--", /invalid device id/],
  ];
  for (const [what, topic, reason] of bad) {
    it(`rejects ${what}`, () => {
      const r = parseDeviceTopic(topic, cfg);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, reason);
    });
  }

  it('builds command topics and refuses invalid ids', () => {
    assert.equal(commandTopic('prod', CAMERA, 'setmode'), `prod/honeycomb/${CAMERA}/system/setmode`);
    assert.equal(commandTopic('prod', CAMERA, 'reboot'), `prod/honeycomb/${CAMERA}/system/reboot`);
    assert.equal(commandTopic('prod', CAMERA, 'settings-update'), `prod/honeycomb/${CAMERA}/settings/update`);
    assert.throws(() => commandTopic('prod', '+', 'reboot'), /invalid device id/);
  });
});
