// The candidate index of one memory: projected points (projection.ts) in k-d trees, one per
// answer and band of region radius (factor 2 apart), so that a region's own radius, not the
// largest one stored, bounds how far away it can matter, and so that regions of the answer
// being proposed, which matter only if they contain the input, are searched with radius 0.
// Returns a superset of the records with exact distance < reach(radius, R_i); the caller
// filters exactly.
//
// The leading coordinates the trees split on start as the first embedding coordinates; once
// ROTATION_SAMPLE records are stored they become the leading principal coordinates of those
// first records (the same records, hence the same axes, on every replay), recomputed for every
// stored point.
import { symmetricEigenvectors } from './jacobi.js';
import {
  embeddingLength, leadingCoordinates, leadingCount, makeProjection, pointLength, principalAxes, project, withRotation, type BlockProjection,
} from './projection.js';
import { ProjectionTree, TreeQuery } from './projectionTree.js';

export const ROTATION_SAMPLE = 4096;

/** Answer key of a tree: the class index, -1 for abstain. */
export type AnswerKey = number;

function bandOf(radius: number): number {
  return radius > 0 ? Math.max(-3, Math.min(40, Math.ceil(Math.log2(radius)))) : -41;
}

interface Band {
  answer: AnswerKey;
  /** bandOf(radius) of its regions. */
  radiusBand: number;
  /** Its points, by record index. */
  tree: ProjectionTree;
}

/** The query radius for the regions of each answer (-1: abstain); null: those regions are not searched. */
export type RadiusByAnswer = (answer: number) => number | null;

export class RegionIndex {
  private projection: BlockProjection;
  private readonly embedding: number;
  private readonly leading: number;
  private readonly bands = new Map<string, Band>();
  /** The bands, largest regions first (see search), then by answer. */
  private ordered: Band[] = [];
  /** The bands of each answer, largest regions first. */
  private readonly bandsOf = new Map<AnswerKey, Band[]>();
  private sample: Float32Array | null;
  private count = 0;
  private online = false;
  private readonly point: Float64Array;
  private readonly query: TreeQuery;

  constructor(readonly inputLength: number) {
    this.projection = makeProjection(inputLength);
    this.embedding = embeddingLength(this.projection);
    this.leading = leadingCount(this.projection);
    this.sample = new Float32Array(ROTATION_SAMPLE * this.embedding);
    this.point = new Float64Array(pointLength(this.projection));
    this.query = new TreeQuery(this.embedding, this.leading);
  }

  get size(): number {
    return this.count;
  }

  /** Projects `input`; with `reuse`, into a buffer owned by the index (valid until the next call). */
  project(input: Float32Array, reuse = false): Float64Array {
    return project(this.projection, input, reuse ? this.point : undefined);
  }

  /** Adds record `index` (= count); online adds place it in the tree now, bulk adds wait for build(). */
  add(projected: Float64Array, answer: number | null, radius: number, online: boolean): void {
    const band = this.band(answer, radius);
    band.tree.add(projected, radius, !(online && this.online), this.count);
    if (this.sample) {
      this.sample.set(projected.subarray(0, this.embedding), this.count * this.embedding);
      if (this.count + 1 === ROTATION_SAMPLE) this.rotate();
    }
    this.count++;
  }

  /** Bulk add of a point given by its embedding (as projected by the replay worker); the leading coordinates are computed here. */
  addEmbedding(embedding: Float32Array, answer: number | null, radius: number): void {
    const point = this.point;
    for (let k = 0; k < this.embedding; k++) point[k] = embedding[k];
    leadingCoordinates(this.projection, point, point, this.embedding);
    this.add(point, answer, radius, false);
  }

  /** Builds the trees after a bulk load; afterwards adds are online. */
  build(): void {
    for (const band of this.bands.values()) band.tree.build();
    this.online = true;
  }

  /**
   * The record indices that may lie within reach(radiusOf(answer), R) of the projected query,
   * handed to `found` tree by tree with the tree's answer: the trees of the answers in `first` in
   * that order, then the others, the bands of the largest regions first (they cap the most).
   * radiusOf is asked before each tree: a caller that finds a conflict searches the later trees
   * with less. `found` gets a reused array.
   */
  search(
    projected: Float64Array, radiusOf: RadiusByAnswer, found: (records: readonly number[], answer: AnswerKey) => void,
    first: readonly AnswerKey[] = [],
  ): void {
    const records: number[] = [];
    const query = this.query.set(projected);
    const visit = (band: Band) => {
      const r = radiusOf(band.answer);
      if (r === null) return;
      records.length = 0;
      band.tree.candidates(query, r, records);
      if (records.length > 0) found(records, band.answer);
    };
    for (const answer of first) for (const band of this.bandsOf.get(answer) ?? []) visit(band);
    for (const band of this.ordered) if (!first.includes(band.answer)) visit(band);
  }

  /** Whether a tree has segments due to merge (see maintain). */
  get maintenanceDue(): boolean {
    return this.ordered.some((band) => band.tree.mergeDue);
  }

  /**
   * Merges every segment that is due to merge; returns how many merges it made. Adds never merge
   * (below a bound), so that the decision whose record filled a buffer does not wait for them.
   */
  maintain(): number {
    let merges = 0;
    for (const band of this.ordered) while (band.tree.mergeOnce()) merges++;
    return merges;
  }

  bytesUsed(): number {
    let bytes = 0;
    for (const band of this.bands.values()) bytes += band.tree.bytesUsed();
    return bytes;
  }

  private band(answer: number | null, radius: number): Band {
    const key = `${answerKey(answer)}:${bandOf(radius)}`;
    let band = this.bands.get(key);
    if (!band) {
      band = { answer: answerKey(answer), radiusBand: bandOf(radius), tree: new ProjectionTree(this.embedding, this.leading) };
      this.bands.set(key, band);
      this.ordered = [...this.bands.values()].sort((a, b) => b.radiusBand - a.radiusBand || a.answer - b.answer);
      this.bandsOf.set(band.answer, this.ordered.filter((b) => b.answer === band!.answer));
    }
    return band;
  }

  private rotate(): void {
    const rotation = principalAxes(this.sample!, ROTATION_SAMPLE, this.embedding, symmetricEigenvectors);
    this.projection = withRotation(this.projection, rotation);
    for (const band of this.bands.values()) {
      band.tree.updateLeading((embedding, out, offset) => {
        // Through the float64 point: leadingCoordinates then only ever sees one array type (a
        // second one made it polymorphic, and slower for every later replayed record).
        const point = this.point;
        for (let k = 0; k < this.embedding; k++) point[k] = embedding[k];
        leadingCoordinates(this.projection, point, point, this.embedding);
        for (let k = 0; k < this.leading; k++) out[offset + k] = point[this.embedding + k];
      });
    }
    this.sample = null;
  }
}

export function answerKey(answer: number | null): AnswerKey {
  return answer === null ? -1 : answer;
}
