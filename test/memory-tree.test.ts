// The projection tree's float32 search against float64 brute force, where float32 rounding
// matters: points on the boundary of the reach (in the full and in the leading coordinates),
// duplicates searched with radius 0, huge and tiny coordinates, and the float32 rounding of radii.
import { describe, expect, it } from 'vitest';
import { ProjectionTree, TreeQuery, float32AtLeast } from '../src/memory/projectionTree.js';
import { reach } from '../src/memory/rules.js';
import { gaussian, rng } from './helpers/memory-streams.js';

/** Ids of the points whose two float64 lower bounds (on the float32 stored coordinates) are below reach. */
function bruteForce(points: { p: Float64Array; radius: number }[], query: Float64Array, radius: number, bound: number, leading: number): number[] {
  const f32 = Math.fround;
  const out: number[] = [];
  points.forEach(({ p, radius: R }, id) => {
    const limit = reach(radius, R) ** 2;
    let lead = 0;
    for (let k = 0; k < leading; k++) lead += (query[bound + k] - f32(p[bound + k])) ** 2;
    let full = 0;
    for (let k = 0; k < bound; k++) full += (query[k] - f32(p[k])) ** 2;
    if (!(lead >= limit) && !(full >= limit)) out.push(id);
  });
  return out;
}

describe('float32AtLeast', () => {
  it('is the smallest float32 not below the value', () => {
    const random = rng(5);
    const values = [0, 2 ** -149, 3 * 2 ** -150, 1e-40, 1e-30, 0.1, 1 / 3, 1.6, 2 ** 24 + 1, 1e30, 3.4e38];
    for (let i = 0; i < 2000; i++) values.push(random() * 10 ** (Math.floor(random() * 80) - 40));
    for (const v of values) {
      const f = float32AtLeast(v);
      expect(Math.fround(f), `v=${v}`).toBe(f);
      expect(f >= v, `v=${v}`).toBe(true);
      // The float32 just below f is below v.
      const below = new Float32Array([f]);
      if (f > 0) new Int32Array(below.buffer)[0]--;
      expect(f === 0 || below[0] < v, `v=${v}`).toBe(true);
    }
  });
});

describe('projection tree (float32 search)', () => {
  it('returns exactly the points whose two lower bounds are below reach, across buffer, segments and merges', () => {
    const seed = 91;
    const random = rng(seed);
    const [bound, leading] = [10, 5]; // both padded inside the tree
    const tree = new ProjectionTree(bound, leading);
    const points: { p: Float64Array; radius: number }[] = [];
    const check = (label: string) => {
      for (let q = 0; q < 30; q++) {
        const query = Float64Array.from({ length: bound + leading }, () => 2 * gaussian(random));
        const radius = [0, 0.5, 2][q % 3];
        const expected = bruteForce(points, query, radius, bound, leading);
        const found = tree.candidates(new TreeQuery(bound, leading).set(query), radius).sort((a, b) => a - b);
        // The tree widens every bound by a small rounding slack: it may add points within it, never miss one.
        expect(expected.filter((id) => !found.includes(id)), `seed=${seed} ${label} q=${q}: missed`).toEqual([]);
        expect(found.length - expected.length, `seed=${seed} ${label} q=${q}: extra`).toBeLessThanOrEqual(1);
      }
    };
    for (const target of [300, 700, 2600, 5000]) {
      while (points.length < target) {
        const p = Float64Array.from({ length: bound + leading }, () => 2 * gaussian(random));
        const radius = random() < 0.2 ? 0 : 2 * random();
        points.push({ p, radius });
        tree.add(p, radius, false, points.length - 1);
      }
      check(`online at ${target}`);
    }
    tree.build();
    check('after build');
  });

  const [bound, leading] = [12, 8];

  it('finds every point just inside its reach, sealed or buffered, for seeds 1-3', () => {
    for (const seed of [1, 2, 3]) {
      const random = rng(seed);
      const tree = new ProjectionTree(bound, leading);
      const points: { p: Float64Array; radius: number }[] = [];
      const queries = Array.from({ length: 6 }, () => Float64Array.from({ length: bound + leading }, () => 3 * gaussian(random)));
      const radii = [0, 0.3, 1.7];
      // Around each query: points at (1 -+ 1e-7) x reach in a random direction of the full
      // point (both bounds near the limit), or of the leading coordinates alone (where the
      // leading bound decides), duplicates of the query, and far points.
      for (let i = 0; i < 2520; i++) {
        const q = queries[i % queries.length];
        const radius = radii[i % radii.length];
        const R = i % 7 === 0 ? 0 : random() * 2;
        const kind = i % 6;
        const p = new Float64Array(q);
        if (kind === 0) {
          // An exact duplicate of the query (found with radius 0 and R 0 only through the slack).
        } else if (kind === 4) {
          for (let k = 0; k < p.length; k++) p[k] += 20 * gaussian(random);
        } else if (kind === 5) {
          // The same displacement in the first embedding and in the leading coordinates.
          const direction = Float64Array.from({ length: leading }, () => gaussian(random));
          const norm = Math.hypot(...direction);
          const distance = reach(radius, R) * (1 - 1e-7);
          for (let k = 0; k < leading; k++) {
            p[k] += (direction[k] / norm) * distance;
            p[bound + k] += (direction[k] / norm) * distance;
          }
        } else {
          const direction = Float64Array.from({ length: bound }, () => gaussian(random));
          const norm = Math.hypot(...direction);
          const distance = reach(radius, R) * (kind === 1 ? 1 - 1e-7 : kind === 2 ? 1 + 1e-7 : random());
          for (let k = 0; k < bound; k++) p[k] += (direction[k] / norm) * distance;
          // Leading coordinates: a contraction of the embedding part (here: its first ones, scaled).
          for (let k = 0; k < leading; k++) p[bound + k] = q[bound + k] + ((direction[k] / norm) * distance) / 2;
        }
        points.push({ p, radius: R });
        tree.add(p, R, false, points.length - 1);
      }
      const check = (label: string) => {
        queries.forEach((query, qi) => {
          for (const radius of radii) {
            const expected = bruteForce(points, query, radius, bound, leading);
            const found = new Set(tree.candidates(new TreeQuery(bound, leading).set(query), radius));
            const missed = expected.filter((id) => !found.has(id));
            expect(missed, `seed=${seed} ${label} query ${qi} radius ${radius}: missed`).toEqual([]);
          }
        });
      };
      check('online');
      tree.build();
      check('built');
    }
  });

  it('keeps huge, tiny and infinite coordinates (a bound that cannot be computed drops nothing)', () => {
    const tree = new ProjectionTree(bound, leading);
    const rows = [1e38, -1e38, 3e38, 1e-30, 0, Infinity].map((v) => Float64Array.from({ length: bound + leading }, (_, k) => (k % 2 ? v : -v)));
    rows.forEach((p, i) => tree.add(p, 0.5, i % 2 === 0, i));
    tree.build();
    for (const query of rows) {
      const expected = bruteForce(rows.map((p) => ({ p, radius: 0.5 })), query, 0.5, bound, leading);
      const found = new Set(tree.candidates(new TreeQuery(bound, leading).set(query), 0.5));
      expect(expected.filter((id) => !found.has(id))).toEqual([]);
      // Every finite row finds itself.
      if (query.every(Number.isFinite)) expect(found.has(rows.indexOf(query))).toBe(true);
    }
    // A reach beyond float32's range takes everything.
    expect(tree.candidates(new TreeQuery(bound, leading).set(rows[4]), 1e30).length).toBe(rows.length);
  });
});
