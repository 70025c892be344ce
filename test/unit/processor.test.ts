import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Processor, type ProcessorOutput } from '../../nodes/mqtt-processor/processor';
import { parseSensorLimits } from '../../nodes/mqtt-processor/sensor-limits';
import type {
  ActivityRecord,
  Alert,
  AlertSnapshot,
  ConnectionRecord,
  DeadLetterRecord,
  HeartbeatRecord,
  SensorRecord,
} from '../../nodes/lib/types';
import { activity, CAMERA, connected, disconnected, environment, heartbeat, PI, topics } from '../support/fixtures';

const NOW = 1_705_400_000_000;

function make(overrides: Partial<ConstructorParameters<typeof Processor>[0]> = {}) {
  const later: ProcessorOutput[] = [];
  const p = new Processor(
    {
      prefix: 'prod',
      deviceTypes: ['hive-cam', 'picam'],
      maxPayloadBytes: 256 * 1024,
      debounceMs: 0,
      deadLetterBytes: 4096,
      now: () => NOW,
      ...overrides,
    },
    (out) => later.push(out),
  );
  return { p, later };
}

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('mqtt-processor: records from every topic kind', () => {
  it('turns a connection message into a connection record', () => {
    const { p } = make();
    const out = p.handleDevice(topics.connection(), json(connected()));
    const r = out.record as ConnectionRecord;
    assert.equal(r.kind, 'connection');
    assert.equal(r.status, 'connected');
    assert.equal(r.deviceId, CAMERA);
    assert.equal(r.deviceType, 'hive-cam');
    assert.equal(r.timeMs, 1705329045000);
    assert.equal(r.name, 'Front Door');
    assert.equal(r.ipAddress, '192.168.1.101');
    assert.equal(r.firmwareVersion, 'V0_0_00_117RC_svn1356');
    assert.equal(r.serialNumber, 'SN123456');
  });

  it('accepts Buffer, string and object payloads alike', () => {
    const { p } = make();
    const a = p.handleDevice(topics.status(), json(heartbeat(1)));
    const b = p.handleDevice(topics.status(), JSON.stringify(heartbeat(2)));
    const c = p.handleDevice(topics.status(), heartbeat(3));
    for (const out of [a, b, c]) assert.equal(out.record!.kind, 'heartbeat');
    assert.deepEqual(
      [a, b, c].map((o) => o.record!.timeMs),
      [1000, 2000, 3000],
    );
  });

  it('reads heartbeat fields', () => {
    const { p } = make();
    const r = p.handleDevice(topics.status(), json(heartbeat())).record as HeartbeatRecord;
    assert.deepEqual([r.batteryLevel, r.signalStrength, r.uptime, r.temperature, r.streamState], [87, -61, 3600, 38.5, 'idle']);
  });

  it('reads Pi sensor readings with millisecond timestamps', () => {
    const { p } = make();
    const r = p.handleDevice(topics.environment(), json(environment())).record as SensorRecord;
    assert.deepEqual(
      [r.kind, r.deviceId, r.timeMs, r.temperature, r.humidity, r.pressure],
      ['sensor', PI, 1705329045123, 21.5, 45.2, 1013.2],
    );
  });

  it('reads camera state with the mode and other settings', () => {
    const { p } = make();
    const out = p.handleDevice(topics.state(), json({ mode: 'armed', detectionSensitivity: 'high' }));
    assert.deepEqual(out.record, {
      kind: 'camera-state',
      deviceId: CAMERA,
      deviceType: 'hive-cam',
      timeMs: NOW,
      mode: 'ARMED',
      settings: { detectionSensitivity: '"high"' },
    });
  });

  it('accepts ISO 8601 timestamps and uses "now" when there is none', () => {
    const { p } = make();
    assert.equal(
      p.handleDevice(topics.status(), json({ timestamp: '2024-01-15T14:30:45Z' })).record!.timeMs,
      Date.parse('2024-01-15T14:30:45Z'),
    );
    assert.equal(p.handleDevice(topics.status(), json({ battery: 50 })).record!.timeMs, NOW);
  });
});

