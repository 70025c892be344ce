/**
 * The one `user:hash` list parser and bcrypt check (nodes/lib/logins.ts), through the
 * settings that use it: a hash is accepted exactly when bcryptjs can verify it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { dashboardConfig } from '../../../dashboard/server/dashboard-config';
import { parseAuthConfig } from '../../../cli/runtime/mediamtx-auth';
import { checkPassword, isBcryptHash, parseLoginList } from '../../../nodes/lib/logins';

const HASH = bcrypt.hashSync('right', 4); // $2b$04$...
const withPrefix = (prefix: string) => prefix + HASH.slice(4);

/** Whether bcryptjs verifies `hash` for the right password (it throws on a revision it does not know). */
async function bcryptjsVerifies(hash: string): Promise<boolean> {
  try {
    return await bcrypt.compare('right', hash);
  } catch {
    return false; // "Invalid salt revision": the hash is unusable, which is what this asks
  }
}

const dashboardProblems = (users: string) => {
  const problems: string[] = [];
  dashboardConfig({ PICAM_DASHBOARD_USERS: users }, { open: false }, problems);
  return problems;
};

describe('logins: bcrypt hashes', () => {
  it('accepts exactly the prefixes bcryptjs verifies, in every list that takes hashes', async () => {
    for (const prefix of ['$2a$', '$2b$', '$2y$', '$2x$', '$2$', '$2c$', '$1$']) {
      const hash = withPrefix(prefix);
      const usable = await bcryptjsVerifies(hash);
      assert.equal(isBcryptHash(hash), usable, `${prefix}: bcryptjs ${usable ? 'verifies' : 'refuses'} it`);
      const env = { PICAM_MEDIAMTX_VIEWERS: `alice:${hash}` };
      if (usable) assert.equal(parseAuthConfig(env).viewers[0]?.passwordHash, hash);
      else assert.throws(() => parseAuthConfig(env), /PICAM_MEDIAMTX_VIEWERS entry 1 \("alice"\): the password is not a bcrypt hash/);
      assert.equal(dashboardProblems(`alice:${hash}`).length, usable ? 0 : 1, `dashboard users, ${prefix}`);
    }
  });

  it('checks a password, and answers false for an unknown user or an unusable hash after the same work', async () => {
    assert.equal(await checkPassword('right', HASH), true);
    assert.equal(await checkPassword('wrong', HASH), false);
    assert.equal(await checkPassword('right', undefined, HASH), false);
    assert.equal(await checkPassword('right', withPrefix('$2x$')), false, 'no throw: a login answer, not a server error');
  });
});

describe('logins: user:hash lists', () => {
  const parse = (raw: string) => parseLoginList('PICAM_X', raw, { userPattern: /^[a-z]+$/ });

  it('reads entries with spaces and empty items around them', () => {
    assert.deepEqual(parse(` alice:${HASH} ,, bob:${HASH},`), [
      { user: 'alice', passwordHash: HASH },
      { user: 'bob', passwordHash: HASH },
    ]);
    assert.deepEqual(parse(''), []);
  });

  it('names the variable and entry of each kind of malformed list, never echoing the secret part', () => {
    const bad: Array<[string, RegExp]> = [
      ['alice', /PICAM_X entry 1: expected USER:BCRYPT_HASH/],
      [`alice:${HASH},bob:hunter2`, /PICAM_X entry 2 \("bob"\): the password is not a bcrypt hash/],
      [`:${HASH}`, /PICAM_X entry 1: user name "" must match/],
      [`Alice:${HASH}`, /user name "Alice" must match/],
      [`alice:${HASH},alice:${HASH}`, /PICAM_X entry 2: user "alice" is listed twice/],
      [`alice:${HASH} trailing`, /entry 1 \("alice"\): the password is not a bcrypt hash/],
      [`alice:${HASH.slice(0, -1)}`, /not a bcrypt hash/],
    ];
    for (const [raw, message] of bad) {
      assert.throws(
        () => parse(raw),
        (err: Error) => message.test(err.message) && !err.message.includes('hunter2'),
        raw,
      );
    }
  });

  it('counts a user once across lists that share names (MediaMTX devices, viewers, monitor)', () => {
    assert.throws(
      () => parseAuthConfig({ PICAM_MEDIAMTX_DEVICES: `pi:${HASH}`, PICAM_MEDIAMTX_MONITOR: `pi:${HASH}` }),
      /PICAM_MEDIAMTX_MONITOR entry 1: user "pi" is listed twice/,
    );
  });
});
