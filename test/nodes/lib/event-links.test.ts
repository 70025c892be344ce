/** Signed event links (issue 19): what verifies, and why the rest is refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventFragment, eventLinkUrl, signEventLink, verifyEventLink } from '../../../nodes/lib/event-links';

const SECRET = 'event-link-test-secret';
const REF = { cameraId: 'front-door', eventId: 'evt_1700000000', timeMs: 1_764_205_323_000 };
const NOW = 1_764_205_400_000;
const query = (link: string) => new URL(link, 'http://x').searchParams;

describe('event links', () => {
  it('verifies a link made with the same secret until it expires', () => {
    const link = eventLinkUrl('https://cams.example.org/', SECRET, REF, NOW + 60_000);
    assert.ok(link.startsWith('https://cams.example.org/dashboard/event?'));
    assert.deepEqual(verifyEventLink(SECRET, query(link), NOW), { ok: true, ...REF, expiresMs: NOW + 60_000 });
    assert.equal(eventFragment(REF), '#event=front-door/evt_1700000000/1764205323000');
  });

  it('refuses a changed camera, event, time or expiry, and another secret, with 403', () => {
    const q = new URLSearchParams(signEventLink(SECRET, REF, NOW + 60_000));
    for (const [k, v] of [
      ['c', 'back-door'],
      ['e', 'evt_2'],
      ['t', '1'],
      ['x', String(NOW + 10 * 86_400_000)],
    ] as const) {
      const changed = new URLSearchParams(q);
      changed.set(k, v);
      const r = verifyEventLink(SECRET, changed, NOW);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.status, 403, `changed ${k}`);
    }
    const other = verifyEventLink('another-secret', q, NOW);
    assert.equal(!other.ok && other.status, 403);
    const unsigned = new URLSearchParams(q);
    unsigned.delete('s');
    assert.equal((verifyEventLink(SECRET, unsigned, NOW) as { status: number }).status, 403);
  });

  it('refuses an expired link with 410 and a malformed one with 400', () => {
    const q = new URLSearchParams(signEventLink(SECRET, REF, NOW - 1));
    const expired = verifyEventLink(SECRET, q, NOW);
    assert.deepEqual(expired, { ok: false, status: 410, reason: 'the link has expired: open the event from the dashboard' });
    for (const bad of ['', 'c=..%2F..&e=x&t=1&x=2&s=y', 'c=cam&e=e&t=soon&x=2&s=y', 'c=cam&e=%0A&t=1&x=2&s=y']) {
      const r = verifyEventLink(SECRET, new URLSearchParams(bad), NOW);
      assert.equal(!r.ok && r.status, 400, bad);
    }
  });

  it('signs a picture link with its own key: it opens no event, and an event link opens no picture', () => {
    const picture = new URLSearchParams(signEventLink(SECRET, REF, NOW + 60_000, 'picture'));
    assert.equal(verifyEventLink(SECRET, picture, NOW, 'picture').ok, true);
    assert.equal((verifyEventLink(SECRET, picture, NOW) as { status: number }).status, 403);
    const event = new URLSearchParams(signEventLink(SECRET, REF, NOW + 60_000));
    assert.equal((verifyEventLink(SECRET, event, NOW, 'picture') as { status: number }).status, 403);
    assert.match(
      eventLinkUrl('https://cams.example.org/', SECRET, REF, NOW + 60_000, 'picture'),
      /^https:\/\/cams\.example\.org\/api\/media\/picture\?c=/,
    );
  });
});
