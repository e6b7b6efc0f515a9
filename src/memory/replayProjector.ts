// Replay projector (worker thread): projects and sketches the inputs of the reader's batches
// for the memory's thread, in order, and passes on the reader's end or failure.
import { parentPort, workerData } from 'node:worker_threads';
import { quantizeInput } from './inputSketches.js';
import { embeddingLength, makeProjection, pointLength, project, type BlockProjection } from './projection.js';
import type { FromProjector, FromReader, ReadBatch, ReplayBatch, ReplayProjectorData } from './replayProtocol.js';

const data = workerData as ReplayProjectorData;

let projection: BlockProjection | null = null;
let point = new Float64Array(0);

function projectBatch(read: ReadBatch): ReplayBatch {
  const n = read.inputLength;
  if (!projection || projection.inputLength !== n) {
    projection = makeProjection(n);
    point = new Float64Array(pointLength(projection));
  }
  const width = embeddingLength(projection);
  const { count } = read;
  const batch: ReplayBatch = {
    kind: 'batch', count, inputLength: n, offsets: read.offsets, seqs: read.seqs, answers: read.answers, radii: read.radii, hashes: read.hashes,
    embeddingLength: width, embeddings: new Float32Array(count * width),
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
    const sketch = quantizeInput(input, batch.sketches.subarray(i * n, (i + 1) * n), data.norm);
    columns.low[i] = sketch.low;
    columns.step[i] = sketch.step;
    columns.error[i] = sketch.error;
    columns.codeSum[i] = sketch.codeSum;
    columns.codeSquares[i] = sketch.codeSquares;
  }
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
      transfer = [b.offsets, b.seqs, b.answers, b.radii, b.hashes, b.embeddings, b.sketches, c.low, c.step, c.error, c.codeSum, c.codeSquares]
        .map((a) => a.buffer as ArrayBuffer);
    } catch (error) {
      out = { kind: 'failure', message: (error as Error).message };
    }
  }
  parentPort!.postMessage(out, transfer);
  if (message.kind !== 'read') data.in.close();
});
