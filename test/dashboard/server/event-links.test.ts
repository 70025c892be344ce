/**
 * GET /dashboard/event: a signed link from an alert leads to the page (and its login) with the
 * event in the fragment; anything else is refused with its reason and the right status, never
 * a 500, whatever the query holds.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import express from 'express';
import { eventLinkHandler } from '../../../dashboard/server/event-links';
import { EVENT_LINK_PATH, signEventLink } from '../../../nodes/lib/event-links';

const SECRET = 'link-route-secret';
const REF = { cameraId: 'cam-1', eventId: 'evt:1.a', timeMs: 1_764_205_323_000 };
let server: Server;
let base = '';

before(async () => {
  const app = express();
  app.get(EVENT_LINK_PATH, eventLinkHandler(SECRET));
  app.get('/nosecret', eventLinkHandler(''));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => server.close(r)));

const open = (q: string, path = EVENT_LINK_PATH) => fetch(`${base}${path}?${q}`, { redirect: 'manual' });

it('sends a valid link to the page with the event in the fragment, uncached and without a referrer', async () => {
  const res = await open(signEventLink(SECRET, REF, Date.now() + 60_000));
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), `/dashboard/#event=cam-1/${encodeURIComponent('evt:1.a')}/1764205323000`);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
});

it('refuses changed, expired and malformed links with 403, 410 and 400 and says why', async () => {
  const q = new URLSearchParams(signEventLink(SECRET, REF, Date.now() + 60_000));
  q.set('c', 'cam-2');
  const changed = await open(q.toString());
  assert.equal(changed.status, 403);
  assert.match(await changed.text(), /cannot be opened: the link was changed/);
  const expired = await open(signEventLink(SECRET, REF, Date.now() - 1000));
  assert.equal(expired.status, 410);
  assert.match(await expired.text(), /expired/);
  for (const bad of [
    '',
    'c=cam&c=cam2&e=x&t=1&x=2&s=y',
    `c=${'a'.repeat(5000)}&e=x&t=1&x=2&s=y`,
    'c=%E0%A4%A&e=x',
    't=1e99&x=-1&c=a&e=b',
  ]) {
    const res = await open(bad);
    assert.ok(res.status === 400 || res.status === 403, `${bad.slice(0, 40)}: ${res.status}`);
    assert.match(await res.text(), /cannot be opened/);
  }
  const noSecret = await open(signEventLink(SECRET, REF, Date.now() + 60_000), '/nosecret');
  assert.equal(noSecret.status, 404);
});
