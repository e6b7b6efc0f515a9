// bench/engine: certification throughput against its two yardsticks, measured side by side in
// one run on the same model, batch size and thread count:
//   (a) onnxruntime forward passes alone, on noise-free batches (the speed limit),
//   (b) certification sampling, Smooth.sampleCounts (noise kernel + forward + argmax counts),
//   (c) Cohen et al.'s sampling loop in PyTorch (bench/cohen_pytorch.py) on the same weights,
// plus (b) with the pure-JS reference noise and the noise alone, to show where the time goes.
// The methods take turns batch by batch (each image's N samples are N / batch turns), so that
// load from other processes on a shared machine falls on all of them alike. Usage:
//   npx tsx bench/engine.ts [--images 3] [--n 100000] [--threads 2] [--batch 1000] [--sigma 0.25]
//                           [--no-torch] [--torch-forward] [--no-reference]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { loadManifest, modelPath, OnnxModel, Smooth, deriveStream } from '../src/engine/index.js';
import { countArgmax } from '../src/engine/model.js';
import { fillNoisyBatch, fillNoisyBatchReference } from '../src/engine/noise.js';
import type { Xoshiro128 } from '../src/engine/random.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '3' },
    n: { type: 'string', default: '100000' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1000' },
    sigma: { type: 'string', default: '0.25' },
    model: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'no-reference': { type: 'boolean', default: false },
    'torch-forward': { type: 'boolean', default: false },
  },
});
const imageCount = Number(args.images);
const n = Number(args.n);
const threads = Number(args.threads);
const batchSize = Number(args.batch);
const sigma = Number(args.sigma);
const SEED = 'be4c0000000000000000000000000001';

const manifestFile = new URL('../models/manifest.json', import.meta.url).pathname;
const manifest = loadManifest(manifestFile);
const entry = manifest.models.find((m) => m.name === (args.model ?? manifest.default))!;
const file = modelPath(manifest, entry);
const model = await OnnxModel.load(file, entry, { intraOpThreads: threads, batchSize });
const smooth = new Smooth(model, entry.labels.length);
const { images } = loadFashionMnist('test', imageCount);
const d = model.inputSize;

/** The PyTorch side: one long-lived process answering one JSON line per request. */
class TorchWorker {
  private readonly child = spawn('/usr/bin/python3', [
    new URL('./cohen_pytorch.py', import.meta.url).pathname, '--model', file, '--shape', entry.inputShape.join(','),
    '--threads', String(threads), '--batch', String(batchSize), '--sigma', String(sigma),
  ], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();

  async next(): Promise<Record<string, unknown>> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('bench/cohen_pytorch.py exited early');
    return JSON.parse(value) as Record<string, unknown>;
  }

  /** Seconds PyTorch spent on `num` samples (timed in Python, loop only); `seed` reseeds torch. */
  async run(mode: 'sample' | 'forward', x: Float32Array, num: number, seed?: number): Promise<number> {
    this.child.stdin.write(JSON.stringify({ mode, x: Array.from(x), n: num, ...(seed === undefined ? {} : { seed }) }) + '\n');
    return (await this.next()).seconds as number;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** Seconds of one batch of `rows` forward passes on the noise-free input x repeated (filled untimed). */
async function forwardOnly(x: Float32Array, rows: number): Promise<number> {
  for (let row = 0; row < rows; row++) model.batch.set(x, row * d);
  return timed(() => model.logits(rows));
}

/** One batch of Smooth.sampleCounts with the pure-JS reference noise instead of the kernel (same stream). */
async function sampleCountsReference(x: Float32Array, rows: number, rng: Xoshiro128): Promise<void> {
  const counts = new Float64Array(entry.labels.length);
  fillNoisyBatchReference(rng, 'l2', x, sigma, rows, model.batch);
  countArgmax(await model.logits(rows), rows, counts);
}

async function timed(work: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

const torch = args['no-torch'] ? null : new TorchWorker();
const torchInfo = torch ? await torch.next() : null;

/** A method measures one batch of `rows` samples of image x; `streams` holds its noise stream per image. */
interface Method { name: string; run: (x: Float32Array, image: number, rows: number, first: boolean) => Promise<number> }
const streams = (label: string): Xoshiro128[] => images.map((_, i) => deriveStream(SEED, `${label}-${i}`));
const certifyStreams = streams('certify');
const referenceStreams = streams('reference');
const noiseStreams = streams('noise');
const methods: Method[] = [
  { name: '(a) onnxruntime forward only, noise-free batches', run: (x, _i, rows) => forwardOnly(x, rows) },
  // sampleCounts over N in calls of one batch: the stream carries on, so the draws are those of one call with N.
  { name: '(b) certify sampling: Smooth.sampleCounts', run: (x, i, rows) => timed(() => smooth.sampleCounts(x, sigma, 'l2', rows, certifyStreams[i])) },
];
if (torch) {
  methods.push({ name: '(c) Cohen et al. loop, PyTorch', run: (x, i, rows, first) => torch.run('sample', x, rows, first ? i + 1 : undefined) });
  if (args['torch-forward']) methods.push({ name: 'PyTorch forward only, noise-free', run: (x, _i, rows) => torch.run('forward', x, rows) });
}
if (!args['no-reference']) {
  methods.push({ name: '(b) with the pure-JS reference noise', run: (x, i, rows) => timed(() => sampleCountsReference(x, rows, referenceStreams[i])) });
}
methods.push({ name: 'noise alone: fillNoisyBatch', run: (x, i, rows) => timed(() => fillNoisyBatch(noiseStreams[i], 'l2', x, sigma, rows, model.batch)) });

// Warm-up: compile, allocate, let V8 tier up the kernel.
for (const method of methods) for (let k = 0; k < 3; k++) await method.run(images[0], 0, batchSize, k === 0);

const seconds = new Float64Array(methods.length);
for (let i = 0; i < imageCount; i++) {
  for (let done = 0; done < n; done += batchSize) {
    const rows = Math.min(batchSize, n - done);
    for (let m = 0; m < methods.length; m++) seconds[m] += await methods[m].run(images[i], i, rows, done === 0);
  }
}
torch?.close();
await model.close();

const samples = imageCount * n;
const rate = (m: number): number => samples / seconds[m];
console.log(`model ${entry.name} (d = ${d}), ${threads} threads (onnxruntime intra-op${torch ? `; torch.set_num_threads, torch ${torchInfo!.torch}` : ''}), batch ${batchSize}, sigma ${sigma}`);
console.log(`${imageCount} Fashion-MNIST test images x N = ${n} samples = ${samples} samples per method, methods taking turns batch by batch\n`);
console.log('| method | samples/s | us/sample |');
console.log('|---|---:|---:|');
methods.forEach((method, m) => console.log(`| ${method.name} | ${rate(m).toFixed(0)} | ${(1e6 / rate(m)).toFixed(2)} |`));
console.log(`\n(b)/(a) certify / onnxruntime forward: ${(rate(1) / rate(0)).toFixed(3)}   (goal >= 0.90)`);
if (torch) console.log(`(b)/(c) certify / Cohen PyTorch loop:   ${(rate(1) / rate(2)).toFixed(2)}x   (goal >= 5)`);
