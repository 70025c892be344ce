import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MediamtxClient, MediamtxError, type MediamtxErrorKind } from '../../../../nodes/lib/mediamtx/client';
import { ContractError, FakeMediamtx, validateAnswer } from '../../../support/fake-mediamtx';
import { freePort } from '../../../support/ports';

let fake: FakeMediamtx;
beforeEach(async () => {
  fake = await FakeMediamtx.start({ username: 'poller', password: 's3cret' });
});
afterEach(async () => {
  await fake.close();
  assert.deepEqual(fake.contractErrors, [], 'the fake sent an answer outside the MediaMTX contract');
});

const client = (over: Partial<ConstructorParameters<typeof MediamtxClient>[0]> = {}) =>
  new MediamtxClient({ apiUrl: fake.url, username: 'poller', password: 's3cret', timeoutMs: 2000, ...over });

function mediamtxError(kind: MediamtxErrorKind, message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof MediamtxError, `expected MediamtxError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };
}

describe('MediamtxClient', () => {
  it('adds a path configuration, replaces it when it exists, lists the on-demand ones and deletes it', async () => {
    const c = client();
    await c.putPath('ipcam-porch', { source: 'rtsp://10.0.0.5:554/main', sourceOnDemand: true, rtspTransport: 'tcp' });
    await c.putPath('ipcam-porch', { source: 'rtsp://10.0.0.6:554/main', sourceOnDemand: true, rtspTransport: 'tcp' });
    assert.equal(fake.configs.get('ipcam-porch')?.source, 'rtsp://10.0.0.6:554/main');
    await c.putPath('always-on', { source: 'publisher' });
    assert.deepEqual([...(await c.onDemandPaths())], ['ipcam-porch']);
    await c.deletePath('ipcam-porch');
    await c.deletePath('ipcam-porch'); // already gone: fine
    assert.deepEqual([...fake.configs.keys()], ['always-on']);
  });

  it('reads /v3/info', async () => {
    assert.deepEqual(await client().info(), { version: 'v1.20.0', started: fake.started });
  });

  it('fetches every page of /v3/paths/list', async () => {
    for (let i = 0; i < 250; i++) fake.setPath({ name: `cam${String(i).padStart(3, '0')}` });
    const paths = await client().paths();
    assert.equal(paths.length, 250);
    assert.equal(new Set(paths.map((p) => p.name)).size, 250);
    assert.deepEqual(
      fake.requests,
      [0, 1, 2].map((n) => `/v3/paths/list?page=${n}&itemsPerPage=100`),
    );
  });

  it('asks once when there are no paths', async () => {
    assert.deepEqual(await client().paths(), []);
    assert.equal(fake.requests.length, 1);
  });

  const front = {
    name: 'front',
    source: { type: 'rpiCameraSource', id: '' },
    readers: [
      { type: 'webRTCSession', id: '0a4c2d6e-1f3b-4c5d-8e9f-a0b1c2d3e4f5' },
      { type: 'webRTCSession', id: '1a4c2d6e-1f3b-4c5d-8e9f-a0b1c2d3e4f5' },
      { type: 'rtspSession', id: '2a4c2d6e-1f3b-4c5d-8e9f-a0b1c2d3e4f5' },
    ],
    inboundBytes: 1000,
    outboundBytes: 3000,
    inboundFramesInError: 2,
  };

  it('normalises v1.20 field names', async () => {
    fake.setPath(front);
    fake.setPath({ name: 'back', online: false });
    const [back, path] = await client().paths();
    assert.deepEqual(path, {
      name: 'front',
      available: true,
      online: true,
      sourceType: 'rpiCameraSource',
      tracks: ['H264'],
      readers: { webRTCSession: 2, rtspSession: 1 },
      inboundBytes: 1000,
      outboundBytes: 3000,
      framesInError: 2,
      size: { width: 1280, height: 720 },
    });
    assert.deepEqual(back, {
      name: 'back',
      available: false,
      online: false,
      tracks: [],
      readers: {},
      inboundBytes: 0,
      outboundBytes: 0,
      framesInError: 0,
    });
  });

  it('normalises the deprecated field names of older servers', async () => {
    fake.legacyFields = true;
    fake.setPath(front);
    const [path] = await client().paths();
    assert.deepEqual(path, {
      name: 'front',
      available: true,
      online: true,
      sourceType: 'rpiCameraSource',
      tracks: ['H264'],
      readers: { webRTCSession: 2, rtspSession: 1 },
      inboundBytes: 1000,
      outboundBytes: 3000,
      framesInError: 0,
    });
  });

  it('reports wrong or missing credentials as unauthorized', async () => {
    await assert.rejects(client({ password: 'wrong' }).info(), mediamtxError('unauthorized', /MediaMTX refused the credentials/));
    await assert.rejects(client({ username: undefined }).paths(), mediamtxError('unauthorized'));
  });

  it('reports an unknown route as not-found', async () => {
    await assert.rejects(client({ apiUrl: `${fake.url}/nope` }).info(), mediamtxError('not-found', /not found/));
  });

  it('reports a slow server as timeout', async () => {
    fake.delayMs = 1000;
    await assert.rejects(client({ timeoutMs: 100 }).info(), mediamtxError('timeout', /within 100 ms/));
  });

  it('reports a closed port as unreachable', async () => {
    const port = await freePort();
    await assert.rejects(client({ apiUrl: `http://127.0.0.1:${port}` }).paths(), mediamtxError('unreachable', /ECONNREFUSED/));
  });

  it('reports malformed JSON as bad-response with its first bytes', async () => {
    fake.malformed = '{"itemCount": 3, "pageCount": 1, "items": [{"name": "fr';
    await assert.rejects(client().paths(), mediamtxError('bad-response', /not JSON: "\{\\"itemCount\\": 3/));
  });
});

describe('the fake MediaMTX keeps to the OpenAPI contract', () => {
  it('rejects a path whose online is not a boolean', () => {
    assert.throws(
      () => validateAnswer('/v3/paths/list', 200, { itemCount: 1, pageCount: 1, items: [{ name: 'front', online: 'yes' }] }),
      (e: unknown) => e instanceof ContractError && /items\/0\/online must be boolean/.test(e.message),
    );
  });

  it('accepts null where the spec says nullable, and rejects negative counters', () => {
    validateAnswer('/v3/paths/get/{name}', 200, {
      name: 'front',
      source: null,
      onlineTime: null,
      tracks2: [{ codec: 'Opus', codecProps: null }],
    });
    assert.throws(() => validateAnswer('/v3/paths/get/{name}', 200, { name: 'front', inboundBytes: -1 }), ContractError);
  });

  it('refuses to send an answer that breaks the schema', async () => {
    fake.setPath({ name: 'front', override: { online: 'yes' } });
    await assert.rejects(client().paths(), MediamtxError);
    assert.equal(fake.contractErrors.length, 1);
    assert.match(fake.contractErrors[0]?.message ?? '', /online must be boolean/);
    fake.contractErrors.length = 0; // seen: afterEach checks there were no others
  });

  it('answers 404 for an unknown path, as MediaMTX does', async () => {
    const res = await fetch(`${fake.url}/v3/paths/get/nope`, {
      headers: { authorization: `Basic ${Buffer.from('poller:s3cret').toString('base64')}` },
    });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { status: 'error', error: 'path not found' });
  });
});
