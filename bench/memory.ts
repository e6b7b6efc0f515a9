// Benchmark of the sequential memory: per-decision time of the index vs an exact linear scan,
// side by side on the same stored state, at growing memory sizes; misses; RAM per record;
// replay time (in a process of its own, bench/memoryReplay.ts, and again in this one).
//   npx tsx --expose-gc bench/memory.ts
// Phase A (MEMORY_BENCH_SIZES, default 10000,100000): the memory is filled by decide(), so every
//   stored radius is what the rules allowed.
// Phase B (MEMORY_BENCH_BULK, default 1000000; 0 skips): a log of that many stream records is
//   written directly (base radii, not shrunk by the rules: denser regions, a harder case for
//   the index) and replayed; then the same side-by-side measurement runs on the replayed memory.
// MEMORY_BENCH_KEEP=1 keeps the data directories (printed) for profiling; MEMORY_BENCH_DIR sets where they go.
// MEMORY_BENCH_HELPER=0 measures the memory without its search helper thread (the gateway's
//   default on two or more cores, and this benchmark's); bench/memoryCompare.ts compares both.
// MEMORY_BENCH_BACKGROUND_MERGES=0 merges segments on the memory's thread after the answers, as
//   before the segment builder (the gateway's default, and this benchmark's, is its own thread).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants, performance } from 'node:perf_hooks';
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { DecisionLog } from '../src/memory/decisionLog.js';
import { RealDisk } from '../src/memory/disk.js';
import { distance } from '../src/memory/distance.js';
import { decodeFrame, encodeFrame, fileHeader } from '../src/memory/logFormat.js';
import { MemoryStore } from '../src/memory/memoryStore.js';
import type { MemoryObserver } from '../src/memory/observer.js';
import { finishDecision, nestedMargin, nestedOutcome, planDecision, reach, relabelOutcome, type Candidate } from '../src/memory/rules.js';
import { SERVING_WARMUP_DECISIONS, type SequentialMemory } from '../src/memory/sequentialMemory.js';
import type { MemoryOutcome } from '../src/memory/types.js';
import { proposal } from '../test/helpers/memory-streams.js';
import { loadOrBuildPool, poolOptionsFromEnv, poolStats } from './certifiedRadii.js';
import { FashionStream, type BenchItem } from './memoryStream.js';

const SIZES = (process.env.MEMORY_BENCH_SIZES ?? '10000,100000').split(',').filter(Boolean).map(Number);
const BULK = Number(process.env.MEMORY_BENCH_BULK ?? 1_000_000);
const INDEX_QUERIES = Number(process.env.MEMORY_BENCH_QUERIES ?? 1000);
const SCAN_BUDGET_MS = Number(process.env.MEMORY_BENCH_SCAN_MS ?? 20_000);
/** Decisions made (and stored) before timing starts, after the memory's own warm-up (see replay). */
const WARMUP = Number(process.env.MEMORY_BENCH_WARMUP ?? 20);
const SEED = Number(process.env.MEMORY_BENCH_SEED ?? 2024);
const SEARCH_HELPER = process.env.MEMORY_BENCH_HELPER !== '0';
const BACKGROUND_MERGES = process.env.MEMORY_BENCH_BACKGROUND_MERGES !== '0';
const D = 784;
const CHUNK = 65_536;

/** A plain copy of the stored regions for the linear scan (inputs in RAM). */
class Mirror {
  private chunks: Float32Array[] = [];
  answers: (number | null)[] = [];
  radii: number[] = [];
  /** largest[i]: the largest of the first i + 1 radii (the scan's nested margin, as the memory's). */
  largest: number[] = [];
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
    this.largest.push(Math.max(radius, i > 0 ? this.largest[i - 1] : 0));
  }
  row(i: number): Float32Array {
    const c = this.chunks[Math.floor(i / CHUNK)];
    return c.subarray((i % CHUNK) * D, (i % CHUNK + 1) * D);
  }
}

/** The mirror of every record of a log, read back from it. */
async function mirrorFromLog(path: string): Promise<Mirror> {
  const mirror = new Mirror();
  const log = await DecisionLog.open(new RealDisk(), path, true);
  try {
    let scratch: Float32Array | undefined;
    await log.replay((_offset, bytes, at) => {
      const frame = decodeFrame(bytes, at, scratch);
      scratch = frame.input;
      mirror.add(frame.seq, frame.input, frame.answer, frame.radius);
    });
  } finally {
    await log.close();
  }
  return mirror;
}

