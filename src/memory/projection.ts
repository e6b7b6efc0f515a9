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
// carry most of its spread in a few numbers, and the tree splits on them.
// Point layout: [dims block coordinates | dims block deviation norms | LEADING coordinates].

export interface BlockProjection {
  readonly inputLength: number;
  readonly dims: number;
  /** Block of each input coordinate. */
  readonly blockOf: Uint16Array;
  /** 1 / sqrt(block size). */
  readonly scale: Float64Array;
  /** Leading rows (row-major, each of length 2 * dims) of an orthogonal rotation of the embedding, or null. */
  readonly rotation: Float64Array | null;
  /** Input coordinates grouped by block: block b owns members[start[b] .. start[b+1]). */
  readonly members: Int32Array;
  readonly start: Int32Array;
}

const TARGET_SIDE = 7;

export function makeProjection(inputLength: number): BlockProjection {
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
  const scale = sizes.map((s) => 1 / Math.sqrt(s));
  const start = new Int32Array(dims + 1);
  for (let b = 0; b < dims; b++) start[b + 1] = start[b] + sizes[b];
  const members = new Int32Array(inputLength);
  const fill = start.slice(0, dims);
  for (let i = 0; i < inputLength; i++) members[fill[blockOf[i]]++] = i;
  return { inputLength, dims, blockOf, scale, rotation: null, members, start };
}

export function withRotation(p: BlockProjection, rotation: Float64Array): BlockProjection {
  return { ...p, rotation };
}

/**
 * Principal coordinates kept per point (the trees split on them and test them first). 16 rather
 * than 24: on one 10^6 memory, searched side by side, the same p99, a lower p50, a faster replay
 * and fewer bytes per point; 12 and 32 were no better.
 */
export const LEADING = 16;

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
  let r = 0;
  // Four rows per pass over the point (this runs for every record of a replay).
  for (; r + 4 <= lead; r += 4) {
    const a = r * width;
    const b = a + width;
    const c = b + width;
    const d = c + width;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < width; k++) {
      const v = point[k];
      s0 += rotation[a + k] * v;
      s1 += rotation[b + k] * v;
      s2 += rotation[c + k] * v;
      s3 += rotation[d + k] * v;
    }
    out[offset + r] = s0;
    out[offset + r + 1] = s1;
    out[offset + r + 2] = s2;
    out[offset + r + 3] = s3;
  }
  for (; r < lead; r++) {
    let s = 0;
    const row = r * width;
    for (let k = 0; k < width; k++) s += rotation[row + k] * point[k];
    out[offset + r] = s;
  }
}

/** Length of a point: the embedding, then its leading principal coordinates. */
export function pointLength(p: BlockProjection): number {
  return 2 * p.dims + leadingCount(p);
}

export function project(
  p: BlockProjection,
  x: Float32Array,
  out: Float64Array = new Float64Array(pointLength(p)),
): Float64Array {
  const dims = p.dims;
  const { members, start, scale } = p;
  for (let b = 0; b < dims; b++) {
    const from = start[b];
    const to = start[b + 1];
    let sum = 0;
    for (let j = from; j < to; j++) sum += x[members[j]];
    const mean = sum / (to - from);
    let dev = 0;
    for (let j = from; j < to; j++) {
      const e = x[members[j]] - mean;
      dev += e * e;
    }
    out[b] = sum * scale[b];
    out[dims + b] = Math.sqrt(dev);
  }
  leadingCoordinates(p, out, out, 2 * dims);
  return out;
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
