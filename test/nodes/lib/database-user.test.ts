/**
 * nodes/lib/database-user.ts in a real Node-RED runtime: a database that cannot
 * open at deploy is tried again with backoff, input waits for it (bounded), and
 * what cannot wait ends in done(err) where a catch node sees it.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { start } from '../../support/records';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir();
let n = 0;

/**
 * sqlite-events `w1` writing to a database that cannot open: a file stands where its folder
 * should be (as when a disk is not mounted yet). `unblock()` removes it. Status and catch nodes watch w1.
 */
async function loadBlocked(db: Record<string, unknown> = {}) {
  const folder = join(dir, `later${n++}`);
  writeFileSync(folder, 'not a folder');
  await helper.load(
    [databaseNode, eventsNode],
    [
      { id: 'db', type: 'picam-database', file: join(folder, 'events.db'), synchronous: 'NORMAL', retainActivityDays: 0, ...db },
      { id: 'w1', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [['stored']] },
      { id: 'st', type: 'status', scope: ['w1'], wires: [['statuses']] },
      { id: 'cc', type: 'catch', scope: ['w1'], uncaught: false, wires: [['caught']] },
      ...['stored', 'statuses', 'caught'].map((id) => ({ id, type: 'helper' })),
    ],
  );
  const statuses = new Collector('statuses');
  return {
    unblock: () => rmSync(folder),
    file: join(folder, 'events.db'),
    stored: new Collector('stored'),
    caught: new Collector('caught'),
    status: (re: RegExp) => until(`status ${re}`, () => statuses.msgs.find((m) => re.test(m.status?.text ?? '')), 15_000),
  };
}

describe('database user (nodes/lib/database-user.ts)', () => {
  it('tries a failed open again and stores the message that waited, without a redeploy', async () => {
    const f = await loadBlocked();
    node('w1').receive({ payload: start('evt_waited', 1_700_000_000_000) });
    await f.status(/database unavailable, retrying in \d+ s/);
    f.unblock(); // the disk is mounted
    await f.stored.wait(1, 30_000);
    assert.deepEqual(await rows(f.file, 'SELECT event_id FROM activity_events'), [{ event_id: 'evt_waited' }]);
    assert.equal(f.caught.msgs.length, 0);
  });

  it('fails a message that cannot wait with done(err), seen by a catch node, and stores the next once it can', async () => {
    const f = await loadBlocked({ holdSeconds: 0 });
    node('w1').receive({ payload: start('evt_lost', 1_700_000_000_000) });
    const caught = await f.caught.first(15_000);
    assert.match(String(caught.error.message), /database unavailable/);
    assert.equal(caught.payload.eventId, 'evt_lost', 'the catch node gets the message itself');
    f.unblock();
    await f.status(/^ready$/);
    node('w1').receive({ payload: start('evt_after', 1_700_000_001_000) });
    await f.stored.wait(1, 15_000);
    assert.deepEqual(await rows(f.file, 'SELECT event_id FROM activity_events'), [{ event_id: 'evt_after' }]);
  });
});