/** Regions among the first `stored` of the mirror within reach of the ball (x, radius). */
function scanCandidates(mirror: Mirror, stored: number, x: Float32Array, radius: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < stored; i++) {
    const d = distance(x, mirror.row(i), 'l2');
    if (d < reach(radius, mirror.radii[i])) out.push({ seq: i + 1, answer: mirror.answers[i], radius: mirror.radii[i], distance: d });
  }
  return out;
}

/**
 * The same rules over an exact linear scan of the first `stored` regions (the baseline), applied
 * in the memory's order (SequentialMemory.applyRules): a ball nested deep enough in a region of
 * its own answer is decided before regions of other answers are looked at. Where the regions keep
 * the invariant, that is the reference's order too (no region of another answer can contain x
 * then); phase B's log breaks it (base radii, never shrunk), and `referenceOrderDiffers` says
 * whether the reference's order (a relabel first, reference.ts) decides otherwise on this state.
 */
function scanDecide(mirror: Mirror, stored: number, item: BenchItem) {
  const base = { answer: item.answer, radius: item.radius };
  let candidates = scanCandidates(mirror, stored, item.input, base.radius);
  const first = candidates.map((c) => c.seq - 1);
  const margin = nestedMargin(stored > 0 ? mirror.largest[stored - 1] : 0, item.input.length);
  const plan = planDecision(base, candidates);
  const nestedFirst = nestedOutcome(base, planDecision(base, candidates.filter((c) => c.answer === base.answer)), margin);
  const referenceOrderDiffers = nestedFirst !== null && plan.action === 'relabel';
  if (nestedFirst) return { ...nestedFirst, first, referenceOrderDiffers };
  if (plan.action === 'relabel') return { ...relabelOutcome(plan, margin), first, referenceOrderDiffers };
  if (plan.upper > base.radius) candidates = scanCandidates(mirror, stored, item.input, plan.upper);
  return { ...finishDecision(base, plan, candidates), first, referenceOrderDiffers };
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

interface Probe {
  decideMs: number;
  /** performance.now() when the decision step began. */
  decideStartedAt: number;
  insertMs: number;
  candidates: number;
  /** Durations of the index maintenance runs (segment merges after answers were sent). */
  maintenanceMs: number[];
}

/** Copies each decision's timings into `probe`, collects maintenance runs, and counts actions. */
function observe(probe: Probe, actions?: Record<string, number>): MemoryObserver {
  return {
    onDecision: (e) => {
      probe.decideMs = e.decideMs;
      probe.decideStartedAt = e.startedAt;
      probe.insertMs = e.insertMs;
      probe.candidates = e.candidates;
      if (actions) actions[e.action] = (actions[e.action] ?? 0) + 1;
    },
    onMaintenance: (e) => probe.maintenanceMs.push(e.ms),
  };
}

/**
 * Side by side on the same states. The memory decides INDEX_QUERIES times back to back (timed);
 * for up to 200 of those decisions the state before it (a prefix of the mirror: regions are only
 * ever appended) is kept, and afterwards the scan decides on that state and is compared with what
 * the memory decided. Scanning after, not between, the timed decisions keeps a 3 GB pass over
 * the mirror from evicting the index from the caches before the decision that follows it.
 * The mirror is read back from the memory's log after the timed decisions, so that the process
 * holds no more than a gateway's while they are timed (a 3 GB mirror beside the index made them
 * slower).
 */
async function measure(memory: SequentialMemory, stream: FashionStream, probe: Probe, label: string) {
  const indexMs: number[] = [];
  const insertMs: number[] = [];
  const scanMs: number[] = [];
  const candidateCounts: number[] = [];
  let misses = 0;
  let mismatches = 0;
  let referenceOrderDiffers = 0;
  // Major (mark-compact) GC pauses during the timed decisions: they land on whichever decision is
  // running. Every pause (minor ones too) is kept to count the decision steps it fell in.
  const majorGcMs: number[] = [];
  const gcPauses: { start: number; ms: number }[] = [];
  const decisionWindows: { start: number; end: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGcMs.push(e.duration);
      gcPauses.push({ start: e.startTime, ms: e.duration });
    }
  });
  for (let w = 0; w < WARMUP; w++) {
    const item = stream.next();
    await memory.decide(proposal('fashion', 'l2', item.input, item.answer, item.radius));
  }
  await memory.searchHelperReady();
  const helperBefore = memory.searchHelperCounts;
  const mergesBefore = memory.mergeCounts;
  const sampled: { item: BenchItem; stored: number; outcome: MemoryOutcome }[] = [];
  probe.maintenanceMs.length = 0;
  // Per timed decision, how many decisions came between it and the last maintenance run before it.
  const sinceMaintenance: number[] = [];
  let runsSeen = 0;
  gcObserver.observe({ entryTypes: ['gc'] });
  for (let q = 0; q < INDEX_QUERIES; q++) {
    const item = stream.next();
    const stored = memory.size;
    const o = await memory.decide(proposal('fashion', 'l2', item.input, item.answer, item.radius));
    // A run due after an answer ends before the next decision starts, and starts after this await resumes.
    const last = sinceMaintenance.length > 0 ? sinceMaintenance[sinceMaintenance.length - 1] : Infinity;
    sinceMaintenance.push(probe.maintenanceMs.length > runsSeen ? 0 : last + 1);
    runsSeen = probe.maintenanceMs.length;
    indexMs.push(probe.decideMs);
    decisionWindows.push({ start: probe.decideStartedAt, end: probe.decideStartedAt + probe.decideMs });
    insertMs.push(probe.insertMs);
    candidateCounts.push(probe.candidates);
    if (q % Math.max(1, Math.floor(INDEX_QUERIES / 200)) === 0) sampled.push({ item, stored, outcome: o });
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  gcObserver.disconnect();
  const mirror = await mirrorFromLog(memory.path);
  if (mirror.size !== memory.size) throw new Error(`the mirror holds ${mirror.size} records, the memory ${memory.size}`);
  const helperAfter = memory.searchHelperCounts;
  const mergesAfter = memory.mergeCounts;
  const pausedDecisions = decisionWindows.filter((w) => gcPauses.some((g) => g.start < w.end && g.start + g.ms > w.start)).length;
  // The slowest 1 % of the timed decisions, and how many of them came within 3 decisions after a
  // maintenance run (a merge writes tens of MB: the caches then hold little of the index).
  const slowest = indexMs.map((ms, q) => ({ ms, q })).sort((a, b) => b.ms - a.ms).slice(0, Math.ceil(INDEX_QUERIES / 100));
  const slowestAfterMaintenance = slowest.filter(({ q }) => sinceMaintenance[q] < 3).length;
  let scanSpent = 0;
  for (const { item, stored, outcome } of sampled) {
    if (scanSpent >= SCAN_BUDGET_MS) break;
    const t0 = performance.now();
    const scan = scanDecide(mirror, stored, item);
    const ms = performance.now() - t0;
    scanMs.push(ms);
    scanSpent += ms;
    // The index on the later state, restricted to the regions stored before this decision.
    const found = new Set(memory.conflictCandidates(item.input, item.radius).filter((i) => i < stored));
    misses += scan.first.filter((i) => !found.has(i)).length;
    if (scan.answer !== outcome.answer || scan.radius !== outcome.radius || scan.action !== outcome.action) mismatches++;
    if (scan.referenceOrderDiffers) referenceOrderDiffers++;
  }
  return {
    phase: label,
    stored: memory.size - INDEX_QUERIES - WARMUP,
    indexP50Ms: +quantile(indexMs, 0.5).toFixed(3),
    indexP99Ms: +quantile(indexMs, 0.99).toFixed(3),
    indexMaxMs: +Math.max(...indexMs).toFixed(3),
    insertP50Ms: +quantile(insertMs, 0.5).toFixed(3),
    insertP99Ms: +quantile(insertMs, 0.99).toFixed(3),
    insertMaxMs: +Math.max(...insertMs).toFixed(3),
    // Maintenance on the memory's thread after answers: merges, or with background merges their start.
    maintenanceRuns: probe.maintenanceMs.length,
    maintenanceMaxMs: +Math.max(0, ...probe.maintenanceMs).toFixed(1),
    backgroundMerges: BACKGROUND_MERGES,
    // Merges the builder's thread finished during the timed decisions, their time there, and the longest one of the whole run.
    mergesBuilt: (mergesAfter?.merges ?? 0) - (mergesBefore?.merges ?? 0),
    mergesBuiltMs: +((mergesAfter?.totalMs ?? 0) - (mergesBefore?.totalMs ?? 0)).toFixed(1),
    largestMergeSoFarMs: +(mergesAfter?.maxMs ?? 0).toFixed(1),
    // Of the slowest 1 % of the timed decisions, those within 3 decisions after a maintenance run.
    slowestAfterMaintenance: `${slowestAfterMaintenance} of ${slowest.length}`,
    indexP99MsAwayFromMaintenance: +quantile(indexMs.filter((_, q) => sinceMaintenance[q] >= 3), 0.99).toFixed(3),
    scanP50Ms: +quantile(scanMs, 0.5).toFixed(1),
    scanP99Ms: +quantile(scanMs, 0.99).toFixed(1),
    speedupP50: Math.round(quantile(scanMs, 0.5) / quantile(indexMs, 0.5)),
    meanExactCandidates: +(candidateCounts.reduce((a, b) => a + b, 0) / candidateCounts.length).toFixed(2),
    indexQueries: INDEX_QUERIES,
    warmup: WARMUP,
    scanQueries: scanMs.length,
    misses,
    mismatches,
    // Scanned decisions that the reference's order decides otherwise: only on a state whose regions break the invariant (phase B).
    referenceOrderDiffers,
    majorGcPauses: majorGcMs.length,
    majorGcMaxMs: +Math.max(0, ...majorGcMs).toFixed(1),
    // Timed decision steps that a GC pause (minor or major) overlapped, of all pauses during the timed decisions.
    decisionsWithGcPause: pausedDecisions,
    gcPauses: gcPauses.length,
    searchHelper: SEARCH_HELPER,
    // Trees the helper searched during the timed decisions, and those it left to the memory's thread after taking them.
    helperAnswered: (helperAfter?.answered ?? 0) - (helperBefore?.answered ?? 0),
    helperTakenBack: (helperAfter?.takenBack ?? 0) - (helperBefore?.takenBack ?? 0),
  };
}

