import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leadershipOf, SINGLE_BOX, whileLeader, type Leadership } from '../../../../nodes/lib/cluster/leadership';
import { PostgresLeadership } from '../../../../nodes/lib/cluster/postgres-leadership';
import { describeWithPostgres, terminateSession } from '../../../support/postgres';
import { waitFor } from '../../../support/wait';

/** Resolves with the time (performance.now()) `l` next reports `leader`. */
function next(l: Leadership, leader: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ${leader ? 'the leader' : 'a follower'} after 20 s`)), 20_000);
    const off = l.onChange((now) => {
      if (now !== leader) return;
      off();
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
}

describe('leadership on one box', () => {
  it('is always the leader, and a gated job runs at once and stops when asked', () => {
    assert.equal(SINGLE_BOX.isLeader, true);
    assert.equal(SINGLE_BOX.status().role, 'leader');
    assert.equal(leadershipOf({}), SINGLE_BOX, 'a runtime without a cluster leads alone');
    let running = false;
    const stop = whileLeader(SINGLE_BOX, () => {
      running = true;
      return () => void (running = false);
    });
    assert.equal(running, true);
    stop();
    assert.equal(running, false);
  });
});

describeWithPostgres('leadership over PostgreSQL', (server) => {
  const pair = async (url: string) => {
    const warnings: string[] = [];
    const opts = { url, warn: (m: string) => warnings.push(m) };
    const a = new PostgresLeadership({ ...opts, applicationName: 'leader test a' });
    await waitFor('a to lead', async () => (a.isLeader ? true : undefined));
    const b = new PostgresLeadership({ ...opts, applicationName: 'leader test b' });
    await waitFor('b to try', async () => (b.sessionPid ? true : undefined));
    return { a, b, warnings };
  };

  it('makes exactly one of two runtimes the leader, and keeps it so while both try', async () => {
    const { a, b } = await pair(await server().createDatabase());
    try {
      // Several of b's tries (every 2 s) and a's checks pass: still one leader.
      await new Promise((r) => setTimeout(r, 4500));
      assert.equal(a.isLeader, true);
      assert.equal(b.isLeader, false);
      assert.equal(b.status().role, 'follower');
      assert.equal(a.status().role, 'leader');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("moves to the follower when the leader's session is killed, and the old leader steps down at once", async () => {
    const url = await server().createDatabase();
    const { a, b, warnings } = await pair(url);
    try {
      const aSteppedDown = next(a, false);
      const bLeads = next(b, true);
      const killedAt = performance.now();
      await terminateSession(url, a.sessionPid);
      const downAt = await aSteppedDown;
      const upAt = await bLeads;
      console.log(
        `# failover (pg_terminate_backend of the leader's session, follower retrying every 2 s): ` +
          `old leader stepped down after ${(downAt - killedAt).toFixed(0)} ms, new leader after ${(upAt - killedAt).toFixed(0)} ms`,
      );
      assert.equal(b.isLeader, true);
      assert.match(warnings.join('\n'), /leadership: lost/);
      // The old leader comes back as a follower, not as a second leader.
      await waitFor('a to try again', async () => (a.sessionPid ? true : undefined));
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(a.isLeader, false);
      assert.equal(b.isLeader, true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('moves to the follower when the leader closes (a runtime stopped)', async () => {
    const { a, b } = await pair(await server().createDatabase());
    try {
      const bLeads = next(b, true);
      const closedAt = performance.now();
      await a.close();
      const upAt = await bLeads;
      console.log(`# failover (leader closed its session): new leader after ${(upAt - closedAt).toFixed(0)} ms`);
      assert.equal(a.isLeader, false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('runs a gated job on the leader only, and moves it with leadership', async () => {
    const url = await server().createDatabase();
    const { a, b } = await pair(url);
    const running = new Set<string>();
    const starts: string[] = [];
    const job = (name: string) => () => {
      starts.push(name);
      running.add(name);
      return () => void running.delete(name);
    };
    const stopA = whileLeader(a, job('a'));
    const stopB = whileLeader(b, job('b'));
    try {
      assert.deepEqual([...running], ['a']);
      await terminateSession(url, a.sessionPid);
      await waitFor('the job to run on b', async () => (running.has('b') ? true : undefined));
      assert.deepEqual([...running], ['b'], 'the old leader stopped its job');
      assert.deepEqual(starts, ['a', 'b']);
    } finally {
      stopA();
      stopB();
      await a.close();
      await b.close();
    }
    assert.equal(running.size, 0);
  });

  it('says why it cannot lead while the database cannot be reached, without the password', async () => {
    const url = server().url('no_such_database');
    const l = new PostgresLeadership({ url, retryMs: 200 });
    try {
      const problem = await waitFor('a problem', async () => l.status().problem);
      assert.equal(l.isLeader, false);
      assert.match(problem, /no_such_database/);
      assert.ok(!problem.includes(server().password), 'no password in the status');
    } finally {
      await l.close();
    }
  });
});
