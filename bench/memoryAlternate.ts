// Two versions of the memory in turn, each in a process of its own, deciding through decide() as
// bench/memory.ts and the gateway do: the log's append and fsync between decisions, the search
// helper on. Round r runs A then B (B then A in even rounds), each on the same data directory with
// the same proposals (stream seed 6 + r); after each run the log is cut back to its length before
// it, so every run starts from the same memory. Prints each run's p50/p99 of the decision step.
//   npx tsx bench/memoryAlternate.ts <checkout A> <checkout B> <data dir>
// The data directory must be a copy (not a link) of one memory's data directory, e.g. one kept by
// MEMORY_BENCH_KEEP=1 bench/memory.ts, holding one log (model "fashion", norm l2); a checkout is
// e.g. `git worktree add /tmp/base <commit>` with node_modules linked.
// MEMORY_ALTERNATE_ROUNDS (4), MEMORY_ALTERNATE_QUERIES (2000). MEMORY_ALTERNATE_FILL (0): untimed
// decisions (stream seed 99) before the timed ones, so that the trees hold unsealed points, as in a
// memory filled through decide() (a replayed one holds none). MEMORY_ALTERNATE_WARMUP (the
// gateway's default): the memory's warm-up after its replay, in decisions, or "a,b" for A and B
// (a checkout from before the warm-up ignores it). MEMORY_ALTERNATE_BURST=1: the timed proposals
// arrive all at once, as in a loaded gateway's queue, and are decided back to back in groups
// (one fsync per group) instead of one at a time. MEMORY_ALTERNATE_BALLAST_GB ("0"): "a,b" gigabytes
// of float32 arrays written and held beside the memory before the timed decisions (as the scan's
// mirror of the inputs was in bench/memory.ts).
// Why not bench/memoryCompare.ts: in one process the two versions' threads share the cores, V8's
// worker threads and the garbage collector, and each version's helper disturbs the other's
// decisions; and it decides back to back, where the helper never sleeps between decisions.
import { spawnSync } from 'node:child_process';
import { statSync, truncateSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SERVING_WARMUP_DECISIONS } from '../src/memory/sequentialMemory.js';

const WARMUP = 20;

interface RunResult {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  fsyncP50Ms: number;
  helperAnswered: number;
  helperTakenBack: number;
  /** p99 of the first and of the second half of the timed decisions (the first decisions after a replay are slower without a warm-up). */
  halvesP99Ms: [number, number];
  /** The memory's warm-up after its replay (absent: a checkout without one). */
  warmup?: { decisions: number; ms: number };
}

const quantile = (values: number[], q: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(q * values.length))];

/** One run, in this process: `checkout`'s memory on `dataDir`, `queries` timed decisions. */
async function run(
  checkout: string, dataDir: string, seed: number, queries: number, fill: number, warmupDecisions: number, ballastGb: number,
): Promise<RunResult> {
  const { MemoryStore } = await import(pathToFileURL(resolve(checkout, 'src/memory/memoryStore.ts')).href);
  const { loadOrBuildPool, poolOptionsFromEnv } = await import('./certifiedRadii.js');
  const { FashionStream } = await import('./memoryStream.js');
  const { proposal } = await import('../test/helpers/memory-streams.js');
  const decideMs: number[] = [];
  const fsyncMs: number[] = [];
  const observer = {
    onDecision: (e: { decideMs: number }) => decideMs.push(e.decideMs),
    onGroupCommit: (e: { fsyncMs: number }) => fsyncMs.push(e.fsyncMs),
  };
  const store = new MemoryStore({ dataDir, queueCapacity: 8192, maxGroup: 2048, searchHelper: true, observer, warmupDecisions });
  const memory = await store.memory('fashion', 'l2');
  await memory.searchHelperReady();
  const ballast: Float32Array[] = [];
  for (let bytes = 0; bytes < ballastGb * 2 ** 30; bytes += 2 ** 28) ballast.push(new Float32Array(2 ** 26).fill(1));
  const { pool } = await loadOrBuildPool(poolOptionsFromEnv());
  const filler = new FashionStream(99, pool);
  for (let i = 0; i < fill; i++) {
    const { input, answer, radius } = filler.next();
    await memory.decide(proposal('fashion', 'l2', input, answer, radius));
  }
  const stream = new FashionStream(seed, pool);
  const items = Array.from({ length: WARMUP + queries }, () => stream.next());
  const decide = ({ input, answer, radius }: { input: Float32Array; answer: number | null; radius: number }) =>
    memory.decide(proposal('fashion', 'l2', input, answer, radius));
  const before = memory.searchHelperCounts;
  for (const item of items.slice(0, WARMUP)) await decide(item);
  const timedFrom = decideMs.length;
  if (process.env.MEMORY_ALTERNATE_BURST === '1') await Promise.all(items.slice(WARMUP).map(decide));
  else for (const item of items.slice(WARMUP)) await decide(item);
  const times = decideMs.slice(timedFrom);
  const after = memory.searchHelperCounts;
  await memory.close();
  // Read after the timed decisions, so that it is held through them.
  if (ballast.some((part) => part[0] !== 1)) throw new Error('ballast changed');
  return {
    p50Ms: +quantile(times, 0.5).toFixed(3),
    p99Ms: +quantile(times, 0.99).toFixed(3),
    maxMs: +Math.max(...times).toFixed(2),
    fsyncP50Ms: +quantile(fsyncMs, 0.5).toFixed(2),
    helperAnswered: (after?.answered ?? 0) - (before?.answered ?? 0),
    helperTakenBack: (after?.takenBack ?? 0) - (before?.takenBack ?? 0),
    halvesP99Ms: [times.slice(0, times.length >> 1), times.slice(times.length >> 1)].map((half) => +quantile(half, 0.99).toFixed(3)) as [number, number],
    warmup: memory.warmup,
  };
}