describe('mqtt-processor: activity pairing and redelivery', () => {
  it('pairs start and stop by eventId and raises one alert on start', () => {
    const { p } = make();
    p.handleDevice(topics.connection(), json(connected()));
    const start = p.handleDevice(topics.start(), json(activity('evt_1', 1705329045)));
    assert.equal(start.record!.kind, 'activity-start');
    assert.equal(start.alerts.length, 1);
    assert.equal(start.alerts[0]!.kind, 'activity');
    assert.equal(start.alerts[0]!.deviceName, 'Front Door');
    assert.equal(start.alerts[0]!.eventId, 'evt_1');
    assert.match(start.alerts[0]!.text, /motion detected on Front Door/);
    const stop = p.handleDevice(topics.stop(), json(activity('evt_1', 1705329057)));
    const r = stop.record as ActivityRecord;
    assert.equal(r.kind, 'activity-stop');
    assert.equal(r.startMs, 1705329045000);
    assert.equal(r.timeMs - r.startMs!, 12_000);
    assert.equal(stop.alerts.length, 0);
  });

  it('keeps a stop whose start it never saw', () => {
    const { p } = make();
    const out = p.handleDevice(topics.stop(), json(activity('evt_orphan', 1705329057)));
    const r = out.record as ActivityRecord;
    assert.equal(r.kind, 'activity-stop');
    assert.equal(r.eventId, 'evt_orphan');
    assert.equal(r.startMs, undefined);
  });

  it('drops a QoS1 redelivery of the same event and counts it', () => {
    const { p } = make();
    const first = p.handleDevice(topics.start(), json(activity('evt_2', 1705329045)));
    const again = p.handleDevice(topics.start(), json(activity('evt_2', 1705329045)));
    assert.equal(first.record !== undefined, true);
    assert.equal(again.record, undefined);
    assert.equal(again.alerts.length, 0);
    assert.equal(again.duplicate, true);
    assert.equal(p.counters.duplicates, 1);
  });

  it('drops a redelivered heartbeat but keeps identical ones that carry no timestamp', () => {
    const { p } = make();
    assert.equal(p.handleDevice(topics.status(), json(heartbeat(10))).record !== undefined, true);
    assert.equal(p.handleDevice(topics.status(), json(heartbeat(10))).record, undefined);
    assert.equal(p.handleDevice(topics.status(), json({ battery: 50 })).record !== undefined, true);
    assert.equal(p.handleDevice(topics.status(), json({ battery: 50 })).record !== undefined, true);
  });
});

