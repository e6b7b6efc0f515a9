// Why a memory filled through decide() decides more slowly than the same log replayed: one
// process fills a memory, replays a copy of its log beside it, and then times read-only
// decisions (the decision step, nothing added, as bench/memoryCompare.ts) on four layouts of the
// same points, in turn, three rounds, each round starting one layout later:
//   filled     the trees' segments as the fill left them (the logarithmic method: a few per tree)
//   rebuilt    each of those segments rebuilt from itself (same structure, fresh memory)
//   compact    each tree's segments rebuilt as one (the open segments as they were)
//   replayed   the replayed copy (one segment per tree, as a replay builds it)
// A diagnostic: it swaps the trees' private segment lists (the search helper hears of each swap),
// so it follows projectionTree.ts and regionIndex.ts as they are.
//   npx tsx --expose-gc bench/memoryLayouts.ts [data dir]
// MEMORY_LAYOUTS_FILL (1000000): records to fill; the data directory (a new temporary one by
// default) and its copy are removed at the end unless MEMORY_BENCH_KEEP=1.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadOrBuildPool, poolOptionsFromEnv } from './certifiedRadii.js';
import { FashionStream } from './memoryStream.js';
import { MemoryStore } from '../src/memory/memoryStore.js';
import { Segment, buildSegment } from '../src/memory/projectionTree.js';
import { proposal } from '../test/helpers/memory-streams.js';

const FILL = Number(process.env.MEMORY_LAYOUTS_FILL ?? 1_000_000);
const QUERIES = 1000;
const WARMUP = 100;
const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'certigate-memory-layouts-'));
mkdirSync(dataDir, { recursive: true });
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The private parts this diagnostic reaches into. */
interface Tree {
  segments: unknown[];
  open: unknown;
  leadDims: number;
  W: number;
  serial: number;
  shapes: unknown;
  onSegments?: (shapes: unknown) => void;
}
interface Memory {
  size: number;
  index: { bands: Map<string, { tree: Tree }> };
  decide(p: ReturnType<typeof proposal>): Promise<unknown>;
  searchHelperReady(): Promise<void>;
  prepare(input: Float32Array): unknown;
  applyRules(base: { answer: number | null; radius: number }, query: unknown): unknown;
}
/** A segment rebuilt here from a tree's own segments (the sets buildSegment takes). */
const rebuild = (t: Tree, sets: unknown[]) => new Segment(buildSegment(t.leadDims, t.W, sets as Parameters<typeof buildSegment>[2], t.serial++));

const { pool } = await loadOrBuildPool(poolOptionsFromEnv());
const options = { queueCapacity: 8192, maxGroup: 2048, searchHelper: true };
const store = new MemoryStore({ dataDir, ...options });
const filled = (await store.memory('fashion', 'l2')) as unknown as Memory;
if (filled.size > 0) throw new Error(`${dataDir} already holds a memory: give a new directory`);
const fillStream = new FashionStream(2024, pool);
const fillStarted = performance.now();
while (filled.size < FILL) {
  const items = Array.from({ length: Math.min(4096, FILL - filled.size) }, () => fillStream.next());
  await Promise.all(items.map((it) => filled.decide(proposal('fashion', 'l2', it.input, it.answer, it.radius))));
}
console.log(JSON.stringify({ filled: filled.size, fillS: +((performance.now() - fillStarted) / 1000).toFixed(1) }));
await sleep(500); // merges due after the last answers
const copyDir = `${dataDir}-copy`;
cpSync(dataDir, copyDir, { recursive: true });
const store2 = new MemoryStore({ dataDir: copyDir, ...options });
const replayed = (await store2.memory('fashion', 'l2')) as unknown as Memory;
await filled.searchHelperReady();
await replayed.searchHelperReady();

const trees = (memory: Memory) => [...memory.index.bands.values()].map((band) => band.tree);
const asFilled = trees(filled).map((t) => t.segments);
const rebuilt = trees(filled).map((t) => t.segments.map((s) => rebuild(t, [s])));
// What compacting costs on this thread: each tree's segments rebuilt as one.
const compactMs: number[] = [];
const compact = trees(filled).map((t) => {
  const started = performance.now();
  const one = t.segments.length > 0 ? [rebuild(t, t.segments)] : [];
  compactMs.push(performance.now() - started);
  return one;
});
console.log(JSON.stringify({ compactS: +(compactMs.reduce((a, b) => a + b, 0) / 1000).toFixed(2), largestTreeMs: +Math.max(...compactMs).toFixed(1) }));
function use(lists: unknown[][]): Memory {
  trees(filled).forEach((t, i) => {
    t.segments = lists[i];
    t.onSegments?.(t.shapes);
  });
  return filled;
}
const layouts: Record<string, () => Memory> = {
  filled: () => use(asFilled),
  rebuilt: () => use(rebuilt),
  compact: () => use(compact),
  replayed: () => replayed,
};

const probe = new FashionStream(7, pool);
const items = Array.from({ length: WARMUP + QUERIES }, () => probe.next());
function measure(memory: Memory) {
  const ms: number[] = [];
  items.forEach((item, i) => {
    const started = performance.now();
    memory.applyRules({ answer: item.answer, radius: item.answer === null ? 0 : item.radius }, memory.prepare(item.input));
    if (i >= WARMUP) ms.push(performance.now() - started);
  });
  ms.sort((a, b) => a - b);
  const quantile = (q: number) => +ms[Math.floor(q * ms.length)].toFixed(3);
  return { p50Ms: quantile(0.5), p90Ms: quantile(0.9), p99Ms: quantile(0.99), meanMs: +(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(3) };
}
const names = Object.keys(layouts);
for (let round = 0; round < 3; round++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length];
    const memory = layouts[name]();
    await sleep(300); // the helper takes the swapped segments
    const ts = trees(memory);
    const segments = ts.reduce((n, t) => n + t.segments.length, 0);
    console.log(JSON.stringify({ round, layout: name, trees: ts.length, segments, ...measure(memory) }));
  }
}
use(asFilled);
await store.close();
await store2.close();
if (!process.env.MEMORY_BENCH_KEEP) for (const dir of [dataDir, copyDir]) rmSync(dir, { recursive: true, force: true });
process.exit(0);
