// The candidate index of one memory: projected points (projection.ts) in k-d trees, one per
// answer and band of region radius (factor 2 apart), so that a region's own radius, not the
// largest one stored, bounds how far away it can matter, and so that regions of the answer
// being proposed, which matter only if they contain the input, are searched with radius 0.
// Returns a superset of the records with exact distance < reach(radius, R_i); the caller
// filters exactly.
//
// The leading coordinates the trees split on start as the first embedding coordinates, and the
// points have no codes; once ROTATION_SAMPLE records are stored, the leading coordinates become
// the leading principal coordinates of those first records and the code grid is fitted to their
// fine embeddings (the same records, hence the same axes and grid, on every replay), and both
// are recomputed for every stored point.
import { codeWidth, encodePoint, fitGrid, type CodeGrid } from './codeGrid.js';
import { symmetricEigenvectors } from './jacobi.js';
import {
  ROTATION_SAMPLE, embeddingLength, fineLength, fineOffset, leadingCoordinates, leadingCount, makeProjection, pointLength, principalAxes, project,
  withRotation, type BlockProjection,
} from './projection.js';
import { ProjectionTree, TreeQuery, leadDimsOf, type TreePoint } from './projectionTree.js';
import { SearchHelper } from './searchHelper.js';
import { SegmentBuilder, type MergeCounts } from './segmentBuilder.js';


/** Trees of fewer points are built on the memory's thread by buildTogether(). */
export const BUILD_ELSEWHERE_MIN_POINTS = 2048;

/** Answer key of a tree: the class index, -1 for abstain. */
export type AnswerKey = number;

function bandOf(radius: number): number {
  return radius > 0 ? Math.max(-3, Math.min(40, Math.ceil(Math.log2(radius)))) : -41;
}

interface Band {
  /** Its number for the search helper. */
  id: number;
  answer: AnswerKey;
  /** bandOf(radius) of its regions. */
  radiusBand: number;
  /** Its points, by record index. */
  tree: ProjectionTree;
}

/** The query radius for the regions of each answer (-1: abstain); null: those regions are not searched. */
export type RadiusByAnswer = (answer: number) => number | null;

/** A point's codes computed elsewhere (the replay's projector) with `grid`, which must be the index's own (checked by the caller with sameGrid). */
export interface GivenCodes {
  codes: Int8Array;
  error: number;
  grid: CodeGrid;
}

export class RegionIndex {
  private projection: BlockProjection;
  private readonly embedding: number;
  private readonly leading: number;
  private readonly fineAt: number;
  private readonly fineLength: number;
  private grid: CodeGrid | null = null;
  private readonly bands = new Map<string, Band>();
  /** The bands, smallest regions first (see search), then by answer. */
  private ordered: Band[] = [];
  /** The bands of each answer, smallest regions first. */
  private readonly bandsOf = new Map<AnswerKey, Band[]>();
  /** Embeddings and fine embeddings of the first ROTATION_SAMPLE records, until the rotation. */
  private sample: Float32Array | null;
  private fineSample: Float64Array | null;
  private count = 0;
  private online = false;
  private readonly point: Float64Array;
  private readonly treePoint: TreePoint;
  /** Scratch codes of the point being added. */
  private readonly codes: Int8Array;
  private readonly helper: SearchHelper | null;
  private readonly builder: SegmentBuilder | null;

  /**
   * `searchHelper`: search the trees on a second thread as well (searchHelper.ts);
   * `backgroundMerges`: merge segments on a thread of their own (segmentBuilder.ts). close() stops both.
   */
  constructor(
    readonly inputLength: number,
    { searchHelper = false, backgroundMerges = false }: { searchHelper?: boolean; backgroundMerges?: boolean } = {},
  ) {
    this.projection = makeProjection(inputLength);
    this.embedding = embeddingLength(this.projection);
    this.leading = leadingCount(this.projection);
    this.fineAt = fineOffset(this.projection);
    this.fineLength = fineLength(this.projection);
    this.sample = new Float32Array(ROTATION_SAMPLE * this.embedding);
    this.fineSample = new Float64Array(ROTATION_SAMPLE * this.fineLength);
    this.point = new Float64Array(pointLength(this.projection));
    this.codes = new Int8Array(codeWidth(this.fineLength));
    this.treePoint = { lead: [], codes: null, codeError: Infinity, norm: 0 };
    this.helper = searchHelper ? new SearchHelper(leadDimsOf(this.leading), codeWidth(this.fineLength)) : null;
    this.builder = backgroundMerges ? new SegmentBuilder() : null;
  }

