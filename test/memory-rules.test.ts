// Property tests of the memory against the brute-force reference of DESIGN 2: after every
// step the invariant holds, the index returned every record a scan finds, and answer /
// radius / action / conflictSeq equal the reference. Seeds are printed on failure.
import { describe, expect, it } from 'vitest';
import { distance } from '../src/memory/distance.js';
import { FaultDisk } from '../src/memory/faultDisk.js';
import { findViolations, referenceDecide, type ReferenceRecord } from '../src/memory/reference.js';
import { nestedMargin, nestedOutcome, planDecision, reach, relabelOutcome } from '../src/memory/rules.js';
import { ConflictOrder } from '../src/memory/conflictOrder.js';
import type { MemoryObserver } from '../src/memory/observer.js';
import { SequentialMemory } from '../src/memory/sequentialMemory.js';
import type { Norm } from '../src/memory/types.js';
import { gaussian, proposal, rng, searchUntilHelperAnswers, StreamGenerator, type StreamKind } from './helpers/memory-streams.js';

/** `threads`: the index searches on a helper thread too and merges segments on a thread of their own. */
async function openMemory(norm: Norm, seed: number, observer: MemoryObserver = {}, threads = false) {
  return SequentialMemory.open({
    disk: new FaultDisk({ seed }), path: `/mem/m/${norm}.log`, model: 'm', norm, observer, searchHelper: threads, backgroundMerges: threads,
  });
}

/**
 * Runs `steps` proposals through the memory and the reference side by side; `searchHelper`: with
 * a second search thread taking part, and segments merged on a third.
 */
