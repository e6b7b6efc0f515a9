// Replay reader (worker thread): reads a log from `fromOffset`, checks every frame (magic,
// length, CRC-32C), decodes it and hashes its input, and sends batches to the projector. It
// stops at the end of the file or at the first damaged frame, which it reports; what damage
// means (torn tail or corruption) is decided by the log (decisionLog.ts), as in a replay on
// one thread.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inputHash } from './distance.js';
import { CHUNK_BYTES, checkFrame, decodeFrame } from './logFormat.js';
import type { FromReader, ReadBatch, ReplayAck, ReplayReaderData } from './replayProtocol.js';

const data = workerData as ReplayReaderData;
let acknowledged = 0;
let sent = 0;
let wakeUp: (() => void) | null = null;
/** Input buffers of acknowledged batches, back from the memory's thread, to be filled again. */
const returned: ArrayBuffer[] = [];
parentPort!.on('message', (ack: ReplayAck) => {
  acknowledged++;
  returned.push(ack.inputs);
  wakeUp?.();
});

function send(message: FromReader, transfer: ArrayBuffer[] = []): void {
  data.out.postMessage(message, transfer);
}

/** A record whose input length differs from the first one's: reported after the records before it. */
class InputLengthError extends Error {}

/** Checks and decodes frames into batches (synchronous: the hot loop stays out of the async function). */
class FrameReader {
  inputLength = 0;
  batch: ReadBatch | null = null;
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
      // Straight into the batch (a frame of another length gets an array of its own, and fails below).
      const room = this.batch?.inputs.subarray(this.batch.count * this.inputLength, (this.batch.count + 1) * this.inputLength);
      const frame = decodeFrame(bytes, at, room);
      if (this.inputLength === 0) {
        this.inputLength = frame.input.length;
        this.batch = this.fresh();
      }
      if (frame.input.length !== this.inputLength) {
        throw new InputLengthError(`${data.path}: record ${frame.seq} has ${frame.input.length} input values, expected ${this.inputLength}`);
      }
      const b = this.batch!;
      const i = b.count++;
      b.offsets[i] = fileOffset + at;
      b.seqs[i] = frame.seq;
      b.answers[i] = frame.answer === null ? -1 : frame.answer;
      b.radii[i] = frame.radius;
      b.hashes[i] = inputHash(frame.input);
      if (frame.input !== room) b.inputs.set(frame.input, i * this.inputLength);
      at += check.length;
      if (b.count === data.batchRecords) return at;
    }
    return at;
  }

  get full(): boolean {
    return this.batch !== null && this.batch.count === data.batchRecords;
  }

  /** The batch so far (null if empty), and a fresh one in its place. */
  take(): ReadBatch | null {
    const b = this.batch;
    if (!b || b.count === 0) return null;
    this.batch = this.fresh();
    return b;
  }

  private fresh(): ReadBatch {
    const n = data.batchRecords;
    return {
      kind: 'read', count: 0, inputLength: this.inputLength,
      offsets: new Float64Array(n), seqs: new Float64Array(n), answers: new Int32Array(n), radii: new Float64Array(n),
      hashes: new Float64Array(n), inputs: this.inputsBuffer(n * this.inputLength),
    };
  }

  /**
   * The inputs of the next batch: a buffer that came back with an acknowledgement if there is
   * one, else a new one. A fresh buffer of 13 MB per batch meant new pages to fault in on every
   * batch; buffers travel by transfer (reader, projector, memory's thread, reader), not shared,
   * since copies into a shared buffer take about three times as long. At most
   * maxBatchesInFlight + 1 exist: the reader fills one only while fewer than maxBatchesInFlight
   * are unacknowledged.
   */
  private inputsBuffer(length: number): Float32Array {
    for (let buffer = returned.pop(); buffer; buffer = returned.pop()) if (buffer.byteLength === 4 * length) return new Float32Array(buffer);
    return new Float32Array(length);
  }
}

async function flush(reader: FrameReader): Promise<void> {
  const b = reader.take();
  if (!b) return;
  send(b, [b.offsets, b.seqs, b.answers, b.radii, b.hashes, b.inputs].map((a) => a.buffer as ArrayBuffer));
  sent++;
  while (sent - acknowledged >= data.maxBatchesInFlight) await new Promise<void>((resolve) => (wakeUp = resolve));
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
        if (reader.full) await flush(reader);
        if (!progressed || at >= length || reader.damage !== null) break;
      }
      if (at === 0 && reader.damage === null && !reachesEnd) throw new Error(`${data.path}: frame at ${offset} exceeds the read chunk`);
      offset += at;
    }
    await flush(reader);
    send({ kind: 'end', endOffset: offset, damage: reader.damage });
  } catch (error) {
    if (error instanceof InputLengthError) await flush(reader); // the records before it are valid and in order
    throw error;
  } finally {
    closeSync(fd);
  }
}

run().catch((error: Error) => send({ kind: 'failure', message: error.message }));
