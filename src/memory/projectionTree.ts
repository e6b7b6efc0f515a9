// The candidate search over projected points of one tree (one answer, one radius band). A
// query returns every point whose two lower bounds of the input distance (l2 and l1, see
// projection.ts and codeGrid.ts) are below reach(radius, R_point): the distance over its
// leading coordinates, and the distance of the 8-bit codes of its fine embedding less their
// errors. No region that can conflict is ever pruned.
//
// Points live in immutable k-d trees (segments) laid out flat in a shared WebAssembly memory of
// their own (the search helper's thread searches them too, see searchHelper.ts): nodes in
// preorder with tight boxes on the leading coordinates and the largest region radius below them,
// leaf points stored contiguously in blocks of four (their leading coordinates as 14-bit codes on
// the segment's grid, their radii and codes' errors);
// wasm/regionSearch.wat searches them in SIMD with integer sums of squared gaps, four points per
// instruction at the leaves, then the codes of each remaining point, exact too. New points go
// to the tree's open segment (one leaf); a full one becomes a segment, and a segment merges
// into the one before it once it holds at least 1/MERGE_RATIO as many points (the logarithmic
// method), so each point is rebuilt O(log n) times and a query visits O(log n) segments.
import { codeWidth, encodeQuery, type CodeGrid } from './codeGrid.js';
import { REGION_SEARCH_WASM_BASE64 } from './regionSearchWasm.js';
import type { SegmentBuilder } from './segmentBuilder.js';
import { MemoryLayout, WASM_MAX_PAGES, WASM_PAGE_BYTES, compileKernel } from '../util/wasmKernel.js';

const LEAF_MAX = 32;
/** Points a tree's open segment holds before they are sealed into a segment of their own. */
const BUFFER_MAX = 128;
/**
 * A segment merges into the one before it once it holds at least 1/MERGE_RATIO as many points.
 * 32 rather than the textbook 2: fewer segments per tree, for more rebuilding, which runs on the
 * segment builder's thread (segmentBuilder.ts); side by side on memories filled to 10^6 through
 * decide(), in both orders, decisions were 9-12 % faster on the mean than with 8, for 2.4 times
 * the builder's work (bench/memoryCompare.ts with MEMORY_COMPARE_FILL, docs/benchmarks.md).
 */
const MERGE_RATIO = 32;
/**
 * Merges of segments wait for maintain() (run after the answers that caused them are sent);
 * past this many segments a seal merges at once. With no merge pending each segment holds more
 * than MERGE_RATIO times the points of the next (and at least BUFFER_MAX), so there are fewer
 * than log_MERGE_RATIO(points / BUFFER_MAX) + 1.
 */
const SEGMENTS_MAX = 32;
/** Search stack: one pending sibling per level; splits halve the points, so 128 levels cannot happen. */
const STACK_DEPTH = 128;
/** Leaves start at multiples of this many points: the kernel tests a group of 4 per instruction. */
const GROUP = 4;
/** The serial of a tree's open segment (sealed ones count from 0). */
const OPEN_SERIAL = -1;
/**
 * Leading coordinates that nodes keep a box of and split on; the points' further leading
 * coordinates only rule out points. A node record then stays 80 bytes, and the boxes of the
 * later coordinates, where the points spread least, would rarely prune a node.
 */
const BOX_DIMS = 16;

// The leading coordinates of a segment's points and the boxes of its nodes are 14-bit codes on a
// grid of its own (LeadGridView), and each group of 4 points keeps its radii and codes' errors
// beside its coordinates (groupBytes): what a search reads of a leaf lies in one block, 288
// bytes per 4 points, where float32 coordinates in one array and radii and errors in two others
// took 512 bytes and reads in three places (docs/benchmarks.md, "Leaves in one block"). The grid
// spans the segment's points with steps of equal size on every coordinate (distances in steps
// are distances); the query is rounded to a code too, and the search widens its bound by both
// coding errors (leadSlack). 14 bits, so that the kernel's gaps are 16-bit integers even for a
// query well off the grid, whose squares it sums in 32-bit integers: half the instructions of
// float32 sums, and a decision repeated at once, its data in the caches, still took 70 % of its
// first time (docs/benchmarks.md, "Integer sums").
/** Largest code of the grid; a segment's points use at most GRID_CODES (headroom for rounding). */
const LEAD_CODE_MAX = 16_383;
const GRID_CODES = 16_000;
/** Codes are stored less this, as 16-bit integers in [-8192, 8191]. */
const LEAD_CODE_OFFSET = 8192;
// The kernel clamps a query's stored codes to [-24575, 24575] (the query code limit): its gaps to
// stored codes, and the sums of a low and a negated query, are then 16-bit integers, and a
// clamped gap is still at least 16384 steps, more than the grid spans.
/**
 * Coordinates beyond this (or not finite in float32) are not coded: their point's search radius
 * is NaN, which no bound drops (see the kernel), so the grid stays fine for the other points.
 */
const GRID_LIMIT = 2 ** 24;
/** At most this many codes per unit: bounds of reaches below LARGEST_FLOAT32_REACH stay finite in steps. */
const MAX_INVERSE_STEP = 2 ** 14;
/** An open segment's grid spans [-G, G] on every coordinate, G a power of 2 at least this. */
const OPEN_GRID_MIN = 2;

// Float32 search bounds (see SegmentSearcher.search): the kernel drops a point when its sum of
// squared gaps S' >= b' * b', with b' = (radius + R) * SCALE + slack in float32 (plus the coding
// errors, in steps of the grid, on the leading coordinates). The sums are exact integers (the
// codes' sum then rounded once to float32), and the few operations on b' are within a relative
// 1e-6; SCALE = 1 + 1e-4 covers them and reach()'s own relative widening (1e-9), and the slack
// covers the float32 storage of stored points and query (absolute errors).
const SCALE = Math.fround(1 + 1e-4);
/** Beyond this the float32 bound could overflow: such a query takes every point of the segment. */
const LARGEST_FLOAT32_REACH = 1e15;

const searchModule = compileKernel(REGION_SEARCH_WASM_BASE64);

/** The segment search of wasm/regionSearch.wat (byte offsets into the segment's memory). */
interface SearchKernel {
  search(
    L: number, B: number, W: number, radius: number, scale: number, slack: number, leadSlack: number, leadInvStep: number,
    invStep: number, queryError: number,
    q: number, qLead: number, grid: number, nodes: number, lead: number, codes: number, stack: number, out: number,
  ): number;
}

/** A thread's own part of a segment's memory: the query it writes (its codes, its float32 leading coordinates), the search stack, the result. */
interface Scratch {
  q: number;
  qLead: number;
  stack: number;
  out: number;
}

/**
 * A segment as a search needs it: a shared memory holding everything (byte offsets into it)
 * and its sizes. It is what the search helper (searchHelper.ts) receives; scratch 0 is the
 * memory's own thread's, scratch 1 the helper's, so both may search at once.
 */
