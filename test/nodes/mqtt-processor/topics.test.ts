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

describe('IP cameras hosted by a Pi (nodes/lib/hosted-devices.ts)', () => {
  const ipcam = { prefix: 'prod', deviceTypes: ['hive-cam', 'picam', 'ipcam'] };
  const parsed = (topic: string) => parseDeviceTopic(topic, ipcam);

  it('reads …/ipcam/{pi}/{camera}/… as the device {pi}.{camera}, every kind of message', () => {
    const cases: Array<[string, object]> = [
      ['prod/device/connection/ipcam/pi-1/door', { kind: 'connection' }],
      ['prod/device/status/ipcam/pi-1/door', { kind: 'heartbeat' }],
      ['prod/device/message/ipcam/pi-1/door/activity/start', { kind: 'activity', level: 'start' }],
      ['prod/device/message/ipcam/pi-1/door/activity/thumbnail/evt-1', { kind: 'thumbnail', eventId: 'evt-1' }],
      ['prod/device/message/ipcam/pi-1/door/camera/state', { kind: 'camera-state' }],
      // a camera may be called like a topic level: still one reading
      ['prod/device/message/ipcam/pi-1/activity/activity/stop', { kind: 'activity', level: 'stop', id: 'pi-1.activity' }],
    ];
    for (const [topic, want] of cases) {
      const { id, ...rest } = want as { id?: string };
      assert.deepEqual(parsed(topic), { ok: true, topic: { deviceType: 'ipcam', deviceId: id ?? 'pi-1.door', ...rest } }, topic);
    }
  });

  it("still reads a plain ipcam's topics as before (a Pi's own id under type ipcam)", () => {
    assert.deepEqual(parsed('prod/device/message/ipcam/pi-1/activity/thumbnail/evt-1'), {
      ok: true,
      topic: { kind: 'thumbnail', deviceType: 'ipcam', deviceId: 'pi-1', eventId: 'evt-1' },
    });
    assert.deepEqual(parsed('prod/device/status/ipcam/cam-9'), {
      ok: true,
      topic: { kind: 'heartbeat', deviceType: 'ipcam', deviceId: 'cam-9' },
    });
  });

  it('refuses a dotted id in a plain topic (no device can connect as {pi}.{camera} and take it), and hosting for other types', () => {
    assert.equal(parsed('prod/device/status/ipcam/pi-1.door').ok, false);
    assert.equal(parsed('prod/device/connection/ipcam/pi-1.door').ok, false);
    assert.equal(parsed('prod/device/status/picam/pi-1/door').ok, false);
    assert.equal(parsed('prod/device/status/ipcam/pi-1/door/extra').ok, false);
    assert.equal(parsed('prod/device/status/ipcam/pi-1/+').ok, false);
  });

  it("sends a hosted camera's commands to its Pi", () => {
    assert.equal(commandTopic('prod', 'pi-1.door', 'setmode'), 'prod/honeycomb/pi-1/ipcam/door/system/setmode');
    assert.throws(() => commandTopic('prod', 'pi-1.door.x', 'setmode'), /invalid device id/);
  });
});