async function runStream(kind: StreamKind, norm: Norm, dim: number, steps: number, seed: number, searchHelper = false): Promise<void> {
  const context = `kind=${kind} norm=${norm} dim=${dim} seed=${seed}${searchHelper ? ' helper' : ''}`;
  let overlaps = 0;
  let window = { startedAt: NaN, decideMs: NaN };
  const memory = await openMemory(norm, seed, {
    onDecision: (event) => {
      overlaps = event.overlaps;
      window = { startedAt: event.startedAt, decideMs: event.decideMs };
    },
  }, searchHelper);
  const stream = new StreamGenerator(kind, dim, norm, seed);
  const stored: ReferenceRecord[] = [];
  const dist = (a: Float32Array, b: Float32Array) => distance(a, b, norm);
  const counts: Record<string, number> = {};
  // The index must return every record a scan finds within reach (at the proposal's radius and a larger one).
  const checkIndex = (input: Float32Array, radius: number, step: number) => {
    for (const r of [radius, radius + 0.5 * (stored.at(-1)?.radius ?? 1)]) {
      const scan = stored.filter((rec) => dist(input, rec.input) < reach(r, rec.radius)).map((rec) => rec.seq - 1);
      const indexed = memory.conflictCandidates(input, r).sort((a, b) => a - b);
      expect(indexed, `${context} step=${step}: index vs scan at radius ${r}`).toEqual(scan);
    }
  };
  for (let step = 0; step < steps; step++) {
    const item = stream.next(stored, dist);
    const radius = item.answer === null ? 0 : item.radius;
    checkIndex(item.input, radius, step);
    const expected = referenceDecide(stored, item.input, { answer: item.answer, radius }, norm);
    const before = performance.now();
    const outcome = await memory.decide(proposal('m', norm, item.input, item.answer, item.radius));
    // The event places the decision step inside the call (tracing relies on it).
    expect(window.startedAt, `${context} step=${step}: startedAt`).toBeGreaterThanOrEqual(before);
    expect(window.startedAt + window.decideMs, `${context} step=${step}: end of the step`).toBeLessThanOrEqual(performance.now());
    const got = { answer: outcome.answer, radius: outcome.radius, action: outcome.action, conflictSeq: outcome.conflictSeq };
    const want = { answer: expected.answer, radius: expected.radius, action: expected.action, conflictSeq: expected.conflictSeq };
    expect(got, `${context} step=${step}`).toEqual(want);
    // Overlaps found: all containing regions for a relabel; for a shrink the binding one at least.
    if (outcome.action === 'shrink') {
      expect(overlaps, `${context} step=${step}: overlaps`).toBeGreaterThanOrEqual(1);
      expect(overlaps, `${context} step=${step}: overlaps`).toBeLessThanOrEqual(expected.overlaps);
    } else if (outcome.action !== 'repeat') {
      expect(overlaps, `${context} step=${step}: overlaps`).toBe(expected.overlaps);
    }
    counts[outcome.action] = (counts[outcome.action] ?? 0) + 1;
    if (outcome.action === 'repeat') {
      expect(outcome.seq, `${context} step=${step}`).toBe(expected.repeatOf);
      continue;
    }
    expect(outcome.seq, context).toBe(stored.length + 1);
    const rec: ReferenceRecord = { seq: outcome.seq, input: new Float32Array(item.input), answer: outcome.answer, radius: outcome.radius };
    // Invariant after this step: the new record against every earlier one (earlier pairs were checked before).
    for (const other of stored) {
      if (other.answer !== rec.answer) {
        const d = dist(rec.input, other.input);
        expect(d >= rec.radius + other.radius, `${context} step=${step}: seq ${rec.seq} overlaps seq ${other.seq} (d=${d}, R=${rec.radius}+${other.radius})`).toBe(true);
      }
    }
    stored.push(rec);
    if (searchHelper && step === 0) await memory.searchHelperReady(); // the index (and its helper) exists from the first record
  }
  if (searchHelper) {
    await searchUntilHelperAnswers(() => memory.searchHelperCounts!.answered, (step) => {
      const item = stream.next(stored, dist);
      checkIndex(item.input, item.answer === null ? 0 : item.radius, step);
    }, steps, 2000);
    expect(memory.searchHelperCounts!.answered, `${context}: tasks the helper answered`).toBeGreaterThan(0);
    await memory.mergesSettled();
    for (let q = 0; q < 20; q++) {
      const item = stream.next(stored, dist);
      checkIndex(item.input, item.answer === null ? 0 : item.radius, steps + q);
    }
  }
  expect(findViolations(stored, norm), context).toEqual([]);
  // Each stream must actually exercise the rules.
  expect(Object.keys(counts).length, `${context} actions ${JSON.stringify(counts)}`).toBeGreaterThanOrEqual(kind === 'random' ? 2 : 3);
  await memory.close();
}

describe('memory rules against the brute-force reference', () => {
  const seeds = (process.env.MEMORY_SEEDS ?? '11,12,13').split(',').map(Number);
  for (const norm of ['l2', 'l1'] as const) {
    for (const kind of ['random', 'clustered', 'adversarial'] as const) {
      it(`${kind} streams, ${norm}, d=8`, async () => {
        for (const seed of seeds) await runStream(kind, norm, 8, 400, seed);
      });
    }
  }
  it('clustered and adversarial streams at d=784', async () => {
    await runStream('clustered', 'l2', 784, 250, 21);
    await runStream('adversarial', 'l2', 784, 250, 22);
    await runStream('adversarial', 'l1', 784, 150, 23);
  });
  it('the same with the search helper taking trees on a second thread, and merges on a third', async () => {
    for (const norm of ['l2', 'l1'] as const) for (const kind of ['clustered', 'adversarial'] as const) await runStream(kind, norm, 8, 400, seeds[0], true);
    await runStream('adversarial', 'l2', 784, 250, 22, true);
  });
});

