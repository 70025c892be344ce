import { Connection } from './nodes/lib/store/sqlite';
void (async () => {
  const db = await Connection.open(process.argv[2]!, true);
  const mx = (await db.get<{ m: number }>('SELECT max(sort_ts) AS m FROM activity_events'))!.m;
  const qs: Array<[string, (i: number) => unknown[]]> = [
    ['SELECT count(*) AS n FROM (SELECT 1 FROM activity_events e INDEXED BY activity_events_page WHERE e.sort_ts >= ? AND e.sort_ts <= ? LIMIT 10001)', () => [mx - 30 * 86400, mx - 29 * 86400]],
    ["SELECT count(*) AS n FROM (SELECT 1 FROM activity_events e INDEXED BY activity_events_page_type WHERE e.activity_type = 'PERSON' LIMIT 10001)", () => []],
    ['SELECT count(*) AS n FROM (SELECT 1 FROM activity_events e INDEXED BY activity_events_time WHERE e.start_timestamp >= ? AND e.start_timestamp <= ? LIMIT 10001)', () => [mx - 30 * 86400, mx - 29 * 86400]],
  ];
  for (const [q, a] of qs) {
    const t: number[] = [];
    let n = 0;
    for (let i = 0; i < 15; i++) { const s = performance.now(); n = (await db.get<{ n: number }>(q, a(i) as number[]))!.n; t.push(performance.now() - s); }
    t.sort((x, y) => x - y);
    console.log(n, t[7]!.toFixed(1), t[13]!.toFixed(1), q.slice(60, 120));
  }
  const ex = await db.all<{ opcode: string; p2: number }>(`EXPLAIN ${qs[0]![0]}`, [1, 2]);
  console.log(ex.map((r) => r.opcode).join(' '));
})();
