// A k-d tree over projected points with tight bounding boxes (on the leading coordinates,
// where a rotated projection keeps most of the spread) and, per node, the largest region
// radius below it. A query returns every point whose l2 distance in projection space
// (a lower bound of the input distance in l2 and in l1, see projection.ts) is below
// reach(radius, R_point): no region that can conflict is ever pruned. Grows online: leaves split at
// their median; a subtree that becomes lopsided is rebuilt (scapegoat style), so adversarial
// insertion orders cost time amortised, never correctness.
import { reach } from './rules.js';

const DEFAULT_LEAF_MAX = 12;
const BALANCE = 0.8;

interface TreeNode {
  lo: Float32Array;
  hi: Float32Array;
  maxRadius: number;
  count: number;
  /** Leaf members (point indices), null for an inner node. */
  ids: number[] | null;
  /** Leaf only: size at which the next split is tried (leaves of identical points cannot split). */
  splitAt: number;
  dim: number;
  split: number;
  left: TreeNode | null;
  right: TreeNode | null;
}

export class ProjectionTree {
  /** Per point, its `boundDims` embedding coordinates (the point-level lower bound). */
  private points: Float32Array;
  /** Per point, its `leadDims` leading coordinates (boxes, splits and the first point-level check). */
  private lead: Float32Array;
  private radii: Float64Array;
  private size = 0;
  private root: TreeNode | null = null;
  /** Largest norm of a stored point: bounds the float32 rounding of stored coordinates. */
  private maxPointNorm = 0;

  /**
   * A projected point is `boundDims` embedding coordinates followed by `leadDims` leading ones;
   * the sum of squared gaps over either part is a lower bound of the squared input distance.
   */
  constructor(
    readonly boundDims: number,
    readonly leadDims: number,
    private readonly leafMax = DEFAULT_LEAF_MAX,
    initialCapacity = 1024,
  ) {
    this.points = new Float32Array(initialCapacity * boundDims);
    this.lead = new Float32Array(initialCapacity * leadDims);
    this.radii = new Float64Array(initialCapacity);
  }

  get count(): number {
    return this.size;
  }

  /** Bytes held by the tree and its point table (for RAM-per-record reporting). */
  bytesUsed(): number {
    let nodes = 0;
    let ids = 0;
    const stack = this.root ? [this.root] : [];
    while (stack.length) {
      const n = stack.pop()!;
      nodes++;
      if (n.ids) ids += n.ids.length;
      else stack.push(n.left!, n.right!);
    }
    return this.size * ((this.boundDims + this.leadDims) * 4 + 8) + nodes * (2 * this.leadDims * 4 + 120) + ids * 8;
  }

  /** Appends a point without placing it in the tree; call build() after a bulk load. */
  append(projected: Float64Array, radius: number): number {
    const id = this.size;
    if (id === this.radii.length) this.grow();
    const base = id * this.boundDims;
    let norm = 0;
    for (let k = 0; k < this.boundDims; k++) {
      const v = projected[k];
      this.points[base + k] = v;
      norm += v * v;
    }
    // The leading coordinates are a rotation of the embedding: same norm bound.
    this.lead.set(projected.subarray(this.boundDims, this.boundDims + this.leadDims), id * this.leadDims);
    this.maxPointNorm = Math.max(this.maxPointNorm, Math.sqrt(norm));
    this.radii[id] = radius;
    this.size++;
    return id;
  }

  /** The stored (float32) embedding of every point, row-major (a view: do not keep). */
  embeddingTable(): Float32Array {
    return this.points.subarray(0, this.size * this.boundDims);
  }

  /** Recomputes the leading coordinates of every point from its stored embedding; rebuilds the tree. */
  updateLeading(compute: (embedding: Float32Array, out: Float32Array, offset: number) => void): void {
    for (let id = 0; id < this.size; id++) {
      compute(this.points.subarray(id * this.boundDims, (id + 1) * this.boundDims), this.lead, id * this.leadDims);
    }
    if (this.root) this.build();
  }

  /** Releases unused capacity (after a bulk load), keeping a quarter for growth. */
  trim(): void {
    const capacity = Math.max(1024, Math.ceil(this.size * 1.25));
    if (capacity >= this.radii.length) return;
    this.points = this.points.slice(0, capacity * this.boundDims);
    this.lead = this.lead.slice(0, capacity * this.leadDims);
    this.radii = this.radii.slice(0, capacity);
  }

