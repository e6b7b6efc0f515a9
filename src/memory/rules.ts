// The decision rules of DESIGN section 2 (the sound version of the paper's Algorithm 3),
// evaluated on a candidate set: every stored region that can matter, with exact distances.
// The exact-repeat step happens before (by hash); this module is pure.
import type { MemoryAction } from './types.js';

/**
 * Relative tolerance of "touching": a pair within 1e-9 of touching counts as touching, and the
 * new radius is capped a further 1e-9 (relative to the distance) below touching, so rounding
 * can only make radii smaller.
 */
export const TOUCH_REL = 1e-9;

/** A stored region as the rules see it. answer null = abstain (a region of radius 0). */
export interface Candidate {
  seq: number;
  answer: number | null;
  radius: number;
  /** Exact float64 distance from the new input to the region's centre. */
  distance: number;
}

/** Largest radius a new ball may have at `distance` from a region of radius `regionRadius` (may be < 0). */
export function capRadius(distance: number, regionRadius: number): number {
  return distance * (1 - TOUCH_REL) - regionRadius;
}

/**
 * Every region with capRadius(d, R) < radius has d < reach(radius, R); an index that returns
 * all regions with d < reach (and maybe more) misses nothing. Slightly widened for rounding.
 */
export function reach(radius: number, regionRadius: number): number {
  return ((radius + regionRadius) / (1 - TOUCH_REL)) * (1 + 1e-12) + 1e-12;
}

/**
 * Version of these rules, stored in every record (`rulesVersion`) so that an audit re-derives a
 * record with the rules it was decided by. 1 (records without the field): a relabel's radius was
 * also capped against every region of another answer, which a third search of the index found.
 * 2: it is not (relabelOutcome). 3: neither is a ball nested deeper than the proposed radius in a
 * region of its own answer (nestedOutcome); version 2 capped it too.
 */
export const RULES_VERSION = 3;

export interface DecisionPlan {
  answer: number | null;
  /** Radius before capping against regions of other answers. */
  upper: number;
  action: 'relabel' | 'keep';
  /** Relabel: deepest foreign region containing x. Keep: the own-answer parent that enlarged the radius, if any. */
  sourceSeq: number | null;
  /** Foreign regions that contain x (step 2) before capping. */
  containing: number;
}

/** Steps 2 (relabel / nested own-answer ball): uses only regions with d < R, all within reach(r, R). */
export function planDecision(base: { answer: number | null; radius: number }, candidates: readonly Candidate[]): DecisionPlan {
  let deepest: Candidate | null = null;
  let deepestDepth = -Infinity;
  let containing = 0;
  for (const c of candidates) {
    if (c.answer === base.answer || !(c.distance < c.radius)) continue;
    containing++;
    const depth = c.radius - c.distance;
    if (depth > deepestDepth || (depth === deepestDepth && deepest !== null && c.seq < deepest.seq)) {
      deepest = c;
      deepestDepth = depth;
    }
  }
  if (deepest !== null) {
    // All regions of the deepest answer that contain x; the largest nested ball among them.
    let upper = 0;
    for (const c of candidates) {
      if (c.answer === deepest.answer && c.distance < c.radius) upper = Math.max(upper, c.radius - c.distance);
    }
    return { answer: deepest.answer, upper, action: 'relabel', sourceSeq: deepest.seq, containing };
  }
  let upper = base.radius;
  let parent: Candidate | null = null;
  for (const c of candidates) {
    if (c.answer !== base.answer || !(c.distance < c.radius)) continue;
    const nested = c.radius - c.distance;
    if (nested > upper || (nested === upper && parent !== null && c.seq < parent.seq)) {
      upper = nested;
      parent = c;
    }
  }
  return { answer: base.answer, upper, action: 'keep', sourceSeq: parent?.seq ?? null, containing: 0 };
}

export interface RuleOutcome {
  answer: number | null;
  radius: number;
  action: Exclude<MemoryAction, 'repeat'>;
  conflictSeq: number | null;
  /**
   * Regions of another answer found in conflict: for a relabel every one that contains x, for a
   * shrink those among `candidates` that overlap or touch the proposed ball (at least the binding
   * one: the search need not find the others), for none 0.
   */
  overlaps: number;
}

