import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Processor, type ProcessorOutput } from '../../../nodes/mqtt-processor/processor';
import { parseSensorLimits } from '../../../nodes/mqtt-processor/sensor-limits';
import type {
  ActivityRecord,
  Alert,
  AlertSnapshot,
  ConnectionRecord,
  DeadLetterRecord,
  HeartbeatRecord,
  SensorRecord,
} from '../../../nodes/lib/types';
import { activity, CAMERA, CAMERA_2, connected, disconnected, environment, heartbeat, PI, topics } from '../../support/fixtures';
import { JPEG } from '../../support/pictures';

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
    const s = NOW / 1000 - 60;
    const a = p.handleDevice(topics.status(), json(heartbeat(s + 1)));
    const b = p.handleDevice(topics.status(), JSON.stringify(heartbeat(s + 2)));
    const c = p.handleDevice(topics.status(), heartbeat(s + 3));
    for (const out of [a, b, c]) assert.equal(out.record!.kind, 'heartbeat');
    assert.deepEqual(
      [a, b, c].map((o) => o.record!.timeMs),
      [(s + 1) * 1000, (s + 2) * 1000, (s + 3) * 1000],
    );
  });

  it('reads heartbeat fields', () => {
    const { p } = make();
    const r = p.handleDevice(topics.status(), json(heartbeat())).record as HeartbeatRecord;
    assert.deepEqual(
      [r.batteryLevel, r.signalStrength, r.uptime, r.temperature, r.ipAddress, r.status, r.online, r.streamState],
      [87, -61, 3600, 38.5, '192.168.1.101', 'online', true, 'idle'],
    );
  });

  it('reads Pi sensor readings with millisecond timestamps', () => {
    const { p } = make();
    const r = p.handleDevice(topics.environment(), json(environment())).record as SensorRecord;
    assert.deepEqual(
      [r.kind, r.deviceId, r.timeMs, r.temperature, r.humidity, r.pressure],
      ['sensor', PI, 1705329045123, 21.5, 45.2, 1013.2],
    );
  });

  it('reads camera state as a heartbeat with the mode it reports', () => {
    const { p } = make();
    const text = JSON.stringify({ mode: 'armed', detectionSensitivity: 'high' });
    const out = p.handleDevice(topics.state(), text);
    assert.deepEqual(out.record, {
      kind: 'camera-state',
      deviceId: CAMERA,
      deviceType: 'hive-cam',
      timeMs: NOW,
      mode: 'ARMED',
      status: undefined,
      online: true,
      batteryLevel: undefined,
      signalStrength: undefined,
      uptime: undefined,
      temperature: undefined,
      ipAddress: undefined,
      streamState: undefined,
      raw: text,
    });
  });

  it('accepts ISO 8601 timestamps and uses "now" when there is none', () => {
    const { p } = make();
    assert.equal(
      p.handleDevice(topics.status(), json({ timestamp: '2024-01-15T14:30:45Z' })).record!.timeMs,
      Date.parse('2024-01-15T14:30:45Z'),
    );
    assert.equal(p.handleDevice(topics.status(), json({ battery: { level: 50 } })).record!.timeMs, NOW);
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

  it('takes a start sent again with something new as an update of its event (issue 20): stored, alerted as update', () => {
    const { p } = make();
    p.handleDevice(topics.start(), json({ ...activity('evt_3', 1705329045), zones: [] }));
    const again = p.handleDevice(topics.start(), json({ ...activity('evt_3', 1705329045), zones: ['driveway'] }));
    assert.equal(again.duplicate, undefined);
    assert.deepEqual((again.record as ActivityRecord).zones, ['driveway']);
    assert.equal(again.alerts.length, 1);
    assert.deepEqual((again.alerts[0] as Alert).zones, ['driveway']);
    assert.equal((again.alerts[0] as Alert).update, true);
    const redelivered = p.handleDevice(topics.start(), json({ ...activity('evt_3', 1705329045), zones: ['driveway'] }));
    assert.equal(redelivered.duplicate, true, 'the same update again is a redelivery');
    const first = p.handleDevice(topics.start(), json(activity('evt_4', 1705329045)));
    assert.equal((first.alerts[0] as Alert).update, undefined, "an event's first start is no update");
  });

  it('drops a redelivered heartbeat but keeps identical ones that carry no timestamp, or one it cannot use', () => {
    const { p } = make();
    assert.equal(p.handleDevice(topics.status(), json(heartbeat(NOW / 1000 - 60))).record !== undefined, true);
    assert.equal(p.handleDevice(topics.status(), json(heartbeat(NOW / 1000 - 60))).record, undefined);
    for (const again of [{ battery: { level: 50 } }, { battery: { level: 50 }, timestamp: 0 }, heartbeat(10)]) {
      assert.equal(p.handleDevice(topics.status(), json(again)).record !== undefined, true, JSON.stringify(again));
      assert.equal(p.handleDevice(topics.status(), json(again)).record !== undefined, true, `${JSON.stringify(again)} again`);
    }
  });

  it('keeps a camera that goes PRIVACY and back to ARMED without a time of its own ARMED (nothing taken for a redelivery)', () => {
    const { p } = make();
    for (const mode of ['ARMED', 'PRIVACY', 'ARMED'] as const) {
      const out = p.handleDevice(topics.state(), json({ mode, timestamp: 0 }));
      assert.equal(out.duplicate, undefined, mode);
    }
    const restored = p.handleDevice(topics.connection(), json(connected(NOW / 1000)));
    assert.deepEqual(
      restored.commands.map((c) => (c.payload as { mode?: string }).mode),
      ['ARMED'],
    );
  });

  it('takes a stop of an event again with another time as news, the same stop again as a redelivery', () => {
    const { p } = make();
    const stop = (t: number) => p.handleDevice(topics.stop(), json({ ...activity('evt_twice', t), eventType: 'stop' }));
    assert.equal(stop(1705329045).duplicate, undefined);
    assert.equal(stop(1705329045).duplicate, true);
    assert.equal(stop(1705329075).duplicate, undefined);
  });

  it('spreads records without a usable time of their own one row apart, in the order they came', () => {
    const { p } = make();
    const readings = [0, 1, 2].map((i) =>
      p.handleDevice(topics.environment(), json({ temperature: 20 + i, timestamp: 1_000_000_000 + i })),
    );
    assert.deepEqual(
      readings.map((r) => r.record!.timeMs),
      [NOW, NOW + 1, NOW + 2],
      'readings: a millisecond apart',
    );
    const beats = [0, 1, 2].map((i) => p.handleDevice(topics.status(), json({ battery: { level: 90 - i } })));
    assert.deepEqual(
      beats.map((r) => r.record!.timeMs),
      [NOW, NOW + 1000, NOW + 2000],
      'heartbeats: stored by the second, a second apart',
    );
    const timed = p.handleDevice(topics.environment(), json({ temperature: 25, timestamp: NOW - 5000 }));
    assert.equal(timed.record!.timeMs, NOW - 5000, "a device's own time is kept as it is");
  });
});

