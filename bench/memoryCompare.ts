// Two versions of the memory side by side in one process: each checkout replays its own copy of
// one log, then both decide the same proposals (read-only: nothing is added), taking turns
// proposal by proposal (or MEMORY_COMPARE_TURN proposals at a time), so that the machine's state
// falls on both alike. Prints p50/p90/p99 of
// each version's decision step and how many decisions differ. Separate runs of bench/memory.ts
// on this machine move by more than most changes do; this is the measure for one change.
//   npx tsx --expose-gc bench/memoryCompare.ts <checkout A> <data dir A> <checkout B> <data dir B>
// The data directories must be copies (not links) of one memory's data directory, e.g. one kept by
// MEMORY_BENCH_KEEP=1 bench/memory.ts; a checkout is e.g. `git worktree add /tmp/base <commit>`
// with node_modules linked. MEMORY_COMPARE_QUERIES (1000), MEMORY_COMPARE_SEED (7),
// MEMORY_COMPARE_HELPER (search helper thread of A and B: "0,0" by default; "0,1" compares one
// checkout without and with it; older checkouts ignore it). MEMORY_COMPARE_TURN=<n> (1): each
// version decides n proposals back to back before the other decides them, the one that goes first
// changing at every turn: a memory deciding back to back keeps its trees' upper levels in the
// caches, as a gateway's does, where with turns of one proposal every decision finds the caches
// as the other memory left them.
// MEMORY_COMPARE_PAUSE_MS="<a>,<b>" ("0,0"): version A (B) sleeps that long before each of its
// decisions, its thread idle as a gateway's is between proposals and during its log's fsync; the
// same checkout and helper twice with "0,2" measures what such pauses cost a decision.
// MEMORY_COMPARE_BACKGROUND ("1,1"): segment merges of A and B on the builder's thread (the
// gateway's default) or, with 0, on the memory's thread; older checkouts ignore it. A fill waits
// for the merges in flight before the timed decisions.
// MEMORY_COMPARE_FILL=<records>: instead of replaying, each checkout fills a new memory in its
// (new or empty) data directory through decide(), with the same proposals (stream seed 2024), in
// batches of 4096 taken in turn; a memory filled one decision at a time holds its trees as
// several segments and buffers, where a replayed one holds one segment per tree. Prints each
// one's fill time and segment merges.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadOrBuildPool, poolOptionsFromEnv } from './certifiedRadii.js';
import { FashionStream } from './memoryStream.js';
import { proposal } from '../test/helpers/memory-streams.js';

const [rootA, dirA, rootB, dirB] = process.argv.slice(2);
if (!dirB) {
  console.error('usage: memoryCompare <checkout A> <data dir A> <checkout B> <data dir B>');
  process.exit(2);
}
const QUERIES = Number(process.env.MEMORY_COMPARE_QUERIES ?? 1000);
const SEED = Number(process.env.MEMORY_COMPARE_SEED ?? 7);
const WARMUP = 100;
const HELPER = (process.env.MEMORY_COMPARE_HELPER ?? '0,0').split(',').map((v) => v === '1');
const FILL = Number(process.env.MEMORY_COMPARE_FILL ?? 0);
const TURN = Math.max(1, Math.floor(Number(process.env.MEMORY_COMPARE_TURN ?? 1)));
const BACKGROUND = (process.env.MEMORY_COMPARE_BACKGROUND ?? '1,1').split(',').map((v) => v === '1');
const PAUSE_MS = (process.env.MEMORY_COMPARE_PAUSE_MS ?? '0,0').split(',').map(Number);
if (PAUSE_MS.length !== 2 || !PAUSE_MS.every((ms) => Number.isFinite(ms) && ms >= 0)) {
  console.error('MEMORY_COMPARE_PAUSE_MS must be two pauses in ms, e.g. "0,2"');
  process.exit(2);
}
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The private decision step of a SequentialMemory (steps 2-3 of DESIGN 2, without adding the record), and what the fill uses. */
interface DecisionStep {
  size: number;
  decide(p: ReturnType<typeof proposal>): Promise<unknown>;
  searchHelperCounts?: { answered: number; takenBack: number } | null;
  searchHelperReady?(): Promise<void>;
  mergesSettled?(): Promise<void>;
  mergeCounts?: { merges: number; totalMs: number; maxMs: number } | null;
  prepare(input: Float32Array): unknown;
  applyRules(base: { answer: number | null; radius: number }, query: unknown): { rules: { answer: number | null; radius: number; action: string } };
}

/** Segment merges (they run after the answers; a fill reports them). */
interface Merges {
  runs: number;
  ms: number;
  maxMs: number;
}