export interface SegmentShape {
  /** Its number in its tree (the helper keeps its own instance per segment across new lists). */
  serial: number;
  memory: WebAssembly.Memory;
  leadDims: number;
  W: number;
  /** Points its memory has room for: its count, or more for a tree's open segment, which fills up. */
  capacity: number;
  /** Bytes of its memory it uses (a memory grown from a bulk load's staging may hold more, never touched). */
  bytes: number;
  /**
   * `live`: its count, largest radius and largest point norm (float64), in its memory because an
   * open segment's change as it fills; `grid`: its LeadGridView (an open segment's changes when it empties);
   * `rows`, `radii`, `codeErrors`: the float32 leading coordinates (row-major), radii and codes'
   * errors of its points in leaf order, which a merge reads (on another thread, segmentBuilder.ts).
   */
  offsets: {
    live: number; grid: number; nodes: number; lead: number; codes: number; ids: number; rows: number; radii: number; codeErrors: number;
    scratch: [Scratch, Scratch];
  };
}

/** The numbers of a query that a segment search reads (a TreeQuery, or the helper's shared copy of one). */
export interface SegmentQuery {
  readonly lead32: Float32Array;
  /** The largest |lead32[k]|: NaN or Infinity if one is not finite. */
  readonly largestLead: number;
  readonly codes: Int16Array;
  readonly codeError32: number;
  readonly inverseStep32: number;
  readonly norm: number;
  readonly rounding: number;
}

/** Rounding slack of a search: float32 storage of the points and float64 sums, relative to the norms (see candidates). */
function roundingSlack(maxPointNorm: number, queryNorm: number): number {
  return 1e-6 * (maxPointNorm + queryNorm) + 1e-9;
}

/** One thread's search of one segment: its own kernel instance and scratch. */
export class SegmentSearcher {
  private readonly kernel: SearchKernel;
  private readonly scratch: Scratch;
  /** The query's float32 leading coordinates, which the kernel codes on the segment's grid. */
  private readonly queryLead: Float32Array;
  private readonly queryCodes: Int16Array;
  /** Found points (segment order) of the last search. */
  readonly out: Int32Array;
  /** The id of each point (segment order). */
  readonly ids: Int32Array;
  /** See SegmentShape.offsets.live. */
  private readonly live: Float64Array;
  private readonly grid: LeadGridView;

  constructor(
    readonly shape: SegmentShape,
    thread: 0 | 1,
  ) {
    const { memory, leadDims, W, capacity, offsets } = shape;
    this.scratch = offsets.scratch[thread];
    this.kernel = new WebAssembly.Instance(searchModule, { env: { memory } }).exports as unknown as SearchKernel;
    this.queryLead = new Float32Array(memory.buffer, this.scratch.qLead, leadDims);
    this.queryCodes = new Int16Array(memory.buffer, this.scratch.q + 2 * queryLeadValues(leadDims), W);
    this.out = new Int32Array(memory.buffer, this.scratch.out, Math.max(1, capacity));
    this.ids = new Int32Array(memory.buffer, offsets.ids, capacity);
    this.live = new Float64Array(memory.buffer, offsets.live, 3);
    this.grid = leadGridView(memory.buffer, offsets.grid, leadDims);
  }

  /**
   * Writes to `out` (returns how many) the points whose two lower bounds are below
   * reach(radius, R) + slack; the slack covers the rounding of the stored numbers and the
   * query's, twice the query's float32 rounding included (see ProjectionTree.candidates).
   */
  search(query: SegmentQuery, radius: number): number {
    const { leadDims, W, offsets: o } = this.shape;
    const { live } = this;
    const count = live[0];
    const maxRadius = live[1];
    const maxPointNorm = live[2];
    if (count === 0) return 0;
    const slack = roundingSlack(maxPointNorm, query.norm) + 2 * query.rounding;
    const b = (radius + maxRadius) * SCALE + slack;
    if (!(b < LARGEST_FLOAT32_REACH) || !Number.isFinite(query.largestLead)) return this.every(count);
    // The kernel codes the query on the segment's grid: rounded, which moves it by at most the
    // coding error of a point (counted once more in leadSlack, with 2^-23 (|q| + |origin|) per
    // coordinate for the float64 operations), and clamped (to the query code limit), which only
    // makes gaps smaller.
    const { numbers } = this.grid;
    const leadSlack = 2 * numbers[1] + Math.sqrt(leadDims) * (query.largestLead + numbers[2]) * 2 ** -23;
    this.queryLead.set(query.lead32);
    this.queryCodes.set(query.codes);
    const s = this.scratch;
    return this.kernel.search(
      leadDims, boxDims(leadDims), W, float32AtLeast(radius), SCALE, float32AtLeast(slack), float32AtLeast(leadSlack), numbers[0],
      query.inverseStep32, query.codeError32, s.q, s.qLead, o.grid, o.nodes, o.lead, o.codes, s.stack, s.out,
    );
  }

  /** Every point as found. */
  private every(count: number): number {
    for (let j = 0; j < count; j++) this.out[j] = j;
    return count;
  }
}

/** 16-bit values of a query's leading codes in a segment's scratch: 4 per coordinate (its pairs), 2 per box coordinate. */
function queryLeadValues(leadDims: number): number {
  return 4 * leadDims + 2 * boxDims(leadDims);
}

/** Where a segment of `count` points and `nodes` nodes keeps everything in its memory (bytes): codes first. */
function segmentLayout(leadDims: number, W: number, count: number, nodes: number): { offsets: SegmentShape['offsets']; bytes: number } {
  const layout = new MemoryLayout();
  const groups = Math.ceil(count / GROUP);
  const scratch = (): Scratch => ({
    q: layout.take(2 * queryLeadValues(leadDims) + 2 * W), qLead: layout.take(4 * leadDims), stack: layout.take(4 * (STACK_DEPTH + 1)), out: layout.take(4 * Math.max(1, count)),
  });
  const offsets: SegmentShape['offsets'] = {
    // First, at 0: where a bulk load's buffer already put them.
    codes: layout.take(count * W),
    live: layout.take(8 * 3),
    grid: layout.take(4 * (leadDims + 3)),
    nodes: layout.take(nodeBytes(leadDims) * nodes),
    lead: layout.take(groups * groupBytes(leadDims)),
    ids: layout.take(4 * count),
    rows: layout.take(4 * leadDims * count),
    radii: layout.take(4 * count),
    codeErrors: layout.take(4 * count),
    scratch: [scratch(), scratch()],
  };
  return { offsets, bytes: layout.bytes };
}

/**
 * The views of a segment's points in its memory (`count` points: its count, or an open segment's
 * capacity): the groups' blocks as stored codes (`lead`, see leadSlot) and as floats (`blocks`,
 * see radiusSlot), the codes, the ids.
 */
function pointViews(buffer: ArrayBufferLike, offsets: SegmentShape['offsets'], leadDims: number, W: number, count: number) {
  const bytes = Math.ceil(count / GROUP) * groupBytes(leadDims);
  return {
    lead: new Int16Array(buffer, offsets.lead, bytes / 2),
    blocks: new Float32Array(buffer, offsets.lead, bytes / 4),
    codes: new Int8Array(buffer, offsets.codes, count * W),
    ids: new Int32Array(buffer, offsets.ids, count),
  };
}

