/**
 * mediamtx-health in a real Node-RED runtime against the fake MediaMTX, whose
 * every answer is checked against MediaMTX's OpenAPI file.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import healthNode from '../../../nodes/mediamtx-health/mediamtx-health';
import serverNode from '../../../nodes/mediamtx-server/mediamtx-server';
import { FakeMediamtx } from '../../support/fake-mediamtx';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

let fake: FakeMediamtx;
beforeEach(async () => {
  fake = await FakeMediamtx.start({ username: 'monitor', password: 'monitor-secret' });
});
afterEach(async () => {
  await fake.close();
  assert.deepEqual(fake.contractErrors, [], 'every answer matched the OpenAPI file');
});

async function load(opts: { apiUrl?: string; password?: string } = {}) {
  await helper.load(
    [serverNode, healthNode],
    [
      { id: 'mtx', type: 'mediamtx-server', apiUrl: opts.apiUrl ?? fake.url, timeoutSeconds: 6 },
      {
        id: 'health',
        type: 'mediamtx-health',
        server: 'mtx',
        intervalSeconds: 1,
        graceSeconds: 1.5,
        summarySeconds: 60,
        wires: [['changes'], ['alerts'], ['records']],
      },
      { id: 'changes', type: 'helper' },
      { id: 'alerts', type: 'helper' },
      { id: 'records', type: 'helper' },
    ],
    { mtx: { user: 'monitor', password: opts.password ?? 'monitor-secret' } },
  );
  return { changes: new Collector('changes'), alerts: new Collector('alerts'), records: new Collector('records') };
}

describe('mediamtx-health node', () => {
  it('reports a stream coming up, records its health, and alerts once when it stays down and when it is back', async () => {
    fake.setPath({ name: 'picam-1', online: true, readers: [{ type: 'webRTCSession', id: 'f47ac10b-58cc-4372-a567-0e02b2c3d479' }] });
    const { changes, alerts, records } = await load();
    await until('appeared', () => changes.msgs.find((m) => m.topic === 'stream/appeared'), 5000);
    const rec = await until('a health record', () => records.msgs.find((m) => m.payload.deviceId === 'picam-1'), 5000);
    assert.ok(
      fake.requests.some((r) => r.startsWith('/v3/info')),
      'asks the server for its version',
    );
    assert.deepEqual(
      { kind: rec.payload.kind, online: rec.payload.online, readers: rec.payload.readers },
      { kind: 'stream-health', online: true, readers: 1 },
    );

    fake.setPath({ name: 'picam-1', online: false });
    await until('offline change', () => changes.msgs.find((m) => m.topic === 'stream/offline'), 5000);
    const down = await until('stream-down alert', () => alerts.msgs.find((m) => m.payload.kind === 'stream-down'), 8000);
    assert.equal(down.payload.severity, 'critical');
    assert.equal(down.payload.stream.path, 'picam-1');
    fake.setPath({ name: 'picam-1', online: true });
    const up = await until('stream-up alert', () => alerts.msgs.find((m) => m.payload.kind === 'stream-up'), 8000);
    assert.ok(up.payload.stream.downForMs >= 1500);
    assert.equal(alerts.msgs.filter((m) => m.payload.kind === 'stream-down').length, 1, 'one alert per outage');
  });

  it('says the credentials are wrong, and alerts after the grace period', async () => {
    const { alerts } = await load({ password: 'wrong' });
    const statuses = spy('health', 'status');
    await until('unauthorized on the status', () => statuses.some((s) => /unauthorized/.test(JSON.stringify(s.args))), 15_000);
    const alert = await until('server alert', () => alerts.msgs.find((m) => m.payload.kind === 'text'), 20_000);
    assert.equal(alert.payload.severity, 'critical');
    assert.match(alert.payload.text, /refused the credentials/);
  });

  it('is off, and says so, without an API URL', async () => {
    await load({ apiUrl: '' });
    const errors = spy('health', 'error');
    node('health').receive({ payload: 'poll' });
    await until('error', () => errors.length === 1, 3000);
    assert.match(text(errors[0]!), /stream health|mediamtx-health is off: no MediaMTX API URL/);
  });
});