/** Replays the log of `dataDir` in a fresh store; reports time and RAM per record. */
async function replay(dataDir: string, probe: Probe) {
  // First in a process of its own, as a gateway starting up.
  const own = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(new URL('./memoryReplay.ts', import.meta.url)), dataDir], { encoding: 'utf8' });
  if (own.status !== 0) throw new Error(`bench/memoryReplay.ts failed: ${own.stderr}`);
  const alone = JSON.parse(own.stdout.trim().split('\n').pop()!) as {
    replayS: number;
    warmupS: number;
    residentGrowthBytesPerRecord: number;
    processCpuS: number;
    memoryThreadMinorFaults?: number;
  };
  gc();
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const store = new MemoryStore({
    dataDir, queueCapacity: 8192, maxGroup: 2048, searchHelper: SEARCH_HELPER, backgroundMerges: BACKGROUND_MERGES, warmupDecisions: SERVING_WARMUP_DECISIONS,
    observer: observe(probe),
  });
  const memory = await store.memory('fashion', 'l2');
  const replayS = (performance.now() - t0 - memory.warmup.ms) / 1000;
  gc();
  gc();
  const after = process.memoryUsage();
  const delta = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  // Buffers made by the replay workers and handed over are not counted in arrayBuffers: the
  // growth of the resident set catches them (and whatever the allocator keeps).
  const rssDelta = after.rss - before.rss;
  return {
    store,
    memory,
    stats: {
      replayRecords: memory.size,
      replayOwnProcessS: alone.replayS,
      warmupOwnProcessS: alone.warmupS,
      replayOwnProcessResidentGrowthBytesPerRecord: alone.residentGrowthBytesPerRecord,
      // CPU of all its threads, and the first touches of new memory on the memory's thread (Linux).
      replayOwnProcessCpuS: alone.processCpuS,
      replayOwnProcessMemoryThreadMinorFaults: alone.memoryThreadMinorFaults ?? null,
      replayS: +replayS.toFixed(1),
      // Then the memory's warm-up, as the gateway's (SERVING_WARMUP_DECISIONS decisions computed and discarded).
      warmupDecisions: memory.warmup.decisions,
      warmupS: +(memory.warmup.ms / 1000).toFixed(2),
      measuredRamBytesPerRecord: Math.round(delta / memory.size),
      residentGrowthBytesPerRecord: Math.round(rssDelta / memory.size),
      estimatedIndexBytesPerRecord: Math.round(memory.indexBytesPerRecord()),
      logBytesPerRecord: Math.round(statSync(memory.path).size / memory.size),
    },
  };
}

