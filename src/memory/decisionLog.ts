// The append-only log of one memory: replay on open (torn tail truncated and reported,
// corruption before the tail refused with the byte offset), group appends, checked reads.
import { MessageChannel } from 'node:worker_threads';
import type { Disk, LogFile } from './disk.js';
import type { Norm } from './types.js';
import { LogCorruptionError } from './errors.js';
import {
  CHUNK_BYTES, FILE_HEADER_BYTES, FRAME_HEADER_BYTES, FRAME_MAGIC, MAX_PAYLOAD_BYTES, checkFileHeader, checkFrame, decodeFrame, fileHeader,
  type FrameFields,
} from './logFormat.js';
import type { FromProjector, ReplayAck, ReplayBatch, ReplayEnd, ReplayProjectorData, ReplayReaderData } from './replayProtocol.js';
import { spawnModuleWorker } from '../util/moduleWorker.js';

export interface TornTail {
  offset: number;
  bytes: number;
  reason: string;
}

export interface ReplaySummary {
  records: number;
  lastSeq: number;
  endOffset: number;
  /** The damaged tail that was (or, read-only, would be) truncated. */
  tornTail: TornTail | null;
}

/** Called for each valid frame in order; `bytes`/`at` locate the frame (valid only during the call). */
export type FrameVisitor = (offset: number, bytes: Uint8Array, at: number, length: number) => void;

export class DecisionLog {
  private constructor(
    readonly file: LogFile,
    readonly readOnly: boolean,
  ) {}

  static async open(disk: Disk, path: string, readOnly = false): Promise<DecisionLog> {
    const file = await disk.open(path);
    const log = new DecisionLog(file, readOnly);
    if (file.size() < FILE_HEADER_BYTES) {
      // New file, or a crash while it was being created: (re)write the header.
      if (file.size() > 0 && !readOnly) await file.truncate(0);
      if (!readOnly) {
        await file.append(fileHeader());
        await file.fsync();
      }
    } else {
      const problem = checkFileHeader(file.read(0, FILE_HEADER_BYTES));
      if (problem) {
        await file.close();
        throw new LogCorruptionError(path, 0, problem);
      }
    }
    return log;
  }

  get path(): string {
    return this.file.path;
  }

  size(): number {
    return this.file.size();
  }

  /**
   * Visits every valid frame; asserts seq = previous + 1 starting at 1. A damaged tail is
   * truncated (unless read-only) and reported; damage followed by a valid frame throws.
   */
  async replay(visit: FrameVisitor): Promise<ReplaySummary> {
    const fileSize = this.file.size();
    let offset = FILE_HEADER_BYTES;
    let records = 0;
    let lastSeq = 0;
    let tornTail: TornTail | null = null;
    while (offset < fileSize) {
      // A chunk always holds at least one whole frame of the largest allowed size.
      const chunk = this.file.read(offset, Math.min(CHUNK_BYTES, fileSize - offset));
      const chunkReachesEnd = offset + chunk.length >= fileSize;
      let at = 0;
      let damage: string | null = null;
      while (at < chunk.length) {
        const check = checkFrame(chunk, at);
        if (!check.ok) {
          if (check.incomplete && !chunkReachesEnd) break; // straddles the chunk end: re-read from here
          damage = check.reason;
          break;
        }
        const seq = new DataView(chunk.buffer, chunk.byteOffset).getFloat64(at + FRAME_HEADER_BYTES, true);
        if (seq !== lastSeq + 1) {
          throw new LogCorruptionError(this.path, offset + at, `sequence ${seq} follows ${lastSeq} (expected ${lastSeq + 1})`);
        }
        visit(offset + at, chunk, at, check.length);
        lastSeq = seq;
        records++;
        at += check.length;
      }
      offset += at;
      if (damage !== null) {
        tornTail = await this.settleDamage(offset, damage);
        break;
      }
    }
    return { records, lastSeq, endOffset: offset, tornTail };
  }

