/**
 * /metrics while the store is still being made: a runtime answers its first requests while its
 * database node is still creating the tables (the file exists, the tables not yet). A scrape then
 * answered 503 "no such table"; now it gets the process's figures and no store figures yet, as it
 * does before the file exists.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { Ops } from '../../../cli/runtime/ops';
import { Connection } from '../../../nodes/lib/store/sqlite';
import { tempDir } from '../../support/tmp';

it('renders the process figures, and no store figures, while the store has no tables yet', async () => {
  const dbFile = join(tempDir('picam-ops-'), 'picam-guardian.db');
  const db = await Connection.open(dbFile);
  await db.exec('CREATE TABLE placeholder (x INTEGER)'); // the file is there, our tables are not
  await db.close();
  const text = await new Ops({ role: 'cloud', dbFile, flowsStarted: () => true }).render();
  assert.match(text, /^picam_messages_received_total \d+$/m);
  assert.doesNotMatch(text, /picam_dead_letters/);
});
