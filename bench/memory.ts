// Benchmark of the sequential memory: per-decision time of the index vs an exact linear scan,
// side by side on the same stored state, at growing memory sizes; misses; RAM per record;
// replay time. Run: npx tsx --expose-gc bench/memory.ts   (MEMORY_BENCH_SIZES=10000,100000)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { distance } from '../src/memory/distance.js';
import { MemoryStore } from '../src/memory/memoryStore.js';
import { finishDecision, planDecision, reach, type Candidate } from '../src/memory/rules.js';
import type { MemoryOutcome } from '../src/memory/types.js';
import { proposal } from '../test/helpers/memory-streams.js';
import { FashionStream, type BenchItem } from './memoryStream.js';

const SIZES = (process.env.MEMORY_BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const INDEX_QUERIES = Number(process.env.MEMORY_BENCH_QUERIES ?? 1000);
const SCAN_BUDGET_MS = Number(process.env.MEMORY_BENCH_SCAN_MS ?? 20_000);
const SEED = Number(process.env.MEMORY_BENCH_SEED ?? 2024);
const D = 784;
const CHUNK = 65_536;

/** A plain copy of the stored regions for the linear scan (inputs in RAM). */
class Mirror {
  private chunks: Float32Array[] = [];
  answers: (number | null)[] = [];
  radii: number[] = [];
  get size(): number {
    return this.radii.length;
  }
  add(seq: number, input: Float32Array, answer: number | null, radius: number): void {
    if (seq !== this.size + 1) throw new Error(`mirror out of order: ${seq} after ${this.size}`);
    const i = this.size;
    if (i % CHUNK === 0) this.chunks.push(new Float32Array(CHUNK * D));
    this.chunks[Math.floor(i / CHUNK)].set(input, (i % CHUNK) * D);
    this.answers.push(answer);
    this.radii.push(radius);
  }
  row(i: number): Float32Array {
    const c = this.chunks[Math.floor(i / CHUNK)];
    return c.subarray((i % CHUNK) * D, (i % CHUNK + 1) * D);
  }
}

function scanCandidates(mirror: Mirror, x: Float32Array, radius: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < mirror.size; i++) {
    const d = distance(x, mirror.row(i), 'l2');
    if (d < reach(radius, mirror.radii[i])) out.push({ seq: i + 1, answer: mirror.answers[i], radius: mirror.radii[i], distance: d });
  }
  return out;
}

/** The same rules over an exact linear scan (the baseline). */
function scanDecide(mirror: Mirror, item: BenchItem) {
  const base = { answer: item.answer, radius: item.radius };
  let candidates = scanCandidates(mirror, item.input, base.radius);
  const first = candidates.map((c) => c.seq - 1);
  const plan = planDecision(base, candidates);
  if (plan.upper > base.radius) candidates = scanCandidates(mirror, item.input, plan.upper);
  return { ...finishDecision(base, plan, candidates), first };
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function main(): Promise<void> {
  const started = performance.now();
  const stream = new FashionStream(SEED);
  const dataDir = mkdtempSync(join(process.env.MEMORY_BENCH_DIR ?? tmpdir(), 'certigate-memory-bench-'));
  let lastDecideMs = 0;
  let lastCandidates = 0;
  const actions: Record<string, number> = {};
  const store = new MemoryStore({
    dataDir, queueCapacity: 8192, maxGroup: 2048,
    observer: { onDecision: (e) => { lastDecideMs = e.decideMs; lastCandidates = e.candidates; actions[e.action] = (actions[e.action] ?? 0) + 1; } },
  });
  const memory = await store.memory('fashion', 'l2');
  const mirror = new Mirror();
  const record = (o: MemoryOutcome, item: BenchItem) => {
    if (o.action !== 'repeat') mirror.add(o.seq, item.input, o.answer, o.radius);
  };
  console.log(`stream: ${stream.imageCount} Fashion-MNIST images + perturbations, d=${D}, l2, seed ${SEED}; data in ${dataDir}`);
  const results = [];
  for (const size of SIZES) {
    const buildStart = performance.now();
    while (mirror.size < size) {
      const items = Array.from({ length: Math.min(4096, size - mirror.size) }, () => stream.next());
      const outcomes = await Promise.all(items.map((it) => memory.decide(proposal('fashion', 'l2', it.input, it.answer, it.radius))));
      outcomes.forEach((o, i) => record(o, items[i]));
    }
    const buildS = (performance.now() - buildStart) / 1000;
    // Side by side on the same state: the scan first (it does not change anything), then the memory decides.
    const indexMs: number[] = [];
    const scanMs: number[] = [];
    const candidateCounts: number[] = [];
    let misses = 0;
    let mismatches = 0;
    let scanned = 0;
    let scanSpent = 0;
    for (let q = 0; q < INDEX_QUERIES; q++) {
      const item = stream.next();
      let scan: ReturnType<typeof scanDecide> | null = null;
      if (scanSpent < SCAN_BUDGET_MS && q % Math.max(1, Math.floor(INDEX_QUERIES / 200)) === 0) {
        const t0 = performance.now();
        scan = scanDecide(mirror, item);
        const ms = performance.now() - t0;
        scanMs.push(ms);
        scanSpent += ms;
        scanned++;
        const found = new Set(memory.conflictCandidates(item.input, item.radius));
        misses += scan.first.filter((i) => !found.has(i)).length;
      }
      const o = await memory.decide(proposal('fashion', 'l2', item.input, item.answer, item.radius));
      indexMs.push(lastDecideMs);
      candidateCounts.push(lastCandidates);
      if (scan && (scan.answer !== o.answer || scan.radius !== o.radius || scan.action !== o.action)) mismatches++;
      record(o, item);
    }
    const row = {
      stored: size,
      buildS: +buildS.toFixed(1),
      indexP50Ms: +quantile(indexMs, 0.5).toFixed(4),
      indexP99Ms: +quantile(indexMs, 0.99).toFixed(4),
      scanP50Ms: +quantile(scanMs, 0.5).toFixed(2),
      scanP99Ms: +quantile(scanMs, 0.99).toFixed(2),
      speedupP50: +(quantile(scanMs, 0.5) / quantile(indexMs, 0.5)).toFixed(0),
      meanCandidates: +(candidateCounts.reduce((a, b) => a + b, 0) / candidateCounts.length).toFixed(1),
      indexQueries: INDEX_QUERIES,
      scanQueries: scanned,
      misses,
      mismatches,
      indexBytesPerRecord: Math.round(memory.indexBytesPerRecord()),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  const stored = memory.size;
  const logBytes = statSync(memory.path).size;
  await store.close();

  // Replay: a fresh store rebuilds the index from the log.
  gc();
  const before = process.memoryUsage();
  const replayStart = performance.now();
  const reopened = new MemoryStore({ dataDir });
  const replayed = await reopened.memory('fashion', 'l2');
  const replayS = (performance.now() - replayStart) / 1000;
  gc();
  const after = process.memoryUsage();
  const heapDelta = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  const summary = {
    replayRecords: replayed.size,
    replayS: +replayS.toFixed(2),
    measuredRamBytesPerRecord: Math.round(heapDelta / replayed.size),
    estimatedIndexBytesPerRecord: Math.round(replayed.indexBytesPerRecord()),
    logBytesPerRecord: Math.round(logBytes / stored),
    actions,
    totalS: +((performance.now() - started) / 1000).toFixed(0),
  };
  console.log(JSON.stringify(summary));
  await reopened.close();
  if (!process.env.MEMORY_BENCH_KEEP) rmSync(dataDir, { recursive: true, force: true });
}

await main();
