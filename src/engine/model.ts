// The base classifier f: an onnxruntime session over a float32 batch, logits out.
import * as ort from 'onnxruntime-node';

export interface RunnerOptions {
  /** onnxruntime intra-op threads (size threads x workers to the cores). */
  intraOpThreads: number;
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']; CPU is the fallback. */
  executionProviders: string[];
  /** Rows per model call. */
  batchSize: number;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = { intraOpThreads: 0, executionProviders: ['cpu'], batchSize: 1000 };

export interface ModelSignature {
  inputName: string;
  outputName: string;
  inputShape: number[]; // without the batch axis
}

export class OnnxModel {
  readonly inputSize: number;
  /** Input buffer of `batchSize` rows, reused by every call (filled by the caller). */
  readonly batch: Float32Array;
  private numClasses = -1;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: ModelSignature,
    readonly options: RunnerOptions,
  ) {
    this.inputSize = signature.inputShape.reduce((a, b) => a * b, 1);
    this.batch = new Float32Array(options.batchSize * this.inputSize);
  }

  static async load(file: string, signature: ModelSignature, options: Partial<RunnerOptions> = {}): Promise<OnnxModel> {
    const resolved = { ...DEFAULT_RUNNER_OPTIONS, ...options };
    if (!Number.isInteger(resolved.batchSize) || resolved.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${resolved.batchSize}`);
    const session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: resolved.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      executionProviders: resolved.executionProviders,
    });
    return new OnnxModel(session, signature, resolved);
  }

  get classes(): number {
    if (this.numClasses < 0) throw new Error('number of classes is known after the first call');
    return this.numClasses;
  }

  /**
   * Logits of the first `rows` rows of `input` (default: the reused batch buffer), [rows, K].
   * onnxruntime-node runs this synchronously on the calling thread although it returns a Promise.
   */
  async logits(rows: number, input: Float32Array = this.batch): Promise<Float32Array> {
    if (rows < 1 || rows * this.inputSize > input.length) throw new Error(`cannot run ${rows} rows on a buffer of ${input.length} values`);
    const view = rows * this.inputSize === input.length ? input : input.subarray(0, rows * this.inputSize);
    const tensor = new ort.Tensor('float32', view, [rows, ...this.signature.inputShape]);
    const result = await this.session.run({ [this.signature.inputName]: tensor });
    const output = result[this.signature.outputName];
    const data = output.data as Float32Array;
    const classes = data.length / rows;
    if (!Number.isInteger(classes) || classes < 2) throw new Error(`model output has ${data.length} values for ${rows} rows`);
    this.numClasses = classes;
    return data;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Index of the largest logit of each row, counted into `counts` (ties go to the lower class, like argmax). */
export function countArgmax(logits: Float32Array, rows: number, counts: Float64Array): void {
  const classes = logits.length / rows;
  for (let row = 0; row < rows; row++) {
    const base = row * classes;
    let best = 0;
    let bestValue = logits[base];
    for (let c = 1; c < classes; c++) {
      const value = logits[base + c];
      if (value > bestValue) { best = c; bestValue = value; }
    }
    counts[best] += 1;
  }
}

/** Adds the softmax probabilities of rows [first, first+rows) into `sums` (length K). */
export function accumulateSoftmax(logits: Float32Array, classes: number, first: number, rows: number, sums: Float64Array): void {
  for (let row = first; row < first + rows; row++) {
    const base = row * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[base + c]);
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp(logits[base + c] - max);
    for (let c = 0; c < classes; c++) sums[c] += Math.exp(logits[base + c] - max) / total;
  }
}