describe('mqtt-processor: bad input becomes a dead letter', () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['invalid JSON', topics.status(), Buffer.from('{"battery": 5'), /invalid JSON/],
    ['a JSON array', topics.status(), Buffer.from('[1,2]'), /must be a JSON object/],
    ['unknown topic', 'prod/device/firmware/hive-cam/abc', json({}), /unknown topic/],
    ['unknown device type', 'prod/device/status/toaster/abc', json({}), /unknown device type/],
    ['invalid device id', 'prod/device/status/hive-cam/bad.id', json({}), /invalid device id/],
    ['wrong field type', topics.status(), json({ battery: 'full' }), /"battery" must be a number/],
    ['out-of-range battery', topics.status(), json({ battery: 140 }), /"battery" out of range/],
    ['bad timestamp', topics.status(), json({ timestamp: { t: 1 } }), /"timestamp" must be/],
    ['unknown connection status', topics.connection(), json({ status: 'maybe' }), /"status" must be/],
    ['activity without eventId', topics.start(), json({ activityType: 'MOTION' }), /"eventId" is required/],
    ['eventId with a slash', topics.start(), json({ eventId: '../etc/passwd' }), /"eventId" must match/],
    ['confidence above 1', topics.start(), json({ eventId: 'e1', confidence: 3 }), /"confidence" out of range/],
    ['unknown mode', topics.state(), json({ mode: 'PARTY' }), /"mode" must be one of ARMED, LIVESTREAMONLY, PRIVACY/],
    ['empty sensor reading', topics.environment(), json({ timestamp: 1 }), /no reading/],
    ['impossible humidity', topics.environment(), json({ humidity: 180 }), /"humidity" out of range/],
  ];
  for (const [what, topic, payload, reason] of cases) {
    it(`rejects ${what}`, () => {
      const { p } = make();
      const out = p.handleDevice(topic, payload);
      assert.match(out.rejected ?? '', reason);
      assert.ok(out.record);
      const dead = out.record as DeadLetterRecord;
      assert.equal(dead.kind, 'dead-letter');
      assert.equal(dead.source, topic);
      assert.match(dead.reason, reason);
      assert.ok(dead.payload.length > 0, 'the raw payload is kept');
      assert.equal(out.alerts.length, 0);
      assert.equal(p.counters.rejected, 1);
    });
  }

  it('rejects a payload over the size limit and keeps only its first 4 KiB', () => {
    const { p } = make({ maxPayloadBytes: 10_000 });
    const big = Buffer.from(JSON.stringify({ battery: 5, junk: 'x'.repeat(20_000) }));
    const out = p.handleDevice(topics.status(), big);
    const dead = out.record as DeadLetterRecord;
    assert.match(dead.reason, /exceeds the 10000-byte limit/);
    assert.equal(dead.payloadBytes, big.length);
    assert.equal(Buffer.byteLength(dead.payload), 4096);
  });
});

describe('mqtt-processor: connection alerts and state restore', () => {
  it('announces online at once and offline after the debounce, suppressing flaps', async () => {
    const { p, later } = make({ debounceMs: 40 });
    p.handleDevice(topics.connection(), json(connected(1)));
    assert.deepEqual(
      later.flatMap((o) => o.alerts.map((a) => a.kind)),
      ['camera-online'],
    );
    // a flap: gone and back inside the window → nobody is told
    p.handleDevice(topics.connection(), json(disconnected(2)));
    p.handleDevice(topics.connection(), json(connected(3)));
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(
      later.flatMap((o) => o.alerts.map((a) => a.kind)),
      ['camera-online'],
    );
    assert.equal(p.flapsSuppressed, 1);
    // a real outage → offline, then online again
    p.handleDevice(topics.connection(), json(disconnected(4)));
    await new Promise((r) => setTimeout(r, 80));
    p.handleDevice(topics.connection(), json(connected(5)));
    const kinds = later.flatMap((o) => o.alerts.map((a) => a.kind));
    assert.deepEqual(kinds, ['camera-online', 'camera-offline', 'camera-online']);
    const offline = later.flatMap((o) => o.alerts).find((a) => a.kind === 'camera-offline') as Alert;
    assert.equal(offline.deviceName, 'Front Door');
    assert.equal(offline.severity, 'critical');
    p.close();
  });

  it('republishes the stored mode when a camera reconnects', () => {
    const { p } = make();
    p.handleDevice(topics.state(), json({ mode: 'PRIVACY' }));
    const out = p.handleDevice(topics.connection(), json(connected()));
    assert.equal(out.commands.length, 1);
    assert.equal(out.commands[0]!.topic, `prod/honeycomb/${CAMERA}/system/setmode`);
    const payload = out.commands[0]!.payload as {
      mode: string;
      sourceId: string;
      sourceType: string;
      requestId: string;
      creationTimestamp: string;
    };
    assert.equal(payload.mode, 'PRIVACY');
    assert.equal(payload.sourceId, CAMERA);
    assert.equal(payload.sourceType, 'hive-cam');
    assert.match(payload.requestId, /^req_[0-9a-f]{16}$/);
    assert.equal(payload.creationTimestamp, new Date(NOW).toISOString());
  });

  it('restores a mode remembered from the database after a restart', () => {
    const { p } = make();
    p.remember(CAMERA, { deviceType: 'hive-cam', name: 'Garage', mode: 'LIVESTREAMONLY' });
    const out = p.handleDevice(topics.connection(), json({ status: 'connected' }));
    assert.equal((out.commands[0]!.payload as { mode: string }).mode, 'LIVESTREAMONLY');
  });

  it('after a restart, does not re-announce a camera the database knew as online, but does one it knew as offline', () => {
    const { p, later } = make();
    p.remember(CAMERA, { deviceType: 'hive-cam', name: 'Garage', connected: true });
    p.remember('cam-2', { deviceType: 'hive-cam', name: 'Porch', connected: false });
    p.handleDevice(topics.connection(), json({ status: 'connected' }));
    p.handleDevice(topics.connection('cam-2'), json({ status: 'connected' }));
    assert.deepEqual(
      later.flatMap((o) => o.alerts.map((a) => `${a.kind} ${a.deviceName}`)),
      ['camera-online Porch'],
    );
  });

  it('sends nothing on reconnect when no mode is known', () => {
    const { p } = make();
    assert.equal(p.handleDevice(topics.connection(), json(connected())).commands.length, 0);
  });
});

