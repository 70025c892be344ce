/**
 * The picam-database node with a PostgreSQL URL as its credential (the cluster role, issue 21):
 * records written through sqlite-events land in PostgreSQL and the queries answer from it, and
 * the URL's password is in no log line, warning, error or status.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { CAMERA } from '../../support/fixtures';
import { Collector, helper, node, runtimeLog, spy, until, useNodeRed, type Call } from '../../support/node-helper';
import { describeWithPostgres } from '../../support/postgres';
import { conn, start, stop } from '../../support/records';

useNodeRed();

const T0 = 1_700_000_000_000;

const flow = [
  {
    id: 'db',
    type: 'picam-database',
    file: 'unused.db',
    retainActivityDays: 0,
    retainStatusDays: 0,
    retainSensorDays: 0,
    retainDeadLetterDays: 0,
  },
  { id: 'w1', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [['c1']] },
  { id: 'q1', type: 'sqlite-events', database: 'db', mode: 'query', query: 'events', wires: [['a1']] },
  { id: 'c1', type: 'helper' },
  { id: 'a1', type: 'helper' },
];

describeWithPostgres('picam-database on PostgreSQL', (server) => {
  /** Everything the nodes told the user: the runtime's log and each node's error, warn, log and status calls. */
  function said(calls: Call[][]): string {
    return [...runtimeLog(), ...calls.flat().map((c) => JSON.stringify(c.args))].join('\n');
  }

  it('stores through the URL credential and answers queries, naming the database without its password', async () => {
    const url = await server().createDatabase();
    await helper.load([databaseNode, eventsNode], flow, { db: { url } });
    const calls = ['db', 'w1', 'q1'].flatMap((id) => (['error', 'warn', 'status', 'log'] as const).map((m) => spy(id, m)));
    const confirmed = new Collector('c1');
    const answers = new Collector('a1');
    for (const r of [conn(T0), start('e1', T0 + 1000), stop('e1', T0 + 6000)]) node('w1').receive({ payload: r });
    await confirmed.wait(3, 20_000);
    node('q1').receive({ payload: { camera: CAMERA } });
    const answer = await answers.first(10_000);
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(
      answer.payload.events.map((e: { event_id: string; duration_seconds: number }) => [e.event_id, e.duration_seconds]),
      [['e1', 5]],
    );
    await until('the open logged', () => runtimeLog().some((l) => l.includes('opened postgres://')));
    const everything = said(calls);
    assert.match(everything, /postgres:\/\/\*\*\*@127\.0\.0\.1/);
    assert.ok(!everything.includes(server().password) && !everything.includes(encodeURIComponent(server().password)), everything);
  });

  it('a wrong password is an error that does not repeat the URL it was given', async () => {
    const url = (await server().createDatabase()).replace(
      encodeURIComponent(server().password),
      encodeURIComponent(`${server().password}-old`),
    );
    await helper.load([databaseNode, eventsNode], flow, { db: { url } });
    const calls = ['db', 'w1', 'q1'].flatMap((id) => (['error', 'warn', 'status', 'log'] as const).map((m) => spy(id, m)));
    node('w1').receive({ payload: conn(T0) });
    await until('the open failed', () => runtimeLog().some((l) => /password authentication failed/.test(l)), 20_000);
    const everything = said(calls);
    assert.ok(!everything.includes(server().password) && !everything.includes(encodeURIComponent(server().password)), everything);
  });
});
