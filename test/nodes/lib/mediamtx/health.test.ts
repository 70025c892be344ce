import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ALERT_KINDS, ALERT_SEVERITIES, type Alert } from '../../../../nodes/lib/types';
import { MediamtxClient } from '../../../../nodes/lib/mediamtx/client';
import { StreamHealth } from '../../../../nodes/lib/mediamtx/health';
import { FakeMediamtx } from '../../../support/fake-mediamtx';

const GRACE = 30_000;
const T0 = 1_700_000_000_000;

let fake: FakeMediamtx;
let client: MediamtxClient;
let health: StreamHealth;
beforeEach(async () => {
  fake = await FakeMediamtx.start();
  client = new MediamtxClient({ apiUrl: fake.url, timeoutMs: 2000 });
  health = new StreamHealth({ graceMs: GRACE });
});
afterEach(async () => {
  await fake.close();
  assert.deepEqual(fake.contractErrors, []);
});

/** One poll at fake time `atMs` (the clock is the test's, the answers the fake's). */
const poll = async (atMs: number) => health.update(await client.paths(), T0 + atMs);
const alertsAt = (atMs: number) => health.alerts(T0 + atMs);
const pathHealth = (name: string) => health.summary().paths.find((p) => p.name === name);

/** The alert contract of nodes/lib/types.ts. */
function assertContract(a: Alert): void {
  assert.ok(ALERT_KINDS.includes(a.kind));
  assert.ok(ALERT_SEVERITIES.includes(a.severity));
  assert.equal(typeof a.deviceId, 'string');
  assert.equal(typeof a.deviceName, 'string');
  assert.ok(Number.isFinite(a.timeMs));
  assert.ok(a.text.length > 0 && !a.text.includes('\n'));
}