/** A shared memory of at least `bytes` that never grows (views of it stay valid). */
function fixedMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/** Leading coordinates a segment stores per point of `leading`: a multiple of 8, zero-padded (the search tests 8 at a time). */
export function leadDimsOf(leading: number): number {
  return 8 * Math.ceil(leading / 8);
}

/** The leading coordinates of the nodes' boxes (a multiple of 8, as leadDims). */
function boxDims(leadDims: number): number {
  return Math.min(leadDims, BOX_DIMS);
}

/** Bytes of a node record (see wasm/regionSearch.wat): radius, right, from, to, then lows and negated highs (stored codes) by 4 of the box's coordinates. */
function nodeBytes(leadDims: number): number {
  return 16 + 4 * boxDims(leadDims);
}

/** 16-bit index, within its node record, of the low of leading coordinate k (its negated high follows 4 later). */
function boxSlot(k: number): number {
  return 8 + 8 * (k >> 2) + (k & 3);
}

/**
 * Bytes of a group's block (see wasm/regionSearch.wat): the 4 points' region radii and their
 * codes' errors (float32), then their leading coordinates' stored codes (16-bit), by pairs of
 * coordinates, point by point (the kernel sums a point's two squared gaps in one lane).
 * What the search reads of a leaf then lies together: each array apart cost reads of its own.
 */
function groupBytes(leadDims: number): number {
  return 32 + 8 * leadDims;
}

/** 16-bit index of point j's leading coordinate k in a segment's blocks. */
function leadSlot(j: number, k: number, leadDims: number): number {
  return (j >> 2) * (groupBytes(leadDims) / 2) + 16 + 8 * (k >> 1) + 2 * (j & 3) + (k & 1);
}

/** Float index of point j's region radius as the kernel reads it in a segment's blocks (its codes' error follows 4 later). */
function radiusSlot(j: number, leadDims: number): number {
  return (j >> 2) * (groupBytes(leadDims) / 4) + (j & 3);
}

/**
 * A segment's grid for the leading coordinates, in its memory: coordinate k of a point is coded
 * round((v - origin[k]) * inverseStep); `numbers` holds inverseStep (a float32, the kernel's),
 * the coding error of a point (0.5 sqrt(leadDims) / inverseStep, rounded up) and the largest
 * |origin[k]| (rounded up).
 */
interface LeadGridView {
  origin: Float32Array;
  numbers: Float32Array;
}

function leadGridView(buffer: ArrayBufferLike, at: number, leadDims: number): LeadGridView {
  return { origin: new Float32Array(buffer, at, leadDims), numbers: new Float32Array(buffer, at + 4 * leadDims, 3) };
}

/** Sets a grid (inverseStep a float32, at most MAX_INVERSE_STEP). */
function setLeadGrid(grid: LeadGridView, origin: (k: number) => number, inverseStep: number): void {
  const dims = grid.origin.length;
  let largest = 0;
  for (let k = 0; k < dims; k++) {
    grid.origin[k] = origin(k);
    largest = Math.max(largest, Math.abs(grid.origin[k]));
  }
  grid.numbers[0] = inverseStep;
  // |v - (origin + code / inverseStep)| <= 0.5 / inverseStep per coordinate; 1e-9 covers float64.
  grid.numbers[1] = float32AtLeast(((0.5 * Math.sqrt(dims)) / inverseStep) * (1 + 1e-9));
  grid.numbers[2] = float32AtLeast(largest);
}

/** The stored code (code - LEAD_CODE_OFFSET) of a float32 coordinate on a grid that spans it. */
function leadCode(grid: LeadGridView, k: number, v: number): number {
  const code = Math.round((v - grid.origin[k]) * grid.numbers[0]);
  if (!(code >= 0 && code <= LEAD_CODE_MAX)) throw new Error(`leading coordinate ${v} outside its segment's grid`);
  return code - LEAD_CODE_OFFSET;
}

/** The stored codes of an empty box (lows at the top, highs at the bottom) and of a box that holds all the grid. */
const EMPTY_LOW = LEAD_CODE_MAX - LEAD_CODE_OFFSET;
const EMPTY_NEGATED_HIGH = LEAD_CODE_OFFSET;
const FULL_LOW = -LEAD_CODE_OFFSET;
const FULL_NEGATED_HIGH = -(LEAD_CODE_MAX - LEAD_CODE_OFFSET);

/** Whether a point's float32 leading coordinates can be coded (see GRID_LIMIT); NaN and infinities cannot. */
function codable(lead: ArrayLike<number>, from: number, count: number): boolean {
  for (let k = from; k < from + count; k++) if (!(Math.abs(lead[k]) <= GRID_LIMIT)) return false;
  return true;
}

/** A point as a tree stores it. */
export interface TreePoint {
  /** Its leading coordinates (see projection.ts). */
  lead: ArrayLike<number>;
  /** The codes of its fine embedding (codeGrid.ts, grid.width numbers), or null before the memory has a grid. */
  codes: Int8Array | null;
  /** Upper bound of the codes' error (Infinity without codes: the codes then rule out nothing). */
  codeError: number;
  /** Norm of its input (= of its embeddings): scales the rounding slack. */
  norm: number;
}

/**
 * Points: leading coordinates (read through leadAt), codes (W per point), their errors, radius
 * (never below the stored one), id (as added).
 */
interface PointSet {
  count: number;
  codes: Int8Array;
  codeErrors: Float32Array | Float64Array;
  radii: Float32Array | Float64Array;
  ids: Int32Array;
  maxPointNorm: number;
  /** Leading coordinate k of point j. */
  leadAt(j: number, k: number): number;
}

const float32Bits = new Float32Array(1);
const float32BitsAsInt = new Uint32Array(float32Bits.buffer);

/** The smallest float32 >= v (v >= 0): radii stored in float32 never shrink. */
export function float32AtLeast(v: number): number {
  float32Bits[0] = v;
  if (float32Bits[0] < v) float32BitsAsInt[0]++; // the next float32 up (v >= 0)
  return float32Bits[0];
}

/**
 * Builds segment number `serial` of its tree over every point of `given` (W codes per point), in
 * a shared memory of its own; any thread may build one (segmentBuilder.ts merges on another).
 */
