// A cheap lower-bounding projection for the index: coordinates are grouped into disjoint
// blocks (square tiles for square images, contiguous chunks otherwise) and each block
// becomes one coordinate.
//   l2: p_b = (sum_{i in b} x_i) / sqrt(|b|). The rows are orthonormal (disjoint supports), so
//       ||p(x) - p(y)||_2 <= ||x - y||_2 (Cauchy-Schwarz per block).
//   l1: p_b = sum_{i in b} x_i, and sum_b |p_b(x) - p_b(y)| <= ||x - y||_1 (triangle inequality).
// Data-independent, so it needs no state in the log and costs d additions per input.
import type { Norm } from './types.js';

export interface BlockProjection {
  readonly inputLength: number;
  readonly dims: number;
  readonly norm: Norm;
  /** Block of each input coordinate. */
  readonly blockOf: Uint16Array;
  /** Scale applied to each block sum. */
  readonly scale: Float64Array;
}

/** Target number of blocks: enough to separate images, few enough for cheap tree nodes. */
const TARGET_SIDE = 7;

export function makeProjection(inputLength: number, norm: Norm): BlockProjection {
  const blockOf = new Uint16Array(inputLength);
  const side = Math.round(Math.sqrt(inputLength));
  let dims: number;
  if (side * side === inputLength && side >= TARGET_SIDE) {
    dims = TARGET_SIDE * TARGET_SIDE;
    for (let r = 0; r < side; r++) {
      const br = Math.floor((r * TARGET_SIDE) / side);
      for (let c = 0; c < side; c++) blockOf[r * side + c] = br * TARGET_SIDE + Math.floor((c * TARGET_SIDE) / side);
    }
  } else {
    dims = Math.min(inputLength, TARGET_SIDE * TARGET_SIDE);
    for (let i = 0; i < inputLength; i++) blockOf[i] = Math.floor((i * dims) / inputLength);
  }
  const sizes = new Float64Array(dims);
  for (let i = 0; i < inputLength; i++) sizes[blockOf[i]]++;
  const scale = new Float64Array(dims);
  for (let b = 0; b < dims; b++) scale[b] = norm === 'l2' ? 1 / Math.sqrt(sizes[b]) : 1;
  return { inputLength, dims, norm, blockOf, scale };
}

export function project(p: BlockProjection, x: Float32Array, out: Float64Array = new Float64Array(p.dims)): Float64Array {
  out.fill(0);
  const blockOf = p.blockOf;
  for (let i = 0; i < x.length; i++) out[blockOf[i]] += x[i];
  for (let b = 0; b < p.dims; b++) out[b] *= p.scale[b];
  return out;
}