/** Writes `count` stream records straight into a log (no rules applied). */
function writeBulkLog(dataDir: string, count: number, stream: FashionStream): void {
  mkdirSync(join(dataDir, 'fashion'), { recursive: true });
  const fd = openSync(join(dataDir, 'fashion', 'l2.log'), 'w');
  writeSync(fd, fileHeader());
  let parts: Uint8Array[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const item = stream.next();
    const meta = {
      seq, model: 'fashion', norm: 'l2', answer: item.answer, radius: item.radius, sigma: 0.25, seed: seq.toString(16),
      time: new Date(0).toISOString(), action: 'none', conflictSeq: null,
      base: { answer: item.answer, radius: item.radius, pALower: 0.99, countA: 99000, n: 100000, n0: 100, alpha: 0.001, sigma: 0.25, sigma0: 0.25, solver: 'batched' },
      params: { n: 100000, n0: 100, alpha: 0.001, sigma: 'auto', norm: 'l2' }, timingsMs: { certify: 30 },
    };
    parts.push(encodeFrame(seq, item.answer, item.radius, item.input, meta));
    if (parts.length === 4096 || seq === count) {
      writeSync(fd, Buffer.concat(parts));
      parts = [];
    }
  }
  fsyncSync(fd);
  closeSync(fd);
}