export function buildSegment(leadDims: number, W: number, given: readonly PointSet[], serial: number): SegmentShape {
  const count = given.reduce((n, s) => n + s.count, 0);
  // A bulk load's buffer (the last set) already holds its codes at the start of a memory: the
  // segment is laid out in that memory, the codes of the other sets after them, and all of
  // them are put in leaf order in place.
  const last = given[given.length - 1];
  const staged = last instanceof PointBuffer ? last.takeCodeMemory() : null;
  const sources = staged ? [last, ...given.slice(0, -1)] : given;
  // Gather, then permute into leaf order while building.
  const lead = new Float32Array(count * leadDims);
  const radii = new Float32Array(count);
  const source = new Int32Array(count); // set index
  const sourceIndex = new Int32Array(count);
  let n = 0;
  let norm = 0;
  sources.forEach((s, k) => {
    for (let i = 0; i < s.count; i++) {
      for (let d = 0; d < leadDims; d++) lead[n * leadDims + d] = s.leadAt(i, d);
      radii[n] = float32AtLeast(s.radii[i]);
      source[n] = k;
      sourceIndex[n++] = i;
    }
    norm = Math.max(norm, s.maxPointNorm);
  });
  // The build moves the rows of lead and radii with order (row j is then point order[j]), so
  // that it reads them in sequence.
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const uncodable = new Uint8Array(count);
  for (let i = 0; i < count; i++) uncodable[i] = codable(lead, i * leadDims, leadDims) ? 0 : 1;
  const table = new NodeTable(leadDims, count);
  if (count > 0) table.build(order, uncodable, 0, count, lead, radii);
  // Everything a search reads lives in one shared memory, sized once (it never grows, so the
  // views below stay valid).
  const nodes = table.nodes;
  const { offsets, bytes } = segmentLayout(leadDims, W, count, nodes);
  let memory: WebAssembly.Memory;
  if (staged) {
    memory = staged;
    const pages = Math.ceil(bytes / WASM_PAGE_BYTES);
    const have = memory.buffer.byteLength / WASM_PAGE_BYTES;
    if (pages > have) memory.grow(pages - have);
  } else memory = fixedMemory(bytes);
  const buffer = memory.buffer;
  // The grid spans the codable points, in steps of one size on every coordinate.
  const grid = leadGridView(buffer, offsets.grid, leadDims);
  const low = new Float32Array(leadDims).fill(Infinity);
  const high = new Float32Array(leadDims).fill(-Infinity);
  for (let j = 0; j < count; j++) {
    if (uncodable[order[j]]) continue;
    for (let k = 0; k < leadDims; k++) {
      low[k] = Math.min(low[k], lead[j * leadDims + k]);
      high[k] = Math.max(high[k], lead[j * leadDims + k]);
    }
  }
  let extent = 0;
  for (let k = 0; k < leadDims; k++) if (high[k] > low[k]) extent = Math.max(extent, high[k] - low[k]);
  setLeadGrid(grid, (k) => (low[k] <= high[k] ? low[k] : 0), Math.fround(Math.min(MAX_INVERSE_STEP, GRID_CODES / extent)));
  table.write(buffer, offsets.nodes, grid);
  const views = pointViews(buffer, offsets, leadDims, W, count);
  const copies = floatCopies(buffer, offsets, leadDims, count);
  copies.rows.set(lead);
  copies.radii.set(radii);
  if (staged) {
    let row = last.count;
    for (const s of sources.slice(1)) {
      views.codes.set(s.codes.subarray(0, s.count * W), row * W);
      row += s.count;
    }
    permuteInPlace(views.codes, W, order);
  }
  for (let j = 0; j < count; j++) {
    const i = order[j];
    const s = sources[source[i]];
    const at = sourceIndex[i];
    const coded = !uncodable[i];
    for (let k = 0; k < leadDims; k++) views.lead[leadSlot(j, k, leadDims)] = coded ? leadCode(grid, k, lead[j * leadDims + k]) : 0;
    if (!staged) views.codes.set(s.codes.subarray(at * W, (at + 1) * W), j * W);
    copies.codeErrors[j] = float32AtLeast(s.codeErrors[at]);
    views.blocks[radiusSlot(j, leadDims)] = coded ? radii[j] : NaN;
    views.blocks[radiusSlot(j, leadDims) + 4] = copies.codeErrors[j];
    views.ids[j] = s.ids[at];
  }
  new Float64Array(buffer, offsets.live, 3).set([count, count > 0 ? table.maxRadii[0] : 0, norm]);
  return { serial, memory, leadDims, W, capacity: count, bytes, offsets };
}

/** The float32 copies of a segment's points (see SegmentShape.offsets). */
function floatCopies(buffer: ArrayBufferLike, offsets: SegmentShape['offsets'], leadDims: number, count: number) {
  return {
    rows: new Float32Array(buffer, offsets.rows, count * leadDims),
    radii: new Float32Array(buffer, offsets.radii, count),
    codeErrors: new Float32Array(buffer, offsets.codeErrors, count),
  };
}

/** Per node (preorder), while building: box on the leading coordinates, largest radius, right child (-1: leaf), point range. */
class NodeTable {
  nodes = 0;
  private readonly box: number;
  private readonly lo: Float32Array;
  private readonly hi: Float32Array;
  readonly maxRadii: Float32Array;
  /** 1 if a point below it cannot be coded: the node is then never pruned. */
  private readonly uncodable: Uint8Array;
  private readonly right: Int32Array;
  private readonly from: Int32Array;
  private readonly to: Int32Array;

  constructor(
    private readonly leadDims: number,
    count: number,
  ) {
    const maxNodes = Math.max(1, 2 * Math.ceil(count / (LEAF_MAX / 2)));
    this.box = boxDims(leadDims);
    this.lo = new Float32Array(maxNodes * this.box);
    this.hi = new Float32Array(maxNodes * this.box);
    this.maxRadii = new Float32Array(maxNodes);
    this.uncodable = new Uint8Array(maxNodes);
    this.right = new Int32Array(maxNodes);
    this.from = new Int32Array(maxNodes);
    this.to = new Int32Array(maxNodes);
  }

  /** Builds the subtree over rows from..to of lead and radii (moved with order, see select). */
  build(order: Int32Array, uncodable: Uint8Array, from: number, to: number, lead: Float32Array, radii: Float32Array): void {
    const dims = this.leadDims;
    const box = this.box;
    const node = this.nodes++;
    const base = node * box;
    let maxRadius = 0;
    for (let k = 0; k < box; k++) {
      this.lo[base + k] = Infinity;
      this.hi[base + k] = -Infinity;
    }
    for (let j = from; j < to; j++) {
      const p = j * dims;
      for (let k = 0; k < box; k++) {
        const v = lead[p + k];
        if (v < this.lo[base + k]) this.lo[base + k] = v;
        if (v > this.hi[base + k]) this.hi[base + k] = v;
      }
      const r = radii[j];
      if (r > maxRadius) maxRadius = r;
      if (uncodable[order[j]]) this.uncodable[node] = 1;
    }
    this.maxRadii[node] = maxRadius;
    this.from[node] = from;
    this.to[node] = to;
    this.right[node] = -1;
    let dim = 0;
    for (let k = 1; k < box; k++) if (this.hi[base + k] - this.lo[base + k] > this.hi[base + dim] - this.lo[base + dim]) dim = k;
    if (to - from <= LEAF_MAX || !(this.hi[base + dim] > this.lo[base + dim])) return;
    // Split near the median, at a whole group, so that every leaf starts a group.
    const mid = from + GROUP * Math.round((to - from) / (2 * GROUP));
    select(order, from, to - 1, mid, lead, radii, dims, dim);
    this.build(order, uncodable, from, mid, lead, radii);
    this.right[node] = this.nodes;
    this.build(order, uncodable, mid, to, lead, radii);
  }