describe('memory rules, worked cases', () => {
  const x = (...v: number[]) => Float32Array.from(v);

  it('relabels an input inside another answer, shrinks a ball that would overlap, keeps a nested ball, repeats', async () => {
    const memory = await openMemory('l2', 1);
    const a = await memory.decide(proposal('m', 'l2', x(0, 0), 1, 1));
    expect(a).toMatchObject({ seq: 1, answer: 1, radius: 1, action: 'none', conflictSeq: null });
    // inside region 1 with another answer: relabelled to 1 with radius 1 - 0.5, less a margin for rounding
    const b = await memory.decide(proposal('m', 'l2', x(0.5, 0), 2, 3));
    expect(b).toMatchObject({ seq: 2, answer: 1, action: 'relabel', conflictSeq: 1 });
    expect(b.radius).toBeLessThan(0.5);
    expect(b.radius).toBeGreaterThan(0.5 - 1e-8);
    // outside, answer 2, radius 2 would overlap: shrunk to just below touching (distance 3 - 1)
    const c = await memory.decide(proposal('m', 'l2', x(3, 0), 2, 2));
    expect(c).toMatchObject({ seq: 3, answer: 2, action: 'shrink', conflictSeq: 1 });
    expect(c.radius).toBeLessThan(2);
    expect(c.radius).toBeGreaterThan(2 - 1e-8);
    // an abstain inside region 1 is relabelled too
    const d = await memory.decide(proposal('m', 'l2', x(-0.25, 0), null, 0));
    expect(d).toMatchObject({ answer: 1, action: 'relabel', conflictSeq: 1 });
    expect(d.radius).toBeLessThan(0.75);
    expect(d.radius).toBeGreaterThan(0.75 - 1e-8);
    // same answer nested deep inside region 1: keeps the larger nested radius, less the margin
    const e = await memory.decide(proposal('m', 'l2', x(0, 0.1), 1, 0.2));
    expect(e).toMatchObject({ answer: 1, action: 'none', conflictSeq: 1 });
    const nestedDepth = 1 - Math.fround(0.1);
    expect(e.radius).toBeLessThan(nestedDepth);
    expect(e.radius).toBeGreaterThan(nestedDepth - 1e-8);
    // exact repeat: the stored answer, nothing new stored
    const f = await memory.decide(proposal('m', 'l2', x(3, 0), 0, 5));
    expect(f).toMatchObject({ seq: 3, answer: 2, action: 'repeat', conflictSeq: 3 });
    expect(memory.lastSeq).toBe(5);
    // an abstain is stored as a radius-0 region: a later ball of another answer may not cover it
    const g = await memory.decide(proposal('m', 'l2', x(10, 0), null, 0));
    expect(g).toMatchObject({ answer: null, radius: 0, action: 'none' });
    const h = await memory.decide(proposal('m', 'l2', x(10.5, 0), 3, 2));
    expect(h).toMatchObject({ answer: 3, action: 'shrink', conflictSeq: g.seq });
    expect(h.radius).toBeLessThan(0.5);
    await memory.close();
  });

  it('a point exactly on a boundary is not inside (open balls) and gets radius 0', async () => {
    const memory = await openMemory('l1', 2);
    await memory.decide(proposal('m', 'l1', x(0, 0), 1, 1));
    const b = await memory.decide(proposal('m', 'l1', x(0.5, 0.5), 2, 1)); // l1 distance exactly 1
    expect(b).toMatchObject({ answer: 2, radius: 0, action: 'shrink', conflictSeq: 1 });
    await memory.close();
  });
});

