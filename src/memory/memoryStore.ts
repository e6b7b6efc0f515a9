// Opens one sequential memory per (model, norm) under a data directory:
// <dataDir>/<model>/<norm>.log. Routes proposals, exports, audits.
import { join } from 'node:path';
import { DataDirLock } from './dataDirLock.js';
import { RealDisk, type Disk } from './disk.js';
import { MemoryClosedError, MemoryInputError } from './errors.js';
import { toExportRecord, type ExportRecord } from './exportRecord.js';
import type { MemoryObserver } from './observer.js';
import { SequentialMemory } from './sequentialMemory.js';
import type { DecisionRecord, MemoryOutcome, Norm, Proposal } from './types.js';
import { verifyRecords, type VerifyOptions, type VerifyReport } from './verify.js';

export const NORMS: readonly Norm[] = ['l2', 'l1'];
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface MemoryStoreOptions {
  dataDir: string;
  disk?: Disk;
  queueCapacity?: number;
  maxGroup?: number;
  observer?: MemoryObserver;
  /**
   * Export / verify / audit without writing (a torn tail is reported, not truncated). A
   * read-only store does not take the data directory's lock, so it may run beside the writer.
   */
  readOnly?: boolean;
  /** Memories search their index on a second thread as well (SequentialMemoryOptions.searchHelper). */
  searchHelper?: boolean;
  /** Memories merge their index's segments on a thread of their own (SequentialMemoryOptions.backgroundMerges). */
  backgroundMerges?: boolean;
  /** Decisions computed after each replay before the memory serves (SequentialMemoryOptions.warmupDecisions). */
  warmupDecisions?: number;
}

export interface ExportOptions {
  norm?: Norm;
  /** Only records with seq > after (per norm). */
  after?: number;
}

export function memoryPath(dataDir: string, model: string, norm: Norm): string {
  if (!MODEL_NAME.test(model)) throw new MemoryInputError(`model name ${JSON.stringify(model)} cannot name a memory`);
  if (!NORMS.includes(norm)) throw new MemoryInputError(`unknown norm ${JSON.stringify(norm)}`);
  return join(dataDir, model, `${norm}.log`);
}

/**
 * A writable store holds the exclusive lock on its data directory (DataDirLock) from the first
 * memory it opens until close(): a second writer, in this process or another, is refused with
 * DataDirLockedError. A substituted Disk (faultDisk) has no real directory to lock.
 */
export class MemoryStore {
  private readonly disk: Disk;
  private readonly opening = new Map<string, Promise<SequentialMemory>>();
  private lock: Promise<DataDirLock> | null = null;
  private closed = false;

  constructor(private readonly options: MemoryStoreOptions) {
    this.disk = options.disk ?? new RealDisk();
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** The memory of (model, norm), opened and replayed on first use. */
  memory(model: string, norm: Norm): Promise<SequentialMemory> {
    if (this.closed) return Promise.reject(new MemoryClosedError());
    const path = memoryPath(this.options.dataDir, model, norm);
    let memory = this.opening.get(path);
    if (!memory) {
      memory = this.lockForWriting().then(() => SequentialMemory.open({
        disk: this.disk, path, model, norm, queueCapacity: this.options.queueCapacity, maxGroup: this.options.maxGroup,
        observer: this.options.observer, readOnly: this.options.readOnly, searchHelper: this.options.searchHelper,
        backgroundMerges: this.options.backgroundMerges, warmupDecisions: this.options.warmupDecisions,
      }));
      this.opening.set(path, memory);
      memory.catch(() => this.opening.delete(path));
    }
    return memory;
  }

  /** Takes the data directory's lock once, before the first writable log is opened. */
  private async lockForWriting(): Promise<void> {
    if (this.options.readOnly || !(this.disk instanceof RealDisk)) return;
    if (!this.lock) {
      const acquiring = DataDirLock.acquire(this.options.dataDir);
      this.lock = acquiring;
      // A refused or failed attempt is not remembered: a later memory() call tries again.
      acquiring.catch(() => {
        if (this.lock === acquiring) this.lock = null;
      });
    }
    await this.lock;
  }

  /** Passes the proposal through its memory; resolves once durable (see SequentialMemory.decide). */
  async decide(proposal: Proposal): Promise<MemoryOutcome> {
    const memory = await this.memory(proposal.model, proposal.norm);
    return memory.decide(proposal);
  }

  /** The durable exact repeat of `input` in the memory of (model, norm), or null (see SequentialMemory.findDurableRepeat). */
  async findRepeat(model: string, norm: Norm, input: Float32Array): Promise<MemoryOutcome | null> {
    return (await this.memory(model, norm)).findDurableRepeat(input);
  }

  /** (model, norm) pairs that have a log under the data directory. */
  async list(model?: string): Promise<{ model: string; norm: Norm }[]> {
    const models = model !== undefined ? [model] : (await this.disk.list(this.options.dataDir)).filter((m) => MODEL_NAME.test(m)).sort();
    const out: { model: string; norm: Norm }[] = [];
    for (const m of models) {
      const files = await this.disk.list(join(this.options.dataDir, m));
      for (const norm of NORMS) if (files.includes(`${norm}.log`)) out.push({ model: m, norm });
    }
    return out;
  }

  /**
   * Export lines of `model` (DESIGN 3.3), oldest first; both norms (l2 then l1) unless one is
   * named. Also accepts (model, norm, afterSeq).
   */
  async *export(model: string, options: ExportOptions | Norm = {}, afterSeq?: number): AsyncGenerator<ExportRecord> {
    const opts: ExportOptions = typeof options === 'string' ? { norm: options, after: afterSeq } : options;
    for (const { norm } of await this.list(model)) {
      if (opts.norm !== undefined && opts.norm !== norm) continue;
      const memory = await this.memory(model, norm);
      for await (const record of memory.records(opts.after ?? 0)) yield toExportRecord(record);
    }
  }

  /** The stored record (checksum verified), or undefined if there is none with that seq. */
  async readRecord(model: string, norm: Norm, seq: number): Promise<DecisionRecord | undefined> {
    if (!(await this.list(model)).some((m) => m.norm === norm)) return undefined;
    return (await this.memory(model, norm)).readRecord(seq);
  }

  /** Brute-force audit of every stored memory (or of one model / norm). */
  async verify(filter: { model?: string; norm?: Norm } = {}, options: VerifyOptions = {}): Promise<VerifyReport> {
    const report: VerifyReport = { memories: [], problems: [], ok: true };
    for (const { model, norm } of await this.list(filter.model)) {
      if (filter.norm !== undefined && filter.norm !== norm) continue;
      const memory = await this.memory(model, norm);
      const result = await verifyRecords(model, norm, memory.records(0), options);
      report.memories.push({ model, norm, records: result.records });
      report.problems.push(...result.problems);
    }
    report.ok = report.problems.length === 0;
    return report;
  }

  /**
   * Drains every queue (each resolved decision is already fsynced), closes the logs, then
   * releases the data directory's lock (never before the last write is closed).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const memories = await Promise.allSettled(this.opening.values());
      for (const m of memories) if (m.status === 'fulfilled') await m.value.close();
    } finally {
      const lock = await this.lock?.catch(() => null);
      await lock?.release();
    }
  }
}