async function open(root: string, dataDir: string, searchHelper: boolean, backgroundMerges: boolean, merges: Merges): Promise<DecisionStep> {
  const { MemoryStore } = await import(pathToFileURL(resolve(root, 'src/memory/memoryStore.ts')).href);
  const started = performance.now();
  if (FILL > 0) mkdirSync(dataDir, { recursive: true });
  const observer = {
    onMaintenance: (e: { ms: number }) => {
      merges.runs++;
      merges.ms += e.ms;
      merges.maxMs = Math.max(merges.maxMs, e.ms);
    },
  };
  const store = new MemoryStore({ dataDir, queueCapacity: 8192, maxGroup: 2048, searchHelper, backgroundMerges, observer });
  const memory = await store.memory('fashion', 'l2');
  if (FILL > 0 && memory.size > 0) throw new Error(`${dataDir} already holds a memory: MEMORY_COMPARE_FILL needs new directories`);
  console.log(JSON.stringify({ checkout: root, searchHelper, backgroundMerges, records: memory.size, replayS: +((performance.now() - started) / 1000).toFixed(1) }));
  return memory as unknown as DecisionStep;
}

const merges: Merges[] = [{ runs: 0, ms: 0, maxMs: 0 }, { runs: 0, ms: 0, maxMs: 0 }];
const versions = [await open(rootA, dirA, HELPER[0], BACKGROUND[0], merges[0]), await open(rootB, dirB, HELPER[1], BACKGROUND[1], merges[1])];
const radii = await loadOrBuildPool(poolOptionsFromEnv());
if (FILL > 0) {
  const fillStream = new FashionStream(2024, radii.pool);
  const fillMs = [0, 0];
  for (let batch = 0; versions[0].size < FILL; batch++) {
    const proposals = Array.from({ length: 4096 }, () => {
      const item = fillStream.next();
      return proposal('fashion', 'l2', item.input, item.answer, item.radius);
    });
    for (const v of batch % 2 ? [1, 0] : [0, 1]) {
      const started = performance.now();
      await Promise.all(proposals.map((p) => versions[v].decide(p)));
      fillMs[v] += performance.now() - started;
    }
  }
  for (const memory of versions) await memory.mergesSettled?.();
  versions.forEach((memory, v) => {
    const m = merges[v];
    const built = memory.mergeCounts;
    console.log(JSON.stringify({
      checkout: [rootA, rootB][v], filled: memory.size, fillS: +(fillMs[v] / 1000).toFixed(1),
      // On the memory's thread: merges, or with background merges their start.
      maintenanceRuns: m.runs, maintenanceS: +(m.ms / 1000).toFixed(1), longestMaintenanceMs: +m.maxMs.toFixed(1),
      ...(built ? { mergesBuilt: built.merges, builtS: +(built.totalMs / 1000).toFixed(1), largestBuiltMs: +built.maxMs.toFixed(1) } : {}),
    }));
  });
}
for (const memory of versions) await memory.searchHelperReady?.();
const stream = new FashionStream(SEED, radii.pool);
const items = Array.from({ length: WARMUP + QUERIES }, () => stream.next());

function decide(memory: DecisionStep, item: (typeof items)[number]) {
  const base = { answer: item.answer, radius: item.answer === null ? 0 : item.radius };
  const started = performance.now();
  const { rules } = memory.applyRules(base, memory.prepare(item.input));
  return { ms: performance.now() - started, rules };
}

for (const memory of versions) for (let i = 0; i < WARMUP; i++) decide(memory, items[i]);
const times: number[][] = [[], []];
const outcomes: ReturnType<typeof decide>['rules'][][] = [[], []];
for (let at = WARMUP, turn = 0; at < items.length; at += TURN, turn++) {
  for (const v of turn % 2 ? [0, 1] : [1, 0]) {
    for (let i = at; i < Math.min(items.length, at + TURN); i++) {
      if (PAUSE_MS[v] > 0) await sleep(PAUSE_MS[v]);
      const o = decide(versions[v], items[i]);
      times[v].push(o.ms);
      outcomes[v].push(o.rules);
    }
  }
}
const differ = outcomes[0].filter((a, i) => {
  const b = outcomes[1][i];
  return a.answer !== b.answer || a.radius !== b.radius || a.action !== b.action;
}).length;
// Of those, how many differ in more than the radius, and by how much the radii differ at most
// (versions whose rules differ, e.g. rules version 1 against 2, differ in radius by a margin).
const differInAnswerOrAction = outcomes[0].filter((a, i) => a.answer !== outcomes[1][i].answer || a.action !== outcomes[1][i].action).length;
const largestRadiusDifference = Math.max(0, ...outcomes[0].map((a, i) => Math.abs(a.radius - outcomes[1][i].radius)));
const quantile = (values: number[], q: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(q * values.length))];
times.forEach((t, v) => {
  console.log(JSON.stringify({
    checkout: [rootA, rootB][v], searchHelper: HELPER[v], pauseMs: PAUSE_MS[v], decisions: t.length,
    p50Ms: +quantile(t, 0.5).toFixed(3), p90Ms: +quantile(t, 0.9).toFixed(3), p99Ms: +quantile(t, 0.99).toFixed(3),
    meanMs: +(t.reduce((x, y) => x + y, 0) / t.length).toFixed(3),
    // Trees the helper searched, and those this thread took back (from the warm-up on).
    ...(HELPER[v] ? versions[v].searchHelperCounts : {}),
  }));
});
console.log(JSON.stringify({ differentDecisions: differ, differInAnswerOrAction, largestRadiusDifference }));
process.exit(0);
