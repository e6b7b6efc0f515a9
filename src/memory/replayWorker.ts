// Replay worker: reads a log from `fromOffset`, checks every frame (magic, length, CRC-32C)
// and projects each input, so that the memory's thread only indexes. It stops at the end of
// the file or at the first damaged frame, which it reports; what damage means (torn tail or
// corruption) is decided by the log (decisionLog.ts), as in a replay on one thread.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inputHash } from './distance.js';
import { quantizeInput } from './inputSketches.js';
import { CHUNK_BYTES, checkFrame, decodeFrame } from './logFormat.js';
import { embeddingLength, makeProjection, pointLength, project, type BlockProjection } from './projection.js';
import type { FromReplayWorker, ReplayBatch, ReplayWorkerData } from './replayProtocol.js';

const data = workerData as ReplayWorkerData;
const port = parentPort!;
let acknowledged = 0;
let posted = 0;
let wakeUp: (() => void) | null = null;
port.on('message', () => {
  acknowledged++;
  wakeUp?.();
});

function post(message: FromReplayWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** Checks, decodes and projects frames into batches (synchronous: the hot loop stays out of the async function). */
class FrameReader {
  private projection: BlockProjection | null = null;
  private point = new Float64Array(0);
  private scratch: Float32Array | undefined;
  private width = 0;
  inputLength = 0;
  batch: ReplayBatch | null = null;
  damage: string | null = null;

  /**
   * Reads frames of `bytes` from `at` until the batch is full, the chunk ends (a frame that
   * straddles its end is left for the next read) or a frame is damaged; returns where it stopped.
   */
  read(bytes: Uint8Array, at: number, reachesEnd: boolean, fileOffset: number): number {
    while (at < bytes.length) {
      const check = checkFrame(bytes, at);
      if (!check.ok) {
        if (!(check.incomplete && !reachesEnd)) this.damage = check.reason;
        return at;
      }
      const frame = decodeFrame(bytes, at, this.scratch);
      this.scratch = frame.input;
      if (!this.projection) this.start(frame.input.length);
      if (frame.input.length !== this.inputLength) {
        throw new InputLengthError(`${data.path}: record ${frame.seq} has ${frame.input.length} input values, expected ${this.inputLength}`);
      }
      this.add(fileOffset + at, frame.seq, frame.answer, frame.radius, frame.input);
      at += check.length;
      if (this.batch!.count === data.batchRecords) return at;
    }
    return at;
  }

  /** The batch so far (null if empty), and a fresh one in its place. */
  take(): ReplayBatch | null {
    const b = this.batch;
    if (!b || b.count === 0) return null;
    this.batch = this.fresh();
    return b;
  }

  private start(inputLength: number): void {
    this.inputLength = inputLength;
    this.projection = makeProjection(inputLength);
    this.point = new Float64Array(pointLength(this.projection));
    this.width = embeddingLength(this.projection);
    this.batch = this.fresh();
  }

  private add(offset: number, seq: number, answer: number | null, radius: number, input: Float32Array): void {
    const b = this.batch!;
    const i = b.count++;
    b.offsets[i] = offset;
    b.seqs[i] = seq;
    b.answers[i] = answer === null ? -1 : answer;
    b.radii[i] = radius;
    b.hashes[i] = inputHash(input);
    project(this.projection!, input, this.point);
    const width = this.width;
    for (let k = 0; k < width; k++) b.embeddings[i * width + k] = this.point[k];
    const n = this.inputLength;
    const sketch = quantizeInput(input, b.sketches.subarray(i * n, (i + 1) * n), data.norm);
    b.sketchLow[i] = sketch.low;
    b.sketchStep[i] = sketch.step;
    b.sketchError[i] = sketch.error;
  }

  private fresh(): ReplayBatch {
    const n = data.batchRecords;
    return {
      kind: 'batch', count: 0, inputLength: this.inputLength, embeddingLength: this.width,
      offsets: new Float64Array(n), seqs: new Float64Array(n), answers: new Int32Array(n), radii: new Float64Array(n),
      hashes: new Float64Array(n), embeddings: new Float32Array(n * this.width),
      sketches: new Uint8Array(n * this.inputLength), sketchLow: new Float64Array(n), sketchStep: new Float64Array(n), sketchError: new Float64Array(n),
    };
  }
}

/** A record whose input length differs from the first one's: reported after the records before it. */
class InputLengthError extends Error {}

async function flush(reader: FrameReader): Promise<void> {
  const b = reader.take();
  if (!b) return;
  const transfer = [b.offsets, b.seqs, b.answers, b.radii, b.hashes, b.embeddings, b.sketches, b.sketchLow, b.sketchStep, b.sketchError]
    .map((a) => a.buffer as ArrayBuffer);
  post(b, transfer);
  posted++;
  while (posted - acknowledged >= data.maxBatchesInFlight) await new Promise<void>((resolve) => (wakeUp = resolve));
  wakeUp = null;
}

async function run(): Promise<void> {
  const fd = openSync(data.path, 'r');
  const reader = new FrameReader();
  try {
    const fileSize = fstatSync(fd).size;
    let offset = data.fromOffset;
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(0, fileSize - offset)));
    while (offset < fileSize && reader.damage === null) {
      const length = Math.min(chunk.length, fileSize - offset);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, chunk, done, length - done, offset + done);
        if (n === 0) throw new Error(`${data.path}: short read at ${offset + done}`);
        done += n;
      }
      const bytes = chunk.subarray(0, length);
      const reachesEnd = offset + length >= fileSize;
      let at = 0;
      for (;;) {
        const next = reader.read(bytes, at, reachesEnd, offset);
        const progressed = next > at;
        at = next;
        if (reader.batch && reader.batch.count === data.batchRecords) await flush(reader);
        if (!progressed || at >= length || reader.damage !== null) break;
      }
      if (at === 0 && reader.damage === null && !reachesEnd) throw new Error(`${data.path}: frame at ${offset} exceeds the read chunk`);
      offset += at;
    }
    await flush(reader);
    post({ kind: 'end', endOffset: offset, damage: reader.damage });
  } catch (error) {
    if (error instanceof InputLengthError) await flush(reader); // the records before it are valid and in order
    throw error;
  } finally {
    closeSync(fd);
  }
}

run().catch((error: Error) => post({ kind: 'failure', message: error.message }));