describe('StreamHealth', () => {
  it('reports a stream coming up, its bitrate, and readers joining', async () => {
    assert.deepEqual(await poll(0), []);
    fake.setPath({ name: 'front', online: false });
    assert.deepEqual(await poll(5_000), [{ type: 'appeared', path: 'front', online: false }]);
    fake.setPath({ name: 'front', online: true });
    assert.deepEqual(await poll(10_000), [{ type: 'online', path: 'front' }]);
    fake.addBytes('front', 1_250_000, 2_500_000); // in 10 s: 1000 and 2000 kbit/s
    fake.setPath({ name: 'front', readers: [{ type: 'webRTCSession', id: '0a4c2d6e-1f3b-4c5d-8e9f-a0b1c2d3e4f5' }] });
    assert.deepEqual(await poll(20_000), [{ type: 'readers', path: 'front', readers: 1, previous: 0 }]);
    const front = pathHealth('front');
    assert.equal(front?.inboundKbps, 1000);
    assert.equal(front?.outboundKbps, 2000);
    assert.deepEqual(front?.readersByType, { webRTCSession: 1 });
    assert.deepEqual(front?.size, { width: 1280, height: 720 });
    assert.deepEqual(health.summary().online, 1);
    assert.deepEqual(alertsAt(20_000), [], 'a stream that was never down raises nothing');
  });

  it('raises stream-down once after the grace period, and stream-up once when it returns', async () => {
    fake.setPath({ name: 'front' });
    await poll(0);
    fake.setPath({ name: 'front', online: false });
    assert.deepEqual(await poll(10_000), [{ type: 'offline', path: 'front' }]);
    assert.deepEqual(alertsAt(10_000 + GRACE - 1), [], 'still within the grace period');
    const [down, ...more] = alertsAt(10_000 + GRACE);
    assert.deepEqual(more, []);
    assert.ok(down);
    assertContract(down);
    assert.equal(down.kind, 'stream-down');
    assert.equal(down.severity, 'critical');
    assert.equal(down.deviceId, 'front');
    assert.equal(down.deviceName, 'front');
    assert.equal(down.timeMs, T0 + 10_000);
    assert.deepEqual(down.stream, { path: 'front', downForMs: GRACE });
    assert.match(down.text, /front is down/);
    await poll(60_000);
    assert.deepEqual(alertsAt(120_000), [], 'never repeated while it stays down');
    assert.deepEqual([health.summary().online, health.summary().offline], [0, 1]);

    fake.setPath({ name: 'front', online: true });
    assert.deepEqual(await poll(130_000), [{ type: 'online', path: 'front' }]);
    const [up, ...others] = alertsAt(130_000);
    assert.deepEqual(others, []);
    assert.ok(up);
    assertContract(up);
    assert.equal(up.kind, 'stream-up');
    assert.equal(up.timeMs, T0 + 130_000);
    assert.deepEqual(up.stream, { path: 'front', downForMs: 120_000 });
    assert.deepEqual(alertsAt(140_000), []);
  });

  it('raises nothing for an on-demand path that is idle because nobody watches, but does when a viewer waits for it', async () => {
    await client.putPath('ipcam-gate', { source: 'rtsp://10.0.0.9:554/main', sourceOnDemand: true, rtspTransport: 'tcp' });
    const pollOnDemand = async (atMs: number) => health.update(await client.paths(), T0 + atMs, await client.onDemandPaths());
    fake.setPath({ name: 'ipcam-gate' });
    await pollOnDemand(0);
    fake.setPath({ name: 'ipcam-gate', online: false, readers: [] }); // the last viewer left: MediaMTX closed the source
    await pollOnDemand(10_000);
    await pollOnDemand(10_000 + 5 * GRACE);
    assert.deepEqual(alertsAt(10_000 + 5 * GRACE), [], 'idle is not down');
    assert.equal(pathHealth('ipcam-gate')?.onDemand, true);

    // Someone watches, but the camera does not come up: that is an outage, counted from then.
    fake.setPath({ name: 'ipcam-gate', online: false, readers: [{ type: 'webRTCSession', id: '0a4c2d6e-1f3b-4c5d-8e9f-a0b1c2d3e4f5' }] });
    await pollOnDemand(200_000);
    assert.deepEqual(alertsAt(200_000 + GRACE - 1), []);
    assert.deepEqual(
      alertsAt(200_000 + GRACE).map((a) => a.kind),
      ['stream-down'],
    );
  });

  it('raises nothing when a stream returns within the grace period', async () => {
    fake.setPath({ name: 'front' });
    await poll(0);
    fake.setPath({ name: 'front', online: false });
    await poll(10_000);
    fake.setPath({ name: 'front', online: true });
    await poll(20_000);
    assert.deepEqual(alertsAt(100_000), []);
  });

  it('treats a path that is no longer listed as down, and alerts when it is published again', async () => {
    fake.setPath({ name: 'cams/door' });
    await poll(0);
    fake.removePath('cams/door');
    assert.deepEqual(await poll(5_000), [{ type: 'gone', path: 'cams/door' }]);
    assert.equal(pathHealth('cams/door')?.gone, true);
    const [down] = alertsAt(5_000 + GRACE);
    assert.equal(down?.kind, 'stream-down');
    assert.match(down?.text ?? '', /no longer published/);
    fake.setPath({ name: 'cams/door' });
    assert.deepEqual(await poll(60_000), [{ type: 'appeared', path: 'cams/door', online: true }]);
    assert.deepEqual(
      alertsAt(60_000).map((a) => [a.kind, a.stream]),
      [['stream-up', { path: 'cams/door', downForMs: 55_000 }]],
    );
  });

  it("raises nothing when a Pi's relay of a hosted camera ends because nobody watches, and nothing when it is relayed again", async () => {
    fake.setPath({ name: 'pi-1.door' });
    await poll(0);
    assert.equal(pathHealth('pi-1.door')?.onDemand, true);
    fake.removePath('pi-1.door');
    assert.deepEqual(await poll(5_000), [{ type: 'gone', path: 'pi-1.door' }]);
    assert.deepEqual(alertsAt(5_000 + GRACE * 10), []);
    fake.setPath({ name: 'pi-1.door' });
    assert.deepEqual(await poll(600_000), [{ type: 'appeared', path: 'pi-1.door', online: true }]);
    assert.deepEqual(alertsAt(600_000), []);
  });

  it('forgets a path that goes away without ever being online', async () => {
    fake.setPath({ name: 'idle', online: false });
    await poll(0);
    fake.removePath('idle');
    assert.deepEqual(await poll(5_000), [{ type: 'gone', path: 'idle' }]);
    assert.deepEqual(health.summary(), { paths: [], online: 0, offline: 0 });
    assert.deepEqual(alertsAt(100_000), []);
  });

  it('gives no negative bitrate when MediaMTX restarts and its counters go back to 0', async () => {
    fake.setPath({ name: 'front', inboundBytes: 5_000_000, outboundBytes: 9_000_000 });
    await poll(0);
    fake.restart();
    fake.addBytes('front', 10_000, 10_000);
    await poll(10_000);
    assert.equal(pathHealth('front')?.inboundKbps, undefined);
    assert.equal(pathHealth('front')?.outboundKbps, undefined);
    fake.addBytes('front', 125_000, 0);
    await poll(20_000);
    assert.equal(pathHealth('front')?.inboundKbps, 100);
    assert.equal(pathHealth('front')?.outboundKbps, 0);
  });

  it('reads the same from an older server', async () => {
    fake.legacyFields = true;
    fake.setPath({ name: 'front' });
    await poll(0);
    fake.setPath({ name: 'front', online: false });
    assert.deepEqual(await poll(1_000), [{ type: 'offline', path: 'front' }]);
    assert.equal(alertsAt(1_000 + GRACE)[0]?.kind, 'stream-down');
  });
});
