import type { Norm } from './types.js';

// Messages of the replay worker (replayWorker.ts): it reads and checks the frames of one log
// and projects their inputs, in batches, while the memory's thread indexes earlier batches.

export interface ReplayWorkerData {
  path: string;
  /** The memory's norm (the error of the input sketches is measured in it). */
  norm: Norm;
  /** Byte offset of the first frame. */
  fromOffset: number;
  batchRecords: number;
  /** Batches posted and not yet acknowledged: the worker waits beyond this (bounded memory). */
  maxBatchesInFlight: number;
}

/** Records of one batch, in log order. */
export interface ReplayBatch {
  kind: 'batch';
  count: number;
  inputLength: number;
  embeddingLength: number;
  offsets: Float64Array;
  seqs: Float64Array;
  answers: Int32Array;
  radii: Float64Array;
  hashes: Float64Array;
  /** count x embeddingLength: the projection's embedding of each input (projection.ts). */
  embeddings: Float32Array;
  /** count x inputLength: the 8-bit sketch of each input, and its dequantization and error (inputSketches.ts). */
  sketches: Uint8Array;
  sketchLow: Float64Array;
  sketchStep: Float64Array;
  sketchError: Float64Array;
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

export type FromReplayWorker = ReplayBatch | ReplayEnd | ReplayFailure;

/** The memory's thread acknowledges each batch once indexed. */
export interface ReplayAck {
  kind: 'ack';
}