describe('mqtt-processor: bad input becomes a dead letter', () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['invalid JSON', topics.status(), Buffer.from('{"battery": 5'), /invalid JSON/],
    ['a JSON array', topics.status(), Buffer.from('[1,2]'), /must be a JSON object/],
    ['unknown topic', 'prod/device/firmware/hive-cam/abc', json({}), /unknown topic/],
    ['unknown device type', 'prod/device/status/toaster/abc', json({}), /unknown device type/],
    ['invalid device id', 'prod/device/status/hive-cam/bad.id', json({}), /invalid device id/],
    ['a VBC01 id in lower case', `prod/device/status/hive-cam/${CAMERA.toLowerCase()}`, json({}), /32 upper-case hex digits/],
    ['a VBC01 id that is not 32 hex digits', 'prod/device/status/hive-cam/CAM0001', json({}), /invalid VBC01 camera id "CAM0001"/],
    ['wrong field type', topics.status(), json({ battery: { level: 'full' } }), /"battery.level" must be a number/],
    ['out-of-range battery', topics.status(), json({ battery: { level: 140 } }), /"battery.level" out of range/],
    ['an IP address that is not text', topics.status(), json({ ethernet: { ipAddress: 10 } }), /"ethernet.ipAddress" must be a string/],
    ['eventId with a slash', topics.start(), json({ eventId: '../etc/passwd' }), /"eventId" must match/],
    ['confidence that is not a number', topics.start(), json({ eventId: 'e1', confidence: 'high' }), /"confidence" must be a number/],
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
    const big = Buffer.from(JSON.stringify({ uptime: 5, junk: 'x'.repeat(20_000) }));
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

  it("takes a Pi's hosted cameras down with the Pi, with their offline alert after the grace period, and back with it", async () => {
    const { p, later } = make({ deviceTypes: ['hive-cam', 'picam', 'ipcam'], debounceMs: 40 });
    const piConnection = `prod/device/connection/picam/${PI}`;
    const door = `prod/device/connection/ipcam/${PI}/door`;
    const yard = `prod/device/connection/ipcam/${PI}/yard`;
    p.handleDevice(piConnection, json(connected(1)));
    p.handleDevice(door, json({ ...connected(2), name: 'Door' }));
    // a camera already down by itself is not brought back by its host
    p.handleDevice(yard, json(disconnected(2)));
    await new Promise((r) => setTimeout(r, 80));
    const records = () => later.flatMap((o) => (o.record?.kind === 'connection' ? [o.record] : []));
    const alertsFor = (id: string) =>
      later
        .flatMap((o) => o.alerts)
        .filter((a) => (a as Alert).deviceId === id)
        .map((a) => a.kind);
    assert.deepEqual(records(), []);
    const hosted = `${PI}.door`;

    // The Pi's Last Will: its camera can say nothing more, so it is disconnected too, once.
    p.handleDevice(piConnection, json(disconnected(3)));
    p.handleDevice(piConnection, json(disconnected(4)));
    assert.deepEqual(
      records().map((r) => [r.deviceId, r.status, r.deviceType]),
      [[hosted, 'disconnected', 'ipcam']],
    );
    assert.match(records()[0]!.raw, /host picam-kitchen is offline/);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(alertsFor(hosted), ['camera-online', 'camera-offline']);
    assert.equal(
      (later.flatMap((o) => o.alerts).find((a) => a.kind === 'camera-offline' && (a as Alert).deviceId === hosted) as Alert).deviceName,
      'Door',
    );

    // The Pi is back: the camera it took down is connected again (and the user told), the other not.
    p.handleDevice(piConnection, json(connected(5)));
    assert.deepEqual(
      records().map((r) => [r.deviceId, r.status]),
      [
        [hosted, 'disconnected'],
        [hosted, 'connected'],
      ],
    );
    assert.deepEqual(alertsFor(hosted), ['camera-online', 'camera-offline', 'camera-online']);
    assert.deepEqual(
      alertsFor(`${PI}.yard`).filter((k) => k === 'camera-online'),
      [],
    );
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
    assert.match(payload.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUID v4');
    // Python's isoformat: no fraction when it is zero
    assert.equal(payload.creationTimestamp, '2024-01-16T10:13:20Z');
    const { type, durationMinutes, intervalSeconds } = payload as unknown as Record<string, string>;
    assert.deepEqual([type, durationMinutes, intervalSeconds], ['NA', 'NA', 'NA'], "the real dashboard's setmode");
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
    p.remember(CAMERA_2, { deviceType: 'hive-cam', name: 'Porch', connected: false });
    p.handleDevice(topics.connection(), json({ status: 'connected' }));
    p.handleDevice(topics.connection(CAMERA_2), json({ status: 'connected' }));
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
    const settings = p.handleCommand({ action: 'settings-update', deviceId: CAMERA, settings: { volume: 'low', ledRing: 'false' } });
    assert.equal(settings.ok, true);
    if (!settings.ok) return;
    assert.equal(settings.command.topic, `prod/honeycomb/${CAMERA}/settings/update`);
    const { requestId, creationTimestamp, ...rest } = settings.command.payload as unknown as Record<string, unknown>;
    assert.ok(requestId && creationTimestamp);
    // Flat, all 20 fields, the defaults filled in as the real dashboard does (vbc01-protocol.md §6)
    assert.deepEqual(rest, {
      sourceId: CAMERA,
      sourceType: 'hive-cam',
      resolution: '720p',
      frameRate: '30',
      scheduleEnabled: false,
      schedule: [],
      motionDetection: 'SMART',
      audioDetection: 'ALL',
      storage: 'CLOUD',
      activityZone: 'ALL',
      ledDot: true,
      ledRing: false,
      soundAlert: true,
      nightVision: 'AUTO',
      invertImage: false,
      cameraAudio: false,
      cameraZoom: '1X',
      motionSensitivity: 'MEDIUM',
      audioSensitivity: 'MEDIUM',
      timeZone: 'GMT',
      wdr: false,
      volume: 'LOW',
    });
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
      /settings must be a JSON object/,
    ],
    [
      'an unknown setting',
      { action: 'settings-update', deviceId: CAMERA, settings: { detectionSensitivity: 'low' } },
      400,
      /unknown setting "detectionSensitivity"/,
    ],
    [
      'a resolution the camera has not',
      { action: 'settings-update', deviceId: CAMERA, settings: { resolution: '4K' } },
      400,
      /setting "resolution" must be one of R_1080P, R_720P, R_480P/,
    ],
    [
      'a switch that is not true or false',
      { action: 'settings-update', deviceId: CAMERA, settings: { ledDot: 'maybe' } },
      400,
      /setting "ledDot" must be true or false/,
    ],
    [
      'a schedule that is not a list',
      { action: 'settings-update', deviceId: CAMERA, settings: { schedule: 'weekdays' } },
      400,
      /setting "schedule" must be an array/,
    ],
    [
      'a sound the camera has not',
      { action: 'sound-play', deviceId: CAMERA, soundType: 'AIR_HORN' },
      400,
      /POLICE_SIREN, DOG_BARK, HOUSE_ALARM, LULLABY/,
    ],
    ['a sound without a type', { action: 'sound-play', deviceId: CAMERA }, 400, /sound must be one of/],
    // Live video on request is a Pi's relay of its hosted camera: any other camera streams by itself.
    ['live video asked of a camera no Pi hosts', { action: 'live', deviceId: CAMERA }, 400, /live is for a camera hosted by a Pi/],
    ['live video asked of an unknown hosted camera', { action: 'live', deviceId: `${PI}.ghost` }, 404, /unknown device/],
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

describe('mqtt-processor: commands an IP camera cannot obey', () => {
  const ipcam = () => {
    const { p } = make({ deviceTypes: ['hive-cam', 'picam', 'ipcam'] });
    p.handleDevice('prod/device/connection/ipcam/porch-1', json({ status: 'connected', timestamp: 1705329045, name: 'Porch' }));
    return p;
  };
  const refused: Array<[Parameters<Processor['handleCommand']>[0], RegExp]> = [
    [{ action: 'reboot', deviceId: 'porch-1' }, /^porch-1: an IP camera cannot be rebooted from here/],
    [
      { action: 'settings-update', deviceId: 'porch-1', settings: { volume: 'LOW' } },
      /^porch-1: an IP camera's settings are changed in its own web page/,
    ],
    [{ action: 'sound-play', deviceId: 'porch-1', soundType: 'DOG_BARK' }, /^porch-1: an IP camera cannot play sounds$/],
    [{ action: 'sound-stop', deviceId: 'porch-1' }, /^porch-1: an IP camera cannot play sounds$/],
  ];
  for (const [req, reason] of refused) {
    it(`refuses ${req.action} with 409 and its reason, and builds no command`, () => {
      const r = ipcam().handleCommand(req);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.statusCode, 409);
        assert.match(r.error, reason);
      }
    });
  }
  it('still sets its mode', () => {
    const r = ipcam().handleCommand({ action: 'setmode', deviceId: 'porch-1', mode: 'PRIVACY' });
    assert.ok(r.ok);
    if (r.ok) assert.equal(r.command.topic, 'prod/honeycomb/porch-1/system/setmode');
  });
});

describe('mqtt-processor: live video of a camera hosted by a Pi', () => {
  const hosted = `${PI}.door`;
  function withHostedCamera() {
    const made = make({ deviceTypes: ['hive-cam', 'picam', 'ipcam'] });
    made.p.handleDevice(`prod/device/connection/ipcam/${PI}/door`, json({ ...connected(2), name: 'Door' }));
    return made;
  }

  it("asks the Pi to relay it, on the Pi's topic for that camera, for the seconds asked (60 by default)", () => {
    const { p } = withHostedCamera();
    const r = p.handleCommand({ action: 'live', deviceId: hosted, seconds: 30 });
    assert.ok(r.ok);
    assert.equal(r.command.topic, `prod/honeycomb/${PI}/ipcam/door/stream/play`);
    assert.equal(r.command.action, 'live');
    assert.equal((r.command.payload as { seconds: number }).seconds, 30);
    assert.equal(r.record.action, 'live');
    const byDefault = p.handleCommand({ action: 'live', deviceId: hosted });
    assert.ok(byDefault.ok);
    assert.equal((byDefault.command.payload as { seconds: number }).seconds, 60);
  });

  for (const seconds of [0, 3601, 'soon', 2.5, -1]) {
    it(`refuses seconds ${JSON.stringify(seconds)} with 400`, () => {
      const { p } = withHostedCamera();
      const r = p.handleCommand({ action: 'live', deviceId: hosted, seconds });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.statusCode, 400);
        assert.match(r.error, /seconds must be a whole number from 5 to 600/);
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
    const cut = p.handleDevice(thumbTopic('evt_0123456789abcdef'), JPEG.subarray(0, 100));
    assert.match(cut.rejected!, /thumbnail is a JPEG cut short/);
    const badId = p.handleDevice(thumbTopic('evt 1/x'), JPEG);
    assert.match(badId.rejected!, /unknown topic|invalid event id/);
  });
});

describe('mqtt-processor: hostile payloads are dead letters, never throws (issue 13)', () => {
  const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const nested = (n: number) => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = { a: v };
    return v;
  };
  const cyclic: Record<string, unknown> = { battery: 5 };
  cyclic.self = cyclic;
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['JSON arrays nested 10,000 deep', topics.status(), Buffer.from(deepArray(10_000)), /nested deeper than 32 levels/],
    ['JSON objects nested 10,000 deep', topics.start(), Buffer.from(deepObject(10_000)), /nested deeper than 32 levels/],
    ['a deep JSON string payload', topics.status(), deepArray(100_000), /nested deeper than 32 levels/],
    ['an object payload nested 10,000 deep', topics.status(), nested(10_000), /nested deeper than 32 levels/],
    ['a cyclic object payload', topics.status(), cyclic, /nested deeper than 32 levels/],
    ['an object payload with a BigInt', topics.status(), { battery: 10n }, /not JSON/],
    ['bytes that are not UTF-8', topics.status(), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), /not valid UTF-8/],
    ['NaN in an object payload', topics.status(), { battery: { level: NaN } }, /"battery.level" must be a number/],
    ['a number too large for a double', topics.status(), Buffer.from('{"uptime": 1e400}'), /"uptime" must be a number/],
    ['a huge uptime', topics.status(), Buffer.from('{"uptime": 1e300}'), /"uptime" out of range/],
    [
      'a huge signal strength',
      topics.status(),
      Buffer.from('{"radio": {"signalStrength": -1e300}}'),
      /"radio.signalStrength" out of range/,
    ],
  ];
  for (const [what, topic, payload, reason] of cases) {
    it(`keeps ${what} as a dead letter with its reason`, () => {
      const { p } = make();
      const out = p.handleDevice(topic, payload);
      assert.match(out.rejected ?? '', reason);
      const dead = out.record as DeadLetterRecord;
      assert.equal(dead.kind, 'dead-letter');
      assert.match(dead.reason, reason);
      assert.equal(dead.source, topic);
      assert.ok(dead.payload.length > 0 && Buffer.byteLength(dead.payload) <= 4096, 'something of the payload is kept, at most 4 KiB');
      assert.equal(p.counters.rejected, 1);
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
    });
  }

  it('checks the size of a Buffer before decoding it', () => {
    const { p } = make({ maxPayloadBytes: 1024 });
    const out = p.handleDevice(topics.status(), Buffer.alloc(5 * 1024 * 1024, 0x5b));
    assert.match(out.rejected!, /exceeds the 1024-byte limit/);
    assert.equal(Buffer.byteLength((out.record as DeadLetterRecord).payload), 4096);
  });

  it('checks the size of an object payload before serialising all of it', () => {
    const { p } = make({ maxPayloadBytes: 1024 });
    const out = p.handleDevice(topics.status(), { battery: 5, junk: new Array(100_000).fill(0) });
    assert.match(out.rejected!, /larger than the 1024-byte limit/);
  });

  it('accepts a payload that starts with a UTF-8 byte-order mark', () => {
    const { p } = make();
    const out = p.handleDevice(topics.status(), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json({ battery: { level: 50 } })]));
    assert.equal(out.rejected, undefined);
    assert.equal((out.record as HeartbeatRecord).batteryLevel, 50);
  });

  it('accepts nesting a device may really send (a region inside an activity)', () => {
    const { p } = make();
    const out = p.handleDevice(
      topics.start(),
      json({
        eventId: 'e1',
        region: {
          box: [
            [1, 2],
            [3, 4],
          ],
        },
      }),
    );
    assert.equal(out.record!.kind, 'activity-start');
  });
});