/**
 * Below this much under its depth in a region that contains it, a ball is disjoint from every
 * region of another answer without a search (relabelOutcome, nestedOutcome). Let c be that
 * region, j one of another answer stored before x, D the computed distances and d the exact ones
 * of the float32 inputs, |D - d| <= eta·d. The invariant as stored gives D(c,j) >= R_c + R_j,
 * and by the triangle inequality
 *     D(x,j) >= (1 - eta)(d(c,j) - d(x,c)) >= R_c - D(x,c) + R_j - 2·eta·(R_c + R_j):
 * the ball of radius R_c - D(x,c) less 2·eta·2·largestRadius, and less the rounding of that
 * subtraction and of the audit's sum R + R_j (a few units of 2^-53 of largestRadius), keeps the
 * invariant in the computed distances. eta <= (n + 2)·2^-53 for float64 sums over n coordinates
 * of float32 inputs (l2: the differences, squares, sum and root; l1: differences and sum); the
 * bound below is 4 times that and more, plus TOUCH_REL: a ball that close to touching counts as
 * touching, as everywhere else in these rules.
 */
export function nestedMargin(largestRadius: number, inputLength: number): number {
  return 2 * largestRadius * (TOUCH_REL + (inputLength + 8) * 2 ** -50);
}

/**
 * Step 2's radius for a relabel: the deepest nesting in a region of the new answer (plan.upper),
 * less nestedMargin. That ball lies in a region which the invariant keeps apart from every
 * region of another answer (DESIGN 2), so it needs no capping and no search for caps.
 */
export function relabelOutcome(plan: DecisionPlan, margin: number): RuleOutcome {
  if (plan.action !== 'relabel') throw new Error('relabelOutcome of a plan that keeps its answer');
  const radius = plan.upper - margin;
  return { answer: plan.answer, radius: radius > 0 ? radius : 0, action: 'relabel', conflictSeq: plan.sourceSeq, overlaps: plan.containing };
}

/**
 * Step 2 for a plan that keeps its answer, nested in a region of that answer (DESIGN 2: "a nested
 * ball is as disjoint as its parent"): when the deepest nesting less nestedMargin exceeds the
 * proposed radius, that is the radius, uncapped for the reason relabelOutcome's is, and the other
 * answers need no search (rules version 3; in version 2 that search, at the enlarged radius, found
 * nothing and made many of the slowest decisions). Null otherwise: cap it (finishDecision).
 */
export function nestedOutcome(base: { radius: number }, plan: DecisionPlan, margin: number): RuleOutcome | null {
  if (plan.action !== 'keep' || plan.sourceSeq === null) return null;
  const radius = plan.upper - margin;
  return radius > base.radius ? { answer: plan.answer, radius, action: 'none', conflictSeq: plan.sourceSeq, overlaps: 0 } : null;
}

/**
 * Step 3 for a plan that keeps its answer: cap the planned radius against the regions of every
 * other answer. `candidates` must include every such region whose cap is below plan.upper and at
 * most the smallest cap among them (the binding region and its ties); any others may be left out.
 */
export function finishDecision(
  base: { answer: number | null; radius: number },
  plan: DecisionPlan,
  candidates: readonly Candidate[],
): RuleOutcome {
  if (plan.action !== 'keep') throw new Error('finishDecision of a relabel (see relabelOutcome)');
  let radius = plan.upper;
  let binding: Candidate | null = null;
  let bindingCap = Infinity;
  let overlaps = 0;
  for (const c of candidates) {
    if (c.answer === plan.answer) continue;
    const cap = capRadius(c.distance, c.radius);
    if (cap < base.radius) overlaps++;
    if (cap < bindingCap || (cap === bindingCap && binding !== null && c.seq < binding.seq)) {
      bindingCap = cap;
      binding = c;
    }
  }
  if (bindingCap < radius) radius = bindingCap;
  if (!(radius > 0)) radius = 0;
  if (radius < base.radius) {
    return { answer: plan.answer, radius, action: 'shrink', conflictSeq: binding?.seq ?? null, overlaps };
  }
  // Kept (possibly enlarged inside a region of the same answer: conflictSeq names that parent).
  return { answer: plan.answer, radius, action: 'none', conflictSeq: radius > base.radius ? plan.sourceSeq : null, overlaps };
}
