// A cheap lower-bounding projection for the index. Input coordinates are grouped into
// disjoint blocks (square tiles for square images, contiguous chunks otherwise); block b
// becomes p_b = (sum_{i in b} x_i) / sqrt(|b|). These rows are orthonormal (disjoint supports),
// so by Cauchy-Schwarz per block
//     ||p(x) - p(y)||_2 <= ||x - y||_2 <= ||x - y||_1,
// a lower bound for both norms. An optional orthogonal rotation (principal axes of a sample,
// see jacobi.ts) puts most of the spread in the first coordinates, where the tree splits;
// rotating changes no distance.
//
// The part of x outside that subspace is its deviation from the block means; per block b,
//     ||x_b - y_b||^2 = |b| (mean_b(x) - mean_b(y))^2 + ||dev_b(x) - dev_b(y)||^2
//                    >= |b| (mean_b(x) - mean_b(y))^2 + (||dev_b(x)|| - ||dev_b(y)||)^2
// (reverse triangle inequality), so storing the deviation norm of each block as well gives a
// much tighter lower bound for inputs that differ by noise (which the means average away).
// The 2*dims numbers e(x) = [block coordinates | block deviation norms] thus embed the inputs
// so that ||e(x) - e(y)||_2 <= ||x - y||_2. Any orthogonal rotation of e keeps that distance,
// and any subset of rotated coordinates bounds it from below: the LEADING principal
// coordinates of e (rows of a rotation fitted to a sample of stored points, see jacobi.ts)
// carry most of its spread in a few numbers; the trees split on the first of them.
//
// The same embedding over finer blocks (each coarse block split into up to 4: 2x2 pixel tiles
// of a 28x28 image, 196 blocks) bounds the distance much more tightly (the deviations inside a
// 16-pixel block are mostly structure, inside a 4-pixel block mostly noise); it is at least the
// coarse bound (the coarse numbers are a 1-Lipschitz function of the fine ones), so the index
// tests the fine embedding, quantized to 8 bits (codeGrid.ts), and keeps the coarse one only for
// the leading coordinates. The coarse numbers are computed from the fine ones.
// Point layout: [coarse: dims block coordinates | dims deviation norms | LEADING coordinates |
// fine: fineDims block coordinates | fineDims deviation norms].
import { embeddingKernel } from './embeddingKernel.js';
import { leadingKernel } from './leadingKernel.js';

export interface BlockProjection {
  readonly inputLength: number;
  readonly dims: number;
  /** 1 / sqrt(block size). */
  readonly scale: Float64Array;
  /** Leading rows (row-major, each of length 2 * dims) of an orthogonal rotation of the embedding, or null. */
  readonly rotation: Float64Array | null;
  /** Number of fine blocks; each lies inside one coarse block. */
  readonly fineDims: number;
  /** Input coordinates grouped by fine block: fine block f owns members[start[f] .. start[f+1]). */
  readonly members: Int32Array;
  readonly start: Int32Array;
  /** Number of input coordinates in each fine block. */
  readonly fineSize: Float64Array;
  /** 2 when the fine blocks are the 2x2 tiles of a square image, in row-major order (projected in WebAssembly, embeddingKernel.ts); else 0. */
  readonly tile: number;
  /** Per fine block, while projecting. */
  readonly scratch: Float64Array;
  /** The fine blocks of coarse block b: fineList[fineOf[b] .. fineOf[b+1]). */
  readonly fineOf: Int32Array;
  readonly fineList: Int32Array;
}

const TARGET_SIDE = 7;

/** Block of each coordinate of a square image for `side` x `side` tiles (side <= the image's). */
function squareTiles(inputLength: number, side: number): Uint16Array {
  const blockOf = new Uint16Array(inputLength);
  const imageSide = Math.round(Math.sqrt(inputLength));
  for (let r = 0; r < imageSide; r++) {
    const br = Math.floor((r * side) / imageSide);
    for (let c = 0; c < imageSide; c++) blockOf[r * imageSide + c] = br * side + Math.floor((c * side) / imageSide);
  }
  return blockOf;
}

/** Block of each coordinate for `count` contiguous chunks. */
function chunks(inputLength: number, count: number): Uint16Array {
  return Uint16Array.from({ length: inputLength }, (_, i) => Math.floor((i * count) / inputLength));
}