async function main(): Promise<void> {
  // Radii, abstains and wrong answers of the stream come from real certify outputs (CERTIFIED_RADII_*);
  // building the pool is set-up, outside totalS.
  const radii = await loadOrBuildPool(poolOptionsFromEnv());
  console.log(JSON.stringify({ phase: 'certified-radius pool', source: radii.cached ? 'cache' : 'built', seconds: +radii.seconds.toFixed(1), ...poolStats(radii.pool) }));
  const started = performance.now();
  const stream = new FashionStream(SEED, radii.pool);
  const root = process.env.MEMORY_BENCH_DIR ?? tmpdir();
  console.log(`stream: ${stream.imageCount} Fashion-MNIST images + perturbations, d=${D}, l2, seed ${SEED}; decisions drawn from ${radii.pool.k} certify outputs of ${radii.pool.model} (N = ${radii.pool.n})`);
  const probe: Probe = { decideMs: 0, decideStartedAt: 0, insertMs: 0, candidates: 0, maintenanceMs: [] };
  const actions: Record<string, number> = {};

  if (SIZES.length > 0) {
    const dataDir = mkdtempSync(join(root, 'certigate-memory-bench-'));
    const store = new MemoryStore({
      dataDir, queueCapacity: 8192, maxGroup: 2048, searchHelper: SEARCH_HELPER, backgroundMerges: BACKGROUND_MERGES,
      observer: observe(probe, actions),
    });
    const memory = await store.memory('fashion', 'l2');
    for (const size of SIZES) {
      const t0 = performance.now();
      while (memory.size < size) {
        const items = Array.from({ length: Math.min(4096, size - memory.size) }, () => stream.next());
        await Promise.all(items.map((it) => memory.decide(proposal('fashion', 'l2', it.input, it.answer, it.radius))));
      }
      const buildS = +((performance.now() - t0) / 1000).toFixed(1);
      console.log(JSON.stringify({ ...(await measure(memory, stream, probe, 'A: decided')), buildS }));
    }
    await store.close();
    const replayed = await replay(dataDir, probe);
    console.log(JSON.stringify({ phase: 'A: replay', ...replayed.stats, actions }));
    await replayed.store.close();
    if (!process.env.MEMORY_BENCH_KEEP) rmSync(dataDir, { recursive: true, force: true });
    else console.log(JSON.stringify({ kept: dataDir }));
  }

  if (BULK > 0) {
    const dataDir = mkdtempSync(join(root, 'certigate-memory-bulk-'));
    const t0 = performance.now();
    writeBulkLog(dataDir, BULK, stream);
    console.log(JSON.stringify({ phase: 'B: bulk log written', records: BULK, writeS: +((performance.now() - t0) / 1000).toFixed(1) }));
    const replayed = await replay(dataDir, probe);
    console.log(JSON.stringify({ phase: 'B: replay', ...replayed.stats }));
    console.log(JSON.stringify(await measure(replayed.memory, stream, probe, 'B: bulk, replayed')));
    await replayed.store.close();
    if (!process.env.MEMORY_BENCH_KEEP) rmSync(dataDir, { recursive: true, force: true });
    else console.log(JSON.stringify({ kept: dataDir }));
  }
  console.log(JSON.stringify({ totalS: Math.round((performance.now() - started) / 1000) }));
}

await main();
