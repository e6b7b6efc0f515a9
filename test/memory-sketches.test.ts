// The input sketches' lower bounds (src/memory/inputSketches.ts) against exact float64
// distances: never above the distance (soundness, on awkward inputs), close to it on images
// (so a kernel that never rules anything out fails), equal to the direct loop's bound up to the
// query's quantization, across banks, chunk growth and replay batches. Seeds are printed on failure.
import { describe, expect, it } from 'vitest';
import { distance } from '../src/memory/distance.js';
import { InputSketches, quantizeInput, RECORDS_PER_CHUNK } from '../src/memory/inputSketches.js';
import type { Norm } from '../src/memory/types.js';
import { gaussian, rng } from './helpers/memory-streams.js';

type Kind = (n: number) => Float32Array;

function kinds(random: () => number): Record<string, Kind> {
  const pick = (values: number[]) => values[Math.floor(random() * values.length)];
  return {
    // Fashion-MNIST-like: many zeros, the rest in [0, 1].
    image: (n) => Float32Array.from({ length: n }, () => (random() < 0.5 ? 0 : random())),
    // Codes near their largest values on both sides: the dot product exceeds 2^32 for n >= 784.
    bright: (n) => Float32Array.from({ length: n }, (_, k) => (k === 0 ? 0 : 0.9 + 0.1 * random())),
    gaussian: (n) => Float32Array.from({ length: n }, () => 3 * gaussian(random)),
    constant: (n) => new Float32Array(n).fill(pick([0.25, -7, 0, 1e30])),
    huge: (n) => Float32Array.from({ length: n }, () => pick([3e38, -3e38, 1e30, -1e30, 1e-30, 1e-40, 0, 1]) * random()),
    wide: (n) => Float32Array.from({ length: n }, () => 1e6 * (random() - 0.5)),
  };
}

/** x near y: exact repeats, tiny and large perturbations, some coordinates left alone. */
function near(y: Float32Array, random: () => number, t: number): Float32Array {
  let magnitude = 0;
  for (const v of y) magnitude = Math.max(magnitude, Math.abs(v));
  const scale = [0, 1e-7, 1e-3, 0.03, 0.1, 1][t % 6] * (magnitude || 1);
  // Kept finite, as the memory admits only finite inputs.
  return Float32Array.from(y, (v) => {
    const moved = Math.fround(v + scale * gaussian(random));
    return random() < 0.2 || !Number.isFinite(moved) ? v : moved;
  });
}

/** An image moved by `near`, clipped back to [0, 1]. */
function nearImage(y: Float32Array, random: () => number, t: number): Float32Array {
  return near(y, random, t).map((v) => Math.min(1, Math.max(0, v)));
}

describe('input sketch codes (wasm/quantize.wat)', () => {
  it('are the nearest of 255 steps over the range of the input, with the sums and error of those codes', () => {
    const seed = 7401;
    const random = rng(seed);
    const make = kinds(random);
    for (const n of [1, 2, 7, 97, 784, 5001]) {
      for (const [name, kind] of Object.entries(make)) {
        const x = kind(n);
        const context = `seed=${seed} n=${n} kind=${name}`;
        let low = Infinity;
        let high = -Infinity;
        for (const v of x) [low, high] = [Math.min(low, v), Math.max(high, v)];
        const step = high > low ? (high - low) / 255 : 0;
        const inverse = step > 0 ? 1 / step : 0;
        const codes = new Uint8Array(n);
        const sketch = quantizeInput(x, codes, 'l2');
        const l1 = quantizeInput(x, new Uint8Array(n), 'l1');
        expect([sketch.low, sketch.step], context).toEqual([low, step]);
        const expected = Array.from(x, (v) => Math.min(255, Math.floor((v - low) * inverse + 0.5)));
        expect(Array.from(codes), context).toEqual(expected);
        let [squares, absolute, sum, sumSquares] = [0, 0, 0, 0];
        expected.forEach((q, k) => {
          const e = x[k] - (low + q * step);
          [squares, absolute, sum, sumSquares] = [squares + e * e, absolute + Math.abs(e), sum + q, sumSquares + q * q];
        });
        expect([sketch.codeSum, sketch.codeSquares], context).toEqual([sum, sumSquares]);
        // Never below the error of a loop over the codes (the bound relies on it), and not far above.
        expect(sketch.error, context).toBeGreaterThanOrEqual(Math.sqrt(squares));
        expect(l1.error, context).toBeGreaterThanOrEqual(absolute);
        expect(sketch.error, context).toBeLessThanOrEqual(Math.sqrt(squares) * (1 + 1e-11));
        expect(l1.error, context).toBeLessThanOrEqual(absolute * (1 + 1e-11));
      }
    }
  });
});

