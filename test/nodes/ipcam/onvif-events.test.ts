/**
 * The camera's own motion events over ONVIF (PullPoint) against the fake ONVIF
 * camera on loopback, through the ipcam node in a real Node-RED runtime:
 * motion becomes the same activity start/stop messages as the analyser's, with
 * the camera's id; the subscription is ended on close; a clock far off ours and
 * ONVIF off are one line on the state, the status and the check.
 * The camera's RTSP stream is not there (no RTSP server needed): the ONVIF
 * events do not depend on it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import express from 'express';
import { ipcamRouter } from '../../../nodes/ipcam/api';
import type { CameraSet } from '../../../nodes/ipcam/camera-set';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import { motionNotices, OnvifEvents } from '../../../nodes/ipcam/onvif-events';
import { FakeOnvif, type FakeOnvifOptions } from '../../support/fake-onvif';
import { freePort } from '../../support/ports';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const LOGIN = { username: 'admin', password: 'onvif-pw' };
const PROFILES: FakeOnvifOptions['profiles'] = [];

const fakes: FakeOnvif[] = [];
afterEach(async () => {
  await helper.unload();
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(o: Partial<FakeOnvifOptions> = {}): Promise<FakeOnvif> {
  const f = new FakeOnvif({ ...LOGIN, profiles: PROFILES, ...o });
  await f.start();
  fakes.push(f);
  return f;
}

async function load(onvif: string, motionSource = 'onvif') {
  const rtspPort = await freePort(); // nothing there: the stream stays offline, ONVIF events do not need it
  await helper.load(
    [ipcamNode],
    [
      {
        id: 'ipc',
        type: 'ipcam',
        name: 'Porch',
        deviceId: 'porch-1',
        subUrl: `rtsp://127.0.0.1:${rtspPort}/sub`,
        onvif,
        motionSource,
        apiPath: '/test/onvif-ipcams',
        wires: [['mqtt'], [], ['states']],
      },
      { id: 'mqtt', type: 'helper' },
      { id: 'states', type: 'helper' },
    ],
    { ipc: { user: LOGIN.username, password: LOGIN.password } },
  );
  return { mqtt: new Collector('mqtt'), states: new Collector('states'), warnings: spy('ipc', 'warn'), statuses: spy('ipc', 'status') };
}

const activity = (c: Collector) => c.msgs.filter((m) => /\/activity\/(start|stop)$/.test(m.topic));

describe("the camera's ONVIF motion events", () => {
  it('reads both motion topics and skips others', () => {
    const xml = `<wsnt:NotificationMessage><wsnt:Topic>tns1:VideoSource/MotionAlarm</wsnt:Topic><wsnt:Message><tt:Message><tt:Source><tt:SimpleItem Name="Source" Value="vs1"/></tt:Source><tt:Data><tt:SimpleItem Name="State" Value="true"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>
<wsnt:NotificationMessage><wsnt:Topic>tns1:RuleEngine/CellMotionDetector/Motion</wsnt:Topic><wsnt:Message><tt:Message><tt:Data><tt:SimpleItem Value="false" Name="IsMotion"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>
<wsnt:NotificationMessage><wsnt:Topic>tns1:VideoSource/GlobalSceneChange/ImagingService</wsnt:Topic><wsnt:Message><tt:Message><tt:Data><tt:SimpleItem Name="State" Value="true"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>
<wsnt:NotificationMessage><wsnt:Topic>tns1:VideoSource/MotionAlarm</wsnt:Topic><wsnt:Message><tt:Message><tt:Data><tt:SimpleItem Name="State" Value="maybe"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
    assert.deepEqual(
      motionNotices(xml).map((n) => n.motion),
      [true, false],
    );
  });

  it('become activity start and stop of the camera, in the analyser’s format, and are unsubscribed on close', async () => {
    const camera = await fake();
    const { mqtt } = await load(`127.0.0.1:${camera.port}`);
    await until('the PullPoint subscription', () => camera.subscriptions === 1, 15_000);

    camera.motion(true);
    const start = await until('activity/start', () => activity(mqtt)[0], 15_000);
    assert.equal(start.topic, 'prod/device/message/ipcam/porch-1/activity/start');
    assert.equal(start.deviceId, 'porch-1');
    assert.match(start.payload.eventId, /^evt_[0-9a-f]{32}$/);
    assert.equal(start.payload.activityType, 'MOTION');
    assert.equal(typeof start.payload.timestamp, 'number');

    // The cell detector saying motion too does not open a second event; the event ends when both are quiet.
    camera.motion(true, 'cell');
    camera.motion(false);
    camera.motion(false, 'cell');
    const stop = await until('activity/stop', () => activity(mqtt)[1], 15_000);
    assert.equal(stop.topic, 'prod/device/message/ipcam/porch-1/activity/stop');
    assert.equal(stop.payload.eventId, start.payload.eventId);
    assert.equal(activity(mqtt).length, 2);

    await helper.unload();
    assert.ok(camera.calls.includes('Unsubscribe'), camera.calls.join(','));
    assert.equal(camera.subscriptions, 0);
  });

  it('renew the subscription before it runs out, and unsubscribe on close', async () => {
    const camera = await fake();
    const changes: boolean[] = [];
    const events = new OnvifEvents(
      {
        target: { host: '127.0.0.1', port: camera.port, ...LOGIN },
        terminationSeconds: 2,
        pullSeconds: 1,
        backoff: { baseMs: 100, maxMs: 1000 },
      },
      { motion: (m) => changes.push(m), state: () => undefined },
    );
    events.start();
    try {
      await until('a Renew', () => camera.calls.includes('Renew'), 15_000);
      camera.motion(true);
      await until('motion', () => changes.length === 1, 15_000);
    } finally {
      await events.close();
    }
    assert.deepEqual(changes, [true, false], 'closing ends the motion it reported');
    assert.equal(camera.subscriptions, 0);
    assert.equal(camera.calls.filter((c) => c === 'CreatePullPointSubscription').length, 1, 'one subscription, renewed');
  });

  it('give a start and a stop for a motion that starts and ends within one pull', async () => {
    const camera = await fake();
    const { mqtt } = await load(`127.0.0.1:${camera.port}`);
    await until('the PullPoint subscription', () => camera.subscriptions === 1, 15_000);
    camera.motion(true, 'cell');
    camera.motion(false, 'cell');
    const [start, stop] = await until('start and stop', () => (activity(mqtt).length === 2 ? activity(mqtt) : undefined), 15_000);
    assert.deepEqual([start!.topic.split('/').at(-1), stop!.topic.split('/').at(-1)], ['start', 'stop']);
    assert.equal(stop!.payload.eventId, start!.payload.eventId);
  });

  it('raise nothing when the camera is not ARMED', async () => {
    const camera = await fake();
    const { mqtt } = await load(`127.0.0.1:${camera.port}`);
    await until('the PullPoint subscription', () => camera.subscriptions === 1, 15_000);
    node('ipc').receive({ topic: 'mode', payload: 'LIVESTREAMONLY' } as never);
    await until('LIVESTREAMONLY', () => mqtt.msgs.some((m) => /camera\/state$/.test(m.topic) && m.payload.mode === 'LIVESTREAMONLY'), 5000);
    camera.motion(true);
    camera.motion(false);
    await until('the events handled (and dropped)', () => camera.eventsHandled, 15_000);
    node('ipc').receive({ topic: 'mode', payload: 'ARMED' } as never);
    await until('ARMED', () => mqtt.msgs.some((m) => /camera\/state$/.test(m.topic) && m.payload.mode === 'ARMED'), 5000);
    camera.motion(true);
    await until('activity/start', () => activity(mqtt)[0], 15_000);
    assert.equal(activity(mqtt).length, 1);
  });

  it("say in one line that the camera's clock is off, on the state, the status and the log", async () => {
    // The camera reports a time an hour off (local time as UTC) but checks logins against the right one.
    const camera = await fake({ skewMs: 0, reportedSkewMs: 3600_000 });
    const { states, warnings, statuses } = await load(`127.0.0.1:${camera.port}`);
    const state = await until('the ONVIF error', () => states.msgs.find((m) => m.payload.onvifEvents?.error)?.payload, 15_000);
    assert.match(
      state.onvifEvents.error,
      new RegExp(
        `^ONVIF refused the login at 127\\.0\\.0\\.1:${camera.port}: the camera.s clock is off by (359\\d|360\\d) s \\(set its time, NTP\\), or the user or password is wrong$`,
      ),
    );
    assert.equal(state.onvifEvents.subscribed, false);
    await until('the warning', () => warnings.some((w) => text(w).includes('ONVIF events: ONVIF refused the login')), 5000);
    const status = await until(
      'the status',
      () => statuses.map((s) => String((s.args[0] as { text?: string }).text)).find((t) => /ONVIF/.test(t)),
      5000,
    );
    assert.match(status, /· ONVIF events: camera clock off by (359\d|360\d) s$/);
    assert.ok(!JSON.stringify(states.msgs).includes(LOGIN.password));
  });

  it('say in one line that ONVIF is off (nothing answers, or HTTP 404)', async () => {
    const port = await freePort();
    const { states } = await load(`127.0.0.1:${port}`);
    const state = await until('the ONVIF error', () => states.msgs.find((m) => m.payload.onvifEvents?.error)?.payload, 15_000);
    assert.equal(
      state.onvifEvents.error,
      `nothing answers ONVIF at 127.0.0.1:${port} (connection refused: is ONVIF enabled on the camera, and is this its ONVIF port?)`,
    );
    await helper.unload();

    const web = createServer((_req, res) => res.writeHead(404).end('not found'));
    await new Promise<void>((ok) => web.listen(0, '127.0.0.1', ok));
    try {
      const webPort = (web.address() as AddressInfo).port;
      const { states: s404 } = await load(`127.0.0.1:${webPort}`);
      const e = await until('the 404', () => s404.msgs.find((m) => m.payload.onvifEvents?.error)?.payload.onvifEvents.error, 15_000);
      assert.equal(e, `no ONVIF service at 127.0.0.1:${webPort} (HTTP 404: is ONVIF enabled on the camera?)`);
    } finally {
      web.closeAllConnections();
      web.close();
    }
  });

  it('say so when the camera has no Events service', async () => {
    const camera = await fake({ events: false });
    const { states } = await load(`127.0.0.1:${camera.port}`);
    const e = await until('the error', () => states.msgs.find((m) => m.payload.onvifEvents?.error)?.payload.onvifEvents.error, 15_000);
    assert.equal(e, `the camera at 127.0.0.1:${camera.port} offers no ONVIF events (no Events service)`);
  });
});

describe('the check of a camera whose motion comes from ONVIF', () => {
  let server: Server | undefined;
  after(() => server?.close());
  async function api(): Promise<string> {
    if (!server) {
      const app = express();
      app.use(
        '/api/ipcams',
        ipcamRouter({
          cameras: { list: () => [], get: () => undefined } as unknown as CameraSet,
          ffprobePath: 'ffprobe',
          log: () => undefined,
          ready: Promise.resolve(),
        }),
      );
      server = createServer(app);
      await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    }
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ipcams`;
  }
  const test = async (body: Record<string, unknown>) => {
    const res = await fetch(`${await api()}/test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { ok: boolean; error?: string; warnings: string[] } };
  };
  const rtsp = async () => `rtsp://127.0.0.1:${await freePort()}/sub`;

  it("shows the clock skew and ONVIF off in the check's result, in one line each", async () => {
    const skewed = await fake({ skewMs: 0, reportedSkewMs: 3600_000 });
    const r = await test({ subUrl: await rtsp(), ...LOGIN, onvif: `127.0.0.1:${skewed.port}`, motionSource: 'onvif' });
    assert.equal(r.status, 200);
    assert.ok(
      r.body.warnings.some((w) =>
        new RegExp(
          `^ONVIF events: ONVIF refused the login at 127\\.0\\.0\\.1:${skewed.port}: the camera's clock is off by (359\\d|360\\d) s`,
        ).test(w),
      ),
      r.body.warnings.join('\n'),
    );

    const port = await freePort();
    const off = await test({ subUrl: await rtsp(), ...LOGIN, onvif: `127.0.0.1:${port}`, motionSource: 'both' });
    assert.ok(
      off.body.warnings.some((w) => w.startsWith(`ONVIF events: nothing answers ONVIF at 127.0.0.1:${port}`)),
      off.body.warnings.join('\n'),
    );
  });

  it('refuses a motion source it does not know, or ONVIF without an address, with a reason', async () => {
    const bad = await test({ subUrl: await rtsp(), motionSource: 'radar' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error!, /motionSource must be one of analyser, onvif, both/);
    const none = await test({ subUrl: await rtsp(), motionSource: 'onvif' });
    assert.equal(none.status, 400);
    assert.match(none.body.error!, /needs the camera's ONVIF address/);
    const garbled = await test({ subUrl: await rtsp(), onvif: 'http://x/onvif', motionSource: 'both' });
    assert.equal(garbled.status, 400);
    assert.match(garbled.body.error!, /onvif must be the camera's ONVIF address/);
  });
});
