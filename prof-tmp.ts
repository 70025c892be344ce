import { EventStore } from './nodes/lib/store/store';
void (async () => {
  const store = await EventStore.open({ file: process.argv[2]! });
  for (const p of [{ limit: 50 }, { limit: 10 }, { limit: 50, type: 'PERSON' }, { limit: 10, type: 'PERSON' }, { limit: 50 }, { limit: 1000 }]) {
    const t: number[] = [];
    for (let i = 0; i < 50; i++) { const s = performance.now(); await store.query('events', p); t.push(performance.now() - s); }
    t.sort((a, b) => a - b);
    console.log(JSON.stringify(p), t[25]!.toFixed(1), t[47]!.toFixed(1));
  }
  await store.close();
})();
