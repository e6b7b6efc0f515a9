// Replay worker: reads a log from `fromOffset`, checks every frame (magic, length, CRC-32C)
// and projects each input, so that the memory's thread only indexes. It stops at the end of
// the file or at the first damaged frame, which it reports; what damage means (torn tail or
// corruption) is decided by the log (decisionLog.ts), as in a replay on one thread.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inputHash } from './distance.js';
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

class BatchBuilder {
  batch: ReplayBatch;
  constructor(readonly inputLength: number, readonly width: number, readonly capacity: number) {
    this.batch = this.fresh();
  }

  private fresh(): ReplayBatch {
    const n = this.capacity;
    return {
      kind: 'batch', count: 0, inputLength: this.inputLength, embeddingLength: this.width,
      offsets: new Float64Array(n), seqs: new Float64Array(n), answers: new Int32Array(n), radii: new Float64Array(n),
      hashes: new Float64Array(n), embeddings: new Float32Array(n * this.width),
    };
  }

  get full(): boolean {
    return this.batch.count === this.capacity;
  }

  take(): { batch: ReplayBatch; transfer: ArrayBuffer[] } {
    const b = this.batch;
    this.batch = this.fresh();
    const transfer = [b.offsets, b.seqs, b.answers, b.radii, b.hashes, b.embeddings].map((a) => a.buffer as ArrayBuffer);
    return { batch: b, transfer };
  }
}

async function flush(builder: BatchBuilder): Promise<void> {
  if (builder.batch.count === 0) return;
  const { batch, transfer } = builder.take();
  post(batch, transfer);
  posted++;
  while (posted - acknowledged >= data.maxBatchesInFlight) await new Promise<void>((resolve) => (wakeUp = resolve));
  wakeUp = null;
}

async function run(): Promise<void> {
  const fd = openSync(data.path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    let offset = data.fromOffset;
    let projection: BlockProjection | null = null;
    let builder: BatchBuilder | null = null;
    let point = new Float64Array(0);
    let scratch: Float32Array | undefined;
    let damage: string | null = null;
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(0, fileSize - offset)));
    while (offset < fileSize && damage === null) {
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
      while (at < length) {
        const check = checkFrame(bytes, at);
        if (!check.ok) {
          if (check.incomplete && !reachesEnd) break; // straddles the chunk end: re-read from here
          damage = check.reason;
          break;
        }
        const frame = decodeFrame(bytes, at, scratch);
        scratch = frame.input;
        if (!projection) {
          projection = makeProjection(frame.input.length);
          point = new Float64Array(pointLength(projection));
          builder = new BatchBuilder(frame.input.length, embeddingLength(projection), data.batchRecords);
        }
        if (frame.input.length !== builder!.inputLength) {
          await flush(builder!); // the records before it are valid and in order
          throw new Error(`${data.path}: record ${frame.seq} has ${frame.input.length} input values, expected ${builder!.inputLength}`);
        }
        const b = builder!.batch;
        const i = b.count++;
        b.offsets[i] = offset + at;
        b.seqs[i] = frame.seq;
        b.answers[i] = frame.answer === null ? -1 : frame.answer;
        b.radii[i] = frame.radius;
        b.hashes[i] = inputHash(frame.input);
        project(projection, frame.input, point);
        for (let k = 0; k < builder!.width; k++) b.embeddings[i * builder!.width + k] = point[k];
        at += check.length;
        if (builder!.full) await flush(builder!);
      }
      if (at === 0 && damage === null && !reachesEnd) throw new Error(`${data.path}: frame at ${offset} exceeds the read chunk`);
      offset += at;
    }
    if (builder) await flush(builder);
    post({ kind: 'end', endOffset: offset, damage });
  } finally {
    closeSync(fd);
  }
}

run().catch((error: Error) => post({ kind: 'failure', message: error.message }));
