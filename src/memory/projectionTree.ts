// The candidate search over projected points of one tree (one answer, one radius band). A
// query returns every point whose distance in projection space (a lower bound of the input
// distance in l2 and in l1, see projection.ts) is below reach(radius, R_point): no region that
// can conflict is ever pruned.
//
// Points live in immutable k-d trees (segments) laid out flat in typed arrays: nodes in
// preorder with tight boxes on the leading coordinates and the largest region radius below
// them, leaf points stored contiguously. New points go to a small buffer that is scanned; a
// full buffer becomes a segment, and segments of similar size are merged (the logarithmic
// method), so each point is rebuilt O(log n) times and a query visits O(log n) segments.
import { reach } from './rules.js';

const LEAF_MAX = 16;
/** Points scanned linearly before they are sealed into a segment. */
const BUFFER_MAX = 512;
/** Search stack: one pending sibling per level; splits halve the points, so 128 levels cannot happen. */
const STACK_DEPTH = 128;

/** Points in parallel arrays: leading coordinates, embedding, radius, local id. */
interface PointSet {
  count: number;
  lead: Float32Array;
  embedding: Float32Array;
  radii: Float64Array;
  ids: Int32Array;
}

class Segment implements PointSet {
  readonly count: number;
  readonly lead: Float32Array;
  readonly embedding: Float32Array;
  readonly radii: Float64Array;
  readonly ids: Int32Array;
  readonly maxPointNorm: number;
  /** Per node (preorder): box on the leading coordinates, largest radius, right child (-1: leaf), point range. */
  private readonly lo: Float32Array;
  private readonly hi: Float32Array;
  private readonly maxRadius: Float64Array;
  private readonly right: Int32Array;
  private readonly from: Int32Array;
  private readonly to: Int32Array;
  private nodes = 0;

  /** Builds a segment over every point of `sources`. */
  constructor(
    private readonly leadDims: number,
    private readonly boundDims: number,
    sources: readonly PointSet[],
  ) {
    const count = sources.reduce((n, s) => n + s.count, 0);
    this.count = count;
    // Gather, then permute into leaf order while building.
    const lead = new Float32Array(count * leadDims);
    const radii = new Float64Array(count);
    const source = new Int32Array(count); // set index
    const sourceIndex = new Int32Array(count);
    let n = 0;
    let norm = 0;
    sources.forEach((s, k) => {
      lead.set(s.lead.subarray(0, s.count * leadDims), n * leadDims);
      radii.set(s.radii.subarray(0, s.count), n);
      for (let i = 0; i < s.count; i++) {
        source[n] = k;
        sourceIndex[n++] = i;
      }
      if (s instanceof Segment) norm = Math.max(norm, s.maxPointNorm);
    });
    const maxNodes = Math.max(1, 2 * Math.ceil(count / (LEAF_MAX / 2)));
    this.lo = new Float32Array(maxNodes * leadDims);
    this.hi = new Float32Array(maxNodes * leadDims);
    this.maxRadius = new Float64Array(maxNodes);
    this.right = new Int32Array(maxNodes);
    this.from = new Int32Array(maxNodes);
    this.to = new Int32Array(maxNodes);
    const order = new Int32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    if (count > 0) this.buildNode(order, 0, count, lead, radii);
    this.lead = new Float32Array(count * leadDims);
    this.embedding = new Float32Array(count * boundDims);
    this.radii = new Float64Array(count);
    this.ids = new Int32Array(count);
    for (let j = 0; j < count; j++) {
      const i = order[j];
      const s = sources[source[i]];
      const at = sourceIndex[i];
      for (let k = 0; k < leadDims; k++) this.lead[j * leadDims + k] = lead[i * leadDims + k];
      for (let k = 0; k < boundDims; k++) this.embedding[j * boundDims + k] = s.embedding[at * boundDims + k];
      this.radii[j] = radii[i];
      this.ids[j] = s.ids[at];
      if (!(s instanceof Segment)) norm = Math.max(norm, embeddingNorm(this.embedding, j, boundDims));
    }
    this.maxPointNorm = norm;
  }

  bytesUsed(): number {
    return this.count * ((this.leadDims + this.boundDims) * 4 + 12) + this.nodes * (2 * this.leadDims * 4 + 20);
  }

  private buildNode(order: Int32Array, from: number, to: number, lead: Float32Array, radii: Float64Array): void {
    const dims = this.leadDims;
    const node = this.nodes++;
    const base = node * dims;
    let maxRadius = 0;
    for (let k = 0; k < dims; k++) {
      this.lo[base + k] = Infinity;
      this.hi[base + k] = -Infinity;
    }
    for (let j = from; j < to; j++) {
      const p = order[j] * dims;
      for (let k = 0; k < dims; k++) {
        const v = lead[p + k];
        if (v < this.lo[base + k]) this.lo[base + k] = v;
        if (v > this.hi[base + k]) this.hi[base + k] = v;
      }
      const r = radii[order[j]];
      if (r > maxRadius) maxRadius = r;
    }
    this.maxRadius[node] = maxRadius;
    this.from[node] = from;
    this.to[node] = to;
    this.right[node] = -1;
    let dim = 0;
    for (let k = 1; k < dims; k++) if (this.hi[base + k] - this.lo[base + k] > this.hi[base + dim] - this.lo[base + dim]) dim = k;
    if (to - from <= LEAF_MAX || !(this.hi[base + dim] > this.lo[base + dim])) return;
    const mid = (from + to) >> 1;
    select(order, from, to - 1, mid, lead, dims, dim);
    this.buildNode(order, from, mid, lead, radii);
    this.right[node] = this.nodes;
    this.buildNode(order, mid, to, lead, radii);
  }