export function makeProjection(inputLength: number): BlockProjection {
  const imageSide = Math.round(Math.sqrt(inputLength));
  const square = imageSide * imageSide === inputLength && imageSide >= TARGET_SIDE;
  const dims = square ? TARGET_SIDE * TARGET_SIDE : Math.min(inputLength, TARGET_SIDE * TARGET_SIDE);
  const blockOf = square ? squareTiles(inputLength, TARGET_SIDE) : chunks(inputLength, dims);
  // Fine blocks: tiles of twice the resolution (square images of side >= 14), single pixels
  // (smaller squares), or chunks 4 times shorter. floor(floor(2a) / 2) = floor(a), so each
  // fine tile or chunk lies inside one coarse block.
  const fineKey = !square
    ? chunks(inputLength, Math.min(inputLength, 4 * dims))
    : imageSide >= 2 * TARGET_SIDE ? squareTiles(inputLength, 2 * TARGET_SIDE) : chunks(inputLength, inputLength);
  // Fine blocks in the order of their keys (row-major tiles, or chunks), members in input order.
  const order = Array.from({ length: inputLength }, (_, i) => i).sort((a, b) => fineKey[a] - fineKey[b] || a - b);
  const starts: number[] = [];
  for (let j = 0; j < inputLength; j++) if (j === 0 || fineKey[order[j]] !== fineKey[order[j - 1]]) starts.push(j);
  const fineDims = starts.length;
  starts.push(inputLength);
  const start = Int32Array.from(starts);
  const members = Int32Array.from(order);
  const fineSize = new Float64Array(fineDims);
  for (let f = 0; f < fineDims; f++) fineSize[f] = start[f + 1] - start[f];
  // The fine blocks of each coarse block (a fine block lies in the coarse block of its members).
  const coarseOf = Array.from({ length: fineDims }, (_, f) => blockOf[members[start[f]]]);
  for (let f = 0; f < fineDims; f++) {
    for (let j = start[f]; j < start[f + 1]; j++) if (blockOf[members[j]] !== coarseOf[f]) throw new Error(`fine block ${f} is not inside one coarse block`);
  }
  const fineList = Int32Array.from({ length: fineDims }, (_, f) => f).sort((a, b) => coarseOf[a] - coarseOf[b] || a - b);
  const fineOf = new Int32Array(dims + 1);
  for (const b of coarseOf) fineOf[b + 1]++;
  for (let b = 0; b < dims; b++) fineOf[b + 1] += fineOf[b];
  const scale = new Float64Array(dims);
  for (let b = 0; b < dims; b++) {
    let size = 0;
    for (let k = fineOf[b]; k < fineOf[b + 1]; k++) size += fineSize[fineList[k]];
    scale[b] = 1 / Math.sqrt(size);
  }
  // The WebAssembly path (embeddingKernel.ts) needs fine block f = the 2x2 tile at (2 row(f), 2 col(f)), row-major.
  let tile = 2;
  const fineSide = imageSide / 2;
  if (!square || imageSide % (2 * TARGET_SIDE) !== 0 || fineDims !== fineSide * fineSide) tile = 0;
  for (let f = 0; tile && f < fineDims; f++) {
    const at = 2 * Math.floor(f / fineSide) * imageSide + 2 * (f % fineSide);
    const expected = [at, at + 1, at + imageSide, at + imageSide + 1];
    if (start[f + 1] - start[f] !== 4 || expected.some((i, k) => members[start[f] + k] !== i)) tile = 0;
  }
  return { inputLength, dims, scale, rotation: null, fineDims, members, start, fineSize, tile, scratch: new Float64Array(fineDims), fineOf, fineList };
}

export function withRotation(p: BlockProjection, rotation: Float64Array): BlockProjection {
  return { ...p, rotation };
}

/**
 * Principal coordinates kept per point, tested before its codes; the trees split on the first 16
 * and their nodes keep a box of those only (projectionTree.ts). 32 rather than 16 since the boxes
 * stopped at 16: of the points the first 16 let through to the codes, the next 16 rule out most
 * (docs/benchmarks.md). With boxes of all of them, 24 and 32 were no better than 16.
 */
export const LEADING = 32;

/** The first records, whose principal axes (and code grid, codeGrid.ts) the index adopts. */
export const ROTATION_SAMPLE = 4096;

export function leadingCount(p: BlockProjection): number {
  return Math.min(LEADING, 2 * p.dims);
}

/** Length of the embedding (the point-level lower bound). */
export function embeddingLength(p: BlockProjection): number {
  return 2 * p.dims;
}