  /**
   * The same replay with the reading and checking (replayReader.ts) and the projecting and
   * sketching (replayProjector.ts) done by two worker threads, batch by batch, in order; only for
   * logs that are real files (`file.osPath`). `visit` indexes each batch on this thread.
   */
  async replayInWorkers(norm: Norm, visit: (batch: ReplayBatch) => void, batchRecords: number): Promise<ReplaySummary> {
    const osPath = this.file.osPath;
    if (osPath === undefined) throw new Error(`${this.path}: a worker replay needs a real file`);
    const channel = new MessageChannel();
    const projectorData: ReplayProjectorData = { norm, in: channel.port2 };
    const projector = spawnModuleWorker(import.meta.url, 'replayProjector', projectorData, [channel.port2]);
    const readerData: ReplayReaderData = { path: osPath, fromOffset: FILE_HEADER_BYTES, batchRecords, maxBatchesInFlight: 4, out: channel.port1 };
    const reader = spawnModuleWorker(import.meta.url, 'replayReader', readerData, [channel.port1]);
    const workers = [reader, projector];
    let records = 0;
    let lastSeq = 0;
    try {
      const end = await new Promise<ReplayEnd>((resolve, reject) => {
        for (const worker of workers) {
          worker.on('error', reject);
          worker.on('exit', (code) => reject(new Error(`${this.path}: a replay worker exited (${code}) before the end`)));
        }
        projector.on('message', (message: FromProjector) => {
          if (message.kind === 'end') return resolve(message);
          if (message.kind === 'failure') return reject(new Error(message.message));
          try {
            for (let i = 0; i < message.count; i++) {
              const seq = message.seqs[i];
              if (seq !== lastSeq + i + 1) {
                throw new LogCorruptionError(this.path, message.offsets[i], `sequence ${seq} follows ${lastSeq + i} (expected ${lastSeq + i + 1})`);
              }
            }
            visit(message);
          } catch (error) {
            return reject(error);
          }
          records += message.count;
          lastSeq += message.count;
          const inputs = message.inputs.buffer as ArrayBuffer;
          reader.postMessage({ kind: 'ack', inputs } satisfies ReplayAck, [inputs]);
        });
      });
      const tornTail = end.damage === null ? null : await this.settleDamage(end.endOffset, end.damage);
      return { records, lastSeq, endOffset: end.endOffset, tornTail };
    } finally {
      for (const worker of workers) {
        worker.removeAllListeners('exit');
        await worker.terminate();
      }
    }
  }

  /** A damaged frame at `offset`: corruption if a valid frame follows (throws), else a torn tail (truncated unless read-only). */
  private async settleDamage(offset: number, damage: string): Promise<TornTail> {
    const validAfter = this.findValidFrameAfter(offset);
    if (validAfter !== null) {
      throw new LogCorruptionError(this.path, offset, `${damage} (a valid record follows at byte ${validAfter})`);
    }
    const tornTail = { offset, bytes: this.file.size() - offset, reason: damage };
    if (!this.readOnly) await this.file.truncate(offset);
    return tornTail;
  }

  /** Offset of the first frame after `offset` that passes its checksum, or null. */
  private findValidFrameAfter(offset: number): number | null {
    const fileSize = this.file.size();
    let position = offset + 1;
    while (position + FRAME_HEADER_BYTES <= fileSize) {
      const chunk = this.file.read(position, Math.min(CHUNK_BYTES, fileSize - position));
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const reachesEnd = position + chunk.length >= fileSize;
      // Only positions whose largest possible frame fits in this chunk are decided here.
      const decidable = reachesEnd ? chunk.length - FRAME_HEADER_BYTES : chunk.length - (MAX_PAYLOAD_BYTES + FRAME_HEADER_BYTES);
      for (let i = 0; i <= decidable; i++) {
        if (view.getUint32(i, true) === FRAME_MAGIC && checkFrame(chunk, i).ok) return position + i;
      }
      if (reachesEnd) return null;
      position += decidable + 1;
    }
    return null;
  }

  /** Appends frames (one write); durable only after fsync(). */
  async append(bytes: Uint8Array): Promise<void> {
    if (this.readOnly) throw new Error(`${this.path} is open read-only`);
    await this.file.append(bytes);
  }

  async fsync(): Promise<void> {
    await this.file.fsync();
  }

  /** Reads and checks (CRC-32C) the frame at `offset`. */
  readFrame(offset: number): FrameFields {
    const head = this.file.read(offset, FRAME_HEADER_BYTES);
    const payloadLength = new DataView(head.buffer).getUint32(4, true);
    const bytes = this.file.read(offset, FRAME_HEADER_BYTES + payloadLength);
    const check = checkFrame(bytes, 0);
    if (!check.ok) throw new LogCorruptionError(this.path, offset, check.reason);
    return decodeFrame(bytes, 0);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