describe('mqtt-processor: command requests', () => {
  it('builds setmode in the seed format and remembers the mode for the next reconnect', () => {
    const { p } = make();
    p.handleDevice(topics.connection(), json(connected()));
    const r = p.handleCommand({ action: 'setmode', deviceId: CAMERA, mode: 'livestreamonly' });
    assert.ok(r.ok);
    assert.equal(r.command.topic, `prod/honeycomb/${CAMERA}/system/setmode`);
    assert.equal((r.command.payload as { mode: string }).mode, 'LIVESTREAMONLY');
    assert.equal(r.command.qos, 1);
    assert.equal(r.record.kind, 'command');
    assert.equal(r.record.mode, 'LIVESTREAMONLY');
    const restore = p.handleDevice(topics.connection(), json(connected(1705329999)));
    assert.equal((restore.commands[0]!.payload as { mode: string }).mode, 'LIVESTREAMONLY');
  });

  it('builds reboot and settings-update', () => {
    const { p } = make();
    p.handleDevice(topics.connection(), json(connected()));
    const reboot = p.handleCommand({ action: 'reboot', deviceId: CAMERA });
    assert.ok(reboot.ok);
    assert.equal(reboot.command.topic, `prod/honeycomb/${CAMERA}/system/reboot`);
    const settings = p.handleCommand({ action: 'settings-update', deviceId: CAMERA, settings: { detectionSensitivity: 'low' } });
    assert.ok(settings.ok);
    assert.equal(settings.command.topic, `prod/honeycomb/${CAMERA}/settings/update`);
    assert.deepEqual((settings.command.payload as unknown as { settings: unknown }).settings, { detectionSensitivity: 'low' });
  });

  const bad: Array<[string, Parameters<Processor['handleCommand']>[0], number, RegExp]> = [
    ['an unknown mode', { action: 'setmode', deviceId: CAMERA, mode: 'OFF' }, 400, /must be one of/],
    ['a missing mode', { action: 'setmode', deviceId: CAMERA }, 400, /must be one of/],
    ['an invalid id', { action: 'reboot', deviceId: 'a/b' }, 400, /invalid device id/],
    ['an unknown device', { action: 'reboot', deviceId: 'nobody' }, 404, /unknown device/],
    ['an unknown action', { action: 'selfdestruct' as 'reboot', deviceId: CAMERA }, 400, /unknown command/],
    [
      'settings that are not an object',
      { action: 'settings-update', deviceId: CAMERA, settings: [1] as unknown as Record<string, unknown> },
      400,
      /"settings" object/,
    ],
  ];
  for (const [what, req, code, error] of bad) {
    it(`refuses ${what} with ${code}`, () => {
      const { p } = make();
      p.handleDevice(topics.connection(), json(connected()));
      const r = p.handleCommand(req);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.statusCode, code);
        assert.match(r.error, error);
      }
    });
  }
});