describe('nested margin', () => {
  // A region c, a region j of another answer that touches it exactly in float64 (the audit's
  // D(c,j) >= R_c + R_j with nothing to spare), and x inside c on the way to j: a ball at x with
  // radius R_c - D(x,c), relabelled to c's answer or proposed with it, touches j too, and rounding
  // alone decides whether the audit sees them overlap. Less nestedMargin it must never overlap;
  // with no margin some must, or these cases would not test it.
  it('keeps a relabelled or nested ball apart, as the audit computes it, from a region touching its container', () => {
    for (const norm of ['l2', 'l1'] as const) {
      for (const n of [2, 49, 784]) {
        for (const moved of [2, n]) {
          const seed = 1000 * n + moved;
          const random = rng(seed);
          let overlapsWithout = 0;
          let nestedOverlapsWithout = 0;
          for (let trial = 0; trial < 1000; trial++) {
            const scale = 10 ** (4 * random() - 2);
            const c = Float32Array.from({ length: n }, () => scale * gaussian(random));
            const j = Float32Array.from(c);
            for (let k = 0; k < moved; k++) j[k] = Math.fround(c[k] + scale * gaussian(random));
            const between = distance(c, j, norm);
            const Rc = between * (0.2 + 0.6 * random());
            let Rj = between - Rc;
            while (Rc + Rj > between) Rj -= Rj * 2 ** -52;
            const toward = ((0.5 + 0.5 * random()) * Rc) / between;
            const x = Float32Array.from(c, (v, k) => v + toward * (j[k] - v));
            const depth = distance(x, c, norm);
            if (!(depth < Rc)) continue;
            const plan = planDecision({ answer: 2, radius: 1 }, [{ seq: 1, answer: 1, radius: Rc, distance: depth }]);
            const records = (radius: number) => [
              { seq: 1, input: c, answer: 1, radius: Rc },
              { seq: 2, input: j, answer: 3, radius: Rj },
              { seq: 3, input: x, answer: 1, radius },
            ];
            const context = `norm=${norm} n=${n} moved=${moved} seed=${seed} trial=${trial}`;
            const margin = nestedMargin(Math.max(Rc, Rj), n);
            const kept = relabelOutcome(plan, margin);
            expect(kept, context).toMatchObject({ answer: 1, action: 'relabel' });
            expect(findViolations(records(kept.radius), norm), context).toEqual([]);
            if (findViolations(records(relabelOutcome(plan, 0).radius), norm).length > 0) overlapsWithout++;
            // The same ball proposed with c's answer and a radius below its nesting.
            const base = { answer: 1, radius: (Rc - depth) * random() * 0.5 };
            const nestedPlan = planDecision(base, [{ seq: 1, answer: 1, radius: Rc, distance: depth }]);
            const nested = nestedOutcome(base, nestedPlan, margin);
            if (nested === null) {
              expect(Rc - depth - margin, context).toBeLessThanOrEqual(base.radius);
              continue;
            }
            expect(nested, context).toMatchObject({ answer: 1, action: 'none', conflictSeq: 1, overlaps: 0 });
            expect(findViolations(records(nested.radius), norm), context).toEqual([]);
            if (findViolations(records(nestedOutcome(base, nestedPlan, 0)!.radius), norm).length > 0) nestedOverlapsWithout++;
          }
          if (norm === 'l2' && moved === 2) {
            expect(overlapsWithout, `norm=${norm} n=${n} seed=${seed}`).toBeGreaterThan(0);
            expect(nestedOverlapsWithout, `norm=${norm} n=${n} seed=${seed}`).toBeGreaterThan(0);
          }
        }
      }
    }
  });
});

describe('conflict order', () => {
  it('lists the answers that decided decisions of an answer, most often first', () => {
    const order = new ConflictOrder();
    expect(order.first(3)).toEqual([]);
    for (const other of [5, 1, 5, -1, 1, 5, 7]) order.record(3, other);
    order.record(4, 0);
    expect(order.first(3)).toEqual([5, 1, -1, 7]);
    expect(order.first(4)).toEqual([0]);
  });
});