  /** Appends to `out` the local ids of every point whose lower bound is below reach(radius, R) + slack. */
  search(qLead: Float64Array, query: Float64Array, radius: number, slack: number, stack: Int32Array, out: number[]): void {
    if (this.count === 0) return;
    const dims = this.leadDims;
    const boundDims = this.boundDims;
    const { lo, hi, maxRadius, right, from, to, lead, embedding, radii, ids } = this;
    let top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const node = stack[--top];
      const bound = reach(radius, maxRadius[node]) + slack;
      const limit = bound * bound;
      let sum = 0;
      const base = node * dims;
      // Gap to the box per coordinate (0 inside); the exit test every 4 coordinates.
      for (let k = 0; k < dims && sum < limit; k += 4) {
        const g0 = Math.max(0, lo[base + k] - qLead[k], qLead[k] - hi[base + k]);
        const g1 = Math.max(0, lo[base + k + 1] - qLead[k + 1], qLead[k + 1] - hi[base + k + 1]);
        const g2 = Math.max(0, lo[base + k + 2] - qLead[k + 2], qLead[k + 2] - hi[base + k + 2]);
        const g3 = Math.max(0, lo[base + k + 3] - qLead[k + 3], qLead[k + 3] - hi[base + k + 3]);
        sum += g0 * g0 + g1 * g1 + g2 * g2 + g3 * g3;
      }
      if (sum >= limit) continue;
      const r = right[node];
      if (r >= 0) {
        stack[top++] = r;
        stack[top++] = node + 1;
        continue;
      }
      for (let j = from[node]; j < to[node]; j++) {
        const b = reach(radius, radii[j]) + slack;
        const lim = b * b;
        let s = 0;
        const p = j * dims;
        for (let k = 0; k < dims && s < lim; k += 4) {
          const g0 = qLead[k] - lead[p + k];
          const g1 = qLead[k + 1] - lead[p + k + 1];
          const g2 = qLead[k + 2] - lead[p + k + 2];
          const g3 = qLead[k + 3] - lead[p + k + 3];
          s += g0 * g0 + g1 * g1 + g2 * g2 + g3 * g3;
        }
        if (s >= lim) continue;
        s = 0;
        const e = j * boundDims;
        for (let k = 0; k < boundDims && s < lim; k++) {
          const gap = query[k] - embedding[e + k];
          s += gap * gap;
        }
        if (s < lim) out.push(ids[j]);
      }
    }
  }
}

function embeddingNorm(embedding: Float32Array, j: number, dims: number): number {
  let s = 0;
  for (let k = 0; k < dims; k++) s += embedding[j * dims + k] ** 2;
  return Math.sqrt(s);
}