describe('mqtt-processor: sensor limits', () => {
  const reading = (temperature: number, humidity = 45, t = 1705329045123) =>
    json({ temperature, humidity, pressure: 1013.2, timestamp: t });

  it('raises one alert when a reading leaves its range, and again only after it came back by the margin', () => {
    const { p } = make({ sensorLimits: parseSensorLimits('temperature 5..35, humidity ..80') });
    const temps = [30, 36.2, 37, 34.8, 35.5, 34.4, 36, 4];
    const alerts = temps.map((t, i) => p.handleDevice(topics.environment(), reading(t, 45, 1705329045123 + i)).alerts);
    assert.deepEqual(
      alerts.map((a) => a.length),
      [0, 1, 0, 0, 0, 0, 1, 1],
      'out at 36.2; 34.8 is not back by 0.5 °C; 34.4 is, so 36 alerts again; 4 is below the minimum',
    );
    const first = alerts[1]![0] as Alert;
    assert.equal(first.kind, 'sensor-out-of-range');
    assert.equal(first.deviceId, PI);
    assert.deepEqual(first.sensor, { metric: 'temperature', value: 36.2, unit: '°C', min: 5, max: 35 });
    assert.match(first.text, /temperature 36.2 °C at picam-kitchen is above the 35 °C limit/);
    assert.match((alerts[7]![0] as Alert).text, /below the 5 °C limit/);
    const humid = p.handleDevice(topics.environment(), reading(20, 85, 1705329099000)).alerts;
    assert.equal((humid[0] as Alert).sensor!.metric, 'humidity');
  });

  it('raises nothing without limits', () => {
    const { p } = make();
    assert.equal(p.handleDevice(topics.environment(), reading(99)).alerts.length, 0);
  });

  it('refuses limits it cannot read, naming the part', () => {
    assert.throws(() => parseSensorLimits('temperature hot'), /"temperature hot" is not/);
    assert.throws(() => parseSensorLimits('temperature 30..5'), /minimum must be below the maximum/);
    assert.throws(() => parseSensorLimits('voltage 1..2'), /"voltage 1..2" is not/);
    assert.deepEqual(parseSensorLimits(' pressure: 950..1050 ;humidity ..80'), {
      pressure: { min: 950, max: 1050 },
      humidity: { min: undefined, max: 80 },
    });
  });
});

describe('mqtt-processor: thumbnails', () => {
  const thumbTopic = (eventId: string, id = PI) => `prod/device/message/picam/${id}/activity/thumbnail/${eventId}`;
  const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

  it("passes a device's picture for its event to the alert nodes, with the device's name", () => {
    const { p } = make();
    p.handleDevice(topics.connection(PI, 'picam'), json(connected(1705329045, { name: 'Kitchen Pi' })));
    const out = p.handleDevice(thumbTopic('evt_0123456789abcdef'), JPEG);
    assert.equal(out.record, undefined, 'nothing to store yet');
    const snap = out.alerts[0] as AlertSnapshot;
    assert.deepEqual(
      { kind: snap.kind, deviceId: snap.deviceId, deviceName: snap.deviceName, eventId: snap.eventId },
      { kind: 'snapshot', deviceId: PI, deviceName: 'Kitchen Pi', eventId: 'evt_0123456789abcdef' },
    );
    assert.deepEqual(snap.image, JPEG);
  });

  it('keeps a thumbnail that is not a JPEG, or names a bad event id, as a dead letter', () => {
    const { p } = make();
    const notJpeg = p.handleDevice(thumbTopic('evt_1'), Buffer.from('{"oops": true}'));
    assert.equal(notJpeg.record?.kind, 'dead-letter');
    assert.match(notJpeg.rejected!, /not a JPEG/);
    const badId = p.handleDevice(thumbTopic('evt 1/x'), JPEG);
    assert.match(badId.rejected!, /unknown topic|invalid event id/);
  });
});
