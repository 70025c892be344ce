/**
 * WS-Discovery against a fake responder on loopback (unicast: the probe's
 * destination is configurable; the multicast group is discovery.multicast.test.ts).
 * The API route is tested on the ipcam router served by a real HTTP server.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import express from 'express';
import { ipcamRouter, NOTHING_DISCOVERED } from '../../../nodes/ipcam/api';
import type { CameraSet } from '../../../nodes/ipcam/camera-set';
import { discover, MAX_REPLY_BYTES, parseProbeMatches } from '../../../nodes/ipcam/discovery';
import { FakeDiscoveryResponder } from '../../support/fake-ws-discovery';

const PORCH = { uuid: 'aaaa-1', xaddr: 'http://192.168.1.50:8000/onvif/device_service', name: 'Porch Cam', hardware: 'RLC-510A' };
const GATE = {
  uuid: 'bbbb-2',
  xaddr: 'http://192.168.1.51/onvif/device_service http://[fe80::1]/onvif/device_service',
  name: 'Gate',
  hardware: 'DS-2CD',
};

describe('WS-Discovery', () => {
  const responders: FakeDiscoveryResponder[] = [];
  after(async () => Promise.all(responders.map((r) => r.close())));
  const responder = async (...args: ConstructorParameters<typeof FakeDiscoveryResponder>) => {
    const r = new FakeDiscoveryResponder(...args);
    await r.start();
    responders.push(r);
    return r;
  };

  it('probes for video transmitters and lists each camera that answers once, with its address, name and hardware', async () => {
    const r = await responder([PORCH, GATE]);
    const found = await discover({ destination: r.destination, durationMs: 1500 });
    assert.ok(r.probes.length >= 1);
    assert.deepEqual(
      found
        .map((c) => ({ endpoint: c.endpoint, host: c.host, port: c.port, name: c.name, hardware: c.hardware }))
        .sort((a, b) => a.host.localeCompare(b.host)),
      [
        { endpoint: 'urn:uuid:aaaa-1', host: '192.168.1.50', port: 8000, name: 'Porch Cam', hardware: 'RLC-510A' },
        { endpoint: 'urn:uuid:bbbb-2', host: '192.168.1.51', port: 80, name: 'Gate', hardware: 'DS-2CD' },
      ],
    );
    assert.equal(found.find((c) => c.name === 'Gate')!.xaddrs.length, 2);
  });

  it('ignores garbage, oversized replies, replies with entities and answers to another probe, without a crash', async () => {
    const r = await responder([PORCH], ['garbage', 'oversized', 'entity', 'other-probe']);
    const found = await discover({ destination: r.destination, durationMs: 1500 });
    assert.deepEqual(
      found.map((c) => c.endpoint),
      ['urn:uuid:aaaa-1'],
    );
  });

  it('parses nothing from a reply over the size bound or without a ProbeMatch', () => {
    const id = 'urn:uuid:x';
    assert.deepEqual(parseProbeMatches(Buffer.alloc(MAX_REPLY_BYTES + 1, 0x20), id, 'a'), []);
    assert.deepEqual(parseProbeMatches(Buffer.from('<a:RelatesTo>urn:uuid:x</a:RelatesTo><Hello/>'), id, 'a'), []);
    assert.deepEqual(
      parseProbeMatches(Buffer.from('<d:ProbeMatch><d:XAddrs>javascript:alert(1) ftp://x/</d:XAddrs></d:ProbeMatch>'), id, 'a'),
      [],
    );
  });

  it('finds nothing when nobody answers', async () => {
    const silent = await responder([]);
    assert.deepEqual(await discover({ destination: silent.destination, durationMs: 600 }), []);
  });
});

describe('POST /api/ipcams/discover', () => {
  let server: Server | undefined;
  const responders: FakeDiscoveryResponder[] = [];
  after(async () => {
    server?.close();
    await Promise.all(responders.map((r) => r.close()));
  });

  async function serve(devices: (typeof PORCH)[]): Promise<string> {
    const r = new FakeDiscoveryResponder(devices);
    await r.start();
    responders.push(r);
    const app = express();
    app.use(
      '/api/ipcams',
      ipcamRouter({
        cameras: { list: () => [], get: () => undefined } as unknown as CameraSet,
        ffprobePath: 'ffprobe',
        log: () => undefined,
        ready: Promise.resolve(),
        discover: (ms) => discover({ destination: r.destination, durationMs: ms }),
      }),
    );
    server?.close();
    server = createServer(app);
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ipcams`;
  }
  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('lists the cameras that answered', async () => {
    const base = await serve([PORCH]);
    const res = await post(`${base}/discover`, { seconds: 1 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { cameras: Array<{ host: string; port: number; name: string }>; note?: string };
    assert.deepEqual(
      body.cameras.map((c) => [c.host, c.port, c.name]),
      [['192.168.1.50', 8000, 'Porch Cam']],
    );
    assert.equal(body.note, undefined);
  });

  it('says why nothing may be found: only the same LAN segment', async () => {
    const base = await serve([]);
    const body = (await (await post(`${base}/discover`, { seconds: 1 })).json()) as { cameras: unknown[]; note: string };
    assert.deepEqual(body.cameras, []);
    assert.equal(body.note, NOTHING_DISCOVERED);
    assert.match(body.note, /same|own LAN segment/);
  });

  it('refuses a bad duration with a reason', async () => {
    const base = await serve([]);
    for (const seconds of [0, 11, 'soon', -1]) {
      const res = await post(`${base}/discover`, { seconds });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /seconds must be a number from 1 to 10/);
    }
  });
});
