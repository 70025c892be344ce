/** The embedded broker's access rules: the Mosquitto ACL's per-device patterns, and who counts as the runtime. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceRules, filtersOverlap, IntegrationRules, Login, roleOf, topicMatches } from '../../../nodes/picam-broker/access';

describe('broker access: the per-device rule (cloud/mosquitto/acl with %c the client id)', () => {
  const rules = new DeviceRules('prod');

  it('lets a device publish its connection, status and messages, under its own id only', () => {
    for (const t of [
      'prod/device/connection/hive-cam/cam1',
      'prod/device/status/picam/cam1',
      'prod/device/message/hive-cam/cam1/activity/start',
      'prod/device/message/picam/cam1/sensors/environment',
    ])
      assert.ok(rules.mayPublish('cam1', t), t);
    for (const t of [
      'prod/device/connection/hive-cam/cam2',
      'prod/device/status/picam/cam2',
      'prod/device/message/hive-cam/cam2/activity/start',
      'prod/device/connection/hive-cam/cam1/extra',
      'prod/device/other/hive-cam/cam1',
      'prod/honeycomb/cam1/system/setmode',
      'prod/honeycomb/cam2/system/reboot',
      'site7/device/status/picam/cam1',
      'prod/device/status//cam1',
      '$SYS/broker/clients',
    ])
      assert.ok(!rules.mayPublish('cam1', t), t);
  });

  it('lets a device read only its own commands; wildcards cannot reach other devices', () => {
    assert.ok(rules.maySubscribe('cam1', 'prod/honeycomb/cam1/#'));
    assert.ok(rules.maySubscribe('cam1', 'prod/honeycomb/cam1/system/+'));
    for (const f of [
      'prod/honeycomb/+/#',
      'prod/honeycomb/#',
      'prod/#',
      '#',
      '+/honeycomb/cam1/#',
      'prod/device/#',
      'prod/honeycomb/cam2/#',
    ])
      assert.ok(!rules.maySubscribe('cam1', f), f);
  });

  it('gives ids that a topic level cannot hold exactly nothing at all', () => {
    assert.ok(!rules.maySubscribe('+', 'prod/honeycomb/+/#'));
    assert.ok(!rules.mayPublish('a/b', 'prod/device/status/picam/a/b'));
    assert.ok(!rules.mayPublish('', 'prod/device/status/picam/'));
  });

  it('follows a prefix of several levels', () => {
    const site = new DeviceRules('acme/site7/');
    assert.ok(site.mayPublish('cam1', 'acme/site7/device/status/picam/cam1'));
    assert.ok(!site.mayPublish('cam1', 'prod/device/status/picam/cam1'));
    assert.ok(site.maySubscribe('cam1', 'acme/site7/honeycomb/cam1/#'));
  });
});

describe('broker access: runtime ids, logins, filters', () => {
  it('treats a reserved id as the runtime only over TCP from loopback', () => {
    assert.equal(roleOf('picam-guardian-0123-commands', { transport: 'tcp', address: '127.0.0.1' }), 'runtime');
    assert.equal(roleOf('picam-guardian-cloud', { transport: 'tcp', address: '::ffff:127.0.0.1' }), 'runtime');
    assert.ok(typeof roleOf('picam-guardian-cloud', { transport: 'ws', address: '127.0.0.1' }) === 'object');
    assert.ok(typeof roleOf('picam-guardian-cloud', { transport: 'tcp', address: '192.168.1.20' }) === 'object');
    assert.equal(roleOf('cam1', { transport: 'tcp', address: '127.0.0.1' }), 'device');
  });

  it('checks username and password together; no credentials configured means no login', () => {
    const login = new Login('devices', 'secret');
    assert.ok(login.accepts('devices', Buffer.from('secret')));
    assert.ok(!login.accepts('devices', Buffer.from('secre')));
    assert.ok(!login.accepts('device', Buffer.from('secret')));
    assert.ok(!login.accepts(undefined, undefined));
    assert.ok(new Login('', '').accepts(undefined, undefined));
  });

  it('matches MQTT filters, and $ topics only by name', () => {
    assert.ok(topicMatches('prod/device/#', 'prod/device/status/picam/p1'));
    assert.ok(topicMatches('prod/+/status/#', 'prod/device/status/picam/p1'));
    assert.ok(topicMatches('prod/#', 'prod'));
    assert.ok(!topicMatches('prod/device/#', 'prod/honeycomb/p1/system/reboot'));
    assert.ok(!topicMatches('#', '$SYS/broker/uptime'));
    assert.ok(!topicMatches('prod/device/+', 'prod/device/status/x'));
  });
});

describe('broker access: IP cameras hosted by a Pi (…/ipcam/{pi}/{camera})', () => {
  const rules = new DeviceRules('prod');

  it("lets a Pi publish its own cameras' connection, status and messages, and no other Pi's", () => {
    for (const t of [
      'prod/device/connection/ipcam/pi1/door',
      'prod/device/status/ipcam/pi1/door',
      'prod/device/message/ipcam/pi1/door/activity/start',
      'prod/device/message/ipcam/pi1/door/activity/thumbnail/evt-1',
    ])
      assert.ok(rules.mayPublish('pi1', t), t);
    for (const t of [
      'prod/device/connection/ipcam/pi2/door',
      'prod/device/status/ipcam/pi2/door',
      'prod/device/message/ipcam/pi2/door/activity/start',
      // hosting is for IP cameras only, and one camera level
      'prod/device/status/picam/pi1/door',
      'prod/device/status/ipcam/pi1/door/extra',
      'prod/device/connection/ipcam/pi1/',
    ])
      assert.ok(!rules.mayPublish('pi1', t), t);
  });

  it("lets a Pi read its cameras' commands (under its own), not another Pi's", () => {
    assert.ok(rules.maySubscribe('pi1', 'prod/honeycomb/pi1/ipcam/door/#'));
    assert.ok(!rules.maySubscribe('pi1', 'prod/honeycomb/pi2/ipcam/door/#'));
  });
});

describe('broker access: could a subscription hear device messages (filtersOverlap)', () => {
  it('says yes whenever some topic matches both filters, no only when none can', () => {
    const device = 'prod/device/#';
    for (const f of [
      '#',
      'prod/#',
      '+/device/#',
      'prod/+/status/+/cam',
      'prod/device',
      'prod/device/+',
      'prod/device/status/picam/pi1',
      '+/+/+/+/+',
      'prod/+',
    ])
      assert.equal(filtersOverlap(f, device), true, f);
    for (const f of ['prod/honeycomb/#', 'prod/honeycomb/cam/+', 'other/device/#', 'prod', '+', 'prod/devices/#'])
      assert.equal(filtersOverlap(f, device), false, f);
    assert.equal(filtersOverlap('prod/device/+/picam', 'prod/device/status/+'), true);
    assert.equal(filtersOverlap('a/b', 'a/b/c'), false);
    // '#' matches its parent level too: prod/+ hears prod/device itself.
    assert.equal(filtersOverlap('prod/+', 'prod/device/#'), true);
  });
});

describe('broker access: the integration rule (Home Assistant, other programs; cloud/mosquitto/acl user picam-integration)', () => {
  const rules = new IntegrationRules('picam', 'homeassistant');

  it('publishes requests, set topics and the birth message only', () => {
    for (const t of ['homeassistant/status', 'picam/request/setmode', 'picam/devices/cam1/mode/set', 'picam/devices/pi1.door/reboot/set']) {
      assert.ok(rules.mayPublish(t), t);
    }
    for (const t of [
      'prod/honeycomb/cam1/system/reboot', // a device's command topic: only through the runtime
      'prod/device/connection/hive-cam/cam1',
      'homeassistant/device/picam_cam1/config', // discovery is the runtime's
      'picam/devices/cam1/mode', // state is the runtime's
      'picam/response/app', // answers are the runtime's
      'picam/request/setmode/extra',
      'picam/request/+',
    ]) {
      assert.ok(!rules.mayPublish(t), t);
    }
  });

  it('reads the API and discovery trees, nothing wider', () => {
    for (const f of ['picam/#', 'homeassistant/#', 'picam/devices/+/mode', 'picam/response/app']) assert.ok(rules.maySubscribe(f), f);
    for (const f of ['#', '+/#', 'prod/#', 'prod/device/+/+/cam1', '+/devices/#']) assert.ok(!rules.maySubscribe(f), f);
  });
});