describe('index maintenance', () => {
  it('merges segments after the answer whose record made the merge due, and finds every record meanwhile', async () => {
    const seed = 6;
    const events: string[] = [];
    const memory = await openMemory('l2', seed, { onMaintenance: (e) => events.push(`merge ${e.merges}`) });
    const random = rng(seed);
    const inputs: Float32Array[] = [];
    // One answer and one radius: one tree, whose 128-point buffers seal at records 128, 256, ...;
    // the second sealed segment makes a merge due.
    for (let i = 0; i < 300; i++) {
      const x = Float32Array.from({ length: 8 }, () => 10 * gaussian(random));
      const o = await memory.decide(proposal('m', 'l2', x, 1, 0.01));
      events.push(`answer ${o.seq}`);
      inputs.push(x);
      // Every stored record is a candidate at a radius that reaches all of them.
      if (i % 64 === 63) expect(memory.conflictCandidates(x, 1e6).length, `seed=${seed} after ${i + 1}`).toBe(i + 1);
    }
    const firstMerge = events.findIndex((e) => e.startsWith('merge'));
    expect(firstMerge, `seed=${seed} ${events.slice(250, 262).join(', ')}`).toBeGreaterThan(events.indexOf('answer 256'));
    expect(events[firstMerge], `seed=${seed}`).toBe('merge 1');
    await memory.close();
  });

  it('merges on a thread of their own while it answers, and finds every record before and after each merge is swapped in', async () => {
    const seed = 7;
    const memory = await openMemory('l2', seed, {}, true);
    const random = rng(seed);
    const inputs: Float32Array[] = [];
    // Merges swapped in between two decisions, not while the test waited for them.
    let swappedWhileAnswering = 0;
    let mergesBefore = 0;
    // One answer and one radius: one tree, sealed every 128 records, merged by the logarithmic method.
    for (let i = 0; i < 1300; i++) {
      const x = Float32Array.from({ length: 8 }, () => 10 * gaussian(random));
      const o = await memory.decide(proposal('m', 'l2', x, 1, 0.01));
      expect(o.action, `seed=${seed} record ${i + 1}`).toBe('none');
      // The in-memory disk never leaves the event loop a turn: pauses let merges come back between decisions.
      if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
      if (memory.mergeCounts!.merges > mergesBefore) swappedWhileAnswering++;
      mergesBefore = memory.mergeCounts!.merges;
      inputs.push(x);
      if (i % 64 === 63) {
        const merges = memory.mergeCounts!.merges;
        expect(memory.conflictCandidates(x, 1e6).length, `seed=${seed} after ${i + 1}, ${merges} merges done`).toBe(i + 1);
        // Each record is found with radius 0 (it is its own region's centre), whichever segment holds it.
        for (let k = 0; k < 20; k++) {
          const j = Math.floor(random() * inputs.length);
          expect(memory.conflictCandidates(inputs[j], 0), `seed=${seed} after ${i + 1}: record ${j + 1}`).toContain(j);
        }
      }
      if (i % 200 === 199) {
        await memory.mergesSettled();
        mergesBefore = memory.mergeCounts!.merges;
        expect(memory.conflictCandidates(x, 1e6).length, `seed=${seed} after ${i + 1}, merges settled`).toBe(i + 1);
      }
    }
    await memory.mergesSettled();
    expect(memory.mergeCounts!.merges, `seed=${seed}`).toBeGreaterThanOrEqual(5);
    expect(swappedWhileAnswering, `seed=${seed}`).toBeGreaterThan(0);
    expect(memory.conflictCandidates(inputs[0], 1e6).length, `seed=${seed}`).toBe(inputs.length);
    await memory.close();
  });
});

describe('index across the principal-axes rotation and a replay', () => {
  it('returns exactly what a scan finds before and after the rotation, online and replayed', async () => {
    const seed = 31;
    const disk = new FaultDisk({ seed });
    const open = () => SequentialMemory.open({ disk, path: '/mem/r/l2.log', model: 'r', norm: 'l2', maxGroup: 512, queueCapacity: 8192 });
    const memory = await open();
    const stream = new StreamGenerator('clustered', 49, 'l2', seed);
    const stored: ReferenceRecord[] = [];
    const dist = (a: Float32Array, b: Float32Array) => distance(a, b, 'l2');
    const check = (m: SequentialMemory, label: string) => {
      for (let q = 0; q < 40; q++) {
        const item = stream.next(stored, dist);
        const r = item.radius;
        const scan = stored.filter((rec) => dist(item.input, rec.input) < reach(r, rec.radius)).map((rec) => rec.seq - 1);
        expect(m.conflictCandidates(item.input, r).sort((a, b) => a - b), `seed=${seed} ${label} q=${q}`).toEqual(scan);
      }
    };
    for (const target of [3000, 4095, 4097, 5000]) {
      const items: ReturnType<typeof stream.next>[] = [];
      while (stored.length + items.length < target) items.push(stream.next(stored, dist));
      const outcomes = await Promise.all(items.map((it) => memory.decide(proposal('r', 'l2', it.input, it.answer, it.radius))));
      outcomes.forEach((o, i) => {
        if (o.action !== 'repeat') stored.push({ seq: o.seq, input: items[i].input, answer: o.answer, radius: o.radius });
      });
      check(memory, `online at ${stored.length}`);
    }
    await memory.close();
    const replayed = await open();
    expect(replayed.lastSeq).toBe(stored.length);
    check(replayed, 'replayed');
    await replayed.close();
  });
});

