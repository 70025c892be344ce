/**
 * What a cluster's runtimes must agree on for logins (issue 21 item 5), on a real SQLite file
 * and a real PostgreSQL: failed logins counted atomically per client (two runtimes failing at
 * once count every failure, and block once), their retention, logouts kept with the session
 * list, and the camera gateway's enrolment window. On PostgreSQL a second store opened on the
 * same database stands for a second runtime.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FailureLimits } from '../../../../nodes/lib/failure-limiter';
import { LOGIN_FAILURES_KEEP_MS } from '../../../../nodes/lib/store/login-failures';
import { eachDialect } from '../../../support/stores';

const LIMITS: FailureLimits = { maxFailures: 10, windowMs: 60_000, blockMs: 300_000 };
const T = Date.UTC(2026, 11, 7, 9, 0, 0);
const session = (id: string, issuedMs = T) => ({ id, username: 'alice', client: '10.0.0.7', issuedMs, expiresMs: issuedMs + 3_600_000 });

eachDialect('shared access state', (open, dialect) => {
  it('blocks a client at the tenth failure within the window, for the block time, and counts clients and scopes apart', async () => {
    const store = await open();
    const failures = store.loginFailures();
    for (let i = 0; i < 9; i++) assert.equal(await failures.fail('login', '10.0.0.7', LIMITS, T + i * 1000), false);
    assert.equal(await failures.blockedUntil('login', '10.0.0.7'), 0, 'nine failures: not blocked');
    assert.equal(await failures.fail('login', '10.0.0.8', LIMITS, T + 9000), false, 'another client');
    assert.equal(await failures.fail('gateway', '10.0.0.7', LIMITS, T + 9000), false, 'another scope');
    assert.equal(await failures.fail('login', '10.0.0.7', LIMITS, T + 9500), true, 'the tenth blocks');
    assert.equal(await failures.blockedUntil('login', '10.0.0.7'), T + 9500 + LIMITS.blockMs);
    assert.equal(await failures.fail('login', '10.0.0.7', LIMITS, T + 10_000), false, 'already blocked: not blocked again');
    assert.equal(await failures.blockedUntil('login', '10.0.0.8'), 0);
    await store.close();
  });

  it('forgets failures older than the window (a slow guesser is never blocked)', async () => {
    const store = await open();
    const failures = store.loginFailures();
    for (let i = 0; i < 30; i++) assert.equal(await failures.fail('login', 'slow', LIMITS, T + i * 7000), false, `failure ${i + 1}`);
    await store.close();
  });

  it('retention forgets clients gone for a day, and keeps those still blocked', async () => {
    const store = await open();
    const failures = store.loginFailures();
    await failures.fail('login', 'old', LIMITS, T);
    const longBlock = { ...LIMITS, maxFailures: 1, blockMs: 2 * LOGIN_FAILURES_KEEP_MS };
    await failures.fail('login', 'blocked', longBlock, T);
    await failures.fail('login', 'recent', LIMITS, T + LOGIN_FAILURES_KEEP_MS);
    const now = T + LOGIN_FAILURES_KEEP_MS + 1;
    assert.equal(await store.prune(now), 1, "the store's retention run");
    const left = await store.exclusive((db) => db.all<{ client: string }>('SELECT client FROM login_failures ORDER BY client'));
    assert.deepEqual(
      left.map((r) => r.client),
      ['blocked', 'recent'],
    );
    assert.equal(await store.prune(now), 0, 'nothing due: nothing deleted');
    await store.close();
  });

  it('keeps a logout with the session list, even when it arrives before the login was noted', async () => {
    const store = await open();
    const access = store.access();
    assert.equal(access.shared, dialect === 'postgres', 'PostgreSQL is shared by runtimes; a SQLite file is not');
    await access.recordSession(session('s-1', Date.now()));
    assert.equal(await access.sessionEnded('s-1'), false);
    await access.logout(session('s-1', Date.now()));
    assert.equal(await access.sessionEnded('s-1'), true);
    assert.deepEqual(await access.sessions('alice'), [], 'no longer listed as open');
    // Logged out through one runtime before the other's note of the login arrived.
    await access.logout(session('s-2', Date.now()));
    await access.recordSession(session('s-2', Date.now()));
    assert.equal(await access.sessionEnded('s-2'), true, 'the late note does not reopen it');
    assert.equal(await access.sessionEnded('never-seen'), false);
    await access.recordSession(session('s-open', Date.now()));
    assert.deepEqual(
      (await access.endedAmong(['s-1', 's-open', 's-2', 'never-seen'])).sort(),
      ['s-1', 's-2'],
      'the ended among many, in one read',
    );
    assert.deepEqual(await access.endedAmong([]), []);
    await store.close();
  });

  it('ends the sessions of a removed user rather than forgetting them', async () => {
    const store = await open();
    const access = store.access();
    await access.addUser({ name: 'alice', passwordHash: '$2b$10$hash', role: 'viewer', cameras: null, createdMs: T });
    await access.recordSession(session('s-3', Date.now()));
    await access.removeUser('alice');
    assert.equal(await access.sessionEnded('s-3'), true);
    await store.close();
  });

  it('keeps the enrolment window: open until its time, closed by 0', async () => {
    const store = await open();
    const uploads = store.uploads();
    assert.equal(await uploads.enrolmentClosesAt(T), 0, 'closed at first');
    await uploads.setEnrolment(T + 600_000, T);
    assert.equal(await uploads.enrolmentClosesAt(T + 1), T + 600_000);
    assert.equal(await uploads.enrolmentClosesAt(T + 600_000), 0, 'closed when its time has come');
    await uploads.setEnrolment(0, T + 2);
    assert.equal(await uploads.enrolmentClosesAt(T + 3), 0);
    await store.close();
  });

  if (dialect !== 'postgres') return;

  it('two runtimes failing at once count every failure and block the client once', async () => {
    const a = await open();
    const b = await open(a.location);
    // Forty failures at the same moment, half through each runtime, forty allowed: only if none was lost does the last block.
    const forty = { ...LIMITS, maxFailures: 40 };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).loginFailures().fail('login', '198.51.100.9', forty, T)),
    );
    assert.equal(results.filter(Boolean).length, 1, 'every failure counted, and exactly one got the client blocked');
    assert.equal(await b.loginFailures().blockedUntil('login', '198.51.100.9'), T + LIMITS.blockMs);
    // Nine through one and one through the other: blocked as ten through one would be.
    for (let i = 0; i < 9; i++) await a.loginFailures().fail('login', '198.51.100.10', LIMITS, T + i);
    assert.equal(await b.loginFailures().fail('login', '198.51.100.10', LIMITS, T + 9), true);
    await Promise.all([a.close(), b.close()]);
  });

  it('a logout and an enrolment window through one runtime are seen by the other at once', async () => {
    const a = await open();
    const b = await open(a.location);
    await a.access().recordSession(session('s-4', Date.now()));
    assert.equal(await b.access().sessionEnded('s-4'), false);
    await a.access().logout(session('s-4', Date.now()));
    assert.equal(await b.access().sessionEnded('s-4'), true);
    await a.uploads().setEnrolment(T + 60_000, T);
    assert.equal(await b.uploads().enrolmentClosesAt(T), T + 60_000);
    await Promise.all([a.close(), b.close()]);
  });
});