describe('input sketches', () => {
  it('never rule out an input within the bound, in l2 and l1, for images, signed, constant and large inputs, n = 1 to 5000', () => {
    for (const norm of ['l2', 'l1'] as Norm[]) {
      for (const n of [1, 7, 16, 97, 784, 5000]) {
        const seed = 7100 + n + (norm === 'l1' ? 1 : 0);
        const random = rng(seed);
        const make = kinds(random);
        const names = Object.keys(make);
        const sketches = new InputSketches(n, norm, { recordsPerBank: 7 });
        const stored = Array.from({ length: 30 }, (_, i) => make[names[i % names.length]](n));
        stored.forEach((y) => sketches.add(y));
        const trials = n >= 784 ? 300 : 1500;
        for (let t = 0; t < trials; t++) {
          const i = Math.floor(random() * stored.length);
          // Mostly near the record; sometimes an unrelated input of another kind.
          const x = t % 7 === 6 ? make[names[t % names.length]](n) : near(stored[i], random, t);
          const exact = distance(x, stored[i], norm);
          const context = `norm=${norm} n=${n} seed=${seed} t=${t} i=${i} kind=${names[i % names.length]} exact=${exact}`;
          const query = sketches.query(x);
          expect(query.beyond(i, exact * (1 + 1e-12) + 1e-300), context).toBe(false);
          expect(query.lowerBound(i) <= exact * (1 + 1e-12) + 1e-300, context).toBe(true);
          // Another record under the same query, with its own exact distance.
          const j = (i + 1 + t) % stored.length;
          const other = distance(x, stored[j], norm);
          expect(query.beyond(j, other * (1 + 1e-12) + 1e-300), `${context} j=${j}`).toBe(false);
        }
      }
    }
  });

  it('rule out images in [0, 1] at 0.95 of their distance in l2, and agree with the direct loop to within 1e-3', () => {
    const seed = 7301;
    const random = rng(seed);
    const n = 784;
    const image = kinds(random).image;
    const sketches = new InputSketches(n, 'l2');
    const stored = Array.from({ length: 60 }, () => image(n));
    stored.forEach((y) => sketches.add(y));
    let checked = 0;
    for (let t = 0; t < 600; t++) {
      const i = Math.floor(random() * stored.length);
      const x = t % 5 === 4 ? image(n) : nearImage(stored[i], random, t);
      const exact = distance(x, stored[i], 'l2');
      const context = `seed=${seed} t=${t} i=${i} exact=${exact}`;
      const query = sketches.query(x);
      const bound = query.lowerBound(i);
      const reference = query.scanLowerBound(i);
      expect(Math.abs(bound - reference), context).toBeLessThan(1e-3);
      expect(bound, context).toBeLessThanOrEqual(exact);
      // Quantization costs about 0.02 (twice the sketch's error at most) on these images.
      if (exact > 0.5) {
        expect(query.beyond(i, 0.95 * exact), context).toBe(true);
        checked++;
      }
      if (exact > 0.2) expect(query.beyond(i, 0.5 * exact), context).toBe(true);
      if (reference > 0.01) expect(query.beyond(i, reference - 1e-3), context).toBe(true);
    }
    expect(checked).toBeGreaterThan(200);
  });

  // n = 20 pads each record to 32 bytes; n = 32 needs no padding (batches are copied a run at a time).
  it.each([20, 32])('store records across banks, chunk growth and replay batches, and reload the query in every bank (n = %i)', (n) => {
    const seed = 7401;
    const random = rng(seed);
    const image = kinds(random).image;
    // Banks of 1.5 chunks: the second chunk of each bank is a partial one.
    const perBank = RECORDS_PER_CHUNK + RECORDS_PER_CHUNK / 2;
    const sketches = new InputSketches(n, 'l2', { recordsPerBank: perBank });
    const stored: Float32Array[] = [];
    const expected: { low: number; step: number; error: number; codes: Uint8Array }[] = [];
    const remember = (y: Float32Array) => {
      const codes = new Uint8Array(n);
      stored.push(y);
      expected.push({ ...quantizeInput(y, codes, 'l2'), codes });
    };
    // A few records one by one, then replay batches: a whole chunk and an odd-sized one.
    for (let i = 0; i < 5; i++) {
      const y = image(n);
      sketches.add(y);
      remember(y);
    }
    for (const count of [RECORDS_PER_CHUNK, 1234, RECORDS_PER_CHUNK]) {
      const bytes = new Uint8Array(count * n);
      const columns = {
        low: new Float64Array(count), step: new Float64Array(count), error: new Float64Array(count),
        codeSum: new Float64Array(count), codeSquares: new Float64Array(count),
      };
      for (let i = 0; i < count; i++) {
        const y = image(n);
        const sketch = quantizeInput(y, bytes.subarray(i * n, (i + 1) * n), 'l2');
        columns.low[i] = sketch.low;
        columns.step[i] = sketch.step;
        columns.error[i] = sketch.error;
        columns.codeSum[i] = sketch.codeSum;
        columns.codeSquares[i] = sketch.codeSquares;
        remember(y);
      }
      sketches.addSketches(count, bytes, columns);
    }
    const before = sketches.bytesUsed();
    expect(sketches.size).toBe(stored.length);
    expect(stored.length).toBeGreaterThan(perBank); // two banks at least
    for (let t = 0; t < 6; t++) {
      const x = image(n);
      const query = sketches.query(x);
      // Then records added after the query (a new chunk and a new bank) are bounded to it too.
      if (t === 3) {
        while (stored.length < 2 * perBank + 10) {
          const y = image(n);
          sketches.add(y);
          remember(y);
        }
        expect(sketches.bytesUsed()).toBeGreaterThan(before);
      }
      for (let i = 0; i < stored.length; i += 1 + Math.floor(random() * 9)) {
        const context = `seed=${seed} t=${t} i=${i}`;
        const e = expected[i];
        // The direct loop sees exactly the sketch quantizeInput made: the right bytes in the right place.
        let sum = 0;
        for (let k = 0; k < n; k++) sum += (x[k] - (e.low + e.codes[k] * e.step)) ** 2;
        expect(query.scanLowerBound(i), context).toBe(Math.sqrt(sum) - e.error);
        // The kernel reads the same record and this query's codes.
        expect(Math.abs(query.lowerBound(i) - query.scanLowerBound(i)), context).toBeLessThan(1e-3);
        const exact = distance(x, stored[i], 'l2');
        expect(query.beyond(i, exact * (1 + 1e-12) + 1e-300), context).toBe(false);
      }
    }
  });

  it('bound l1 by the direct loop under the same query API', () => {
    const seed = 7501;
    const random = rng(seed);
    const n = 97;
    const image = kinds(random).image;
    const sketches = new InputSketches(n, 'l1', { recordsPerBank: 10 });
    const stored = Array.from({ length: 40 }, () => image(n));
    stored.forEach((y) => sketches.add(y));
    for (let t = 0; t < 400; t++) {
      const i = Math.floor(random() * stored.length);
      const x = near(stored[i], random, t);
      const exact = distance(x, stored[i], 'l1');
      const context = `seed=${seed} t=${t} i=${i}`;
      const query = sketches.query(x);
      expect(query.lowerBound(i), context).toBe(query.scanLowerBound(i));
      expect(query.beyond(i, exact * (1 + 1e-12) + 1e-300), context).toBe(false);
      if (exact > 0.5) expect(query.beyond(i, 0.5 * exact), context).toBe(true);
    }
  });

  it('reject inputs and sketches of the wrong length', () => {
    const sketches = new InputSketches(8, 'l2');
    expect(() => sketches.query(new Float32Array(7))).toThrow(/length/);
    expect(() => sketches.addSketch(new Uint8Array(9), { low: 0, step: 0, error: 0, codeSum: 0, codeSquares: 0 })).toThrow(/bytes/);
    expect(() => new InputSketches(8, 'l2', { recordsPerBank: 0 })).toThrow(/recordsPerBank/);
  });
});