  /** Writes the node records (see nodeBytes) at `at` of a segment's memory, boxes as codes on `grid`. */
  write(buffer: ArrayBufferLike, at: number, grid: LeadGridView): void {
    const { box, nodes } = this;
    const recordFloats = nodeBytes(this.leadDims) / 4;
    const nodeFloats = new Float32Array(buffer, at, recordFloats * nodes);
    const nodeInts = new Int32Array(buffer, at, recordFloats * nodes);
    const nodeCodes = new Int16Array(buffer, at, 2 * recordFloats * nodes);
    for (let node = 0; node < nodes; node++) {
      const record = recordFloats * node;
      // A node above a point without codes is never pruned (NaN compares false).
      nodeFloats[record] = this.uncodable[node] ? NaN : this.maxRadii[node];
      nodeInts[record + 1] = this.right[node];
      nodeInts[record + 2] = this.from[node];
      nodeInts[record + 3] = this.to[node];
      for (let k = 0; k < box; k++) {
        // Codes grow with the coordinate: the box's codes are its points' smallest and largest.
        nodeCodes[2 * record + boxSlot(k)] = this.uncodable[node] ? FULL_LOW : leadCode(grid, k, this.lo[node * box + k]);
        nodeCodes[2 * record + boxSlot(k) + 4] = this.uncodable[node] ? FULL_NEGATED_HIGH : -leadCode(grid, k, this.hi[node * box + k]);
      }
    }
  }
}

/** A built segment (buildSegment), on whichever thread holds its memory: its points as a merge reads them, and this thread's search. */
export class Segment implements PointSet {
  readonly count: number;
  readonly codes: Int8Array;
  /** Codes' errors and radii in leaf order, as stored (float32, rounded up); the kernel's copy of a radius is NaN for a point it cannot code. */
  readonly codeErrors: Float32Array;
  readonly radii: Float32Array;
  readonly ids: Int32Array;
  readonly maxPointNorm: number;
  /** The leading coordinates in float32, row-major in leaf order: merges code them again on their own grid. */
  private readonly rows: Float32Array;
  private readonly leadDims: number;
  /** This thread's search (scratch 0), made with the segment where it is searched (a merge's sources are not). */
  private readonly searcher: SegmentSearcher | null;

  constructor(
    readonly shape: SegmentShape,
    searched = true,
  ) {
    const { memory, offsets, leadDims, W, capacity: count } = shape;
    const live = new Float64Array(memory.buffer, offsets.live, 3);
    if (live[0] !== count) throw new Error(`segment ${shape.serial}: ${live[0]} points stored, ${count} expected`);
    this.count = count;
    this.leadDims = leadDims;
    this.maxPointNorm = live[2];
    ({ codes: this.codes, ids: this.ids } = pointViews(memory.buffer, offsets, leadDims, W, count));
    ({ rows: this.rows, radii: this.radii, codeErrors: this.codeErrors } = floatCopies(memory.buffer, offsets, leadDims, count));
    this.searcher = searched ? new SegmentSearcher(shape, 0) : null;
  }

  leadAt(j: number, k: number): number {
    return this.rows[j * this.leadDims + k];
  }

  bytesUsed(): number {
    return this.shape.bytes;
  }

  search(query: SegmentQuery, radius: number, out: number[]): void {
    if (!this.searcher) throw new Error(`segment ${this.shape.serial} is not searched on this thread`);
    searchInto(this.searcher, query, radius, out);
  }
}

/** Appends to `out` the ids of every point whose two lower bounds are below reach(radius, R) (see SegmentSearcher.search). */
function searchInto(searcher: SegmentSearcher, query: SegmentQuery, radius: number, out: number[]): void {
  const found = searcher.search(query, radius);
  const { out: indices, ids } = searcher;
  for (let i = 0; i < found; i++) out.push(ids[indices[i]]);
}

/** Rows of `width` values: row j becomes the old row order[j] (order a permutation), in place, cycle by cycle. */
function permuteInPlace(rows: Int8Array, width: number, order: Int32Array): void {
  const placed = new Uint8Array(order.length);
  const first = new Int8Array(width);
  for (let start = 0; start < order.length; start++) {
    if (placed[start]) continue;
    placed[start] = 1;
    if (order[start] === start) continue;
    first.set(rows.subarray(start * width, (start + 1) * width));
    let j = start;
    for (;;) {
      const from = order[j];
      if (from === start) {
        rows.set(first, j * width);
        break;
      }
      rows.copyWithin(j * width, from * width, (from + 1) * width);
      placed[from] = 1;
      j = from;
    }
  }
}

/**
 * Quickselect on rows left..right of order, lead (dims each) and radii, moved together: row k
 * gets the k-th smallest lead[.][dim], smaller ones before it.
 */
