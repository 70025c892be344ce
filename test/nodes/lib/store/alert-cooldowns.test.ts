/**
 * Alert cooldowns in the store (issue 21, item 3): the same alert node (one node id) on two
 * runtimes sharing one PostgreSQL database, or twice on one SQLite store, keeps one cooldown per
 * camera and kind. A cooldown started by an alert on one holds on the other; two alerts racing
 * on both send one; a cooldown outlives a restart; what an outbox that cannot write refused
 * starts no cooldown.
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { AlertService, type Accepted } from '../../../../nodes/lib/alerts/alert-service';
import type { Channel } from '../../../../nodes/lib/alerts/dispatcher';
import { AlertPolicy } from '../../../../nodes/lib/alerts/policy';
import type { Alert } from '../../../../nodes/lib/types';
import { eachDialect, type OpenStore, type TestStore } from '../../../support/stores';

const NODE = 'telegram-node-1';
const COOLDOWN_MS = 60_000;
const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);

/** The tests look at what is queued, never at what is sent: the dispatcher is not started. */
const neverSends: Channel = {
  name: 'telegram',
  limits: { perTargetMs: 0, groupPerMinute: 0, globalPerSecond: 0 },
  maxDigest: 1,
  recordsEvents: false,
  canDigest: () => false,
  deliver: () => Promise.reject(new Error('not started')),
  classify: () => ({ retry: false, reason: 'not started' }),
};

const stores: TestStore[] = [];
const services: AlertService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  for (const s of stores.splice(0)) await s.close();
});

const clock = { ms: T0 };

/** The alert node `owner` on `store`, as its runtime builds it (alert-node.ts, live-policy.ts). */
function alertNode(store: TestStore, owner = NODE): AlertService {
  const service = new AlertService({
    outbox: store.outbox('telegram', owner),
    channel: neverSends,
    policy: new AlertPolicy(
      { cooldownMs: COOLDOWN_MS, modes: ['ARMED'], quietAction: 'silent' },
      () => clock.ms,
      store.alertCooldowns(owner),
    ),
    targets: ['42'],
    giveUpAfterMs: 0,
    report: () => undefined,
    onError: (err) => assert.fail(err),
    now: () => clock.ms,
  });
  services.push(service);
  return service;
}

/** Two runtimes of one flow: two stores on one database (PostgreSQL), or one store (SQLite). */
async function twoRuntimes(open: OpenStore, dialect: string) {
  const a = await open();
  const b = dialect === 'postgres' ? await open(a.location) : a;
  stores.push(...new Set([a, b]));
  return { a, b, nodeA: alertNode(a), nodeB: alertNode(b) };
}

const motion = (eventId: string, deviceId = 'cam-porch'): Alert => ({
  kind: 'activity',
  deviceId,
  deviceName: 'Porch',
  timeMs: clock.ms,
  severity: 'warning',
  text: 'motion detected on Porch',
  eventId,
  activityType: 'MOTION',
  mode: 'ARMED',
});

const sent = (a: Accepted) => a.queued === 1;
const reason = (a: Accepted) => a.reports.map((r) => r.reason).join('; ');

eachDialect('alert cooldowns in the store', (open, dialect) => {
  it('a cooldown started by an alert on one runtime holds on the other, and ends there on time', async () => {
    clock.ms = T0;
    const { nodeA, nodeB } = await twoRuntimes(open, dialect);
    assert.ok(sent(await nodeA.accept(motion('e1'))));
    clock.ms = T0 + 12_000;
    const held = await nodeB.accept(motion('e2'));
    assert.equal(held.queued, 0);
    assert.equal(reason(held), 'cooldown: another motion alert from Porch 12 s ago (cooldown 1 min)');
    assert.ok(sent(await nodeB.accept(motion('e3', 'cam-garden'))), 'another camera');
    assert.ok(sent(await nodeB.accept({ ...motion('e4'), activityType: 'PERSON' })), 'another activity type');
    assert.ok(sent(await alertNode(stores[0]!, 'webhook-node').accept(motion('e5'))), 'another alert node');
    clock.ms = T0 + COOLDOWN_MS;
    assert.ok(sent(await nodeB.accept(motion('e6'))), 'the cooldown is over');
    clock.ms = T0 + COOLDOWN_MS + 1000;
    assert.equal((await nodeA.accept(motion('e7'))).queued, 0, 'and the one it started holds on the first runtime');
  });

  it('two runtimes racing with alerts of one camera send one', async () => {
    clock.ms = T0;
    const { nodeA, nodeB } = await twoRuntimes(open, dialect);
    const cameras = Array.from({ length: 20 }, (_, i) => `cam-race-${i}`);
    const results = await Promise.all(
      cameras.flatMap((c) => [nodeA.accept(motion(`${c}-a`, c)), nodeB.accept(motion(`${c}-b`, c)), nodeA.accept(motion(`${c}-c`, c))]),
    );
    for (let i = 0; i < cameras.length; i++) {
      const of = results.slice(i * 3, i * 3 + 3);
      assert.equal(of.filter(sent).length, 1, `${cameras[i]}: ${of.map(reason).join(' | ')}`);
      for (const held of of.filter((r) => !sent(r))) assert.match(reason(held), /^cooldown: another motion alert from Porch/);
    }
  });

  it('a cooldown outlives a restart', async () => {
    clock.ms = T0;
    const store = await open();
    stores.push(store);
    assert.ok(sent(await alertNode(store).accept(motion('e1'))));
    await services.pop()!.close();
    await store.close();
    const reopened = await open(store.location);
    stores.push(reopened);
    clock.ms = T0 + 30_000;
    assert.equal((await alertNode(reopened).accept(motion('e2'))).queued, 0);
  });

  it('a redelivered alert, already in the outbox, starts no cooldown', async () => {
    clock.ms = T0;
    const { nodeA, nodeB } = await twoRuntimes(open, dialect);
    assert.ok(sent(await nodeA.accept(motion('e1'))));
    clock.ms = T0 + COOLDOWN_MS + 1000;
    // The broker gives the same event to the other runtime (its policy's memory never saw it).
    const again = await nodeB.accept(motion('e1'));
    assert.equal(again.queued, 0);
    assert.equal(reason(again), 'duplicate: already in the outbox');
    clock.ms = T0 + COOLDOWN_MS + 2000;
    assert.ok(sent(await nodeB.accept(motion('e2'))), 'the next motion is not held back by the copy');
  });

  it('an alert the outbox could not take starts no cooldown', async () => {
    clock.ms = T0;
    const { a, nodeA, nodeB } = await twoRuntimes(open, dialect);
    // The outbox's rows cannot be written (as with a full disk): the claim goes with them.
    await a.exclusive((db) => db.run('ALTER TABLE alerts_outbox RENAME TO alerts_outbox_away'));
    await assert.rejects(nodeA.accept(motion('e1')));
    await a.exclusive((db) => db.run('ALTER TABLE alerts_outbox_away RENAME TO alerts_outbox'));
    assert.ok(sent(await nodeB.accept(motion('e1'))), 'the retry (here on the other runtime) is sent');
  });
});
