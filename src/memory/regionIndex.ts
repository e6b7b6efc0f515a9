// The candidate index of one memory: projected points (projection.ts) in k-d trees, one per
// band of region radius (factor 2 apart), so that a region's own radius, not the largest one
// stored, bounds how far away it can matter. Returns a superset of the records with exact
// distance < reach(radius, R_i); the caller filters exactly.
//
// The leading coordinates the trees split on start as the first block means; once
// ROTATION_SAMPLE records are stored they become the leading principal coordinates of those
// first records (the same records, hence the same axes, on every replay), recomputed for every
// stored point.
import { symmetricEigenvectors } from './jacobi.js';
import {
  leadingCoordinates, leadingCount, makeProjection, pointLength, principalAxes, project, withRotation, type BlockProjection,
} from './projection.js';
import { ProjectionTree } from './projectionTree.js';

export const ROTATION_SAMPLE = 4096;

function bandOf(radius: number): number {
  return radius > 0 ? Math.max(-40, Math.min(40, Math.ceil(Math.log2(radius)))) : -41;
}

interface Band {
  tree: ProjectionTree;
  /** Local point id -> record index. */
  records: number[];
}

export class RegionIndex {
  private projection: BlockProjection;
  private readonly length: number;
  private readonly treeCoords: Int32Array;
  private readonly bands = new Map<number, Band>();
  private sample: Float32Array | null;
  private count = 0;
  private online = false;
  private readonly point: Float64Array;
  private readonly scratch: Float64Array;

  constructor(
    readonly inputLength: number,
    private readonly tuning: { leafSize?: number; treeCoords?: number[] } = {},
  ) {
    this.projection = makeProjection(inputLength);
    this.length = pointLength(this.projection);
    const dims = this.projection.dims;
    // The tree splits on the leading principal coordinates and the total deviation norm.
    const lead = leadingCount(this.projection);
    this.treeCoords = Int32Array.from(tuning.treeCoords ?? [...Array.from({ length: lead }, (_, i) => 2 * dims + 1 + i), 2 * dims]);
    this.sample = new Float32Array(ROTATION_SAMPLE * dims);
    this.point = new Float64Array(this.length);
    this.scratch = new Float64Array(dims);
  }

  get size(): number {
    return this.count;
  }

  /** Projects `input`; with `reuse`, into a buffer owned by the index (valid until the next call). */
  project(input: Float32Array, reuse = false): Float64Array {
    if (!reuse) return project(this.projection, input);
    return project(this.projection, input, this.point, this.scratch);
  }

  /** Adds record `index` (= count); online adds place it in the tree now, bulk adds wait for build(). */
  add(projected: Float64Array, radius: number, online: boolean): void {
    const band = this.band(radius);
    if (online && this.online) band.tree.insert(projected, radius);
    else band.tree.append(projected, radius);
    band.records.push(this.count);
    if (this.sample) {
      this.sample.set(projected.subarray(0, this.projection.dims), this.count * this.projection.dims);
      if (this.count + 1 === ROTATION_SAMPLE) this.rotate();
    }
    this.count++;
  }

  /** Builds the trees after a bulk load; afterwards adds are online. */
  build(): void {
    for (const band of this.bands.values()) {
      band.tree.trim();
      band.tree.build();
    }
    this.online = true;
  }

  /** Record indices that may lie within reach(radius, R) of the projected query. */
  candidates(projected: Float64Array, radius: number): number[] {
    const out: number[] = [];
    const local: number[] = [];
    for (const band of this.bands.values()) {
      local.length = 0;
      band.tree.candidates(projected, radius, local);
      for (const id of local) out.push(band.records[id]);
    }
    return out;
  }

  bytesUsed(): number {
    let bytes = 0;
    for (const band of this.bands.values()) bytes += band.tree.bytesUsed() + band.records.length * 8;
    return bytes;
  }

  private band(radius: number): Band {
    const key = bandOf(radius);
    let band = this.bands.get(key);
    if (!band) {
      band = { tree: new ProjectionTree(this.length, 2 * this.projection.dims, this.treeCoords, this.tuning.leafSize), records: [] };
      this.bands.set(key, band);
    }
    return band;
  }

  private rotate(): void {
    const dims = this.projection.dims;
    const rotation = principalAxes(this.sample!, ROTATION_SAMPLE, dims, symmetricEigenvectors);
    this.projection = withRotation(this.projection, rotation);
    const means = new Float64Array(dims);
    const offset = 2 * dims + 1;
    const lead = leadingCount(this.projection);
    const scratch = new Float64Array(offset + lead);
    for (const band of this.bands.values()) {
      band.tree.updateColumns(offset, lead, (point, out) => {
        for (let k = 0; k < dims; k++) means[k] = point[k];
        leadingCoordinates(this.projection, means, scratch, offset);
        for (let r = 0; r < lead; r++) out[r] = scratch[offset + r];
      });
    }
    this.sample = null;
  }
}
