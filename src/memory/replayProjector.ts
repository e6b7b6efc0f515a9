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
    sketches: new Uint8Array(count * n), sketchLow: new Float64Array(count), sketchStep: new Float64Array(count), sketchError: new Float64Array(count),
  };
  for (let i = 0; i < count; i++) {
    const input = read.inputs.subarray(i * n, (i + 1) * n);
    project(projection, input, point);
    for (let k = 0; k < width; k++) batch.embeddings[i * width + k] = point[k];
    const sketch = quantizeInput(input, batch.sketches.subarray(i * n, (i + 1) * n), data.norm);
    batch.sketchLow[i] = sketch.low;
    batch.sketchStep[i] = sketch.step;
    batch.sketchError[i] = sketch.error;
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
      transfer = [b.offsets, b.seqs, b.answers, b.radii, b.hashes, b.embeddings, b.sketches, b.sketchLow, b.sketchStep, b.sketchError]
        .map((a) => a.buffer as ArrayBuffer);
    } catch (error) {
      out = { kind: 'failure', message: (error as Error).message };
    }
  }
  parentPort!.postMessage(out, transfer);
  if (message.kind !== 'read') data.in.close();
});
