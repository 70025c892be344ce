/**
 * /metrics while the store is still being made: a runtime answers its first requests while its
 * database node is still creating the tables (the file exists, the tables not yet). A scrape then
 * answered 503 "no such table"; now it gets the process's figures and no store figures yet, as it
 * does before the file exists. And /healthz: which part of the runtime is unwell, and why.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { Ops } from '../../../cli/runtime/ops';
import { exposeHealth } from '../../../nodes/lib/health';
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

/** What /healthz answers, through the handler itself. */
function healthOf(ops: Ops): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const res = {
      code: 0,
      status(c: number) {
        this.code = c;
        return this;
      },
      json(body: Record<string, unknown>) {
        resolve({ status: this.code, body });
      },
    };
    ops.health({} as never, res as never);
  });
}

it('says on /healthz and /metrics whether this runtime leads the run-once jobs; a follower is healthy', async () => {
  const alone = await healthOf(new Ops({ role: 'cloud', flowsStarted: () => true }));
  assert.equal(alone.body.leadership, 'leader', 'one box: always the leader');
  const follower = new Ops({
    role: 'cloud',
    flowsStarted: () => true,
    leadership: () => ({ role: 'follower', mode: 'postgres', sinceMs: 0 }),
  });
  const h = await healthOf(follower);
  assert.equal(h.status, 200);
  assert.equal(h.body.leadership, 'follower');
  assert.match(await follower.render(), /^picam_leader 0$/m);
  assert.match(await new Ops({ role: 'cloud', flowsStarted: () => true }).render(), /^picam_leader 1$/m);
});

it('answers /healthz 503 with each unhealthy part under its name, and 200 again once it is gone', async () => {
  const ops = new Ops({ role: 'cloud', flowsStarted: () => true });
  assert.equal((await healthOf(ops)).status, 200);
  const hide = exposeHealth({
    id: 'test-broker',
    name: 'broker',
    read: () => ({ ok: false, reason: 'cannot listen on 127.0.0.1:1883: listen EADDRINUSE', sinceMs: 1 }),
  });
  try {
    const h = await healthOf(ops);
    assert.equal(h.status, 503);
    assert.equal(h.body.status, 'unavailable');
    assert.equal(h.body.broker, 'cannot listen on 127.0.0.1:1883: listen EADDRINUSE');
    assert.equal(h.body.database, 'none', 'the other parts say what they say');
  } finally {
    hide();
  }
  assert.equal((await healthOf(ops)).status, 200);
});
