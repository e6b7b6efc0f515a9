// Seeded streams of proposals for the memory's property tests, crash tests and benchmark.
import type { Norm, Proposal } from '../../src/memory/types.js';

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function proposal(model: string, norm: Norm, input: Float32Array, answer: number | null, radius: number, seed = '00'): Proposal {
  return {
    model,
    norm,
    input,
    base: {
      answer,
      radius: answer === null ? 0 : radius,
      pALower: answer === null ? 0.4 : 0.9,
      countA: 900,
      n: 1000,
      n0: 100,
      alpha: 0.001,
      sigma: 0.25,
      sigma0: 0.25,
      solver: 'fixed',
    },
    seed,
    params: { n: 1000, n0: 100, alpha: 0.001, sigma: 0.25, norm },
    timingsMs: { certify: 1 },
  };
}

export interface StreamItem {
  input: Float32Array;
  answer: number | null;
  radius: number;
}

export type StreamKind = 'random' | 'clustered' | 'adversarial';

/**
 * Generates proposals one at a time; `stored` (inputs and radii accepted so far) lets the
 * adversarial stream aim at existing regions: exact repeats, near-duplicates, points on region
 * boundaries, balls that exactly touch, points inside two regions of one answer, abstains.
 */
export class StreamGenerator {
  private readonly random: () => number;
  private readonly centers: Float32Array[] = [];
  private readonly centerLabels: number[] = [];

  constructor(
    readonly kind: StreamKind,
    readonly dim: number,
    readonly norm: Norm,
    seed: number,
    readonly classes = 3,
  ) {
    this.random = rng(seed);
    for (let c = 0; c < 6; c++) {
      this.centers.push(Float32Array.from({ length: dim }, () => this.random()));
      this.centerLabels.push(c % classes);
    }
  }

  /** Typical distance scale of the stream (so radii cause conflicts in both norms). */
  private scale(): number {
    return this.norm === 'l2' ? Math.sqrt(this.dim / 6) : this.dim / 3;
  }

  private label(): number | null {
    return this.random() < 0.15 ? null : Math.floor(this.random() * this.classes);
  }

  next(stored: readonly { input: Float32Array; answer: number | null; radius: number }[], distance: (a: Float32Array, b: Float32Array) => number): StreamItem {
    const r = this.random;
    const s = this.scale();
    if (this.kind === 'random' || stored.length === 0) {
      return { input: Float32Array.from({ length: this.dim }, () => r()), answer: this.label(), radius: r() * 0.6 * s };
    }
    if (this.kind === 'clustered') {
      const c = Math.floor(r() * this.centers.length);
      const spread = 0.15 * s / (this.norm === 'l2' ? Math.sqrt(this.dim) : this.dim);
      const input = Float32Array.from(this.centers[c], (v) => v + spread * gaussian(r));
      const answer = r() < 0.8 ? this.centerLabels[c] : this.label();
      return { input, answer, radius: r() * 0.3 * s };
    }
    // adversarial
    const pick = stored[Math.floor(r() * stored.length)];
    const choice = r();
    if (choice < 0.1) return { input: new Float32Array(pick.input), answer: this.label(), radius: r() * s }; // exact repeat
    if (choice < 0.25) {
      // near-duplicate: one coordinate moved by one ulp (or a tiny amount)
      const input = new Float32Array(pick.input);
      const k = Math.floor(r() * this.dim);
      const bits = new Uint32Array(input.buffer);
      bits[k] += r() < 0.5 ? 1 : -1;
      if (!Number.isFinite(input[k])) input[k] = 0.5;
      return { input, answer: this.label(), radius: r() * s };
    }
    const direction = Float32Array.from({ length: this.dim }, () => gaussian(r));
    const unit = (len: number) => {
      const n = this.norm === 'l2' ? Math.hypot(...direction) : direction.reduce((a, v) => a + Math.abs(v), 0);
      return Float32Array.from(pick.input, (v, i) => v + (direction[i] / n) * len);
    };
    if (choice < 0.45) {
      // on (or within rounding of) the boundary of an existing region, any answer
      const input = unit(pick.radius);
      return { input, answer: this.label(), radius: r() < 0.5 ? 0 : r() * s };
    }
    if (choice < 0.6) {
      // a ball that exactly touches an existing region: radius = distance - R
      const input = unit(pick.radius + r() * s * 0.5);
      const touching = distance(input, pick.input) - pick.radius;
      return { input, answer: this.label(), radius: Math.max(0, touching) };
    }
    if (choice < 0.75) {
      // inside one region (often two of the same answer)
      const input = unit(pick.radius * r());
      return { input, answer: this.label(), radius: r() * s };
    }
    if (choice < 0.85) return { input: unit(pick.radius * 0.5), answer: null, radius: 0 }; // abstain inside
    return { input: unit(r() * s), answer: this.label(), radius: r() * 1.5 * s }; // big ball nearby
  }
}

/**
 * Runs `search(q)` for q = from, from + 1, ... with 1 ms pauses until `answered()` (the search
 * helper's count) is above 0, at most `limit` times. The helper's thread runs at nice 19: on a
 * busy machine (other test files) it may not have run during a test's first searches.
 */
export async function searchUntilHelperAnswers(answered: () => number, search: (q: number) => void, from: number, limit: number): Promise<void> {
  for (let q = from; answered() === 0 && q < from + limit; q++) {
    search(q);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