/** Quickselect on order[left..right]: order[k] gets the k-th smallest lead[.][dim], smaller ones before it. */
function select(order: Int32Array, left: number, right: number, k: number, lead: Float32Array, dims: number, dim: number): void {
  while (right > left) {
    const pivot = lead[order[(left + right) >> 1] * dims + dim];
    let i = left;
    let j = right;
    while (i <= j) {
      while (lead[order[i] * dims + dim] < pivot) i++;
      while (lead[order[j] * dims + dim] > pivot) j--;
      if (i <= j) {
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

/** Unsealed points: scanned linearly. */
class PointBuffer implements PointSet {
  count = 0;
  lead: Float32Array;
  embedding: Float32Array;
  radii: Float64Array;
  ids: Int32Array;
  maxPointNorm = 0;

  constructor(
    private readonly leadDims: number,
    private readonly boundDims: number,
    capacity: number,
  ) {
    this.lead = new Float32Array(capacity * leadDims);
    this.embedding = new Float32Array(capacity * boundDims);
    this.radii = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
  }

  get capacity(): number {
    return this.radii.length;
  }

  push(projected: Float64Array, leading: number, radius: number, id: number): void {
    if (this.count === this.capacity) this.grow();
    const j = this.count++;
    const { leadDims, boundDims } = this;
    for (let k = 0; k < boundDims; k++) this.embedding[j * boundDims + k] = projected[k];
    for (let k = 0; k < leading; k++) this.lead[j * leadDims + k] = projected[boundDims + k];
    this.radii[j] = radius;
    this.ids[j] = id;
    this.maxPointNorm = Math.max(this.maxPointNorm, embeddingNorm(this.embedding, j, boundDims));
  }

  search(qLead: Float64Array, query: Float64Array, radius: number, slack: number, out: number[]): void {
    const { leadDims, boundDims, lead, embedding, radii, ids } = this;
    for (let j = 0; j < this.count; j++) {
      const b = reach(radius, radii[j]) + slack;
      const lim = b * b;
      let s = 0;
      for (let k = 0; k < leadDims && s < lim; k++) {
        const gap = qLead[k] - lead[j * leadDims + k];
        s += gap * gap;
      }
      if (s >= lim) continue;
      s = 0;
      for (let k = 0; k < boundDims && s < lim; k++) {
        const gap = query[k] - embedding[j * boundDims + k];
        s += gap * gap;
      }
      if (s < lim) out.push(ids[j]);
    }
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const lead = new Float32Array(capacity * this.leadDims);
    lead.set(this.lead);
    this.lead = lead;
    const embedding = new Float32Array(capacity * this.boundDims);
    embedding.set(this.embedding);
    this.embedding = embedding;
    const radii = new Float64Array(capacity);
    radii.set(this.radii);
    this.radii = radii;
    const ids = new Int32Array(capacity);
    ids.set(this.ids);
    this.ids = ids;
  }
}

export class ProjectionTree {
  private segments: Segment[] = [];
  private buffer: PointBuffer;
  private size = 0;
  private readonly stack = new Int32Array(STACK_DEPTH + 1);
  private readonly qLead: Float64Array;
  /** Leading coordinates stored per point: `leading` rounded up to a multiple of 4, zero-padded (the search loops take 4 at a time). */
  private readonly leadDims: number;

  /**
   * A projected point is `boundDims` embedding coordinates followed by `leading` leading ones;
   * the sum of squared gaps over either part is a lower bound of the squared input distance.
   */
  constructor(
    readonly boundDims: number,
    readonly leading: number,
  ) {
    this.leadDims = 4 * Math.ceil(leading / 4);
    this.buffer = new PointBuffer(this.leadDims, boundDims, 64);
    this.qLead = new Float64Array(this.leadDims);
  }

  get count(): number {
    return this.size;
  }

  /** Bytes held by the segments and the buffer (for RAM-per-record reporting). */
  bytesUsed(): number {
    return this.segments.reduce((n, s) => n + s.bytesUsed(), 0) + this.buffer.capacity * ((this.leadDims + this.boundDims) * 4 + 12);
  }

  /** Adds a point (its local id is the number of points before it); `bulk` defers sealing to build(). */
  add(projected: Float64Array, radius: number, bulk: boolean): number {
    const id = this.size++;
    this.buffer.push(projected, this.leading, radius, id);
    if (!bulk && this.buffer.count >= BUFFER_MAX) this.seal();
    return id;
  }

  /** Seals everything into one segment (after a bulk load, or a change of leading coordinates). */
  build(): void {
    const all: PointSet[] = [...this.segments, this.buffer];
    this.segments = [new Segment(this.leadDims, this.boundDims, all)];
    this.buffer = new PointBuffer(this.leadDims, this.boundDims, 64);
  }

  /** Recomputes the leading coordinates of every point from its stored embedding; rebuilds. */
  updateLeading(compute: (embedding: Float32Array, out: Float32Array, offset: number) => void): void {
    for (const set of [...this.segments, this.buffer] as PointSet[]) {
      for (let j = 0; j < set.count; j++) {
        compute(set.embedding.subarray(j * this.boundDims, (j + 1) * this.boundDims), set.lead, j * this.leadDims);
      }
    }
    this.build();
  }

  /**
   * Every point i whose lower bound on the distance to `query` is below reach(radius, R_i)
   * (widened by a rounding slack): a superset of the points with exact distance < reach.
   */
  candidates(query: Float64Array, radius: number, out: number[] = []): number[] {
    const boundDims = this.boundDims;
    for (let k = 0; k < this.leading; k++) this.qLead[k] = query[boundDims + k];
    let queryNorm = 0;
    for (let k = 0; k < boundDims; k++) queryNorm += query[k] * query[k];
    queryNorm = Math.sqrt(queryNorm);
    for (const s of [...this.segments, this.buffer]) {
      // float32 storage of coordinates and float64 summation: a generous relative + absolute margin.
      const slack = 1e-6 * (s.maxPointNorm + queryNorm) + 1e-9;
      if (s instanceof Segment) s.search(this.qLead, query, radius, slack, this.stack, out);
      else s.search(this.qLead, query, radius, slack, out);
    }
    return out;
  }

  /** The buffer becomes a segment; then segments are merged while the newer is at least half the older. */
  private seal(): void {
    this.segments.push(new Segment(this.leadDims, this.boundDims, [this.buffer]));
    this.buffer = new PointBuffer(this.leadDims, this.boundDims, 64);
    while (this.segments.length >= 2) {
      const newer = this.segments[this.segments.length - 1];
      const older = this.segments[this.segments.length - 2];
      if (2 * newer.count < older.count) break;
      this.segments.splice(this.segments.length - 2, 2, new Segment(this.leadDims, this.boundDims, [older, newer]));
    }
  }
}