describe('mqtt-processor: device times outside the clock window (issue 13)', () => {
  const SEC = NOW / 1000;
  const unusable: Array<[string, unknown]> = [
    ['a string Date.parse reads as 2001', 'hello 5'],
    ['1e20', 1e20],
    ['the year 99999', '+099999-01-01T00:00:00Z'],
    ['the year -271821', '-271821-04-20T00:00:00Z'],
    ['a heartbeat from the year 2100', Date.UTC(2100, 0, 1) / 1000],
    ['a date that does not exist', '2024-02-30T10:00:00Z'],
    ['a numeric string', String(SEC)],
    ['zero', 0],
    ['a negative number', -5],
    ['an object', { t: 1 }],
    ['10 minutes ahead', SEC + 600],
    ['31 days behind', SEC - 31 * 86_400],
  ];
  for (const [what, timestamp] of unusable) {
    it(`stores ${what} with the receive time, keeps the raw value and warns`, () => {
      const { p } = make();
      const out = p.handleDevice(topics.status(), json({ timestamp, battery: 50 }));
      assert.equal(out.rejected, undefined, 'the reading itself is good: no dead letter');
      assert.equal(out.record!.kind, 'heartbeat');
      assert.equal(out.record!.timeMs, NOW);
      const raw = (out.record as HeartbeatRecord).deviceTimeRaw;
      assert.equal(raw, typeof timestamp === 'string' ? timestamp : JSON.stringify(timestamp));
      assert.match(out.clockWarning!, /the receive time is used/);
      assert.equal(p.counters.clockWarnings, 1);
    });
  }

  const usable: Array<[string, unknown, number]> = [
    ['Unix seconds (VBC01)', SEC - 60, NOW - 60_000],
    ['Unix milliseconds (the Pi)', NOW - 1500, NOW - 1500],
    ['ISO 8601 with Z and microseconds', new Date(NOW - 1000).toISOString().replace('Z', '456Z'), NOW - 1000],
    ['ISO 8601 with an offset', '2024-01-16T11:13:20+01:00', NOW],
    ['ISO 8601 without a zone (UTC)', '2024-01-16T10:13:20', NOW],
    ['29 days behind (a Pi replaying its outbox)', SEC - 29 * 86_400, NOW - 29 * 86_400_000],
    ['4 minutes ahead', SEC + 240, NOW + 240_000],
  ];
  for (const [what, timestamp, expected] of usable) {
    it(`uses ${what} as the device time`, () => {
      const { p } = make();
      const out = p.handleDevice(topics.environment(), json({ timestamp, temperature: 20 }));
      assert.equal(out.record!.timeMs, expected);
      assert.equal((out.record as SensorRecord).deviceTimeRaw, undefined);
      assert.equal(out.clockWarning, undefined);
    });
  }

  it('takes its window from the options', () => {
    const { p } = make({ clockWindow: { pastMs: 3_600_000, futureMs: 0 } });
    assert.equal(p.handleDevice(topics.status(), json({ timestamp: SEC - 7200 })).record!.timeMs, NOW);
    // The second record without a usable time of the device: a second on, to be a row of its own.
    assert.equal(p.handleDevice(topics.status(), json({ timestamp: SEC + 1, battery: 1 })).record!.timeMs, NOW + 1000);
    assert.equal(p.handleDevice(topics.status(), json({ timestamp: SEC - 60, battery: 2 })).record!.timeMs, NOW - 60_000);
  });
});