  /** The search helper's counts (null without one): tasks it answered, tasks this thread took back. */
  get helperCounts(): { answered: number; takenBack: number } | null {
    return this.helper && { answered: this.helper.answered, takenBack: this.helper.takenBack };
  }

  /** Resolves once the search helper, if any, takes tasks. */
  helperReady(): Promise<void> {
    return this.helper?.ready() ?? Promise.resolve();
  }

  /** The background merges' counts (null without them). */
  get mergeCounts(): MergeCounts | null {
    return this.builder && { ...this.builder.counts };
  }

  /** Resolves once no background merge is in flight. */
  mergesSettled(): Promise<void> {
    return this.builder?.settled() ?? Promise.resolve();
  }

  /** Stops the search helper and the segment builder, if any. */
  close(): void {
    this.helper?.close();
    this.builder?.close();
  }

  /** The code grid, once fitted (replay workers must code with the same one). */
  get codeGrid(): CodeGrid | null {
    return this.grid;
  }

  get size(): number {
    return this.count;
  }

  /** The query for searches around a projected input: prepared once (its codes on the index's grid) for all of them. */
  prepare(projected: Float64Array): TreeQuery {
    return new TreeQuery(this.leading, this.fineLength).set(
      projected.subarray(this.embedding, this.embedding + this.leading), this.norm(projected), this.grid, projected, this.fineAt,
    );
  }

  /** Projects `input`; with `reuse`, into a buffer owned by the index (valid until the next call). */
  project(input: Float32Array, reuse = false): Float64Array {
    return project(this.projection, input, reuse ? this.point : undefined);
  }

  /**
   * Adds record `index` (= count); online adds place it in the tree now, bulk adds wait for
   * build(). Its codes are computed from `projected` unless `given` (then its fine embedding
   * need not be there, except for the first ROTATION_SAMPLE records).
   */
  add(projected: Float64Array, answer: number | null, radius: number, online: boolean, given: GivenCodes | null = null): void {
    const point = this.treePoint;
    point.lead = projected.subarray(this.embedding, this.embedding + this.leading);
    point.norm = this.norm(projected);
    if (given) {
      // Codes on another grid would make the bound meaningless.
      if (given.grid !== this.grid) throw new Error(`record ${this.count + 1}: codes on a grid the index did not fit`);
      point.codes = given.codes;
      point.codeError = given.error;
    } else if (this.grid) {
      point.codes = this.codes;
      point.codeError = encodePoint(this.grid, projected, this.fineAt, point.codes, 0);
    } else {
      point.codes = null;
      point.codeError = Infinity;
    }
    const band = this.band(answer, radius);
    band.tree.add(point, radius, !(online && this.online), this.count);
    if (this.sample) {
      this.sample.set(projected.subarray(0, this.embedding), this.count * this.embedding);
      this.fineSample!.set(projected.subarray(this.fineAt, this.fineAt + this.fineLength), this.count * this.fineLength);
      if (this.count + 1 === ROTATION_SAMPLE) this.rotate();
    }
    this.count++;
  }

  /**
   * Bulk add of a point given by its embedding and, for the first ROTATION_SAMPLE records, its
   * fine embedding, else its codes (as the replay's projector computed them); the leading
   * coordinates are computed here.
   */
  addEmbedding(embedding: Float32Array, answer: number | null, radius: number, fine: Float64Array | null, given: GivenCodes | null): void {
    const point = this.point;
    for (let k = 0; k < this.embedding; k++) point[k] = embedding[k];
    leadingCoordinates(this.projection, point, point, this.embedding);
    if (fine) point.set(fine, this.fineAt);
    else if (this.sample) throw new Error(`record ${this.count + 1}: the first ${ROTATION_SAMPLE} records need their fine embeddings`);
    this.add(point, answer, radius, false, fine ? null : given);
  }

