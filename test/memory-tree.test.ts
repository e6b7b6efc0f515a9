// The projection tree's search against float64 brute force, where rounding matters: points on
// the boundary of the reach on their leading coordinates (float32, searched as 14-bit codes on a
// grid per segment) and on their codes (exact integer sums, errors in float32), duplicates
// searched with radius 0, points of many scales, huge, tiny and infinite coordinates, points
// without codes, and the float32 rounding of radii.
import { describe, expect, it } from 'vitest';
import { codeWidth, encodePoint, type CodeGrid } from '../src/memory/codeGrid.js';
import { distance } from '../src/memory/distance.js';
import { quantizeInput } from '../src/memory/inputSketches.js';
import { leadingKernel } from '../src/memory/leadingKernel.js';
import { embeddingLength, leadingCoordinates, leadingCount, makeProjection, withRotation } from '../src/memory/projection.js';
import { ProjectionTree, TreeQuery, float32AtLeast, leadDimsOf, type TreePoint } from '../src/memory/projectionTree.js';
import { BUILD_ELSEWHERE_MIN_POINTS, RegionIndex } from '../src/memory/regionIndex.js';
import { reach } from '../src/memory/rules.js';
import { SegmentBuilder } from '../src/memory/segmentBuilder.js';
import { gaussian, rng } from './helpers/memory-streams.js';

/** A stored point of these tests: leading coordinates, codes (or none), their error, and the radius. */
interface Stored {
  point: TreePoint;
  radius: number;
}

/** A grid centred at 0, coordinates coded in reverse (the tree never sees how codes were made, only codes, errors and the step). */
function grid(length: number, step: number): CodeGrid {
  return { length, width: codeWidth(length), order: Int32Array.from({ length }, (_, k) => length - 1 - k), offset: new Float64Array(length), step };
}

function coded(g: CodeGrid, lead: Float64Array, fine: Float64Array): TreePoint {
  const codes = new Int8Array(g.width);
  const codeError = encodePoint(g, fine, 0, codes, 0);
  return { lead, codes, codeError, norm: Math.hypot(...fine) };
}

/**
 * Ids of the points whose two float64 lower bounds are below reach: the leading coordinates as
 * stored (float32), and step * ||query codes - codes|| - errors (errors as stored: float32, up).
 * `leadWidening` widens the first.
 */