  /** Builds a balanced tree over every appended point. */
  build(): void {
    const ids = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) ids[i] = i;
    this.root = this.size ? this.buildNode(ids) : null;
  }

  /** Adds a point online. */
  insert(projected: Float64Array, radius: number): number {
    const id = this.append(projected, radius);
    if (!this.root) {
      this.root = this.buildNode(Int32Array.of(id));
      return id;
    }
    const path: TreeNode[] = [];
    let node: TreeNode = this.root;
    for (;;) {
      path.push(node);
      this.extend(node, id, radius);
      if (node.ids) break;
      node = this.lead[id * this.leadDims + node.dim] < node.split ? node.left! : node.right!;
    }
    node.ids!.push(id);
    if (node.ids!.length > node.splitAt) this.replace(path, path.length - 1);
    // Scapegoat: rebuild the highest subtree that has become lopsided.
    for (let i = 0; i < path.length - 1; i++) {
      const n = path[i];
      if (n.count > 4 * this.leafMax && Math.max(n.left!.count, n.right!.count) > BALANCE * n.count) {
        this.replace(path, i);
        break;
      }
    }
    return id;
  }

  /**
   * Every point i whose lower bound on the distance to `query` is below reach(radius, R_i)
   * (widened by `slack`): a superset of the points with exact distance < reach.
   */
  candidates(query: Float64Array, radius: number, out: number[] = []): number[] {
    if (!this.root) return out;
    const boundDims = this.boundDims;
    const leadDims = this.leadDims;
    const q = new Float64Array(leadDims);
    for (let k = 0; k < leadDims; k++) q[k] = query[boundDims + k];
    let queryNorm = 0;
    for (let k = 0; k < boundDims; k++) queryNorm += query[k] * query[k];
    queryNorm = Math.sqrt(queryNorm);
    // float32 storage of coordinates and float64 summation: a generous relative + absolute margin.
    const slack = 1e-6 * (this.maxPointNorm + queryNorm) + 1e-9;
    const points = this.points;
    const lead = this.lead;
    const radii = this.radii;
    const stack: TreeNode[] = [this.root];
    while (stack.length) {
      const node = stack.pop()!;
      const bound = reach(radius, node.maxRadius) + slack;
      const limit = bound * bound;
      let sum = 0;
      const lo = node.lo;
      const hi = node.hi;
      for (let k = 0; k < leadDims && sum < limit; k++) {
        const v = q[k];
        const gap = v < lo[k] ? lo[k] - v : v > hi[k] ? v - hi[k] : 0;
        sum += gap * gap;
      }
      if (sum >= limit) continue;
      if (!node.ids) {
        stack.push(node.left!, node.right!);
        continue;
      }
      const ids = node.ids;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        const b = reach(radius, radii[id]) + slack;
        const lim = b * b;
        // First the leading coordinates, then the whole embedding.
        let s = 0;
        const leadBase = id * leadDims;
        for (let k = 0; k < leadDims && s < lim; k++) {
          const gap = q[k] - lead[leadBase + k];
          s += gap * gap;
        }
        if (s >= lim) continue;
        s = 0;
        const base = id * boundDims;
        for (let k = 0; k < boundDims && s < lim; k++) {
          const gap = query[k] - points[base + k];
          s += gap * gap;
        }
        if (s < lim) out.push(id);
      }
    }
    return out;
  }

  private grow(): void {
    const capacity = Math.max(1024, Math.ceil(this.radii.length * 1.5));
    const points = new Float32Array(capacity * this.boundDims);
    points.set(this.points);
    this.points = points;
    const lead = new Float32Array(capacity * this.leadDims);
    lead.set(this.lead);
    this.lead = lead;
    const radii = new Float64Array(capacity);
    radii.set(this.radii);
    this.radii = radii;
  }

  private extend(node: TreeNode, id: number, radius: number): void {
    const base = id * this.leadDims;
    for (let k = 0; k < this.leadDims; k++) {
      const v = this.lead[base + k];
      if (v < node.lo[k]) node.lo[k] = v;
      if (v > node.hi[k]) node.hi[k] = v;
    }
    if (radius > node.maxRadius) node.maxRadius = radius;
    node.count++;
  }

  private replace(path: TreeNode[], at: number): void {
    const old = path[at];
    const ids = new Int32Array(old.count);
    let n = 0;
    const stack = [old];
    while (stack.length) {
      const node = stack.pop()!;
      if (node.ids) for (const id of node.ids) ids[n++] = id;
      else stack.push(node.left!, node.right!);
    }
    const rebuilt = this.buildNode(ids);
    if (at === 0) this.root = rebuilt;
    else {
      const parent = path[at - 1];
      if (parent.left === old) parent.left = rebuilt;
      else parent.right = rebuilt;
    }
  }

  private buildNode(ids: Int32Array): TreeNode {
    const treeDims = this.leadDims;
    const lo = new Float32Array(treeDims).fill(Infinity);
    const hi = new Float32Array(treeDims).fill(-Infinity);
    let maxRadius = 0;
    for (const id of ids) {
      const base = id * treeDims;
      for (let k = 0; k < treeDims; k++) {
        const v = this.lead[base + k];
        if (v < lo[k]) lo[k] = v;
        if (v > hi[k]) hi[k] = v;
      }
      if (this.radii[id] > maxRadius) maxRadius = this.radii[id];
    }
    let dim = 0;
    for (let k = 1; k < treeDims; k++) if (hi[k] - lo[k] > hi[dim] - lo[dim]) dim = k;
    const node: TreeNode = {
      lo, hi, maxRadius, count: ids.length, ids: null, splitAt: this.leafMax, dim, split: 0, left: null, right: null,
    };
    if (ids.length <= this.leafMax || !(hi[dim] > lo[dim])) {
      node.ids = Array.from(ids);
      node.splitAt = Math.max(this.leafMax, 2 * ids.length);
      return node;
    }
    const mid = ids.length >> 1;
    this.select(ids, mid, dim);
    node.split = this.lead[ids[mid] * treeDims + dim];
    node.left = this.buildNode(ids.subarray(0, mid));
    node.right = this.buildNode(ids.subarray(mid));
    return node;
  }

  /** Quickselect: ids[k] gets the k-th smallest leading coordinate `dim`, smaller ones before it. */
  private select(ids: Int32Array, k: number, dim: number): void {
    const dims = this.leadDims;
    const pts = this.lead;
    let left = 0;
    let right = ids.length - 1;
    while (right > left) {
      const pivot = pts[ids[(left + right) >> 1] * dims + dim];
      let i = left;
      let j = right;
      while (i <= j) {
        while (pts[ids[i] * dims + dim] < pivot) i++;
        while (pts[ids[j] * dims + dim] > pivot) j--;
        if (i <= j) {
          const t = ids[i];
          ids[i] = ids[j];
          ids[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) right = j;
      else if (k >= i) left = i;
      else return;
    }
  }
}