describe('mqtt-processor: two cameras with the same eventId (issue 13)', () => {
  it("pairs each stop with its own camera's start", () => {
    const { p } = make();
    const [a, b] = [CAMERA, CAMERA_2];
    const at = (s: number) => NOW / 1000 - 100 + s;
    p.handleDevice(topics.start(a), json(activity('evt_same', at(0))));
    p.handleDevice(topics.start(b), json(activity('evt_same', at(5))));
    const stopB = p.handleDevice(topics.stop(b), json(activity('evt_same', at(7)))).record as ActivityRecord;
    const stopA = p.handleDevice(topics.stop(a), json(activity('evt_same', at(20)))).record as ActivityRecord;
    assert.equal(stopB.deviceId, b);
    assert.equal(stopB.startMs, at(5) * 1000, "B's stop pairs with B's start");
    assert.equal(stopA.deviceId, a);
    assert.equal(stopA.startMs, at(0) * 1000, "A's start was not consumed by B's stop");
  });
});

describe('mqtt-processor: a pending offline alert survives a restart (issue 13)', () => {
  it('sends the offline alert after the rest of the debounce for a device stored as disconnected but not announced', async () => {
    const { p, later } = make({ debounceMs: 60_000 });
    // went offline 59.99 s before "now", the user was told it was online
    p.remember(CAMERA, { deviceType: 'hive-cam', name: 'Garage', connected: false, announced: 'online', disconnectedMs: NOW - 59_990 });
    await until(() => later.length > 0);
    const alert = later[0]!.alerts[0] as Alert;
    assert.equal(alert.kind, 'camera-offline');
    assert.equal(alert.deviceName, 'Garage');
    assert.deepEqual(later[0]!.record, {
      kind: 'connection-alert',
      deviceId: CAMERA,
      deviceType: 'hive-cam',
      timeMs: NOW - 59_990,
      announced: 'offline',
    });
    p.close();
  });

  it('sends nothing again for a device whose offline alert is recorded, or that reconnects in time', async () => {
    const { p, later } = make({ debounceMs: 20 });
    p.remember(CAMERA, { deviceType: 'hive-cam', connected: false, announced: 'offline', disconnectedMs: NOW - 1000 });
    p.remember(CAMERA_2, { deviceType: 'hive-cam', connected: false, announced: 'online', disconnectedMs: NOW });
    p.handleDevice(topics.connection(CAMERA_2), json({ status: 'connected' }));
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(later, []);
    p.close();
  });

  it('marks the connection record that raised an alert at once, so the store knows what the user was told', () => {
    const { p } = make();
    const online = p.handleDevice(topics.connection(), json({ status: 'connected' })).record as ConnectionRecord;
    assert.equal(online.announced, 'online');
    const offline = p.handleDevice(topics.connection(), json({ status: 'disconnected' })).record as ConnectionRecord;
    assert.equal(offline.announced, 'offline', 'debounce 0: told at once');
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('mqtt-processor: VBC01 payloads as the firmware sends them (vbc01-protocol.md §5)', () => {
  it('reads a Will without status, or a bare DISCONNECT, as offline, and "online" too', () => {
    const { p } = make();
    for (const payload of [json({ eventType: 'DISCONNECT' }), 'DISCONNECT', json({ status: 'online' }), json({ status: 5 })]) {
      const r = p.handleDevice(topics.connection(), payload).record as ConnectionRecord;
      assert.equal(r.kind, 'connection');
      assert.equal(r.status, 'disconnected');
    }
    assert.equal((p.handleDevice(topics.connection(), json({ status: 'Connected' })).record as ConnectionRecord).status, 'connected');
  });

  it('stores another activity level as a start without an alert, and an "end" as a stop', () => {
    const { p } = make();
    const other = p.handleDevice(`prod/device/message/hive-cam/${CAMERA}/activity/detected`, json({ eventId: 'e9' }));
    assert.deepEqual([other.record!.kind, (other.record as ActivityRecord).level, other.alerts.length], ['activity-start', 'detected', 0]);
    const end = p.handleDevice(`prod/device/message/hive-cam/${CAMERA}/activity/end`, json({ eventId: 'e9' }));
    assert.equal(end.record!.kind, 'activity-stop');
    const byType = p.handleDevice(`prod/device/message/hive-cam/${CAMERA}/activity/start`, json({ eventId: 'e10', eventType: 'STOP' }));
    assert.equal(byType.record!.kind, 'activity-stop');
  });

  it('names an event without an id after the camera and its time, and keeps its confidence as sent', () => {
    const { p } = make();
    const t = NOW / 1000 - 30;
    const r = p.handleDevice(topics.start(), json({ timestamp: t, confidence: 72 })).record as ActivityRecord;
    assert.equal(r.eventId, `activity_${CAMERA}_${t}`);
    assert.equal(r.confidence, 72);
    assert.equal(r.activityType, 'MOTION');
  });

  it('ignores a battery, radio or ethernet that is not an object, and takes the IP from ethernet', () => {
    const { p } = make();
    const r = p.handleDevice(topics.status(), json({ battery: 'mains', radio: [1], ethernet: { ipAddress: '10.1.2.3' } }))
      .record as HeartbeatRecord;
    assert.deepEqual(
      [r.kind, r.batteryLevel, r.signalStrength, r.ipAddress, r.online],
      ['heartbeat', undefined, undefined, '10.1.2.3', true],
    );
    const asleep = p.handleDevice(topics.status(), json({ status: 'SLEEPING' })).record as HeartbeatRecord;
    assert.deepEqual([asleep.status, asleep.online], ['sleeping', false]);
  });

  it('keeps a camera/state whose mode it does not know as a heartbeat', () => {
    const { p } = make();
    const out = p.handleDevice(topics.state(), json({ mode: 'NIGHT_WATCH' }));
    assert.equal(out.rejected, undefined);
    assert.equal(out.record!.kind, 'camera-state');
    assert.equal((out.record as { mode?: string }).mode, undefined);
  });
});

describe('mqtt-processor: command envelope', () => {
  it('builds sound/play with the soundType and sound/stop with the envelope alone', () => {
    const { p } = make();
    p.handleDevice(topics.connection(), json(connected()));
    const play = p.handleCommand({ action: 'sound-play', deviceId: CAMERA, soundType: 'police_siren' });
    assert.equal(play.ok, true);
    if (!play.ok) return;
    assert.equal(play.command.topic, `prod/honeycomb/${CAMERA}/sound/play`);
    assert.equal((play.command.payload as { soundType: string }).soundType, 'POLICE_SIREN');
    const stop = p.handleCommand({ action: 'sound-stop', deviceId: CAMERA });
    assert.equal(stop.ok, true);
    if (!stop.ok) return;
    assert.equal(stop.command.topic, `prod/honeycomb/${CAMERA}/sound/stop`);
    assert.deepEqual(Object.keys(stop.command.payload).sort(), ['creationTimestamp', 'requestId', 'sourceId', 'sourceType']);
  });
});
