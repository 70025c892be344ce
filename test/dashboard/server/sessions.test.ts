/**
 * Dashboard logins (dashboard/server/sessions.ts), its settings (dashboard/server/dashboard-config.ts) and
 * the live feed's translation of store records (nodes/dashboard-feed).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { dashboardConfig } from '../../../dashboard/server/dashboard-config';
import { clearedCookie, readCookie, REMEMBER_MS, SESSION_MS, SessionManager, sessionCookie } from '../../../dashboard/server/sessions';
import { feedMessageFor, recordsIn } from '../../../nodes/dashboard-feed/feed-translate';
import { tempDir } from '../../support/tmp';

const HASH = bcrypt.hashSync('right-password', 4);
const users = () => new Map([['alice', HASH]]);

function manager(extra: Partial<ConstructorParameters<typeof SessionManager>[0]> = {}) {
  let now = 1_800_000_000_000;
  const m = new SessionManager({ secret: 'test-secret', users: users(), now: () => now, ...extra });
  return { m, advance: (ms: number) => (now += ms), now: () => now };
}

async function loggedIn(m: SessionManager, remember = false) {
  const r = await m.login('alice', 'right-password', remember, '10.0.0.1');
  assert.ok(r.ok);
  return r;
}

describe('SessionManager: logins and cookies', () => {
  it('refuses a wrong password or an unknown user with the same answer, and accepts the right one', async () => {
    const { m } = manager();
    assert.deepEqual(await m.login('alice', 'wrong', false, 'a'), { ok: false, status: 401, error: 'wrong user name or password' });
    assert.deepEqual(await m.login('mallory', 'right-password', false, 'a'), {
      ok: false,
      status: 401,
      error: 'wrong user name or password',
    });
    const r = await loggedIn(m);
    assert.equal(r.session.user, 'alice');
    assert.equal(m.verify(r.cookie)?.id, r.session.id);
  });

  it('makes a browser-session login end after 12 hours and a remembered one after 30 days', async () => {
    const { m, advance } = manager();
    const short = await loggedIn(m, false);
    const long = await loggedIn(m, true);
    assert.equal(short.session.expiresMs - short.session.issuedMs, SESSION_MS);
    assert.equal(long.session.expiresMs - long.session.issuedMs, REMEMBER_MS);
    advance(SESSION_MS + 1);
    assert.equal(m.verify(short.cookie), undefined);
    assert.ok(m.verify(long.cookie));
    advance(REMEMBER_MS);
    assert.equal(m.verify(long.cookie), undefined);
  });

  it('refuses a cookie that was changed, signed with another secret, or garbage', async () => {
    const { m } = manager();
    const { cookie } = await loggedIn(m);
    const [body, mac] = cookie.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), u: 'alice', e: 9e15 }));
    assert.equal(m.verify(`${forged.toString('base64url')}.${mac}`), undefined);
    const other = new SessionManager({ secret: 'another-secret', users: users() });
    assert.equal(other.verify(cookie), undefined);
    for (const junk of ['', 'x', 'a.b', `${body}.`, '.'.repeat(3)]) assert.equal(m.verify(junk), undefined);
  });

  it('survives a restart (same secret), but not a password change or the user being removed', async () => {
    const { m } = manager();
    const { cookie } = await loggedIn(m, true);
    assert.ok(new SessionManager({ secret: 'test-secret', users: users() }).verify(cookie), 'a new process accepts it');
    const changed = new SessionManager({ secret: 'test-secret', users: new Map([['alice', bcrypt.hashSync('new-password', 4)]]) });
    assert.equal(changed.verify(cookie), undefined);
    assert.equal(new SessionManager({ secret: 'test-secret', users: new Map() }).verify(cookie), undefined);
  });

  it('keeps a logout across restarts in the revocation file', async () => {
    const revokedFile = join(tempDir(), 'logouts.json');
    const { m } = manager({ revokedFile });
    const a = await loggedIn(m, true);
    const b = await loggedIn(m, true);
    m.revoke(a.session);
    assert.equal(m.verify(a.cookie), undefined);
    assert.ok(m.verify(b.cookie), 'only that session ends');
    const restarted = new SessionManager({ secret: 'test-secret', users: users(), revokedFile });
    assert.equal(restarted.verify(a.cookie), undefined);
    assert.ok(restarted.verify(b.cookie));
  });

  it('gives each session its own CSRF token and checks it', async () => {
    const { m } = manager();
    const a = await loggedIn(m);
    const b = await loggedIn(m);
    const token = m.csrfToken(a.session);
    assert.ok(m.checkCsrf(a.session, token));
    assert.ok(!m.checkCsrf(a.session, m.csrfToken(b.session)), "another session's token");
    assert.ok(!m.checkCsrf(a.session, undefined));
    assert.ok(!m.checkCsrf(a.session, ''));
    assert.ok(!m.checkCsrf(a.session, [token, token]), 'a repeated header');
  });

  it('blocks an address after five failures (429 with the wait), even for the right password; others go on', async () => {
    const { m, advance } = manager();
    for (let i = 0; i < 5; i++) assert.equal((await m.login('alice', 'wrong', false, 'attacker')).ok, false);
    const blocked = await m.login('alice', 'right-password', false, 'attacker');
    assert.equal(blocked.ok, false);
    assert.equal(!blocked.ok && blocked.status, 429);
    assert.ok(!blocked.ok && blocked.status === 429 && blocked.retryAfter > 0 && blocked.retryAfter <= 300);
    assert.equal((await m.login('alice', 'right-password', false, 'someone-else')).ok, true);
    advance(5 * 60_000 + 1);
    assert.equal((await m.login('alice', 'right-password', false, 'attacker')).ok, true, 'the block ends');
  });
});

describe('session cookie header', () => {
  it('is HttpOnly and SameSite=Strict; Secure only over TLS; Max-Age only when remembered', () => {
    assert.equal(sessionCookie('v', { secure: false }), 'picam_session=v; Path=/; HttpOnly; SameSite=Strict');
    assert.equal(
      sessionCookie('v', { secure: true, maxAgeMs: REMEMBER_MS }),
      'picam_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000; Secure',
    );
    assert.match(clearedCookie(true), /^picam_session=; .*Max-Age=0; Secure$/);
  });

  it('is read from a Cookie header among others', () => {
    assert.equal(readCookie('a=1; picam_session=abc.def; b=2', 'picam_session'), 'abc.def');
    assert.equal(readCookie('xpicam_session=1', 'picam_session'), undefined);
    assert.equal(readCookie(undefined, 'picam_session'), undefined);
  });
});

describe('dashboard settings', () => {
  it('takes the API user and more users, tokens, the WebRTC URL and MJPEG previews', () => {
    const problems: string[] = [];
    const hash2 = bcrypt.hashSync('x', 4);
    const c = dashboardConfig(
      {
        PICAM_DASHBOARD_USERS: `bob:${hash2}`,
        PICAM_API_TOKENS: `ci:${'ab'.repeat(32)}`,
        PICAM_WEBRTC_URL: 'https://cams.example.org:8889/',
        PICAM_DASHBOARD_MJPEG: 'picam-2=http://pi2.local:1880/picam/preview',
      },
      { open: false, apiUser: 'viewer', apiHash: HASH },
      problems,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual([...c.users.keys()], ['viewer', 'bob']);
    assert.deepEqual(c.tokens, [{ name: 'ci', sha256: 'ab'.repeat(32), role: 'admin' }]);
    assert.deepEqual(
      [...c.roles],
      [
        ['viewer', 'admin'],
        ['bob', 'admin'],
      ],
      'admins unless an entry names a role',
    );
    assert.equal(c.webrtcUrl, 'https://cams.example.org:8889');
    assert.deepEqual(c.mjpeg, { 'picam-2': 'http://pi2.local:1880/picam/preview' });
  });

  it('takes a role as a third field of a user or token entry (issue 23)', () => {
    const problems: string[] = [];
    const c = dashboardConfig(
      { PICAM_DASHBOARD_USERS: `vera:${HASH}:viewer,otto:${HASH}:operator`, PICAM_API_TOKENS: `wall:${'cd'.repeat(32)}:viewer` },
      { open: false },
      problems,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(Object.fromEntries(c.roles), { vera: 'viewer', otto: 'operator' });
    assert.equal(c.users.get('vera'), HASH);
    assert.deepEqual(c.tokens, [{ name: 'wall', sha256: 'cd'.repeat(32), role: 'viewer' }]);
    dashboardConfig(
      { PICAM_DASHBOARD_USERS: `root:${HASH}:superuser`, PICAM_API_TOKENS: `x:${'cd'.repeat(32)}:boss` },
      { open: false },
      problems,
    );
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /role "superuser" must be one of viewer, operator, admin/);
    assert.match(problems[1]!, /\[:viewer\|operator\|admin\]/);
  });

  it('reports bad entries without repeating what may be a secret', () => {
    const problems: string[] = [];
    dashboardConfig(
      {
        PICAM_DASHBOARD_USERS: 'bob:plaintext-password',
        PICAM_API_TOKENS: 'ci:the-token-itself',
        PICAM_WEBRTC_URL: 'cams:8889',
        PICAM_DASHBOARD_MJPEG: 'no-url',
      },
      { open: false },
      problems,
    );
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(!problems.join('\n').includes('plaintext-password') && !problems.join('\n').includes('the-token-itself'));
  });
});

describe('live feed messages', () => {
  it('turns store records into browser messages, without raw payloads, and skips dead letters', () => {
    assert.deepEqual(
      feedMessageFor({ kind: 'sensor', deviceId: 'pi', deviceType: 'picam', timeMs: 5, temperature: 21.5, humidity: 40, pressure: 1000 }),
      { type: 'sensor', deviceId: 'pi', deviceType: 'picam', timeMs: 5, temperature: 21.5, humidity: 40, pressure: 1000 },
    );
    const stop = feedMessageFor({
      kind: 'activity-stop',
      deviceId: 'cam',
      deviceType: 'hive-cam',
      timeMs: 12_900,
      eventId: 'e1',
      activityType: 'MOTION',
      startMs: 1_100,
    });
    assert.equal(stop?.type === 'event-end' && stop.durationSeconds, 11, 'whole seconds, as the store counts them');
    const conn = feedMessageFor({
      kind: 'connection',
      deviceId: 'cam',
      deviceType: 'hive-cam',
      timeMs: 1,
      status: 'connected',
      raw: '{secret}',
    });
    assert.ok(conn && !('raw' in conn));
    assert.equal(feedMessageFor({ kind: 'dead-letter', timeMs: 1, source: 't', reason: 'r', payload: 'p', payloadBytes: 1 }), undefined);
    assert.deepEqual(
      feedMessageFor({ kind: 'stream-health', deviceId: 'picam-1', deviceType: 'mediamtx', timeMs: 2, online: true, readers: 1 }),
      { type: 'stream-health', path: 'picam-1', timeMs: 2, online: true, readers: 1, inboundKbps: undefined, outboundKbps: undefined },
    );
  });

  it('takes one record or an array, and ignores what is not a record', () => {
    const r = { kind: 'sensor', deviceId: 'pi', deviceType: 'picam', timeMs: 1 };
    assert.equal(recordsIn(r).length, 1);
    assert.equal(recordsIn([r, r, 'x', null, 3]).length, 2);
    assert.equal(recordsIn('text').length, 0);
  });
});
