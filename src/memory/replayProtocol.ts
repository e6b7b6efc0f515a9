// Messages of a replay in worker threads: the reader (replayReader.ts) reads and checks the
// frames of one log and hands batches of raw inputs to the projector (replayProjector.ts),
// which projects, codes and sketches them for the memory's thread, which only indexes. Order is kept
// end to end (one reader, one projector, FIFO ports).
import type { MessagePort } from 'node:worker_threads';
import type { CodeGrid } from './codeGrid.js';
import type { SketchColumns } from './inputSketches.js';
import type { Norm } from './types.js';

export interface ReplayReaderData {
  path: string;
  /** Byte offset of the first frame. */
  fromOffset: number;
  batchRecords: number;
  /** Batches sent and not yet acknowledged by the memory's thread: the reader waits beyond this (bounded memory). */
  maxBatchesInFlight: number;
  /** Where the batches go (the projector's port). */
  out: MessagePort;
}

export interface ReplayProjectorData {
  norm: Norm;
  /** Where the reader's batches come from. */
  in: MessagePort;
}

/** Fields of every record of a batch, in log order. */
interface RecordFields {
  count: number;
  inputLength: number;
  offsets: Float64Array;
  seqs: Float64Array;
  answers: Int32Array;
  radii: Float64Array;
  hashes: Float64Array;
}

/** Reader -> projector: the records with their inputs (count x inputLength). */
export interface ReadBatch extends RecordFields {
  kind: 'read';
  /** In a buffer that the projector passes on to the memory's thread, which gives it back to the reader with its acknowledgement, to be filled again (replayReader.ts). */
  inputs: Float32Array;
}

/** Projector -> memory's thread: the records, projected and sketched. */
export interface ReplayBatch extends RecordFields {
  kind: 'batch';
  embeddingLength: number;
  /** count x embeddingLength: the projection's embedding of each input (projection.ts). */
  embeddings: Float32Array;
  fineLength: number;
  /**
   * The first fineCount records of the batch are among the index's first ROTATION_SAMPLE: their
   * fine embeddings (fineCount x fineLength; the index fits its code grid to them). The others
   * come with codes (count x codeWidth, rows of the first fineCount unused) and code errors,
   * on `grid`, which the projector fitted to the same records the same way.
   */
  fineCount: number;
  fine: Float64Array;
  codeWidth: number;
  codes: Int8Array;
  codeErrors: Float64Array;
  grid: CodeGrid | null;
  /** count x inputLength: the 8-bit sketch of each input, and its numbers (inputSketches.ts). */
  sketches: Uint8Array;
  sketchColumns: SketchColumns;
  /** The reader's batch's inputs, passed on to go back to it (ReplayAck). */
  inputs: Float32Array;
}

/** The frames end at `endOffset`: the file's end, or the first damaged frame (`damage`). */
export interface ReplayEnd {
  kind: 'end';
  endOffset: number;
  damage: string | null;
}

export interface ReplayFailure {
  kind: 'failure';
  message: string;
}

export type FromReader = ReadBatch | ReplayEnd | ReplayFailure;
export type FromProjector = ReplayBatch | ReplayEnd | ReplayFailure;

/** The memory's thread acknowledges each batch to the reader once indexed. */
export interface ReplayAck {
  kind: 'ack';
  /** The batch's input buffer, back to the reader (transferred). */
  inputs: ArrayBuffer;
}