describe('projection lower bound', () => {
  it('never exceeds the l2 or l1 distance (coarse, leading, fine, codes), for square, non-square and rotated projections', async () => {
    const { makeProjection, project, principalAxes, withRotation, pointLength, fineOffset, fineLength, LEADING } = await import('../src/memory/projection.js');
    const { fitGrid, encodePoint } = await import('../src/memory/codeGrid.js');
    const { symmetricEigenvectors } = await import('../src/memory/jacobi.js');
    const { rng, gaussian } = await import('./helpers/memory-streams.js');
    for (const [d, seed] of [[784, 1], [100, 2], [3072, 3], [5, 4], [196, 5], [900, 6], [25, 7], [49, 8], [1, 9]] as const) {
      const random = rng(seed);
      const base = makeProjection(d);
      const width = 2 * base.dims;
      const fine = fineOffset(base);
      const fineWidth = fineLength(base);
      const sample = new Float32Array(64 * width);
      const fineSample = new Float64Array(64 * fineWidth);
      const vectors = Array.from({ length: 64 }, () => Float32Array.from({ length: d }, () => random()));
      vectors.forEach((v, i) => {
        const point = project(base, v);
        sample.set(point.subarray(0, width), i * width);
        fineSample.set(point.subarray(fine, fine + fineWidth), i * fineWidth);
      });
      const rotated = withRotation(base, principalAxes(sample, 64, width, symmetricEigenvectors));
      const grid = fitGrid(fineSample, 64, fineWidth);
      const [codesX, codesY] = [new Int8Array(grid.width), new Int8Array(grid.width)];
      for (const p of [base, rotated]) {
        const lead = Math.min(LEADING, width);
        expect(pointLength(p)).toBe(width + lead + fineWidth);
        for (let t = 0; t < 200; t++) {
          const x = vectors[Math.floor(random() * vectors.length)];
          // Mostly near x (where the bounds are tight), sometimes far outside the grid's range.
          const scale = [1e-6, 1e-3, 0.1, 1, 30][t % 5];
          const y = Float32Array.from(x, (v) => v + scale * gaussian(random) * (random() < 0.3 ? 0 : 1));
          const px = project(p, x);
          const py = project(p, y);
          const gap = (from: number, to: number) => Math.hypot(...Array.from({ length: to - from }, (_, k) => px[from + k] - py[from + k]));
          const coarseBound = gap(0, width);
          const leadBound = gap(width, width + lead);
          const fineBound = gap(fine, fine + fineWidth);
          const errorX = encodePoint(grid, px, fine, codesX, 0);
          const errorY = encodePoint(grid, py, fine, codesY, 0);
          let squares = 0;
          for (let k = 0; k < grid.width; k++) squares += (codesX[k] - codesY[k]) ** 2;
          const codeBound = grid.step * Math.sqrt(squares) - errorX - errorY;
          const l2 = distance(x, y, 'l2');
          const l1 = distance(x, y, 'l1');
          const context = `d=${d} seed=${seed} t=${t} rotated=${p.rotation !== null}`;
          for (const bound of [coarseBound, leadBound, fineBound, codeBound]) expect(bound, context).toBeLessThanOrEqual(l2 * (1 + 1e-9) + 1e-12);
          // The fine bound is at least the coarse one (the coarse numbers are a 1-Lipschitz function of the fine ones).
          expect(coarseBound, context).toBeLessThanOrEqual(fineBound * (1 + 1e-9) + 1e-12);
          expect(l2, context).toBeLessThanOrEqual(l1 * (1 + 1e-12));
        }
      }
    }
  });

  it('projects 2x2 tiles of square images (in WebAssembly) exactly as the general path does', async () => {
    const { makeProjection, project, withRotation, embeddingLength, LEADING } = await import('../src/memory/projection.js');
    const { rng, gaussian } = await import('./helpers/memory-streams.js');
    const random = rng(12);
    {
      const d = 784; // 28 x 28: the 14 x 14 fine tiles are 2 x 2 pixels
      const fast = makeProjection(d);
      expect(fast.tile).toBe(2);
      const width = embeddingLength(fast);
      const rotation = Float64Array.from({ length: LEADING * width }, () => gaussian(random));
      // Unrotated and rotated (the kernel keeps the tables it was given; a rotation shares them).
      for (const p of [fast, withRotation(fast, rotation)]) {
        const general = { ...p, tile: 0 };
        for (let t = 0; t < 40; t++) {
          // Images with blank tiles, signed values, huge values, and non-finite ones.
          const kind = t % 4;
          const x = Float32Array.from({ length: d }, () => {
            if (kind === 0) return random() < 0.5 ? 0 : random();
            if (kind === 1) return random() * 2 - 0.5;
            if (kind === 2) return gaussian(random) * 1e30;
            return random() < 0.01 ? (random() < 0.5 ? Infinity : NaN) : random();
          });
          const context = `d=${d} t=${t} rotated=${p.rotation !== null}`;
          expect(Array.from(project(p, x)), context).toEqual(Array.from(project(general, x)));
        }
      }
    }
    // Not 2x2 tiles: 56x56 (4x4), 30x30 (uneven), 10x10 (single pixels), non-square.
    for (const d of [3136, 900, 100, 3072]) expect(makeProjection(d).tile, `d=${d}`).toBe(0);
  });
});