  /** Builds the trees after a bulk load; afterwards adds are online. */
  build(): void {
    for (const band of this.bands.values()) band.tree.build();
    this.online = true;
  }

  /**
   * build(), with the builder's thread (if any) building a share of the trees while this one
   * builds the rest: after a replay of 10^6 records this thread alone took 4.5 s, the other
   * core idle. Rejects if the builder stops first (see ProjectionTree.buildElsewhere).
   */
  async buildTogether(): Promise<void> {
    const trees = [...this.bands.values()].map((band) => band.tree).sort((a, b) => b.count - a.count);
    const here: ProjectionTree[] = [];
    const elsewhere: Promise<void>[] = [];
    let [pointsHere, pointsElsewhere] = [0, 0];
    // Largest first, each to the thread with fewer points so far; a small tree is not worth the trip.
    for (const tree of trees) {
      if (this.builder?.alive && tree.count >= BUILD_ELSEWHERE_MIN_POINTS && pointsElsewhere < pointsHere) {
        pointsElsewhere += tree.count;
        elsewhere.push(tree.buildElsewhere());
      } else {
        pointsHere += tree.count;
        here.push(tree);
      }
    }
    for (const tree of here) tree.build();
    await Promise.all(elsewhere);
    this.online = true;
  }

  /**
   * The record indices that may lie within reach(radiusOf(answer), R) of the projected query,
   * handed to `found` tree by tree with the tree's answer: the trees of the answers in `first` in
   * that order, then the others, the bands of the smallest regions first: the trees of the
   * largest regions, whose reach r + R is largest and whose search costs most, come last, when
   * conflicts found in the others may have narrowed r (searching them first, because they cap
   * the most, was slower).
   * radiusOf is asked before each tree: a caller that finds a conflict searches the later trees
   * with less. `found` gets a reused array.
   */
  search(
    query: TreeQuery, radiusOf: RadiusByAnswer, found: (records: readonly number[], answer: AnswerKey) => void,
    first: readonly AnswerKey[] = [],
  ): void {
    if (query.leading !== this.leading || query.codeLength !== this.fineLength) throw new Error('query prepared for another index');
    // A bulk load's points join the trees in build().
    if (!this.online) throw new Error('the index is searched before build()');
    const bands: Band[] = [];
    for (const answer of first) for (const band of this.bandsOf.get(answer) ?? []) bands.push(band);
    for (const band of this.ordered) if (!first.includes(band.answer)) bands.push(band);
    const records: number[] = [];
    /** Searches a band (or takes the helper's ids for it, if given); true if it found any. */
    const visit = (band: Band, helped: Int32Array | null = null): boolean => {
      const r = radiusOf(band.answer);
      if (r === null) return false;
      records.length = 0;
      if (helped) for (let i = 0; i < helped.length; i++) records.push(helped[i]);
      else band.tree.candidates(query, r, records);
      if (records.length === 0) return false;
      found(records, band.answer);
      return true;
    };
    if (this.helper?.alive && bands.length >= 2) this.searchTogether(this.helper, query, bands, radiusOf, visit);
    else for (const band of bands) visit(band);
  }