/**
 * point[2 dims + r] = (row r of the rotation) . embedding for the leading rows; without a
 * rotation yet, the first embedding coordinates (identity rows).
 */
export function leadingCoordinates(p: BlockProjection, point: Float64Array | Float32Array, out: Float64Array | Float32Array, offset: number): void {
  const width = 2 * p.dims;
  const lead = leadingCount(p);
  const rotation = p.rotation;
  if (!rotation) {
    for (let r = 0; r < lead; r++) out[offset + r] = point[r];
    return;
  }
  // In WebAssembly SIMD: this runs for every record of a replay.
  leadingKernel().leading(rotation, lead, width, point, out, offset);
}

/** Where a point's fine embedding starts. */
export function fineOffset(p: BlockProjection): number {
  return 2 * p.dims + leadingCount(p);
}

/** Length of the fine embedding. */
export function fineLength(p: BlockProjection): number {
  return 2 * p.fineDims;
}

/** Length of a point: the embedding, its leading principal coordinates, the fine embedding. */
export function pointLength(p: BlockProjection): number {
  return fineOffset(p) + fineLength(p);
}

export function project(
  p: BlockProjection,
  x: Float32Array,
  out: Float64Array = new Float64Array(pointLength(p)),
): Float64Array {
  const fine = fineOffset(p);
  if (p.tile === 2) embeddingKernel().embed(p, x, out, fine);
  else embed(p, x, out, fine);
  leadingCoordinates(p, out, out, 2 * p.dims);
  return out;
}

/** The embedding in JS: for shapes other than 2x2 tiles, and the reference for the kernel (the same numbers). */
export function embed(p: BlockProjection, x: Float32Array, out: Float64Array, fine: number): void {
  const { dims, fineDims, fineSize, fineOf, fineList, scale } = p;
  const mean = p.scratch;
  fineSums(p, x, mean, out, fine + fineDims);
  // Per coarse block: sum of its fine sums; squared deviation = sum over its fine blocks of
  // (their own squared deviation + size x (their mean - block mean)^2).
  for (let b = 0; b < dims; b++) {
    let sum = 0;
    let size = 0;
    for (let k = fineOf[b]; k < fineOf[b + 1]; k++) {
      const f = fineList[k];
      sum += mean[f] * fineSize[f];
      size += fineSize[f];
    }
    const blockMean = sum / size;
    let dev = 0;
    for (let k = fineOf[b]; k < fineOf[b + 1]; k++) {
      const f = fineList[k];
      const gap = mean[f] - blockMean;
      const own = out[fine + fineDims + f];
      dev += own * own + fineSize[f] * gap * gap;
    }
    out[b] = sum * scale[b];
    out[dims + b] = Math.sqrt(dev);
  }
  for (let f = 0; f < fineDims; f++) out[fine + f] = mean[f] * Math.sqrt(fineSize[f]);
}

/** Each fine block's mean (into `mean`) and deviation norm (into `dev` from `at`). */
function fineSums(p: BlockProjection, x: Float32Array, mean: Float64Array, dev: Float64Array, at: number): void {
  const { fineDims, fineSize, members, start } = p;
  for (let f = 0; f < fineDims; f++) {
    const from = start[f];
    const to = start[f + 1];
    let sum = 0;
    for (let j = from; j < to; j++) sum += x[members[j]];
    const m = sum / fineSize[f];
    let squares = 0;
    for (let j = from; j < to; j++) {
      const e = x[members[j]] - m;
      squares += e * e;
    }
    mean[f] = m;
    dev[at + f] = Math.sqrt(squares);
  }
}

/** Principal axes (rows, by decreasing variance) of `count` points of `dims` numbers stored row-major in `points`. */
export function principalAxes(points: Float32Array, count: number, dims: number, eigenvectors: (m: Float64Array, n: number) => Float64Array): Float64Array {
  const mean = new Float64Array(dims);
  for (let i = 0; i < count; i++) for (let k = 0; k < dims; k++) mean[k] += points[i * dims + k];
  for (let k = 0; k < dims; k++) mean[k] /= Math.max(1, count);
  const cov = new Float64Array(dims * dims);
  const centred = new Float64Array(dims);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < dims; k++) centred[k] = points[i * dims + k] - mean[k];
    for (let a = 0; a < dims; a++) {
      const ca = centred[a];
      for (let b = a; b < dims; b++) cov[a * dims + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < dims; a++) for (let b = 0; b < a; b++) cov[a * dims + b] = cov[b * dims + a];
  return eigenvectors(cov, dims);
}