describe('exact repeats before evaluation', () => {
  it('finds a durable record bit for bit, never one that is not yet durable, never a near or other-length input', async () => {
    const memory = await openMemory('l2', 81);
    const x = Float32Array.from({ length: 16 }, (_, i) => i / 16);
    expect(memory.findDurableRepeat(x)).toBeNull(); // empty memory
    const first = await memory.decide(proposal('m', 'l2', x, 3, 0.5));
    const found = memory.findDurableRepeat(Float32Array.from(x));
    expect(found).toMatchObject({ seq: first.seq, answer: 3, radius: first.radius, action: 'repeat', conflictSeq: first.seq });
    expect(found?.record.seed).toBe(first.record.seed);
    // The memory's own repeat answer agrees.
    expect(await memory.decide(proposal('m', 'l2', x, 7, 0.1))).toMatchObject({ seq: first.seq, answer: 3, action: 'repeat' });
    const near = Float32Array.from(x);
    near[5] = Math.fround(near[5] + 1e-7);
    expect(memory.findDurableRepeat(near)).toBeNull();
    const zeroSign = Float32Array.from(x);
    zeroSign[0] = -0; // x[0] is +0: a different bit pattern is a different input
    expect(memory.findDurableRepeat(zeroSign)).toBeNull();
    expect(memory.findDurableRepeat(new Float32Array(8))).toBeNull();
    // Queued but not yet fsynced: not visible; once its decide() resolves, it is.
    const y = Float32Array.from({ length: 16 }, (_, i) => 1 - i / 16);
    const pending = memory.decide(proposal('m', 'l2', y, 1, 0.2));
    expect(memory.findDurableRepeat(y)).toBeNull();
    const decided = await pending;
    expect(memory.findDurableRepeat(y)).toMatchObject({ seq: decided.seq, action: 'repeat' });
    await memory.close();
  });
});