  /**
   * search() with the helper: this thread takes the bands from the front (smallest regions
   * first, as alone), the helper from the back (the largest regions' trees, the costliest, so
   * that neither waits long for the other at the end); this thread visits the helper's bands as
   * their ids arrive.
   * After a visit that found ids, the bands not yet taken get the radius of the moment (radii
   * only fall).
   */
  private searchTogether(
    helper: SearchHelper, query: TreeQuery, bands: readonly Band[], radiusOf: RadiusByAnswer,
    visit: (band: Band, helped?: Int32Array | null) => boolean,
  ): void {
    const radii = bands.map((b) => radiusOf(b.answer));
    const offered = helper.begin(query, bands.map((b) => b.id), radii);
    const visitAndLower = (task: number, helped: Int32Array | null) => {
      if (!visit(bands[task], helped)) return;
      const { front, back } = helper.untaken();
      for (let t = front; t < back; t++) {
        const r = radiusOf(bands[t].answer);
        if (r === radii[t]) continue;
        radii[t] = r;
        helper.lower(t, r);
      }
    };
    // The helper's tasks run from the last one down; `helped` is the next one to visit.
    let helped = offered - 1;
    let front = 0;
    for (let task = helper.take(); task >= 0; task = helper.take()) {
      front = task + 1;
      visitAndLower(task, null);
      // Only tasks the helper took (>= back; back only falls) and has answered.
      const { back } = helper.untaken();
      while (helped >= back && helper.hasAnswered(helped)) visitAndLower(helped, helper.collect(helped--));
    }
    for (; helped >= front; helped--) visitAndLower(helped, helper.collect(helped));
    for (let t = offered; t < bands.length; t++) visit(bands[t]);
  }

  /** Whether a tree has segments due to merge (see maintain). */
  get maintenanceDue(): boolean {
    return this.ordered.some((band) => band.tree.maintenanceDue);
  }

  /**
   * Merges every segment that is due to merge, or starts the merges on the builder's thread;
   * returns how many it made or started. Adds never merge (below a bound), so that the decision
   * whose record filled a buffer does not wait for them.
   */
  maintain(): number {
    let merges = 0;
    for (const band of this.ordered) merges += band.tree.maintain();
    return merges;
  }

  bytesUsed(): number {
    let bytes = 0;
    for (const band of this.bands.values()) bytes += band.tree.bytesUsed();
    return bytes;
  }

  /** Norm of a projected point's embedding: the norm of its input (projection.ts), which scales the trees' rounding slack. */
  private norm(projected: Float64Array): number {
    let squares = 0;
    for (let k = 0; k < this.embedding; k++) squares += projected[k] * projected[k];
    return Math.sqrt(squares);
  }

  private band(answer: number | null, radius: number): Band {
    const key = `${answerKey(answer)}:${bandOf(radius)}`;
    let band = this.bands.get(key);
    if (!band) {
      const id = this.bands.size;
      const helper = this.helper;
      const tree = new ProjectionTree(this.leading, this.fineLength, helper ? (shapes) => helper.register(id, shapes) : undefined, this.builder);
      band = { id, answer: answerKey(answer), radiusBand: bandOf(radius), tree };
      this.bands.set(key, band);
      this.ordered = [...this.bands.values()].sort((a, b) => a.radiusBand - b.radiusBand || a.answer - b.answer);
      this.bandsOf.set(band.answer, this.ordered.filter((b) => b.answer === band!.answer));
    }
    return band;
  }

  private rotate(): void {
    const sample = this.sample!;
    const fineSample = this.fineSample!;
    const rotation = principalAxes(sample, ROTATION_SAMPLE, this.embedding, symmetricEigenvectors);
    this.projection = withRotation(this.projection, rotation);
    this.grid = fitGrid(fineSample, ROTATION_SAMPLE, this.fineLength);
    const grid = this.grid;
    // Every stored point is one of the sampled records: its new leading coordinates and codes
    // come from the sample.
    const point = this.point;
    const lead = point.subarray(this.embedding, this.embedding + this.leading);
    const recomputed: TreePoint = { lead, codes: this.codes, codeError: 0, norm: 0 };
    for (const band of this.bands.values()) {
      band.tree.recompute((id) => {
        for (let k = 0; k < this.embedding; k++) point[k] = sample[id * this.embedding + k];
        leadingCoordinates(this.projection, point, point, this.embedding);
        recomputed.norm = this.norm(point);
        recomputed.codeError = encodePoint(grid, fineSample, id * this.fineLength, this.codes, 0);
        return recomputed;
      });
    }
    this.sample = null;
    this.fineSample = null;
  }
}

export function answerKey(answer: number | null): AnswerKey {
  return answer === null ? -1 : answer;
}
