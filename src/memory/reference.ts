// Brute-force reference of DESIGN section 2: every stored record is examined with its exact
// distance, the steps are followed literally. Written independently of rules.ts / the index
// so that tests and `memory verify` can check them against it. O(N d) per decision.
import { distance, sameBits } from './distance.js';
import type { MemoryAction, Norm } from './types.js';

export interface ReferenceRecord {
  seq: number;
  input: Float32Array;
  answer: number | null;
  radius: number;
}

export interface ReferenceDecision {
  answer: number | null;
  radius: number;
  action: MemoryAction;
  conflictSeq: number | null;
  /** The repeated record's seq for a repeat. */
  repeatOf: number | null;
  overlaps: number;
}

const TOUCH = 1e-9;

/**
 * The decision on `input` given the earlier `records`. `rulesVersion` 1 re-derives records decided
 * before RULES_VERSION 2 (see rules.ts): their relabels were also capped against every region of
 * another answer; up to version 2 a ball nested in a region of its own answer was capped too.
 */
export function referenceDecide(
  records: readonly ReferenceRecord[],
  input: Float32Array,
  base: { answer: number | null; radius: number },
  norm: Norm,
  rulesVersion = 3,
): ReferenceDecision {
  // 1. exact repeat
  for (const rec of records) {
    if (sameBits(rec.input, input)) {
      return { answer: rec.answer, radius: rec.radius, action: 'repeat', conflictSeq: rec.seq, repeatOf: rec.seq, overlaps: 0 };
    }
  }
  const d = records.map((rec) => distance(rec.input, input, norm));
  const cap = (i: number) => d[i] * (1 - TOUCH) - records[i].radius;
  // A ball inside a region is apart from every other answer (DESIGN 2), less a margin for
  // rounding: twice the largest stored radius times (1e-9 + (d + 8)·2^-50).
  const largest = records.reduce((m, rec) => Math.max(m, rec.radius), 0);
  const margin = 2 * largest * (TOUCH + (input.length + 8) * 2 ** -50);

  // 2. inside regions of another answer: relabel to the answer of the deepest one
  let deepest = -1;
  let inside = 0;
  records.forEach((rec, i) => {
    if (rec.answer === base.answer || !(d[i] < rec.radius)) return;
    inside++;
    const depth = rec.radius - d[i];
    const best = deepest < 0 ? -Infinity : records[deepest].radius - d[deepest];
    if (depth > best) deepest = i; // records are in seq order: ties keep the earlier one
  });
  if (deepest >= 0) {
    const answer = records[deepest].answer;
    let radius = 0;
    records.forEach((rec, i) => {
      if (rec.answer === answer && d[i] < rec.radius) radius = Math.max(radius, rec.radius - d[i]);
    });
    if (rulesVersion === 1) {
      records.forEach((rec, i) => {
        if (rec.answer !== answer) radius = Math.min(radius, cap(i));
      });
    } else {
      radius -= margin;
    }
    return { answer, radius: radius > 0 ? radius : 0, action: 'relabel', conflictSeq: records[deepest].seq, repeatOf: null, overlaps: inside };
  }

  // nested inside own-answer regions: may keep the larger radius
  let upper = base.radius;
  let parent = -1;
  records.forEach((rec, i) => {
    if (rec.answer === base.answer && d[i] < rec.radius && rec.radius - d[i] > upper) {
      upper = rec.radius - d[i];
      parent = i;
    }
  });
  if (rulesVersion >= 3 && parent >= 0 && upper - margin > base.radius) {
    return { answer: base.answer, radius: upper - margin, action: 'none', conflictSeq: records[parent].seq, repeatOf: null, overlaps: 0 };
  }

  // 3. shrink against every region of another answer
  let radius = upper;
  let binding = -1;
  let overlaps = 0;
  records.forEach((rec, i) => {
    if (rec.answer === base.answer) return;
    if (cap(i) < base.radius) overlaps++;
    if (binding < 0 || cap(i) < cap(binding)) binding = i;
  });
  if (binding >= 0 && cap(binding) < radius) radius = cap(binding);
  if (!(radius > 0)) radius = 0;
  if (radius < base.radius) {
    return { answer: base.answer, radius, action: 'shrink', conflictSeq: records[binding].seq, repeatOf: null, overlaps };
  }
  const enlarged = radius > base.radius && parent >= 0;
  return { answer: base.answer, radius, action: 'none', conflictSeq: enlarged ? records[parent].seq : null, repeatOf: null, overlaps };
}

export interface Violation {
  seqA: number;
  seqB: number;
  distance: number;
  radiusA: number;
  radiusB: number;
}

/**
 * Every pair of records with different answers whose open balls intersect
 * (distance < R_a + R_b, computed exactly as the memory computes it).
 * Pairwise, with an early exit once the partial sum already proves the pair disjoint.
 */
export function findViolations(records: readonly ReferenceRecord[], norm: Norm, limit = 100): Violation[] {
  const out: Violation[] = [];
  for (let a = 0; a < records.length; a++) {
    const ra = records[a];
    for (let b = a + 1; b < records.length; b++) {
      const rb = records[b];
      const sum = ra.radius + rb.radius;
      if (ra.answer === rb.answer || !(sum > 0)) continue;
      if (!provablyDisjoint(ra.input, rb.input, sum, norm)) {
        const dist = distance(ra.input, rb.input, norm);
        if (dist < sum) {
          out.push({ seqA: ra.seq, seqB: rb.seq, distance: dist, radiusA: ra.radius, radiusB: rb.radius });
          if (out.length >= limit) return out;
        }
      }
    }
  }
  return out;
}

/** True when a partial sum of the distance already reaches `bound` (sums only grow, so this is exact). */
function provablyDisjoint(a: Float32Array, b: Float32Array, bound: number, norm: Norm): boolean {
  const target = norm === 'l2' ? bound * bound * (1 + 1e-12) : bound * (1 + 1e-12);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = a[i] - b[i];
    sum += norm === 'l2' ? diff * diff : Math.abs(diff);
    if ((i & 31) === 31 && sum > target) return true;
  }
  return sum > target;
}
