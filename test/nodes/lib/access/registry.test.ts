/**
 * The access registry (issue 23) on a real SQLite store and a real PostgreSQL (issue 21), except
 * the token lookup, which needs no store: the environment's logins are admins
 * unless named otherwise, API tokens are found by their SHA-256 only, the store's users count
 * once attached and are kept across a restart, the last admin cannot be taken away, and
 * audit entries made before the store opened are written once it does.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AccessError, AccessRegistry, sha256Hex } from '../../../../nodes/lib/access/registry';
import { eachDialect, type TestStore } from '../../../support/stores';

const stores: TestStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
});
const registry = (o: Partial<ConstructorParameters<typeof AccessRegistry>[0]> = {}) =>
  new AccessRegistry({ users: [], tokens: [], log: () => undefined, warn: () => undefined, ...o });

describe('access registry', () => {
  it('finds an API token by its SHA-256, never by the hash itself, with its role', () => {
    const token = 'a-long-random-token-for-scripts';
    const r = registry({ tokens: [{ name: 'backup-script', sha256: sha256Hex(token), role: 'viewer' }] });
    assert.deepEqual(r.tokenPrincipal(token), { name: 'backup-script', role: 'viewer', cameras: null });
    assert.equal(r.tokenPrincipal(sha256Hex(token)), undefined);
    assert.equal(r.tokenPrincipal('wrong'), undefined);
  });
});

eachDialect('access registry', (openStore) => {
  const open = async (location?: string) => {
    const store = await openStore(location);
    stores.push(store);
    return store;
  };

  it("counts the store's users once attached, keeps them across a restart, and their tokens' scope", async () => {
    const store = await open();
    const r = registry({ users: [{ name: 'root', passwordHash: '$2b$04$x', role: 'admin' }] });
    assert.equal(r.userPrincipal('vera'), undefined);
    await r.attach({ access: store.access(), audit: store.exclusive });
    await r.addUser({ name: 'vera', passwordHash: '$2b$04$y', role: 'viewer', cameras: ['porch'] });
    const t = await r.addToken({ name: 'wall', role: 'operator', cameras: ['porch'], createdBy: 'root' });
    await assert.rejects(r.addUser({ name: 'root', passwordHash: 'h', role: 'viewer', cameras: null }), /exists already/);
    await store.close();
    stores.pop();

    const again = registry({ users: [{ name: 'root', passwordHash: '$2b$04$x', role: 'admin' }] });
    const reopened = await open(store.location);
    await again.attach({ access: reopened.access(), audit: reopened.exclusive });
    assert.deepEqual(again.userPrincipal('vera'), { name: 'vera', role: 'viewer', cameras: ['porch'] });
    assert.equal(again.hashes.get('vera'), '$2b$04$y');
    assert.deepEqual(again.tokenPrincipal(t.token), { name: 'wall', role: 'operator', cameras: ['porch'] });
    await again.revokeToken(t.id);
    assert.equal(again.tokenPrincipal(t.token), undefined);
    again.detach();
    assert.equal(again.userPrincipal('vera')?.role, 'viewer', 'a redeploy (the store closed for a moment) logs nobody out');
    await assert.rejects(
      again.addUser({ name: 'x', passwordHash: 'h', role: 'viewer', cameras: null }),
      (e: AccessError) => e.status === 503,
    );
  });

  it('never takes away the last admin', async () => {
    const store = await open();
    const r = registry();
    await r.attach({ access: store.access(), audit: store.exclusive });
    await r.addUser({ name: 'ada', passwordHash: 'h', role: 'admin', cameras: null });
    await assert.rejects(r.changeUser('ada', { role: 'viewer' }), (e: AccessError) => e.status === 409 && /only admin/.test(e.message));
    await assert.rejects(r.removeUser('ada'), /only admin/);
    await r.addUser({ name: 'bea', passwordHash: 'h', role: 'admin', cameras: null });
    await r.changeUser('ada', { role: 'viewer' });
    assert.equal(r.userPrincipal('ada')?.role, 'viewer');
  });

  it('writes audit entries made before the store opened once it opens', async () => {
    const store = await open();
    const r = registry();
    r.audit({ actor: 'otto', role: 'operator', action: 'POST /api/control/mode/:id/:mode', target: 'cam-1 ARMED', detail: '' });
    await r.attach({ access: store.access(), audit: store.exclusive });
    const entries = await r.listAudit({});
    assert.deepEqual(
      entries.map((e) => [e.actor, e.target]),
      [['otto', 'cam-1 ARMED']],
    );
  });

  it('offers a first-run code only while no admin exists, and never in the demo', async () => {
    const printed: string[] = [];
    const r = registry({ log: (m) => printed.push(m) });
    const store = await open();
    await r.attach({ access: store.access(), audit: store.exclusive });
    const code = /one-time code (\S+)/.exec(printed.join('\n'))?.[1];
    assert.ok(code && r.firstRunCodeMatches(code));
    assert.equal(r.firstRunCodeMatches('nope'), false);
    await r.addUser({ name: 'ada', passwordHash: 'h', role: 'admin', cameras: null });
    assert.equal(r.firstRunCodeMatches(code), false, 'gone once an admin exists');
    const demo = registry({ open: true, log: (m) => printed.push(`demo ${m}`) });
    await demo.attach({ access: store.access(), audit: store.exclusive });
    assert.ok(!printed.some((m) => m.startsWith('demo')));
  });
});