function select(order: Int32Array, left: number, right: number, k: number, lead: Float32Array, radii: Float32Array, dims: number, dim: number): void {
  while (right > left) {
    const pivot = lead[((left + right) >> 1) * dims + dim];
    let i = left;
    let j = right;
    while (i <= j) {
      while (lead[i * dims + dim] < pivot) i++;
      while (lead[j * dims + dim] > pivot) j--;
      if (i <= j) {
        swapRows(order, lead, radii, dims, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

function swapRows(order: Int32Array, lead: Float32Array, radii: Float32Array, dims: number, i: number, j: number): void {
  const t = order[i];
  order[i] = order[j];
  order[j] = t;
  const r = radii[i];
  radii[i] = radii[j];
  radii[j] = r;
  for (let a = i * dims, b = j * dims, end = a + dims; a < end; a++, b++) {
    const v = lead[a];
    lead[a] = lead[b];
    lead[b] = v;
  }
}

/**
 * The unsealed points of an online tree: a segment of one leaf in a memory of its own, filled
 * point by point and emptied when it is sealed. The kernel scans them as it scans any leaf, on
 * either thread: the search helper takes a tree's open segment with its sealed ones (scanned in
 * JS by the memory's thread alone, unsealed points took a quarter of a decision in a memory
 * filled by decide()). A point may be added while the helper still searches a task taken back
 * from it; that answer is dropped (searchHelper.ts), and its reads stay within the memory.
 * Its grid is set by its first point: [-G, G] on every coordinate, G the smallest power of 2 (at
 * least OPEN_GRID_MIN) with G >= 2 max |coordinate|; a later point the grid does not span is
 * refused (push returns false), and the tree seals the segment first.
 */
class OpenSegment implements PointSet {
  count = 0;
  maxPointNorm = 0;
  readonly codes: Int8Array;
  /** Codes' errors and radii as stored (float32, rounded up); the kernel's copy of a radius is NaN for a point it cannot code. */
  readonly codeErrors: Float32Array;
  readonly radii: Float32Array;
  readonly ids: Int32Array;
  readonly shape: SegmentShape;
  /** The leading coordinates in float32, row-major: the segment that seals them codes them again. */
  private readonly lead: Float32Array;
  /** Its groups' blocks (see groupBytes), as stored codes and as floats. */
  private readonly leadCodes: Int16Array;
  private readonly blocks: Float32Array;
  private readonly grid: LeadGridView;
  /** G of the grid (0: none yet). */
  private halfWidth = 0;
  private maxRadius = 0;
  private anyUncodable = false;
  /** Its one node record (see Segment): the leaf's box, largest radius and end grow with each point. */
  private readonly nodeFloats: Float32Array;
  private readonly nodeInts: Int32Array;
  private readonly nodeCodes: Int16Array;
  /** See SegmentShape.offsets.live. */
  private readonly live: Float64Array;
  private readonly searcher: SegmentSearcher;
  /** The float32 copy of the point being added. */
  private readonly point: Float32Array;

  constructor(
    private readonly leadDims: number,
    private readonly W: number,
    readonly capacity: number,
  ) {
    const { offsets, bytes } = segmentLayout(leadDims, W, capacity, 1);
    const memory = fixedMemory(bytes);
    const buffer = memory.buffer;
    const views = pointViews(buffer, offsets, leadDims, W, capacity);
    ({ codes: this.codes, ids: this.ids } = views);
    this.leadCodes = views.lead;
    this.blocks = views.blocks;
    // The float32 copies live in its memory, where a sealed segment keeps its own.
    ({ rows: this.lead, radii: this.radii, codeErrors: this.codeErrors } = floatCopies(buffer, offsets, leadDims, capacity));
    this.point = new Float32Array(leadDims);
    this.grid = leadGridView(buffer, offsets.grid, leadDims);
    this.nodeFloats = new Float32Array(buffer, offsets.nodes, nodeBytes(leadDims) / 4);
    this.nodeInts = new Int32Array(buffer, offsets.nodes, nodeBytes(leadDims) / 4);
    this.nodeCodes = new Int16Array(buffer, offsets.nodes, nodeBytes(leadDims) / 2);
    this.live = new Float64Array(buffer, offsets.live, 3);
    this.shape = { serial: OPEN_SERIAL, memory, leadDims, W, capacity, bytes, offsets };
    this.clear();
    this.searcher = new SegmentSearcher(this.shape, 0);
  }

  leadAt(j: number, k: number): number {
    return this.lead[j * this.leadDims + k];
  }

  bytesUsed(): number {
    return this.shape.bytes;
  }

  /** Adds the point, or returns false (and changes nothing) if it is not the first and the grid does not span it. */
  push(point: TreePoint, leading: number, radius: number, id: number): boolean {
    if (this.count >= this.capacity) throw new Error(`open segment full (${this.capacity} points)`);
    const { leadDims, W, nodeFloats, grid } = this;
    const v = this.point;
    // Padding dimensions are 0, as the query's.
    for (let k = 0; k < leadDims; k++) v[k] = k < leading ? point.lead[k] : 0;
    const coded = codable(v, 0, leadDims);
    let largest = 0;
    if (coded) for (let k = 0; k < leadDims; k++) largest = Math.max(largest, Math.abs(v[k]));
    if (this.count === 0) {
      let half = OPEN_GRID_MIN;
      while (half < 2 * largest) half *= 2;
      this.halfWidth = half;
      setLeadGrid(grid, () => -half, Math.fround(GRID_CODES / (2 * half)));
    } else if (largest > this.halfWidth) return false;
    const j = this.count++;
    const box = boxDims(leadDims);
    this.lead.set(v, j * leadDims);
    for (let k = 0; k < leadDims; k++) {
      const code = coded ? leadCode(grid, k, v[k]) : 0;
      this.leadCodes[leadSlot(j, k, leadDims)] = code;
      if (!coded || k >= box) continue;
      if (code < this.nodeCodes[boxSlot(k)]) this.nodeCodes[boxSlot(k)] = code;
      if (-code < this.nodeCodes[boxSlot(k) + 4]) this.nodeCodes[boxSlot(k) + 4] = -code;
    }
    if (point.codes) this.codes.set(point.codes.subarray(0, W), j * W);
    else this.codes.fill(0, j * W, (j + 1) * W);
    this.codeErrors[j] = point.codes ? float32AtLeast(point.codeError) : Infinity;
    this.radii[j] = float32AtLeast(radius);
    this.blocks[radiusSlot(j, leadDims)] = coded ? this.radii[j] : NaN;
    this.blocks[radiusSlot(j, leadDims) + 4] = this.codeErrors[j];
    this.ids[j] = id;
    this.maxRadius = Math.max(this.maxRadius, this.radii[j]);
    this.anyUncodable ||= !coded;
    nodeFloats[0] = this.anyUncodable ? NaN : this.maxRadius;
    this.nodeInts[3] = this.count;
    this.maxPointNorm = Math.max(this.maxPointNorm, point.norm);
    this.live[0] = this.count;
    this.live[1] = this.maxRadius;
    this.live[2] = this.maxPointNorm;
    return true;
  }

  search(query: SegmentQuery, radius: number, out: number[]): void {
    searchInto(this.searcher, query, radius, out);
  }

  /** Empties it (once its points are sealed into a segment). */
  clear(): void {
    this.count = 0;
    this.maxPointNorm = 0;
    this.maxRadius = 0;
    this.anyUncodable = false;
    this.halfWidth = 0;
    const { nodeFloats, nodeInts } = this;
    nodeFloats[0] = 0;
    nodeInts[1] = -1;
    nodeInts[2] = 0;
    nodeInts[3] = 0;
    // An empty box holds nothing; the first point sets the grid.
    for (let k = 0; k < boxDims(this.leadDims); k++) {
      this.nodeCodes[boxSlot(k)] = EMPTY_LOW;
      this.nodeCodes[boxSlot(k) + 4] = EMPTY_NEGATED_HIGH;
    }
    this.live.fill(0);
  }
}

/**
 * A bulk load's buffer, posted to the builder's thread to be built there (buildElsewhere): its
 * arrays move there, its staged code memory is shared (the build reorders it in place).
 */
export interface BufferShape {
  leadDims: number;
  W: number;
  count: number;
  lead: Float32Array;
  codeMemory: WebAssembly.Memory;
  codeErrors: Float64Array;
  radii: Float64Array;
  ids: Int32Array;
  maxPointNorm: number;
}

/**
 * Points gathered for a segment to be built at once: a bulk load's, or a rebuild's. A bulk
 * load's buffer keeps its codes at the start of a shared WebAssembly memory that grows in place,
 * and its segment is built in that memory (Segment): the codes, 400 bytes a point at d = 784,
 * are then written once, where a buffer that doubles copies them into new memory as it grows
 * and the segment copies them again.
 */
export class PointBuffer implements PointSet {
  count = 0;
  lead: Float32Array;
  codes: Int8Array;
  codeErrors: Float64Array;
  radii: Float64Array;
  ids: Int32Array;
  maxPointNorm = 0;
  private codeMemory: WebAssembly.Memory | null = null;

  constructor(
    private readonly leadDims: number,
    private readonly W: number,
    capacity: number,
    staged = false,
  ) {
    this.lead = new Float32Array(capacity * leadDims);
    if (staged) {
      this.codeMemory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil((capacity * W) / WASM_PAGE_BYTES)), maximum: WASM_MAX_PAGES, shared: true });
      this.codes = new Int8Array(this.codeMemory.buffer);
    } else this.codes = new Int8Array(capacity * W);
    this.codeErrors = new Float64Array(capacity);
    this.radii = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
  }

  get capacity(): number {
    return this.radii.length;
  }

  /** Its arrays' bytes, as if the codes had one byte per point and code (a staged memory's pages never written stay free). */
  bytesUsed(): number {
    return this.capacity * (this.leadDims * 4 + this.W + 20);
  }

  /** A staged buffer as BufferShape, and the array buffers to move with it; the buffer gives up its code memory. */
  toShape(): { shape: BufferShape; transfer: ArrayBuffer[] } {
    const codeMemory = this.takeCodeMemory();
    if (!codeMemory) throw new Error('only a bulk load\'s buffer is built elsewhere');
    const { leadDims, W, count, lead, codeErrors, radii, ids, maxPointNorm } = this;
    return {
      shape: { leadDims, W, count, lead, codeMemory, codeErrors, radii, ids, maxPointNorm },
      transfer: [lead.buffer, codeErrors.buffer, radii.buffer, ids.buffer] as ArrayBuffer[],
    };
  }

  /** The buffer a BufferShape describes (on the builder's thread). */
  static fromShape(shape: BufferShape): PointBuffer {
    const buffer = new PointBuffer(shape.leadDims, shape.W, 0);
    buffer.count = shape.count;
    buffer.lead = shape.lead;
    buffer.codeMemory = shape.codeMemory;
    buffer.codes = new Int8Array(shape.codeMemory.buffer);
    buffer.codeErrors = shape.codeErrors;
    buffer.radii = shape.radii;
    buffer.ids = shape.ids;
    buffer.maxPointNorm = shape.maxPointNorm;
    return buffer;
  }

  /** The memory holding the codes of a staged buffer, handed over once (to its segment); null otherwise. */
  takeCodeMemory(): WebAssembly.Memory | null {
    const memory = this.codeMemory;
    this.codeMemory = null;
    return memory;
  }

  leadAt(j: number, k: number): number {
    return this.lead[j * this.leadDims + k];
  }

  push(point: TreePoint, leading: number, radius: number, id: number): true {
    if (this.count === this.capacity) this.grow();
    if (this.codeMemory && (this.count + 1) * this.W > this.codes.length) this.growCodeMemory();
    const j = this.count++;
    for (let k = 0; k < leading; k++) this.lead[j * this.leadDims + k] = point.lead[k];
    if (point.codes) this.codes.set(point.codes.subarray(0, this.W), j * this.W);
    this.codeErrors[j] = point.codes ? point.codeError : Infinity;
    this.radii[j] = radius;
    this.ids[j] = id;
    this.maxPointNorm = Math.max(this.maxPointNorm, point.norm);
    return true;
  }

  /** By an eighth at least (pages never written stay free). */
  private growCodeMemory(): void {
    const memory = this.codeMemory!;
    memory.grow(Math.max(16, Math.ceil(memory.buffer.byteLength / WASM_PAGE_BYTES / 8)));
    this.codes = new Int8Array(memory.buffer);
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const lead = new Float32Array(capacity * this.leadDims);
    lead.set(this.lead);
    this.lead = lead;
    if (!this.codeMemory) {
      const codes = new Int8Array(capacity * this.W);
      codes.set(this.codes);
      this.codes = codes;
    }
    const codeErrors = new Float64Array(capacity);
    codeErrors.set(this.codeErrors);
    this.codeErrors = codeErrors;
    const radii = new Float64Array(capacity);
    radii.set(this.radii);
    this.radii = radii;
    const ids = new Int32Array(capacity);
    ids.set(this.ids);
    this.ids = ids;
  }
}

/**
 * A query point, prepared once for every tree it is searched in: its leading coordinates in
 * float32 (zero-padded to leadDimsOf), how far they lie from the exact ones, its codes and
 * their error (Infinity: none), the grid's step, and its norm.
 */
export class TreeQuery {
  readonly lead32: Float32Array;
  readonly codes: Int16Array;
  codeError = Infinity;
  step = 1;
  /** Float32 copies rounded up, for the kernel. */
  codeError32 = Infinity;
  inverseStep32 = 1;
  norm = 0;
  /** An upper bound on the distance from the leading coordinates to their float32 copy. */
  rounding = 0;
  /** See SegmentQuery.largestLead. */
  largestLead = 0;

  constructor(
    readonly leading: number,
    readonly codeLength: number,
  ) {
    this.lead32 = new Float32Array(leadDimsOf(leading));
    this.codes = new Int16Array(codeWidth(codeLength));
  }

  /** Takes the leading coordinates, the norm and, once the memory has a grid, the fine embedding (`fine` from `fineAt`). */
  set(lead: ArrayLike<number>, norm: number, grid: CodeGrid | null, fine: Float64Array = new Float64Array(0), fineAt = 0): this {
    // The segments code the query's float32 copy: its rounding (its own distance to the float32
    // copy, an exact bound by the triangle inequality) widens their bound.
    let rounding = 0;
    let largest = 0;
    for (let k = 0; k < this.leading; k++) {
      const v = lead[k];
      this.lead32[k] = v;
      rounding += (v - this.lead32[k]) ** 2;
      largest = Math.max(largest, Math.abs(this.lead32[k]));
    }
    this.rounding = Math.sqrt(rounding);
    this.largestLead = largest;
    this.norm = norm;
    if (grid) {
      if (grid.length !== this.codeLength) throw new Error(`grid of ${grid.length} numbers for a query of ${this.codeLength}`);
      this.codeError = encodeQuery(grid, fine, fineAt, this.codes);
      this.step = grid.step;
    } else {
      this.codes.fill(0);
      this.codeError = Infinity;
      this.step = 1;
    }
    this.codeError32 = float32AtLeast(this.codeError);
    this.inverseStep32 = float32AtLeast(1 / this.step);
    return this;
  }
}

export class ProjectionTree {
  private segments: Segment[] = [];
  private serial = 0;
  /** The unsealed points: a bulk load's until build(), else the open segment. */
  private buffer: PointBuffer | OpenSegment;
  private readonly open: OpenSegment;
  private size = 0;
  /** Leading coordinates stored per point: leadDimsOf(leading), zero-padded. */
  private readonly leadDims: number;
  /** Codes stored per point (codeGrid.ts). */
  private readonly W: number;
  /** The merge on the builder's thread, if any: its sources (a run of the segments), and the segments' generation it started in. */
  private merging: { sources: Segment[]; generation: number } | null = null;
  /** Counts the times every segment was replaced (build, recompute): a merge started before then is dropped. */
  private generation = 0;

  /**
   * `onSegments` hears of every new list of segments (the search helper searches them too);
   * with a `builder`, maintain() merges on its thread.
   */
  constructor(
    readonly leading: number,
    readonly codeLength: number,
    private readonly onSegments?: (segments: SegmentShape[]) => void,
    private readonly builder: SegmentBuilder | null = null,
  ) {
    this.leadDims = leadDimsOf(leading);
    this.W = codeWidth(codeLength);
    this.open = new OpenSegment(this.leadDims, this.W, BUFFER_MAX);
    this.buffer = this.open;
    this.onSegments?.(this.shapes);
  }

  get count(): number {
    return this.size;
  }

  /** The segments, the open one last, as the search helper takes them. */
  get shapes(): SegmentShape[] {
    return [...this.segments.map((s) => s.shape), this.open.shape];
  }

  /** Bytes held by the segments and the buffer (for RAM-per-record reporting). */
  bytesUsed(): number {
    return this.segments.reduce((n, s) => n + s.bytesUsed(), 0) + this.buffer.bytesUsed();
  }

  /** Adds a point that searches return as `id`; `bulk` defers sealing to build(). */
  add(point: TreePoint, radius: number, bulk: boolean, id: number): void {
    if (bulk && this.buffer === this.open && this.open.count === 0) this.buffer = new PointBuffer(this.leadDims, this.W, 64, true);
    this.size++;
    if (!this.buffer.push(point, this.leading, radius, id)) {
      // The open segment's grid does not span the point: seal its points, start again around it.
      this.seal();
      if (!this.open.push(point, this.leading, radius, id)) throw new Error('an empty open segment refused a point');
    }
    if (!bulk && this.buffer.count >= BUFFER_MAX) this.seal();
  }

  /** Seals everything into one segment (after a bulk load). */
  build(): void {
    const all: PointSet[] = [...this.segments, this.buffer];
    this.replaceAll();
    this.segments = [new Segment(buildSegment(this.leadDims, this.W, all, this.serial++))];
    this.reopen();
    this.onSegments?.(this.shapes);
  }

  /**
   * build(), on the builder's thread when there is one and the unsealed points are a bulk
   * load's (else here): resolves once the segment is in. Rejects if the builder stops first:
   * the build reorders the staged codes in place there, so they are lost with it and the
   * memory must be replayed again.
   */
  buildElsewhere(): Promise<void> {
    const builder = this.builder;
    if (!builder?.alive || !(this.buffer instanceof PointBuffer)) {
      this.build();
      return Promise.resolve();
    }
    const { shape, transfer } = this.buffer.toShape();
    const request = { leadDims: this.leadDims, W: this.W, serial: this.serial++, sources: [...this.segments.map((s) => s.shape), shape] };
    this.replaceAll();
    this.reopen(); // the buffer's arrays move to the builder's thread
    const size = this.size;
    return new Promise((resolve, reject) => {
      builder.merge(request, (built) => {
        if (built === null) return reject(new Error('the segment builder stopped while it built a tree after the replay; the memory must be opened again'));
        if (built.capacity !== size) return reject(new Error(`a build returned ${built.capacity} points for ${size}`));
        this.segments = [new Segment(built)];
        this.onSegments?.(this.shapes);
        resolve();
      }, { transfer, awaited: true });
    });
  }

  /** Recomputes every point's leading coordinates and codes from its id (`point` fills a reused TreePoint); rebuilds. */
  recompute(point: (id: number) => TreePoint): void {
    const all = new PointBuffer(this.leadDims, this.W, Math.max(1, this.size));
    for (const set of [...this.segments, this.buffer] as PointSet[]) {
      for (let j = 0; j < set.count; j++) all.push(point(set.ids[j]), this.leading, set.radii[j], set.ids[j]);
    }
    this.replaceAll();
    this.segments = [new Segment(buildSegment(this.leadDims, this.W, [all], this.serial++))];
    this.reopen();
    this.onSegments?.(this.shapes);
  }

  /**
   * Every point i whose lower bounds on the distance to `query` are below reach(radius, R_i)
   * (widened by a rounding slack): a superset of the points with exact distance < reach.
   */
  candidates(query: TreeQuery, radius: number, out: number[] = []): number[] {
    this.checkShape(query);
    for (const s of this.segments) s.search(query, radius, out);
    // A bulk load is searched once built (the memory builds its index at the end of a replay).
    if (this.buffer !== this.open) throw new Error('a bulk load searched before build()');
    this.open.search(query, radius, out);
    return out;
  }

  private checkShape(query: TreeQuery): void {
    if (query.leading !== this.leading || query.codes.length !== this.W) throw new Error('query prepared for another tree shape');
  }

  /** Whether the two newest segments are due to merge: the newer holds at least 1/MERGE_RATIO as many points. */
  get mergeDue(): boolean {
    const n = this.segments.length;
    return n >= 2 && MERGE_RATIO * this.segments[n - 1].count >= this.segments[n - 2].count;
  }

  /** Whether maintain() has a merge to make or start (none is due while one is on the builder's thread). */
  get maintenanceDue(): boolean {
    return this.mergeDue && !(this.merging && this.builder?.alive);
  }

  /**
   * Merges what is due (the logarithmic method); returns how many merges it made or started.
   * With a live builder it starts one on the builder's thread, of the newest segments that
   * merging leaves each segment more than MERGE_RATIO times the next, and swaps the result in
   * when it comes (merged); without, it merges here, two at a time.
   */
  maintain(): number {
    if (!this.builder?.alive) {
      let merges = 0;
      while (this.mergeOnce()) merges++;
      return merges;
    }
    if (!this.maintenanceDue) return 0;
    const segments = this.segments;
    let from = segments.length - 2;
    let points = segments[from].count + segments[from + 1].count;
    while (from > 0 && MERGE_RATIO * points >= segments[from - 1].count) points += segments[--from].count;
    const sources = segments.slice(from);
    const generation = this.generation;
    this.merging = { sources, generation };
    const request = { leadDims: this.leadDims, W: this.W, serial: this.serial++, sources: sources.map((s) => s.shape) };
    this.builder.merge(request, (shape) => this.merged(generation, sources, shape));
    return 1;
  }

  /** Merges the two newest segments here if due (and neither is on the builder's thread); true if it did. */
  mergeOnce(): boolean {
    if (!this.mergeDue) return false;
    const n = this.segments.length;
    const newest = this.segments.slice(n - 2);
    if (this.merging && newest.some((s) => this.merging!.sources.includes(s))) return false;
    this.segments.splice(n - 2, 2, new Segment(buildSegment(this.leadDims, this.W, newest, this.serial++)));
    this.onSegments?.(this.shapes);
    return true;
  }

  /** A merge from the builder's thread: its segment replaces its sources, unless every segment was replaced since it started. */
  private merged(generation: number, sources: Segment[], shape: SegmentShape | null): void {
    if (generation !== this.generation) return;
    this.merging = null;
    if (shape === null) return; // the builder stopped: the next maintain() merges here
    const at = this.segments.indexOf(sources[0]);
    // Only this tree's own merges move segments, and none touches a source in flight.
    if (at < 0 || sources.some((s, k) => this.segments[at + k] !== s)) throw new Error('a merge\'s sources are no longer a run of its tree\'s segments');
    if (shape.capacity !== sources.reduce((n, s) => n + s.count, 0)) throw new Error(`a merge returned ${shape.capacity} points for ${sources.length} segments`);
    this.segments.splice(at, sources.length, new Segment(shape));
    this.onSegments?.(this.shapes);
    this.maintain();
  }

  /** Every segment is about to be replaced: a merge in flight no longer applies. */
  private replaceAll(): void {
    this.generation++;
    this.merging = null;
  }

  /** The buffer becomes a segment; merges wait for maintain() unless too many are pending. */
  private seal(): void {
    this.segments.push(new Segment(buildSegment(this.leadDims, this.W, [this.buffer], this.serial++)));
    this.reopen();
    this.onSegments?.(this.shapes);
    while (this.segments.length > SEGMENTS_MAX && this.mergeOnce());
  }

  /** Unsealed points go to the open segment, emptied (their segment holds them now). */
  private reopen(): void {
    this.open.clear();
    this.buffer = this.open;
  }
}
