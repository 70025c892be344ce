/**
 * The picam-database node's part in /healthz (nodes/lib/health.ts): a store it cannot open is
 * a database problem, not "database ok" because the file itself still reads.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { healthProblems } from '../../../nodes/lib/health';
import { Connection } from '../../../nodes/lib/store/sqlite';
import { helper, node, until, useNodeRed } from '../../support/node-helper';
import { conn } from '../../support/records';
import { tempDir } from '../../support/tmp';

useNodeRed();

it('reports a store it cannot open (a schema newer than this software) as a database problem until the node closes', async () => {
  const file = join(tempDir('picam-db-node-'), 'newer.db');
  const db = await Connection.open(file);
  await db.exec('PRAGMA user_version = 999');
  await db.close();

  await helper.load(
    [databaseNode, eventsNode],
    [
      { id: 'db', type: 'picam-database', file },
      { id: 'w1', type: 'sqlite-events', database: 'db', mode: 'write' },
    ],
  );
  node('w1').receive({ payload: conn(Date.now()) });
  const problem = await until('the health problem', () => healthProblems().find((p) => p.name === 'database'));
  assert.match(problem.reason, /^cannot open: .*999 is newer than this software/);
  assert.ok(problem.sinceMs! <= Date.now());

  await helper.unload();
  assert.deepEqual(healthProblems(), [], 'a closed node no longer speaks for the runtime');
});
