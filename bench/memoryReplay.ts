// Replays one memory's log in a process of its own, as a gateway does when it starts, and prints
// the time and the growth of the resident set as JSON. bench/memory.ts runs it on the logs it
// makes, since its own process also holds a 3 GB copy of the inputs for the scan.
//   npx tsx bench/memoryReplay.ts <dataDir> [model] [norm]
// With the search helper thread, as the gateway on two or more cores (MEMORY_BENCH_HELPER=0: without).
import { performance } from 'node:perf_hooks';
import { MemoryStore } from '../src/memory/memoryStore.js';
import type { Norm } from '../src/memory/types.js';

const [dataDir, model = 'fashion', norm = 'l2'] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: memoryReplay <dataDir> [model] [norm]');
  process.exit(2);
}
const before = process.memoryUsage().rss;
const t0 = performance.now();
const store = new MemoryStore({ dataDir, searchHelper: process.env.MEMORY_BENCH_HELPER !== '0' });
const memory = await store.memory(model, norm as Norm);
const replayS = (performance.now() - t0) / 1000;
const records = memory.size;
const rssGrowth = process.memoryUsage().rss - before;
await store.close();
console.log(JSON.stringify({ records, replayS: +replayS.toFixed(1), residentGrowthBytesPerRecord: Math.round(rssGrowth / Math.max(1, records)) }));
