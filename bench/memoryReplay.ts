// Replays one memory's log in a process of its own, as a gateway does when it starts, and prints
// the time and the growth of the resident set as JSON. bench/memory.ts runs it on the logs it
// makes, since its own process also holds a 3 GB copy of the inputs for the scan.
//   npx tsx bench/memoryReplay.ts <dataDir> [model] [norm]
// With the search helper thread, as the gateway on two or more cores (MEMORY_BENCH_HELPER=0: without),
// and the segment builder's thread, as the gateway by default (MEMORY_BENCH_BACKGROUND_MERGES=0:
// without; it builds a share of the trees at the end of the replay).
// Also prints the CPU time of the whole process (every thread, the replay's workers included) and,
// on Linux, the CPU time and minor page faults of the memory's own thread: a replay is bound by
// the CPU of both cores, and first touches of new memory are a large part of it on some machines
// (bench/firstTouch.ts). And the garbage collections of the memory's thread: major ones, and the
// time all of them paused it. The memory then warms up as the gateway's does (its default
// memoryWarmupDecisions), timed apart: replayS does not include it, warmupS is its time.
import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver, constants as perfConstants, performance } from 'node:perf_hooks';
import { MemoryStore } from '../src/memory/memoryStore.js';
import { SERVING_WARMUP_DECISIONS } from '../src/memory/sequentialMemory.js';
import type { Norm } from '../src/memory/types.js';

const [dataDir, model = 'fashion', norm = 'l2'] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: memoryReplay <dataDir> [model] [norm]');
  process.exit(2);
}

/** A thread's minor page faults and CPU seconds from its /proc stat file (Linux; null elsewhere). */
function threadStat(path: string): { minorFaults: number; userS: number; systemS: number } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 10, 14 and 15 of proc(5), counted from the state (field 3); times in clock ticks of 1/100 s.
    return { minorFaults: Number(fields[7]), userS: Number(fields[11]) / 100, systemS: Number(fields[12]) / 100 };
  } catch {
    return null; // not Linux, or a thread ended between the listing and the read
  }
}

/**
 * CPU seconds and minor page faults of every thread of this process seen so far, by thread id:
 * sampled while the replay runs, since its worker threads end with it.
 */
const threads = new Map<number, { cpuS: number; minorFaults: number }>();
function sampleThreads(): void {
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const tid of tids) {
    const stat = threadStat(`/proc/self/task/${tid}/stat`);
    if (stat) threads.set(Number(tid), { cpuS: stat.userS + stat.systemS, minorFaults: stat.minorFaults });
  }
}
const sampler = setInterval(sampleThreads, 20);

let majorGcs = 0;
let gcPauseMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if ((e as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    gcPauseMs += e.duration;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

const before = process.memoryUsage().rss;
const cpuBefore = process.cpuUsage();
const threadBefore = threadStat('/proc/thread-self/stat');
const t0 = performance.now();
const store = new MemoryStore({
  dataDir, searchHelper: process.env.MEMORY_BENCH_HELPER !== '0', backgroundMerges: process.env.MEMORY_BENCH_BACKGROUND_MERGES !== '0',
  warmupDecisions: SERVING_WARMUP_DECISIONS,
});
const memory = await store.memory(model, norm as Norm);
const replayS = (performance.now() - t0 - memory.warmup.ms) / 1000;
clearInterval(sampler);
sampleThreads();
const cpu = process.cpuUsage(cpuBefore);
const threadAfter = threadStat('/proc/thread-self/stat');
const records = memory.size;
const rssGrowth = process.memoryUsage().rss - before;
await new Promise((resolve) => setImmediate(resolve)); // the observer hears of the last pauses
gcObserver.disconnect();
await store.close();
console.log(JSON.stringify({
  records,
  replayS: +replayS.toFixed(1),
  warmupDecisions: memory.warmup.decisions,
  warmupS: +(memory.warmup.ms / 1000).toFixed(2),
  residentGrowthBytesPerRecord: Math.round(rssGrowth / Math.max(1, records)),
  processCpuS: +((cpu.user + cpu.system) / 1e6).toFixed(1),
  memoryThreadMajorGcs: majorGcs,
  memoryThreadGcPauseS: +(gcPauseMs / 1000).toFixed(2),
  ...(threadBefore && threadAfter
    ? {
        memoryThreadCpuS: +(threadAfter.userS - threadBefore.userS + threadAfter.systemS - threadBefore.systemS).toFixed(1),
        memoryThreadSystemS: +(threadAfter.systemS - threadBefore.systemS).toFixed(1),
        memoryThreadMinorFaults: threadAfter.minorFaults - threadBefore.minorFaults,
      }
    : {}),
  // In order of creation: the memory's thread first, V8's own threads, then the replay's projector
  // and reader (and the search helper); those under 0.2 s left out. Each as last sampled: the
  // workers at most one batch before they ended (the memory's thread is busy between samples).
  threads: [...threads.entries()]
    .sort(([a], [b]) => a - b)
    .filter(([, t]) => t.cpuS >= 0.2)
    .map(([, t]) => ({ cpuS: +t.cpuS.toFixed(1), minorFaults: t.minorFaults })),
}));
