// 8-bit codes of the fine embedding (projection.ts), for the index's last and tightest test.
// A grid (an offset per coordinate, one step for all) is fitted once per memory, to the first
// records (the same records, hence the same grid, on every replay); a point's code is
// c = clamp(round((f - offset) / step), -127, 127) and its error e = ||f - (offset + step c)||,
// kept rounded up. Any grid is sound: a point outside it only has a larger error. A query is
// coded the same way in 16 bits (clamped to +-255) with its own error e_q. Then
//     ||f(x) - f(y)|| >= step ||c_x - c_y|| - e_x - e_y,
// and ||c_x - c_y||^2 is an exact integer sum (at most 400 x 382^2 < 2^31), computed by the
// search kernel (wasm/regionSearch.wat) in 16-bit SIMD lanes.

import { quantizeKernel } from './quantize.js';

export const POINT_CODE_LIMIT = 127;
export const QUERY_CODE_LIMIT = 255;
/** Codes are stored per point in whole vectors of 16 (zero padding on both sides adds nothing). */
export const CODE_ALIGN = 16;

export interface CodeGrid {
  readonly length: number;
  /** Codes per point: length rounded up to CODE_ALIGN. */
  readonly width: number;
  /** Coordinate order[k] is coded at position k: the most spread first, so that the search's partial sums rule points out early. */
  readonly order: Int32Array;
  /** offset[k] belongs to coordinate order[k]. */
  readonly offset: Float64Array;
  readonly step: number;
}

export function codeWidth(length: number): number {
  return CODE_ALIGN * Math.ceil(length / CODE_ALIGN);
}

/**
 * The grid of `count` rows of `length` numbers (row-major in `rows`): each coordinate's range
 * centred, the widest range over 250 steps, the coordinates ordered by decreasing variance.
 */
export function fitGrid(rows: Float64Array, count: number, length: number): CodeGrid {
  const low = new Float64Array(length).fill(Infinity);
  const high = new Float64Array(length).fill(-Infinity);
  const sum = new Float64Array(length);
  const squares = new Float64Array(length);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < length; k++) {
      const v = rows[i * length + k];
      if (v < low[k]) low[k] = v;
      if (v > high[k]) high[k] = v;
      sum[k] += v;
      squares[k] += v * v;
    }
  }
  // Non-finite variances (non-finite coordinates never come from finite inputs) go last; ties keep coordinate order.
  const variance = (k: number): number => {
    const v = squares[k] / count - (sum[k] / count) ** 2;
    return Number.isFinite(v) ? v : -Infinity;
  };
  const order = Int32Array.from({ length }, (_, k) => k).sort((a, b) => variance(b) - variance(a) || a - b);
  let range = 0;
  const offset = new Float64Array(length);
  for (let k = 0; k < length; k++) {
    const c = order[k];
    // A degenerate column is centred at 0.
    offset[k] = Number.isFinite(low[c] + high[c]) ? (low[c] + high[c]) / 2 : 0;
    if (Number.isFinite(high[c] - low[c])) range = Math.max(range, high[c] - low[c]);
  }
  const step = range > 0 ? range / (2 * POINT_CODE_LIMIT - 4) : 1;
  return { length, width: codeWidth(length), order, offset, step };
}

/** Codes `grid.length` numbers of `values` (from `at`) into `codes` (from `codesAt`); returns an upper bound of the error. */
export function encodePoint(grid: CodeGrid, values: Float64Array, at: number, codes: Int8Array, codesAt: number): number {
  // c = clamp(round half up((v - offset) / step), +-127): wasm/quantize.wat. Any code is sound:
  // the error is measured against it.
  return errorBound(quantizeKernel().encode(values, at, grid.order, grid.offset, grid.step, POINT_CODE_LIMIT, codes, codesAt), grid.step);
}

/** The query's codes (16 bits, zero-padded to grid.width) and an upper bound of its error. */
export function encodeQuery(grid: CodeGrid, values: Float64Array, at: number, codes: Int16Array): number {
  codes.fill(0, grid.length);
  return errorBound(quantizeKernel().encode(values, at, grid.order, grid.offset, grid.step, QUERY_CODE_LIMIT, codes, 0), grid.step);
}

function errorBound(squares: number, step: number): number {
  // Float64 rounding of the sum (in two lanes) and these few operations is far below this
  // widening; NaN (non-finite values) becomes Infinity: such a point is never ruled out by its codes.
  const error = Math.sqrt(squares) * (1 + 1e-9) + 1e-12 * (1 + step);
  return Number.isNaN(error) ? Infinity : error;
}

/** Whether two grids are the same numbers (a replay worker's and the index's). */
export function sameGrid(a: CodeGrid, b: CodeGrid): boolean {
  if (a.length !== b.length || a.step !== b.step) return false;
  for (let k = 0; k < a.length; k++) if (a.offset[k] !== b.offset[k] || a.order[k] !== b.order[k]) return false;
  return true;
}
