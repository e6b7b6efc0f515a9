// Replay projector (worker thread): projects, codes and sketches the inputs of the reader's
// batches for the memory's thread, in order, and passes on the reader's end or failure. It fits
// the code grid to the first ROTATION_SAMPLE records exactly as the index does (codeGrid.ts),
// ships those records' fine embeddings (the index fits its own grid to them) and codes the rest.
import { parentPort, workerData } from 'node:worker_threads';
import { codeWidth, encodePoint, fitGrid, type CodeGrid } from './codeGrid.js';
import { quantizeInput } from './inputSketches.js';
import {
  ROTATION_SAMPLE, embeddingLength, fineLength, fineOffset, makeProjection, pointLength, project, type BlockProjection,
} from './projection.js';
import type { FromProjector, FromReader, ReadBatch, ReplayBatch, ReplayProjectorData } from './replayProtocol.js';

const data = workerData as ReplayProjectorData;

let projection: BlockProjection | null = null;
let point = new Float64Array(0);
/** Records projected so far; the fine embeddings of the first ROTATION_SAMPLE, until the grid is fitted to them (as the index does). */
let projected = 0;
let fineSample: Float64Array | null = null;
let grid: CodeGrid | null = null;

function projectBatch(read: ReadBatch): ReplayBatch {
  const n = read.inputLength;
  if (!projection || projection.inputLength !== n) {
    // (Another length than before: the memory's thread refuses the batch with a clear error.)
    projection = makeProjection(n);
    point = new Float64Array(pointLength(projection));
    projected = 0;
    fineSample = new Float64Array(ROTATION_SAMPLE * fineLength(projection));
    grid = null;
  }
  const width = embeddingLength(projection);
  const fineAt = fineOffset(projection);
  const fineWidth = fineLength(projection);
  const codesWidth = codeWidth(fineWidth);
  const { count } = read;
  const fineCount = Math.max(0, Math.min(count, ROTATION_SAMPLE - projected));
  const batch: ReplayBatch = {
    kind: 'batch', count, inputLength: n, offsets: read.offsets, seqs: read.seqs, answers: read.answers, radii: read.radii, hashes: read.hashes,
    embeddingLength: width, embeddings: new Float32Array(count * width),
    fineLength: fineWidth, fineCount, fine: new Float64Array(fineCount * fineWidth),
    codeWidth: codesWidth, codes: new Int8Array(count * codesWidth), codeErrors: new Float64Array(count), grid: null, inputs: read.inputs,
    sketches: new Uint8Array(count * n),
    sketchColumns: {
      low: new Float64Array(count), step: new Float64Array(count), error: new Float64Array(count),
      codeSum: new Float64Array(count), codeSquares: new Float64Array(count),
    },
  };
  const columns = batch.sketchColumns;
  for (let i = 0; i < count; i++) {
    const input = read.inputs.subarray(i * n, (i + 1) * n);
    project(projection, input, point);
    for (let k = 0; k < width; k++) batch.embeddings[i * width + k] = point[k];
    const fine = point.subarray(fineAt, fineAt + fineWidth);
    if (i < fineCount) {
      batch.fine.set(fine, i * fineWidth);
      fineSample!.set(fine, projected * fineWidth);
      if (++projected === ROTATION_SAMPLE) {
        grid = fitGrid(fineSample!, ROTATION_SAMPLE, fineWidth);
        fineSample = null;
      }
    } else {
      projected++;
      batch.codeErrors[i] = encodePoint(grid!, fine, 0, batch.codes, i * codesWidth);
    }
    const sketch = quantizeInput(input, batch.sketches.subarray(i * n, (i + 1) * n), data.norm);
    columns.low[i] = sketch.low;
    columns.step[i] = sketch.step;
    columns.error[i] = sketch.error;
    columns.codeSum[i] = sketch.codeSum;
    columns.codeSquares[i] = sketch.codeSquares;
  }
  batch.grid = fineCount < count ? grid : null;
  return batch;
}

data.in.on('message', (message: FromReader) => {
  let out: FromProjector;
  let transfer: ArrayBuffer[] = [];
  if (message.kind !== 'read') out = message;
  else {
    try {
      const b = projectBatch(message);
      out = b;
      const c = b.sketchColumns;
      transfer = [
        b.offsets, b.seqs, b.answers, b.radii, b.hashes, b.embeddings, b.fine, b.codes, b.codeErrors, b.sketches, b.inputs,
        c.low, c.step, c.error, c.codeSum, c.codeSquares,
      ]
        .map((a) => a.buffer as ArrayBuffer);
    } catch (error) {
      out = { kind: 'failure', message: (error as Error).message };
    }
  }
  parentPort!.postMessage(out, transfer);
  if (message.kind !== 'read') data.in.close();
});
