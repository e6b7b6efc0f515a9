// One memory (one model, one norm): the index of stored regions, the durable log, and the
// explicit bounded queue through which every decision passes in one total order.
//
// Writer loop: take up to `maxGroup` proposals in FIFO order, decide each against the index
// (which already holds the earlier ones of the same group), append their frames in one write,
// fsync once, then resolve the group's promises. A later decision may depend on an earlier
// record of its group; both become durable with the same fsync, and the log is a prefix-closed
// append, so no answer is ever returned that depends on a record that could be lost.
import { performance } from 'node:perf_hooks';
import { DecisionLog, type ReplaySummary } from './decisionLog.js';
import type { Disk } from './disk.js';
import { distance, inputHash, sameBits } from './distance.js';
import { MemoryClosedError, MemoryInputError, MemoryQueueFullError, MemoryUnavailableError } from './errors.js';
import { INPUT_OFFSET_IN_FRAME, decodeFrame, encodeFrame } from './logFormat.js';
import type { MemoryObserver } from './observer.js';
import type { ReplayBatch } from './replayProtocol.js';
import { InputSketches, RECORDS_PER_CHUNK, type SketchQuery } from './inputSketches.js';
import { RegionIndex, answerKey, type AnswerKey, type RadiusByAnswer } from './regionIndex.js';
import type { MergeCounts } from './segmentBuilder.js';
import type { TreeQuery } from './projectionTree.js';
import { sameGrid, type CodeGrid } from './codeGrid.js';
import { BoundedQueue } from './queue.js';
import { HashIndex } from './hashIndex.js';
import { ConflictOrder } from './conflictOrder.js';
import {
  RULES_VERSION, capRadius, finishDecision, nestedMargin, nestedOutcome, planDecision, reach, relabelOutcome, type Candidate, type RuleOutcome,
} from './rules.js';
import type { DecisionRecord, MemoryOutcome, Norm, Proposal } from './types.js';

export interface SequentialMemoryOptions {
  disk: Disk;
  path: string;
  model: string;
  norm: Norm;
  /** Proposals waiting beyond this are refused with MemoryQueueFullError (503). */
  queueCapacity?: number;
  /** Largest number of records committed by one fsync. */
  maxGroup?: number;
  observer?: MemoryObserver;
  /** Logs of at least this many bytes are replayed with worker threads reading, projecting and sketching (default 64 MiB). */
  workerReplayMinBytes?: number;
  /** Open without writing: no truncation of a torn tail, no decisions (export, verify, audit). */
  readOnly?: boolean;
  /** Search the index on a second thread as well (searchHelper.ts): for a memory that serves decisions on two or more cores. */
  searchHelper?: boolean;
  /**
   * Merge the index's segments on a thread of their own (segmentBuilder.ts), not on the memory's
   * thread between decisions, where a merge at 10^6 records held the decisions queued behind it
   * for up to hundreds of milliseconds.
   */
  backgroundMerges?: boolean;
  /**
   * After the replay, compute (and discard) the decisions of this many stored records, so that the
   * first real decisions do not run while V8 still optimizes their code (see warmUp). Default 0.
   */
  warmupDecisions?: number;
  clock?: () => Date;
}

const WORKER_REPLAY_MIN_BYTES = 64 * 1024 * 1024;
/**
 * The gateway's warm-up (memoryWarmupDecisions): on a replayed memory of 10^6 records decided in
 * bursts, 768 did better than 256 and as well as 1536 (docs/benchmarks.md).
 */
export const SERVING_WARMUP_DECISIONS = 768;
/** Bound of a warm-up's time, whatever its number of decisions. */
const WARMUP_MAX_MS = 2000;

interface Pending {
  proposal: Proposal;
  resolve: (outcome: MemoryOutcome) => void;
  reject: (error: Error) => void;
}

/** A proposal's input prepared for the searches of one decision (valid until the next prepare). */
interface PreparedInput {
  input: Float32Array;
  projected: Float64Array;
  regions: TreeQuery;
  sketches: SketchQuery;
}

/** JSON part of a stored record (everything but the input). */
type StoredMetadata = Omit<DecisionRecord, 'input'>;

