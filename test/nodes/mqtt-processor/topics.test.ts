import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandTopic, parseDeviceTopic } from '../../../nodes/mqtt-processor/topics';
import { CAMERA, PI, topics } from '../../support/fixtures';

const cfg = { prefix: 'prod', deviceTypes: ['hive-cam', 'picam'] };

describe('device topic tree', () => {
  const cases: Array<[string, string, string, string, string?]> = [
    [topics.connection(), 'connection', 'hive-cam', CAMERA],
    [topics.status(), 'heartbeat', 'hive-cam', CAMERA],
    [topics.start(), 'activity', 'hive-cam', CAMERA, 'start'],
    [topics.stop(), 'activity', 'hive-cam', CAMERA, 'stop'],
    [`prod/device/message/hive-cam/${CAMERA}/activity/end`, 'activity', 'hive-cam', CAMERA, 'end'],
    // any other one level is an activity too: the real processor stores it as a start
    [`prod/device/message/hive-cam/${CAMERA}/activity/pause`, 'activity', 'hive-cam', CAMERA, 'pause'],
    [topics.state(), 'camera-state', 'hive-cam', CAMERA],
    [topics.environment(), 'sensor', 'picam', PI],
    [topics.connection(PI, 'picam'), 'connection', 'picam', PI],
  ];
  for (const [topic, kind, deviceType, deviceId, level] of cases) {
    it(`parses ${topic}`, () => {
      assert.deepEqual(parseDeviceTopic(topic, cfg), { ok: true, topic: { kind, deviceType, deviceId, ...(level ? { level } : {}) } });
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
    ['unknown message tail', `prod/device/message/hive-cam/${CAMERA}/camera/mode`, /unknown topic/],
    ['an activity two levels deep', `prod/device/message/hive-cam/${CAMERA}/activity/start/now`, /unknown topic/],
    ['a VBC01 id in lower case', `prod/device/status/hive-cam/${CAMERA.toLowerCase()}`, /32 upper-case hex digits/],
    ['a VBC01 id of the wrong length', 'prod/device/status/hive-cam/ABC', /invalid VBC01 camera id "ABC"/],
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
    assert.equal(commandTopic('prod', CAMERA, 'sound-play'), `prod/honeycomb/${CAMERA}/sound/play`);
    assert.equal(commandTopic('prod', CAMERA, 'sound-stop'), `prod/honeycomb/${CAMERA}/sound/stop`);
    assert.throws(() => commandTopic('prod', '+', 'reboot'), /invalid device id/);
  });
});