const args = process.argv.slice(2);
if (args[0] === '--run') {
  const [, checkout, dataDir, seed, queries, fill, warmup, ballastGb] = args;
  console.log(JSON.stringify(await run(checkout, dataDir, Number(seed), Number(queries), Number(fill), Number(warmup), Number(ballastGb))));
  process.exit(0);
}

const [rootA, rootB, dataDir] = args;
if (!dataDir) {
  console.error('usage: memoryAlternate <checkout A> <checkout B> <data dir>');
  process.exit(2);
}
const ROUNDS = Number(process.env.MEMORY_ALTERNATE_ROUNDS ?? 4);
const QUERIES = Number(process.env.MEMORY_ALTERNATE_QUERIES ?? 2000);
const FILL = Number(process.env.MEMORY_ALTERNATE_FILL ?? 0);
const [warmupA, warmupB = warmupA] = (process.env.MEMORY_ALTERNATE_WARMUP ?? String(SERVING_WARMUP_DECISIONS)).split(',').map(Number);
const [ballastA, ballastB = ballastA] = (process.env.MEMORY_ALTERNATE_BALLAST_GB ?? '0').split(',').map(Number);
const log = join(dataDir, 'fashion', 'l2.log');
const length = statSync(log).size;
const results: Record<string, RunResult[]> = { A: [], B: [] };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const side of round % 2 ? ['A', 'B'] : ['B', 'A']) {
      const started = performance.now();
      const child = spawnSync(
        process.execPath,
        [
          ...process.execArgv, fileURLToPath(import.meta.url), '--run', side === 'A' ? rootA : rootB, dataDir, String(6 + round), String(QUERIES), String(FILL),
          String(side === 'A' ? warmupA : warmupB), String(side === 'A' ? ballastA : ballastB),
        ],
        { encoding: 'utf8' },
      );
      truncateSync(log, length);
      if (child.status !== 0) throw new Error(`run ${side} of round ${round} failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as RunResult;
      results[side].push(result);
      console.log(JSON.stringify({ round, side, checkout: side === 'A' ? rootA : rootB, ...result, runS: +((performance.now() - started) / 1000).toFixed(1) }));
    }
  }
} finally {
  truncateSync(log, length);
}
const mean = (values: number[]) => +(values.reduce((x, y) => x + y, 0) / values.length).toFixed(3);
const pairs = results.A.map((a, i) => [a, results.B[i]] as const);
console.log(JSON.stringify({
  rounds: ROUNDS,
  queries: QUERIES,
  fill: FILL,
  warmupDecisions: { A: warmupA, B: warmupB },
  ballastGb: { A: ballastA, B: ballastB },
  burst: process.env.MEMORY_ALTERNATE_BURST === '1',
  meanP50Ms: { A: mean(results.A.map((r) => r.p50Ms)), B: mean(results.B.map((r) => r.p50Ms)) },
  meanP99Ms: { A: mean(results.A.map((r) => r.p99Ms)), B: mean(results.B.map((r) => r.p99Ms)) },
  // Rounds in which B's p99 was lower than A's.
  roundsBLowerP99: pairs.filter(([a, b]) => b.p99Ms < a.p99Ms).length,
}));