export class SequentialMemory {
  readonly model: string;
  readonly norm: Norm;
  private readonly log: DecisionLog;
  private readonly observer: MemoryObserver;
  private readonly queue: BoundedQueue<Pending>;
  private readonly maxGroup: number;
  private readonly clock: () => Date;
  private readonly searchHelper: boolean;
  private readonly backgroundMerges: boolean;
  private inputLength = 0;
  private index: RegionIndex | null = null;
  private sketches: InputSketches | null = null;
  // Per record (index = seq - 1): frame offset, answer (-1 = abstain), radius.
  private offsets = new Float64Array(1024);
  private answers = new Int32Array(1024);
  private radii = new Float64Array(1024);
  /** The largest radius stored (it scales the margin of a nested ball, see nestedMargin). */
  private largestRadius = 0;
  private count = 0;
  /** Record indices by the hash of their input bits (exact repeats). */
  private readonly byHash = new HashIndex();
  private readonly conflictOrder = new ConflictOrder();
  /** Records of the current group, not yet durable (index -> record). */
  private readonly unwritten = new Map<number, DecisionRecord>();
  /** Records 1..durableCount are fsynced: only those are readable from outside. */
  private durableCount = 0;
  /** Buffer of inputAt(), and its bytes. */
  private readInput = new Float32Array(0);
  private readBytes = new Uint8Array(0);
  private nextOffset = 0;
  private writing = false;
  private failure: Error | null = null;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};
  replaySummary: ReplaySummary | null = null;
  /** The warm-up after the replay: decisions computed, and its time. */
  warmup = { decisions: 0, ms: 0 };

  private constructor(log: DecisionLog, options: SequentialMemoryOptions) {
    this.log = log;
    this.model = options.model;
    this.norm = options.norm;
    this.observer = options.observer ?? {};
    this.queue = new BoundedQueue(options.queueCapacity ?? 1024);
    this.maxGroup = options.maxGroup ?? 256;
    this.clock = options.clock ?? (() => new Date());
    this.searchHelper = (options.searchHelper ?? false) && !log.readOnly;
    this.backgroundMerges = (options.backgroundMerges ?? false) && !log.readOnly;
  }

  /** Opens (creating if needed) and replays the log, rebuilding the index. */
  static async open(options: SequentialMemoryOptions): Promise<SequentialMemory> {
    const started = performance.now();
    const log = await DecisionLog.open(options.disk, options.path, options.readOnly ?? false);
    const memory = new SequentialMemory(log, options);
    let summary: ReplaySummary;
    try {
      const inWorker = !memory.log.readOnly && log.file.osPath !== undefined && log.size() >= (options.workerReplayMinBytes ?? WORKER_REPLAY_MIN_BYTES);
      if (inWorker) summary = await log.replayInWorkers(memory.norm, (batch) => memory.loadBatch(batch), RECORDS_PER_CHUNK);
      else {
        let scratch: Float32Array | undefined;
        summary = await log.replay((offset, bytes, at) => {
          const frame = decodeFrame(bytes, at, scratch);
          scratch = frame.input;
          memory.load(offset, frame);
        });
      }
      await memory.index?.buildTogether();
    } catch (error) {
      memory.index?.close();
      await log.close();
      throw error;
    }
    memory.nextOffset = log.size();
    memory.replaySummary = summary;
    const replayMs = performance.now() - started;
    try {
      memory.warmup = await memory.warmUp(options.warmupDecisions ?? 0);
    } catch (error) {
      await memory.close(); // a log that cannot be read back must not serve
      throw error;
    }
    memory.observer.onReplay?.({
      model: memory.model, norm: memory.norm, records: summary.records, ms: replayMs, tornTail: summary.tornTail,
      warmupDecisions: memory.warmup.decisions, warmupMs: memory.warmup.ms,
    });
    return memory;
  }

  get size(): number {
    return this.count;
  }

  /** Seq of the last durable record. */
  get lastSeq(): number {
    return this.durableCount;
  }

  get path(): string {
    return this.log.path;
  }

  get queueDepth(): number {
    return this.queue.size;
  }

  /** Approximate RAM held per record by the index and the input sketches (not counting the log file). */
  indexBytesPerRecord(): number {
    if (this.count === 0) return 0;
    const arrays = this.offsets.length * (8 + 4 + 8);
    return (arrays + this.byHash.bytesUsed() + (this.index?.bytesUsed() ?? 0) + (this.sketches?.bytesUsed() ?? 0)) / this.count;
  }

  /**
   * Decides `proposal` in the memory's total order. Resolves once its record (and every record
   * it depends on) is fsynced; rejects with MemoryQueueFullError when the queue is full.
   */
  decide(proposal: Proposal): Promise<MemoryOutcome> {
    if (this.closed) return Promise.reject(new MemoryClosedError());
    if (this.failure) return Promise.reject(new MemoryUnavailableError(this.failure.message));
    if (this.log.readOnly) return Promise.reject(new MemoryUnavailableError('opened read-only'));
    try {
      this.validate(proposal);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<MemoryOutcome>((resolve, reject) => {
      if (!this.queue.offer({ proposal, resolve, reject })) {
        reject(new MemoryQueueFullError(this.queue.capacity));
        return;
      }
      this.observer.onQueueDepth?.({ model: this.model, norm: this.norm, depth: this.queue.size });
      if (!this.writing) void this.drain();
    });
  }

  /** The stored record with this seq (read from the log and checksum-verified), or undefined. */
  readRecord(seq: number): DecisionRecord | undefined {
    if (!Number.isInteger(seq) || seq < 1 || seq > this.durableCount) return undefined;
    return this.readStored(seq);
  }

  private readStored(seq: number): DecisionRecord {
    const frame = this.log.readFrame(this.offsets[seq - 1]);
    const meta = JSON.parse(new TextDecoder().decode(frame.json)) as StoredMetadata;
    if (meta.seq !== seq || frame.seq !== seq) throw new Error(`${this.path}: record at seq ${seq} carries seq ${meta.seq}`);
    return { ...meta, input: frame.input };
  }

  /**
   * The durable record whose input is bit-for-bit `input`, as a repeat outcome, or null: lets a
   * caller answer an exact repeat without evaluating the model. A match that is not yet durable
   * is not returned (its decision resolves through decide() after the fsync).
   */
  findDurableRepeat(input: Float32Array): MemoryOutcome | null {
    if (this.closed || this.failure || this.inputLength === 0 || input.length !== this.inputLength) return null;
    const aligned = input.byteOffset % 4 === 0 ? input : new Float32Array(input);
    const index = this.findRepeat(aligned, inputHash(aligned));
    if (index === null || index >= this.durableCount) return null;
    const record = this.readStored(index + 1);
    return { seq: record.seq, answer: record.answer, radius: record.radius, action: 'repeat', conflictSeq: record.seq, record };
  }

  /** Records with seq > afterSeq in order, read from the log. */
  async *records(afterSeq = 0): AsyncGenerator<DecisionRecord> {
    for (let seq = Math.max(1, Math.floor(afterSeq) + 1); seq <= this.durableCount; seq++) {
      yield this.readRecord(seq)!;
    }
  }

  /** Indices (seq - 1) of every record with exact distance < reach(radius, R_i): for tests and benchmarks. */
  conflictCandidates(input: Float32Array, radius: number): number[] {
    if (!this.index) return [];
    return this.exactCandidates(this.prepare(input), () => radius).map((c) => c.seq - 1);
  }

  /** The search helper's counts (SequentialMemoryOptions.searchHelper; null without one or before the first record). */
  get searchHelperCounts(): { answered: number; takenBack: number } | null {
    return this.index?.helperCounts ?? null;
  }

  /** Resolves once the search helper, if any, takes part in searches (tests and benchmarks wait for it). */
  searchHelperReady(): Promise<void> {
    return this.index?.helperReady() ?? Promise.resolve();
  }

  /** The background merges' counts (SequentialMemoryOptions.backgroundMerges; null without them or before the first record). */
  get mergeCounts(): MergeCounts | null {
    return this.index?.mergeCounts ?? null;
  }

  /** Resolves once no background merge is in flight (tests and benchmarks wait for them). */
  mergesSettled(): Promise<void> {
    return this.index?.mergesSettled() ?? Promise.resolve();
  }

  /** Waits for queued decisions, then closes the log. Every resolved decision is already fsynced. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing) await this.idle;
    this.index?.close();
    await this.log.close();
  }

  // --- the writer ----------------------------------------------------------------------------

  private async drain(): Promise<void> {
    this.writing = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    let group: Pending[] = [];
    try {
      while (this.queue.size > 0 && !this.failure) {
        group = [];
        const frames: Uint8Array[] = [];
        const outcomes: MemoryOutcome[] = [];
        while (group.length < this.maxGroup && this.queue.size > 0) {
          const item = this.queue.take()!;
          group.push(item);
          try {
            outcomes.push(this.decideNow(item.proposal, frames));
          } catch (error) {
            // A proposal that cannot be recorded is refused alone; it changed nothing.
            if (!(error instanceof MemoryInputError)) throw error;
            group.pop();
            item.reject(error);
          }
        }
        this.observer.onQueueDepth?.({ model: this.model, norm: this.norm, depth: this.queue.size });
        try {
          if (frames.length > 0) {
            const t0 = performance.now();
            await this.log.append(concat(frames));
            const t1 = performance.now();
            await this.log.fsync();
            this.observer.onGroupCommit?.({ model: this.model, norm: this.norm, records: frames.length, writeMs: t1 - t0, fsyncMs: performance.now() - t1 });
          }
        } catch (error) {
          this.fail(error as Error, group);
          break;
        }
        this.unwritten.clear();
        this.durableCount = this.count;
        group.forEach((item, i) => item.resolve(outcomes[i]));
        if (this.index?.maintenanceDue) await this.maintain();
      }
    } catch (error) {
      // A broken invariant in the decision code: nothing of this group was written.
      this.fail(error as Error, group);
    } finally {
      this.writing = false;
      this.markIdle();
    }
  }

  /**
   * Merges the index's due segments once the answers just resolved are on their way (after the
   * next turn of the event loop): a merge of large segments takes tens of milliseconds, which no
   * answer should wait for. Decisions that arrive meanwhile queue and are taken next.
   */
  private async maintain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    const started = performance.now();
    const merges = this.index!.maintain();
    this.observer.onMaintenance?.({ model: this.model, norm: this.norm, merges, ms: performance.now() - started });
  }

  /** After a failed write the in-memory state may be ahead of the file: refuse until reopened. */
  private fail(error: Error, group: Pending[]): void {
    this.failure = error;
    this.observer.onFailure?.({ model: this.model, norm: this.norm, error });
    const refusal = new MemoryUnavailableError(error.message);
    for (const item of group) item.reject(refusal);
    for (let item = this.queue.take(); item; item = this.queue.take()) item.reject(refusal);
  }

  private validate(proposal: Proposal): void {
    const { input, base } = proposal;
    if (proposal.model !== this.model || proposal.norm !== this.norm) {
      throw new MemoryInputError(`proposal for ${proposal.model}/${proposal.norm} sent to the memory of ${this.model}/${this.norm}`);
    }
    if (!(input instanceof Float32Array) || input.length === 0) throw new MemoryInputError('input must be a non-empty Float32Array');
    if (this.inputLength !== 0 && input.length !== this.inputLength) {
      throw new MemoryInputError(`input has ${input.length} values; this memory stores inputs of ${this.inputLength}`);
    }
    for (let i = 0; i < input.length; i++) if (!Number.isFinite(input[i])) throw new MemoryInputError(`input[${i}] is not finite`);
    if (base.answer !== null && !(Number.isInteger(base.answer) && base.answer >= 0)) throw new MemoryInputError(`bad answer ${base.answer}`);
    if (!(Number.isFinite(base.radius) && base.radius >= 0)) throw new MemoryInputError(`bad radius ${base.radius}`);
  }

  /** Steps 1-3 of DESIGN 2 for one proposal; appends its frame to `frames` unless it is a repeat. */
  private decideNow(proposal: Proposal, frames: Uint8Array[]): MemoryOutcome {
    const started = performance.now();
    const input = proposal.input.byteOffset % 4 === 0 ? proposal.input : new Float32Array(proposal.input);
    if (this.inputLength === 0) this.setInputLength(input.length);
    const hash = inputHash(input);
    const repeatOf = this.findRepeat(input, hash);
    if (repeatOf !== null) {
      const record = this.recordAt(repeatOf);
      this.observer.onDecision?.({
        model: this.model, norm: this.norm, seq: record.seq, action: 'repeat', answer: record.answer, radius: record.radius,
        overlaps: 0, candidates: 0, size: this.count, decideMs: performance.now() - started, startedAt: started, insertMs: 0,
      });
      return { seq: record.seq, answer: record.answer, radius: record.radius, action: 'repeat', conflictSeq: record.seq, record };
    }

    const base = { answer: proposal.base.answer, radius: proposal.base.answer === null ? 0 : proposal.base.radius };
    // Projected and sketch-quantized once for the two or three searches of applyRules.
    const query = this.prepare(input);
    const { rules, examined } = this.applyRules(base, query);
    this.noteConflict(base.answer, rules);

    const seq = this.count + 1;
    const decideMs = performance.now() - started;
    const metadata: StoredMetadata = {
      seq,
      model: this.model,
      norm: this.norm,
      answer: rules.answer,
      radius: rules.radius,
      sigma: proposal.base.sigma,
      seed: proposal.seed,
      time: this.clock().toISOString(),
      action: rules.action,
      conflictSeq: rules.conflictSeq,
      rulesVersion: RULES_VERSION,
      base: proposal.base,
      params: proposal.params,
      timingsMs: { ...proposal.timingsMs, memoryDecide: decideMs },
      ...(proposal.requestId !== undefined ? { requestId: proposal.requestId } : {}),
      ...(proposal.clientId !== undefined ? { clientId: proposal.clientId } : {}),
    };
    let frame: Uint8Array;
    try {
      frame = encodeFrame(seq, rules.answer, rules.radius, input, metadata);
    } catch (error) {
      throw new MemoryInputError(`the decision cannot be recorded: ${(error as Error).message}`);
    }
    // Checksum verified on write: the frame must decode to exactly what was decided.
    const check = decodeFrame(frame, 0);
    if (check.seq !== seq || check.radius !== rules.radius || check.answer !== rules.answer || !sameBits(check.input, input)) {
      throw new Error(`frame of seq ${seq} does not round-trip`);
    }
    frames.push(frame);
    const record: DecisionRecord = { ...metadata, input: new Float32Array(input) };
    this.unwritten.set(seq - 1, record);
    const inserting = performance.now();
    this.add(this.nextOffset, rules.answer, rules.radius, hash, input, query.projected, true);
    const insertMs = performance.now() - inserting;
    this.nextOffset += frame.length;
    this.observer.onDecision?.({
      model: this.model, norm: this.norm, seq, action: rules.action, answer: rules.answer, radius: rules.radius,
      overlaps: rules.overlaps, candidates: examined, size: this.count, decideMs, startedAt: started, insertMs,
    });
    return { seq, answer: rules.answer, radius: rules.radius, action: rules.action, conflictSeq: rules.conflictSeq, record };
  }

  /**
   * Computes and discards the decisions of up to `decisions` stored records spread over the log
   * (each proposing its stored answer and radius), within WARMUP_MAX_MS, with the search helper
   * taking part. After a replay neither thread has run the decision's code: on a replayed memory
   * of 10^6 records decided back to back, the first thousand decisions had a p99 of 2.1-3.5 ms
   * against 1.7-1.8 ms for the next thousand, whatever the pause after the replay
   * (docs/benchmarks.md, "Warm-up after a replay"). It reads the index and the log and changes
   * neither.
   */
  private async warmUp(decisions: number): Promise<{ decisions: number; ms: number }> {
    if (decisions <= 0 || this.count === 0 || this.log.readOnly) return { decisions: 0, ms: 0 };
    // A helper that failed to start has warned; the warm-up then warms this thread alone.
    await this.searchHelperReady().catch(() => {});
    const started = performance.now();
    let done = 0;
    while (done < decisions && performance.now() - started < WARMUP_MAX_MS) {
      const index = Math.floor(((done + 0.5) * this.count) / decisions);
      // A copy: inputAt's buffer is reused for the candidates' inputs.
      const input = new Float32Array(this.inputAt(index));
      const answer = this.answers[index];
      this.applyRules({ answer: answer < 0 ? null : answer, radius: answer < 0 ? 0 : this.radii[index] }, this.prepare(input));
      done++;
    }
    return { decisions: done, ms: performance.now() - started };
  }

  /** Steps 2-3 of DESIGN 2: the decision for a proposal that is not a repeat (reads the index only). */
  private applyRules(base: { answer: number | null; radius: number }, query: PreparedInput): { rules: RuleOutcome; examined: number } {
    // Regions of the proposed answer matter only if they contain x (radius 0). They are searched
    // first: one that holds x deep inside enlarges the ball (DESIGN 2), and then the other
    // answers are searched once, with the enlarged radius, rather than twice. That search finds
    // every region of another answer that contains x, so a relabel is decided without another.
    // A ball nested deep enough in one of them needs no search of the others at all.
    const baseKey = answerKey(base.answer);
    const own = this.exactCandidates(query, (a) => (a === baseKey ? 0 : null));
    const ownPlan = planDecision(base, own);
    const margin = nestedMargin(this.largestRadius, this.inputLength);
    const nested = nestedOutcome(base, ownPlan, margin);
    if (nested) return { rules: nested, examined: own.length };
    const candidates = [...own, ...this.cappingCandidates(query, baseKey, ownPlan.upper)];
    const plan = planDecision(base, candidates);
    const rules = plan.action === 'relabel' ? relabelOutcome(plan, margin) : finishDecision(base, plan, candidates);
    return { rules, examined: candidates.length };
  }

  /** Which answer decided a relabel or a shrink (see ConflictOrder). */
  private noteConflict(proposed: number | null, rules: RuleOutcome): void {
    if (rules.action === 'relabel') this.conflictOrder.record(answerKey(proposed), answerKey(rules.answer));
    if (rules.action === 'shrink') this.conflictOrder.record(answerKey(proposed), this.answers[rules.conflictSeq! - 1]);
  }

  // --- the index -----------------------------------------------------------------------------

  private setInputLength(length: number): void {
    this.inputLength = length;
    this.index = new RegionIndex(length, { searchHelper: this.searchHelper, backgroundMerges: this.backgroundMerges });
    this.sketches = new InputSketches(length, this.norm);
    if (this.replaySummary) this.index.build(); // created after the replay: adds are online from the start
  }

  /** Replay: one stored frame. */
  private load(offset: number, frame: ReturnType<typeof decodeFrame>): void {
    if (this.inputLength === 0) this.setInputLength(frame.input.length);
    if (frame.input.length !== this.inputLength) {
      throw new Error(`${this.path}: record ${frame.seq} has ${frame.input.length} input values, expected ${this.inputLength}`);
    }
    if (this.log.readOnly) {
      // Export, verify and audit only read records back: offsets suffice, no index is built.
      this.addOffsetOnly(offset, frame.answer, frame.radius);
    } else {
      const projected = this.index!.project(frame.input, true);
      this.add(offset, frame.answer, frame.radius, inputHash(frame.input), frame.input, projected, false);
    }
    this.durableCount = this.count;
  }

  /** Replay in workers: one batch of checked, projected and sketched records. */
  private loadBatch(batch: ReplayBatch): void {
    if (this.inputLength === 0) this.setInputLength(batch.inputLength);
    if (batch.inputLength !== this.inputLength) {
      throw new Error(`${this.path}: record ${batch.seqs[0]} has ${batch.inputLength} input values, expected ${this.inputLength}`);
    }
    const { embeddingLength: width, fineLength, codeWidth } = batch;
    let grid: CodeGrid | null = null;
    for (let i = 0; i < batch.count; i++) {
      const answer = batch.answers[i] < 0 ? null : batch.answers[i];
      const index = this.addOffsetOnly(batch.offsets[i], answer, batch.radii[i]);
      this.addHash(batch.hashes[i], index);
      const embedding = batch.embeddings.subarray(i * width, (i + 1) * width);
      if (i < batch.fineCount) {
        this.index!.addEmbedding(embedding, answer, batch.radii[i], batch.fine.subarray(i * fineLength, (i + 1) * fineLength), null);
        continue;
      }
      if (grid === null) {
        // The projector's grid, fitted to the same records: checked once per batch to be the index's.
        grid = this.index!.codeGrid;
        if (!grid || !batch.grid || !sameGrid(grid, batch.grid)) throw new Error(`${this.path}: record ${batch.seqs[i]} was coded on a grid the index did not fit`);
      }
      const codes = batch.codes.subarray(i * codeWidth, (i + 1) * codeWidth);
      this.index!.addEmbedding(embedding, answer, batch.radii[i], null, { codes, error: batch.codeErrors[i], grid });
    }
    this.sketches!.addSketches(batch.count, batch.sketches, batch.sketchColumns);
    this.durableCount = this.count;
  }

  private addOffsetOnly(offset: number, answer: number | null, radius: number): number {
    const index = this.count;
    if (index === this.offsets.length) {
      this.offsets = grow(this.offsets, Float64Array);
      this.answers = grow(this.answers, Int32Array);
      this.radii = grow(this.radii, Float64Array);
    }
    this.offsets[index] = offset;
    this.answers[index] = answer === null ? -1 : answer;
    this.radii[index] = radius;
    this.largestRadius = Math.max(this.largestRadius, radius);
    this.count++;
    return index;
  }

  private add(
    offset: number, answer: number | null, radius: number, hash: number, input: Float32Array, projected: Float64Array, online: boolean,
  ): void {
    const index = this.addOffsetOnly(offset, answer, radius);
    this.addHash(hash, index);
    this.sketches!.add(input);
    this.index!.add(projected, answer, radius, online);
  }

  private addHash(hash: number, index: number): void {
    this.byHash.add(hash, index);
  }

  private findRepeat(input: Float32Array, hash: number): number | null {
    return this.byHash.find(hash, (index) => sameBits(this.inputAt(index), input));
  }

  /** The stored input of record `index`: valid until the next call (it is read into one reused buffer). */
  private inputAt(index: number): Float32Array {
    const pending = this.unwritten.get(index);
    if (pending) return pending.input;
    if (this.readInput.length !== this.inputLength) {
      this.readInput = new Float32Array(this.inputLength);
      this.readBytes = new Uint8Array(this.readInput.buffer);
    }
    this.log.file.read(this.offsets[index] + INPUT_OFFSET_IN_FRAME, this.readBytes.length, this.readBytes);
    return this.readInput;
  }

  private recordAt(index: number): DecisionRecord {
    return this.unwritten.get(index) ?? this.readStored(index + 1);
  }

  /** An input with what every search of it needs: its projection and its sketch bounds. */
  private prepare(input: Float32Array): PreparedInput {
    const projected = this.index!.project(input);
    return { input, projected, regions: this.index!.prepare(projected), sketches: this.sketches!.query(input) };
  }

  /** Every record with exact distance < reach(radiusOf(its answer), R_i). */
  private exactCandidates(query: PreparedInput, radiusOf: RadiusByAnswer): Candidate[] {
    const out: Candidate[] = [];
    this.index!.search(query.regions, radiusOf, (ids, answer) => {
      const r = radiusOf(answer)!; // only trees with a radius are searched
      for (const id of ids) this.checkCandidate(query, id, r, out);
    });
    return out;
  }

  /**
   * Regions of every answer but `ownKey` that decide step 3 for a ball of radius `upper` at the
   * input: those with the smallest cap below `upper` (the binding region and its ties) and every
   * one that contains the input, possibly with others. `known` are such regions found before.
   * The search bound is the smallest cap found so far, never below 0 (so that no region holding
   * the input is missed): it falls as the search goes, tree by tree, and later trees are searched
   * with less.
   */
  private cappingCandidates(query: PreparedInput, ownKey: AnswerKey, upper: number, known: readonly Candidate[] = []): Candidate[] {
    const out = [...known];
    const seen = new Set(known.map((c) => c.seq));
    let bound = upper;
    for (const c of known) bound = Math.max(0, Math.min(bound, capRadius(c.distance, c.radius)));
    // No tree of ownKey is searched (radiusOf is null for it), so every id is of another answer:
    // not reading answers[id] here saves a random read from RAM per candidate.
    const check = (ids: readonly number[]) => {
      for (const id of ids) {
        if (seen.size > 0 && seen.has(id + 1)) continue;
        const found = this.checkCandidate(query, id, bound, out);
        if (found !== null) bound = Math.max(0, Math.min(bound, capRadius(found.distance, found.radius)));
      }
    };
    // The answers that usually conflict with this one first: the bound falls sooner.
    this.index!.search(query.regions, (answer) => (answer === ownKey ? null : bound), check, this.conflictOrder.first(ownKey));
    return out;
  }

  /** Appends record `id` to `out` (and returns it) if its exact distance is below reach(r, R). */
  private checkCandidate({ input, sketches }: PreparedInput, id: number, r: number, out: Candidate[]): Candidate | null {
    const R = this.radii[id];
    const bound = reach(r, R);
    if (sketches.beyond(id, bound)) return null;
    const d = distance(input, this.inputAt(id), this.norm);
    if (!(d < bound)) return null;
    const stored = this.answers[id];
    const candidate = { seq: id + 1, answer: stored < 0 ? null : stored, radius: R, distance: d };
    out.push(candidate);
    return candidate;
  }
}

function grow<T extends Float64Array | Int32Array>(array: T, Kind: { new (n: number): T }): T {
  const bigger = new Kind(array.length * 2);
  bigger.set(array);
  return bigger;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