function bruteForce(points: Stored[], query: TreeQuery, qLead: Float64Array, radius: number, leadWidening = 0): number[] {
  const out: number[] = [];
  points.forEach(({ point, radius: R }, id) => {
    const limit = reach(radius, R);
    let lead = 0;
    for (let k = 0; k < qLead.length; k++) lead += (qLead[k] - Math.fround(point.lead[k])) ** 2;
    if (Math.sqrt(lead) >= limit + leadWidening) return;
    if (point.codes && query.codeError < Infinity) {
      let squares = 0;
      for (let k = 0; k < query.codes.length; k++) squares += (query.codes[k] - point.codes[k]) ** 2;
      if (query.step * Math.sqrt(squares) - float32AtLeast(point.codeError) - query.codeError >= limit) return;
    }
    out.push(id);
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

describe('projection tree (leading coordinates on 14-bit grids, codes, both in integers)', () => {
  // Padded inside the tree to 8 and 32, and to 24 (nodes keep a box of the first 16) and 48.
  // The leading coordinates are a contraction of the fine ones (the first, scaled down).
  it.each([
    [5, 21, 0.5],
    [21, 40, 0.25],
  ])('returns exactly the points whose two lower bounds are below reach, across buffer, segments and merges (%i leading, %i fine)', (leading, length, contraction) => {
    const seed = 91;
    const random = rng(seed);
    const g = grid(length, 0.05);
    const tree = new ProjectionTree(leading, length);
    const points: Stored[] = [];
    const fines: Float64Array[] = [];
    let ruledOutByCodes = 0;
    // The tree codes the leading coordinates of the points and of the query on 14-bit grids: each
    // moves by half a step per coordinate, a step at most max(1, max |coordinate|) / 2000 (an open
    // segment's grid spans [-G, G] with G < max(4, 4 max |coordinate|) in 16000 steps).
    let largest = 0;
    const leadWidening = () => (Math.sqrt(leadDimsOf(leading)) * Math.max(1, largest)) / 2000;
    const check = (label: string) => {
      for (let q = 0; q < 30; q++) {
        const fine = Float64Array.from({ length }, () => 2 * gaussian(random));
        const lead = Float64Array.from({ length: leading }, (_, k) => fine[k] * contraction);
        const query = new TreeQuery(leading, length).set(lead, Math.hypot(...fine), g, fine, 0);
        const radius = [0, 0.5, 2][q % 3];
        largest = Math.max(largest, ...lead.map(Math.abs));
        const expected = bruteForce(points, query, lead, radius);
        const within = bruteForce(points, query, lead, radius, leadWidening());
        const leadOnly = bruteForce(points, new TreeQuery(leading, length).set(lead, Math.hypot(...fine), null), lead, radius);
        ruledOutByCodes += leadOnly.length - expected.length;
        const found = tree.candidates(query, radius).sort((a, b) => a - b);
        // The tree widens every bound by the coding errors and a small rounding slack: it may add
        // points within them, never miss one.
        expect(expected.filter((id) => !found.includes(id)), `seed=${seed} ${label} q=${q}: missed`).toEqual([]);
        expect(found.filter((id) => !within.includes(id)).length, `seed=${seed} ${label} q=${q}: extra`).toBeLessThanOrEqual(1);
      }
    };
    for (const target of [300, 700, 2600, 5000]) {
      while (points.length < target) {
        const fine = Float64Array.from({ length }, () => 2 * gaussian(random));
        const lead = Float64Array.from({ length: leading }, (_, k) => fine[k] * contraction);
        largest = Math.max(largest, ...lead.map(Math.abs));
        const radius = random() < 0.2 ? 0 : 2 * random();
        // Some points have no codes (stored before the memory fitted its grid).
        const point = random() < 0.1 ? { lead, codes: null, codeError: Infinity, norm: Math.hypot(...fine) } : coded(g, lead, fine);
        points.push({ point, radius });
        fines.push(fine);
        tree.add(point, radius, false, points.length - 1);
      }
      check(`online at ${target}`);
    }
    tree.build();
    check('after build');
    // The codes did the work they are there for.
    expect(ruledOutByCodes, `seed=${seed}`).toBeGreaterThan(1000);
    // The same points loaded in bulk (as a replay does: codes staged in the memory the segment is
    // then built in, the codes of the segment made when the grid was fitted copied after them,
    // and all put in leaf order there) give the same answers as the tree built above.
    const bulk = new ProjectionTree(leading, length);
    points.forEach(({ point, radius }, i) => {
      bulk.add(point, radius, true, i);
      if (i === 1000) bulk.recompute((id) => points[id].point);
    });
    bulk.build();
    let near = 0;
    for (let q = 0; q < 60; q++) {
      // Near a stored point, so that its codes decide.
      const fine = Float64Array.from(fines[Math.floor(random() * fines.length)], (v) => v + 0.1 * gaussian(random));
      const lead = Float64Array.from({ length: leading }, (_, k) => fine[k] * contraction);
      const query = new TreeQuery(leading, length).set(lead, Math.hypot(...fine), g, fine, 0);
      const radius = [0, 0.5, 2][q % 3];
      const expected = bruteForce(points, query, lead, radius);
      const found = bulk.candidates(query, radius).sort((a, b) => a - b);
      expect(expected.filter((id) => !found.includes(id)), `seed=${seed} bulk q=${q}: missed`).toEqual([]);
      expect(found, `seed=${seed} bulk q=${q}`).toEqual(tree.candidates(query, radius).sort((a, b) => a - b));
      near += expected.length;
    }
    expect(near, `seed=${seed}`).toBeGreaterThan(60);
  });

  const [leading, length] = [8, 40];

  // 22 leading coordinates: the nodes' boxes hold the first 16, the points all of them.
  it.each([8, 22])('finds every point just inside its reach on either bound, sealed or buffered, for seeds 1-3 (%i leading)', (leading) => {
    for (const seed of [1, 2, 3]) {
      const random = rng(seed);
      const g = grid(length, 0.01);
      const tree = new ProjectionTree(leading, length);
      const points: Stored[] = [];
      // Query fine values on grid points: the query's own code error is only its rounding margin.
      const queries = Array.from({ length: 6 }, () => {
        const fine = Float64Array.from({ length }, () => g.step * Math.round((gaussian(random) * 0.5) / g.step));
        const lead = Float64Array.from({ length: leading }, () => 3 * gaussian(random));
        return { fine, lead, query: new TreeQuery(leading, length).set(lead, Math.hypot(...fine), g, fine, 0) };
      });
      const radii = [0, 0.3, 1.7];
      for (let i = 0; i < 2520; i++) {
        const { fine, lead: qLead, query } = queries[i % queries.length];
        const radius = radii[i % radii.length];
        const R = i % 7 === 0 ? 0 : random() * 2;
        const limit = reach(radius, R);
        const kind = i % 6;
        const lead = new Float64Array(qLead);
        let point: TreePoint;
        if (kind === 0) {
          // An exact duplicate of the query (found with radius 0 and R 0 only through the slack).
          point = coded(g, lead, fine);
        } else if (kind === 4) {
          for (let k = 0; k < leading; k++) lead[k] += 20 * gaussian(random);
          point = coded(g, lead, fine.map((v) => v + 20 * gaussian(random)));
        } else if (kind === 5) {
          // On the leading coordinates: at (1 -+ 1e-7) x reach in a random direction (codes equal).
          const direction = Float64Array.from({ length: leading }, () => gaussian(random));
          const norm = Math.hypot(...direction);
          const distance = limit * (i % 12 < 6 ? 1 - 1e-7 : 1 + 1e-7);
          for (let k = 0; k < leading; k++) lead[k] += (direction[k] / norm) * distance;
          point = coded(g, lead, fine);
        } else {
          // On the codes: codes some steps away, with the error that puts the code bound at
          // (1 -+ 1e-7) x reach (kind 1, 2) or anywhere below it (kind 3).
          const codes = new Int8Array(g.width);
          for (let k = 0; k < length; k++) codes[k] = Math.max(-127, Math.min(127, query.codes[k] + Math.round(gaussian(random) * 40)));
          let squares = 0;
          for (let k = 0; k < length; k++) squares += (codes[k] - query.codes[k]) ** 2;
          const target = limit * (kind === 1 ? 1 - 1e-7 : kind === 2 ? 1 + 1e-7 : random());
          const codeError = Math.max(0, g.step * Math.sqrt(squares) - query.codeError - target);
          point = { lead, codes, codeError, norm: Math.hypot(...fine) };
        }
        points.push({ point, radius: R });
        tree.add(point, R, false, points.length - 1);
      }
      const check = (label: string) => {
        queries.forEach(({ lead, query }, qi) => {
          for (const radius of radii) {
            const expected = bruteForce(points, query, lead, radius);
            const found = new Set(tree.candidates(query, radius));
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

  // Each segment codes its points' leading coordinates in 14 bits on a grid of its own, and an
  // open segment's grid is set by its first point: points of very different scales, points its
  // grid does not span (the tree seals it first) and points no grid can code (never ruled out on
  // their leading coordinates).
  it('finds every point on any scale, across open segments sealed early, built segments and merges', () => {
    const seed = 17;
    const random = rng(seed);
    const tree = new ProjectionTree(leading, length);
    const points: Stored[] = [];
    const scales = [1e-3, 0.1, 1, 30, 1e4, 1e6, 1e9];
    const check = (label: string, prunes: boolean) => {
      let foundInAll = 0;
      for (let q = 0; q < 40; q++) {
        const near = points[Math.floor(random() * points.length)].point.lead;
        const lead = Float64Array.from({ length: leading }, (_, k) => (Number.isFinite(near[k]) ? near[k] : 0) * (1 + 0.01 * gaussian(random)));
        const query = new TreeQuery(leading, length).set(lead, 1, null);
        const radius = [0, 0.01, 1, 100][q % 4];
        const expected = bruteForce(points, query, lead, radius);
        const found = new Set(tree.candidates(query, radius));
        expect(expected.filter((id) => !found.has(id)), `seed=${seed} ${label} q=${q}: missed`).toEqual([]);
        foundInAll += found.size;
      }
      // The bounds rule out most points, though a segment of many scales has a coarse grid (not one
      // that holds a point of norm 1e30: its rounding slack is huge).
      if (prunes) expect(foundInAll, `seed=${seed} ${label}`).toBeLessThan(0.5 * 40 * points.length);
    };
    for (let i = 0; i < 3000; i++) {
      // Runs of one scale, so that both segments of one scale and of many form.
      const scale = scales[Math.floor(i / 50) % scales.length] * (1 + random());
      const lead = Float64Array.from({ length: leading }, () => scale * gaussian(random));
      // Late, so that the checks before show the bounds at work.
      if (i >= 2000 && i % 37 === 0) lead[i % leading] = [Infinity, -3e38, 2 ** 25][i % 3];
      const point = { lead, codes: null, codeError: Infinity, norm: Math.hypot(...lead.map((v) => Math.min(Math.abs(v), 1e30))) };
      const radius = random() < 0.2 ? 0 : scale * random();
      points.push({ point, radius });
      tree.add(point, radius, false, i);
      if (i % 1000 === 999) check(`online at ${i + 1}`, i < 2000);
    }
    tree.build();
    check('built', false);
  });

  // The kernel sums squared gaps of 16-bit codes modulo 2^32: sums of a query far off a grid wrap.
  // Lanes past a leaf's end (a partial last group: 1003 points built, 3 in the open segment) must
  // still count as past their bound, and a bound that rules nothing out must keep every point.
  it('returns every stored point and nothing else for queries far off every grid, whatever their sums wrap to', () => {
    const seed = 23;
    const random = rng(seed);
    const tree = new ProjectionTree(leading, length);
    const count = 1006;
    for (let i = 0; i < count; i++) {
      const lead = Float64Array.from({ length: leading }, () => gaussian(random));
      tree.add({ lead, codes: null, codeError: Infinity, norm: 1 }, random(), i < 1003, i);
      if (i === 1002) tree.build();
    }
    for (let q = 0; q < 200; q++) {
      const far = 10 ** (2 + 4 * random());
      const lead = Float64Array.from({ length: leading }, () => far * gaussian(random));
      const query = new TreeQuery(leading, length).set(lead, 1, null);
      const found = tree.candidates(query, 10 * far);
      expect(new Set(found).size, `seed=${seed} q=${q}`).toBe(found.length);
      expect(found.every((id) => Number.isInteger(id) && id >= 0 && id < count), `seed=${seed} q=${q}`).toBe(true);
      // Within reach of every point (10 far is beyond 3 far + their spread on 8 coordinates but for rare draws).
      const reachAll = lead.every((v) => Math.abs(v) < 3 * far);
      if (reachAll) expect(found.length, `seed=${seed} q=${q}`).toBe(count);
    }
  });

  it('refuses to search a bulk load before build(), which would miss its points', () => {
    const tree = new ProjectionTree(leading, length);
    const at = Float64Array.from({ length: leading }, (_, k) => k);
    tree.add({ lead: at, codes: null, codeError: Infinity, norm: 1 }, 0.5, true, 7);
    const query = () => new TreeQuery(leading, length).set(at, 1, null);
    expect(() => tree.candidates(query(), 0.5)).toThrow(/before build/);
    tree.build();
    expect(tree.candidates(query(), 0.5)).toEqual([7]);
  });

  it('keeps huge, tiny and infinite coordinates and codes without a bound (a bound that cannot be computed drops nothing)', () => {
    const tree = new ProjectionTree(leading, length);
    const g = grid(length, 0.01);
    const fine = new Float64Array(length);
    const rows = [1e38, -1e38, 3e38, 1e-30, 0, Infinity].map((v) => Float64Array.from({ length: leading }, (_, k) => (k % 2 ? v : -v)));
    const stored: Stored[] = rows.map((lead, i) => ({
      // Codes far from the query's, but with an infinite error (or none): they rule nothing out.
      point: i % 2 ? { lead, codes: new Int8Array(g.width).fill(127), codeError: Infinity, norm: 1 } : { lead, codes: null, codeError: Infinity, norm: 1 },
      radius: 0.5,
    }));
    stored.forEach(({ point }, i) => tree.add(point, 0.5, i % 2 === 0, i));
    tree.build();
    for (const lead of rows) {
      const query = new TreeQuery(leading, length).set(lead, 1, g, fine, 0);
      const expected = bruteForce(stored, query, lead, 0.5);
      const found = new Set(tree.candidates(query, 0.5));
      expect(expected.filter((id) => !found.has(id))).toEqual([]);
      // Every finite row finds itself.
      if (lead.every(Number.isFinite)) expect(found.has(rows.indexOf(lead))).toBe(true);
    }
    // A reach beyond float32's range takes everything.
    expect(tree.candidates(new TreeQuery(leading, length).set(rows[4], 1, g, fine, 0), 1e30).length).toBe(rows.length);
  });
});

describe('code grid', () => {
  it('codes within the limits, measures the error of what it stored, and never bounds a non-finite value', async () => {
    const { fitGrid, encodeQuery, sameGrid } = await import('../src/memory/codeGrid.js');
    const random = rng(33);
    const length = 37;
    const rows = Float64Array.from({ length: 50 * length }, () => gaussian(random));
    for (let i = 0; i < 50; i++) rows[i * length + 11] *= 4; // the most spread coordinate
    const g = fitGrid(rows, 50, length);
    expect(g.width).toBe(48);
    // A permutation, by decreasing variance.
    expect(Array.from(g.order).sort((a, b) => a - b)).toEqual(Array.from({ length }, (_, k) => k));
    expect(g.order[0]).toBe(11);
    const variance = (c: number) => {
      let sum = 0;
      let squares = 0;
      for (let i = 0; i < 50; i++) {
        sum += rows[i * length + c];
        squares += rows[i * length + c] ** 2;
      }
      return squares / 50 - (sum / 50) ** 2;
    };
    for (let k = 1; k < length; k++) expect(variance(g.order[k - 1])).toBeGreaterThanOrEqual(variance(g.order[k]));
    expect(sameGrid(g, fitGrid(rows, 50, length))).toBe(true);
    const moved = Float64Array.from(rows);
    moved[5] = 100;
    expect(sameGrid(g, fitGrid(moved, 50, length))).toBe(false);
    for (const spread of [0.1, 1, 1e3, 1e30]) {
      const values = Float64Array.from({ length }, () => spread * gaussian(random));
      const codes = new Int8Array(g.width);
      const query = new Int16Array(g.width).fill(9);
      const error = encodePoint(g, values, 0, codes, 0);
      const queryError = encodeQuery(g, values, 0, query);
      let squares = 0;
      let querySquares = 0;
      for (let k = 0; k < length; k++) {
        expect(Math.abs(codes[k])).toBeLessThanOrEqual(127);
        expect(Math.abs(query[k])).toBeLessThanOrEqual(255);
        squares += (values[g.order[k]] - (g.offset[k] + g.step * codes[k])) ** 2;
        querySquares += (values[g.order[k]] - (g.offset[k] + g.step * query[k])) ** 2;
      }
      for (let k = length; k < g.width; k++) expect([codes[k], query[k]]).toEqual([0, 0]);
      // Rounded to the nearest step (half up) inside the limits.
      const nearest = (k: number, limit: number) => Math.floor(Math.min(limit, Math.max(-limit, (values[g.order[k]] - g.offset[k]) * (1 / g.step))) + 0.5);
      expect(Array.from(codes.subarray(0, length)), `spread ${spread}`).toEqual(Array.from({ length }, (_, k) => nearest(k, 127)));
      expect(Array.from(query.subarray(0, length)), `spread ${spread}`).toEqual(Array.from({ length }, (_, k) => nearest(k, 255)));
      expect(error, `spread ${spread}`).toBeGreaterThanOrEqual(Math.sqrt(squares));
      expect(queryError, `spread ${spread}`).toBeGreaterThanOrEqual(Math.sqrt(querySquares));
      // Inside the grid, the rounding error is at most half a step per coordinate.
      if (spread <= 0.1) expect(error).toBeLessThanOrEqual((g.step / 2) * Math.sqrt(length) * 1.001);
    }
    // The kernel keeps a grid's offsets between calls: an input sketched in between must not disturb them.
    const values = Float64Array.from({ length }, () => gaussian(random));
    const first = new Int8Array(g.width);
    const firstError = encodePoint(g, values, 0, first, 0);
    quantizeInput(Float32Array.from({ length: 4000 }, () => random()), new Uint8Array(4000), 'l2');
    const again = new Int8Array(g.width);
    expect(encodePoint(g, values, 0, again, 0)).toBe(firstError);
    expect(again).toEqual(first);
    // It gathers the values from an offset, and a grid coded with in between is not the one it keeps.
    const shifted = new Float64Array(length + 5);
    shifted.set(values, 5);
    encodePoint(fitGrid(rows.map((v) => 2 * v), 50, length), values, 0, new Int8Array(g.width), 0);
    const third = new Int8Array(g.width);
    expect(encodePoint(g, shifted, 5, third, 0)).toBe(firstError);
    expect(third).toEqual(first);
    const broken = new Float64Array(length);
    broken[3] = NaN;
    expect(encodePoint(g, broken, 0, new Int8Array(g.width), 0)).toBe(Infinity);
    broken[3] = -Infinity;
    expect(encodeQuery(g, broken, 0, new Int16Array(g.width))).toBe(Infinity);
  });
});

describe('leading coordinates (wasm/leading.wat)', () => {
  it('are the dot products of the rotation rows with the point, for any number of rows and even widths', () => {
    const seed = 303;
    const random = rng(seed);
    const check = (rows: Float64Array, count: number, width: number, point: Float64Array | Float32Array, out: Float64Array, offset: number, label: string) => {
      for (let r = 0; r < count; r++) {
        let exact = 0;
        let scale = 0;
        for (let k = 0; k < width; k++) {
          exact += rows[r * width + k] * point[k];
          scale += Math.abs(rows[r * width + k] * point[k]);
        }
        expect(Math.abs(out[offset + r] - exact), `seed=${seed} ${label} row ${r}`).toBeLessThanOrEqual(1e-15 * scale * width);
      }
    };
    for (const width of [2, 8, 98, 384]) {
      for (const count of [1, 3, 4, 7, 16, 32]) {
        const rows = Float64Array.from({ length: count * width }, () => gaussian(random));
        // Two points on the same rows (kept in the kernel), in either precision, at an offset.
        const values = Array.from({ length: width + 5 }, () => 100 * gaussian(random));
        for (const point of [Float64Array.from(values), Float32Array.from(values)]) {
          const out = new Float64Array(count + 3);
          leadingKernel().leading(rows, count, width, point, out, 3);
          check(rows, count, width, point, out, 3, `width ${width} count ${count} ${point.constructor.name}`);
        }
      }
    }
    // Through the projection of a 28x28 image, in place after the embedding as the index does.
    const base = makeProjection(784);
    const width = embeddingLength(base);
    const projection = withRotation(base, Float64Array.from({ length: leadingCount(base) * width }, () => gaussian(random)));
    const point = Float64Array.from({ length: width + leadingCount(base) }, () => gaussian(random));
    const before = Float64Array.from(point);
    leadingCoordinates(projection, point, point, width);
    check(projection.rotation!, leadingCount(projection), width, before, point, width, 'projection');
    expect(() => leadingKernel().leading(new Float64Array(9), 1, 9, point, point, 0)).toThrow(/bad rotation/);
  });
});

/** Random coded points (8 leading, 40 fine coordinates, one grid) added to trees, and queries near them with radii 0, 0.5, 2. */
function pointStream(seed: number) {
  const random = rng(seed);
  const [leading, length] = [8, 40];
  const g = grid(length, 0.05);
  const points: Stored[] = [];
  return {
    leading, length, points,
    add(count: number, bulk: boolean, trees: ProjectionTree[]): void {
      for (let i = 0; i < count; i++) {
        const fine = Float64Array.from({ length }, () => 2 * gaussian(random));
        const lead = Float64Array.from({ length: leading }, (_, k) => fine[k] * 0.5);
        const radius = random() < 0.2 ? 0 : 2 * random();
        points.push({ point: coded(g, lead, fine), radius });
        for (const tree of trees) tree.add(points.at(-1)!.point, radius, bulk, points.length - 1);
      }
    },
    query(q: number): { query: TreeQuery; lead: Float64Array; radius: number } {
      const near = points[Math.floor(random() * points.length)].point.lead;
      const lead = Float64Array.from(near, (v) => v + 0.2 * gaussian(random));
      const fine = Float64Array.from({ length }, (_, k) => (k < leading ? 2 * lead[k] : 2 * gaussian(random)));
      return { query: new TreeQuery(leading, length).set(lead, Math.hypot(...fine), g, fine, 0), lead, radius: [0, 0.5, 2][q % 3] };
    },
  };
}

describe('merges on the builder\'s thread (segmentBuilder.ts)', () => {
  it('finds every point while merges are in flight and once swapped in; a builder that stops leaves its merge undone and the next one to this thread', async () => {
    const seed = 29;
    const stream = pointStream(seed);
    const { points } = stream;
    const builder = new SegmentBuilder();
    const tree = new ProjectionTree(stream.leading, stream.length, undefined, builder);
    const addPoints = (count: number) => stream.add(count, false, [tree]);
    const check = (label: string) => {
      for (let q = 0; q < 12; q++) {
        const { query, lead, radius } = stream.query(q);
        const found = new Set(tree.candidates(query, radius));
        expect(bruteForce(points, query, lead, radius).filter((id) => !found.has(id)), `seed=${seed} ${label} q=${q}: missed`).toEqual([]);
      }
    };
    const segments = () => tree.shapes.length - 1; // without the open one
    let startedInFlight = 0;
    for (let round = 0; round < 48; round++) {
      addPoints(128);
      const started = tree.maintain();
      startedInFlight += started;
      check(`round ${round}, ${builder.inFlight} merge(s) in flight`);
      if (round % 6 === 5) {
        await builder.settled();
        check(`round ${round}, merges swapped in`);
      }
    }
    await builder.settled();
    expect(startedInFlight, `seed=${seed}`).toBeGreaterThan(3);
    // Each merge swapped in starts the next one due.
    expect(builder.counts.merges, `seed=${seed}`).toBeGreaterThanOrEqual(startedInFlight);
    const built = builder.counts.merges;
    // What the logarithmic method leaves: no merge due, each segment more than 8 times the next.
    expect(tree.maintenanceDue, `seed=${seed}`).toBe(false);
    expect(segments(), `seed=${seed}`).toBeLessThanOrEqual(4);
    check('settled');
    // The builder stops with a merge in flight: the merge is dropped, its sources stay searched.
    while (!tree.maintenanceDue) addPoints(128);
    const before = segments();
    expect(tree.maintain(), `seed=${seed}`).toBe(1);
    builder.close();
    await builder.settled();
    expect(segments(), `seed=${seed}: the dropped merge's sources`).toBe(before);
    check('builder stopped');
    // The next maintain() merges here, at once.
    expect(tree.maintain(), `seed=${seed}`).toBeGreaterThan(0);
    expect(segments(), `seed=${seed}`).toBeLessThan(before);
    expect(tree.maintenanceDue, `seed=${seed}`).toBe(false);
    check('merged here');
    expect(builder.counts.merges, `seed=${seed}`).toBe(built);
  });

  it('builds a replay\'s bulk load there as this thread builds the same points; a builder that stops first fails the build', async () => {
    const seed = 31;
    const stream = pointStream(seed);
    const { points, leading, length } = stream;
    const addPoints = stream.add;
    const builder = new SegmentBuilder();
    const there = new ProjectionTree(leading, length, undefined, builder);
    const here = new ProjectionTree(leading, length);
    const check = (label: string) => {
      for (let q = 0; q < 24; q++) {
        const { query, lead, radius } = stream.query(q);
        const found = there.candidates(query, radius).sort((a, b) => a - b);
        expect(found, `seed=${seed} ${label} q=${q}: as built here`).toEqual(here.candidates(query, radius).sort((a, b) => a - b));
        const kept = new Set(found);
        expect(bruteForce(points, query, lead, radius).filter((id) => !kept.has(id)), `seed=${seed} ${label} q=${q}: missed`).toEqual([]);
      }
    };
    // Two sealed segments (as the replay's first records leave them), then a bulk load.
    addPoints(256, false, [there, here]);
    addPoints(3000, true, [there, here]);
    const built = there.buildElsewhere();
    here.build();
    await built;
    expect(builder.counts.merges, `seed=${seed}`).toBe(1);
    expect(there.shapes.length, `seed=${seed}: one segment and the open one`).toBe(2);
    expect(there.count, `seed=${seed}`).toBe(points.length);
    check('built there');
    addPoints(300, false, [there, here]);
    check('online adds after it');
    // The builder stops with a build in flight: its codes, reordered there in place, are lost.
    const lost = new ProjectionTree(leading, length, undefined, builder);
    addPoints(1000, true, [lost]);
    const failing = lost.buildElsewhere();
    builder.close();
    await expect(failing, `seed=${seed}`).rejects.toThrow(/opened again/);
  });

  it('shares an index\'s build between the two threads, and the index finds what a float64 scan finds', async () => {
    const seed = 37;
    const random = rng(seed);
    const dim = 24;
    const index = new RegionIndex(dim, { backgroundMerges: true });
    const inputs: Float32Array[] = [];
    const answers: number[] = [];
    const radii: number[] = [];
    // Four answers in one band of radii: four trees above BUILD_ELSEWHERE_MIN_POINTS, and a small one.
    const sizes = [5000, 4000, 3000, 2500, 100];
    for (const [answer, size] of sizes.entries()) {
      for (let i = 0; i < size; i++) {
        const input = Float32Array.from({ length: dim }, () => gaussian(random));
        inputs.push(input);
        answers.push(answer);
        radii.push(0.3 + 0.2 * random());
        index.add(index.project(input), answer, radii.at(-1)!, false);
      }
    }
    expect(Math.min(...sizes.slice(0, 4)), `seed=${seed}`).toBeGreaterThanOrEqual(BUILD_ELSEWHERE_MIN_POINTS);
    await index.buildTogether();
    // Largest first, each to the thread with fewer points: 5000 here, 4000 and 3000 there, 2500 and 100 here.
    expect(index.mergeCounts!.merges, `seed=${seed}`).toBe(2);
    for (let q = 0; q < 40; q++) {
      const x = inputs[Math.floor(random() * inputs.length)].map((v) => v + 0.3 * gaussian(random));
      const r = [0, 0.5, 2][q % 3];
      const found: number[] = [];
      index.search(index.prepare(index.project(x)), () => r, (ids) => {
        for (const id of ids) if (distance(x, inputs[id], 'l2') < reach(r, radii[id])) found.push(id);
      });
      const within = inputs.flatMap((input, id) => (distance(x, input, 'l2') < reach(r, radii[id]) ? [id] : []));
      expect(found.sort((a, b) => a - b), `seed=${seed} q=${q}`).toEqual(within);
    }
    index.close();
  });
});
