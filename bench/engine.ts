// bench/engine: certification throughput against its two yardsticks, measured side by side in
// one run on the same model, batch size and thread count:
//   (a) onnxruntime forward passes alone, on noise-free batches (the speed limit),
//   (b) certification sampling, Smooth.sampleCounts (noise kernel + forward + argmax counts),
//   (c) Cohen et al.'s sampling loop in PyTorch (bench/cohen_pytorch.py) on the same weights,
// plus (b) with the pure-JS reference noise and the noise alone, to show where the time goes.
// Methods take turns image by image and round by round, so that load from other processes
// spreads over all of them. Usage:
//   npx tsx bench/engine.ts [--images 3] [--n 100000] [--rounds 1] [--threads 2] [--batch 1000] [--sigma 0.25]
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
    rounds: { type: 'string', default: '1' },
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
const rounds = Number(args.rounds);
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

  async run(mode: 'sample' | 'forward', x: Float32Array, num: number, seed: number): Promise<number> {
    this.child.stdin.write(JSON.stringify({ mode, x: Array.from(x), n: num, seed }) + '\n');
    return (await this.next()).seconds as number;
  }

  close(): void {
    this.child.stdin.end();
  }
}

async function forwardOnly(x: Float32Array, num: number): Promise<void> {
  for (let row = 0; row < batchSize; row++) model.batch.set(x, row * d);
  for (let remaining = num; remaining > 0; remaining -= batchSize) await model.logits(Math.min(batchSize, remaining));
}

/** Smooth.sampleCounts with the pure-JS reference noise instead of the kernel (same stream). */
async function sampleCountsReference(x: Float32Array, num: number, rng: Xoshiro128): Promise<void> {
  const counts = new Float64Array(entry.labels.length);
  for (let remaining = num; remaining > 0; ) {
    const rows = Math.min(batchSize, remaining);
    fillNoisyBatchReference(rng, 'l2', x, sigma, rows, model.batch);
    countArgmax(await model.logits(rows), rows, counts);
    remaining -= rows;
  }
}

function noiseOnly(x: Float32Array, num: number, rng: Xoshiro128): void {
  for (let remaining = num; remaining > 0; remaining -= batchSize) fillNoisyBatch(rng, 'l2', x, sigma, Math.min(batchSize, remaining), model.batch);
}

async function timed(work: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

const torch = args['no-torch'] ? null : new TorchWorker();
const torchInfo = torch ? await torch.next() : null;

type Method = { name: string; run: (x: Float32Array, label: string, seed: number) => Promise<number> };
const methods: Method[] = [
  { name: '(a) onnxruntime forward only, noise-free batches', run: (x) => timed(() => forwardOnly(x, n)) },
  { name: '(b) certify sampling: Smooth.sampleCounts', run: (x, label) => timed(() => smooth.sampleCounts(x, sigma, 'l2', n, deriveStream(SEED, label))) },
];
if (torch) {
  methods.push({ name: '(c) Cohen et al. loop, PyTorch', run: (x, _label, seed) => torch.run('sample', x, n, seed) });
  if (args['torch-forward']) methods.push({ name: '    PyTorch forward only, noise-free', run: (x, _label, seed) => torch.run('forward', x, n, seed) });
}
if (!args['no-reference']) {
  methods.push({ name: '    certify sampling, pure-JS reference noise', run: (x, label) => timed(() => sampleCountsReference(x, n, deriveStream(SEED, label))) });
}
methods.push({ name: '    noise alone: fillNoisyBatch (kernel)', run: (x, label) => timed(() => noiseOnly(x, n, deriveStream(SEED, label))) });

// Warm-up: compile, allocate, fill caches.
for (const method of methods) await method.run(images[0], 'warm-up', 0);

const seconds = new Float64Array(methods.length);
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < imageCount; i++) {
    for (let m = 0; m < methods.length; m++) seconds[m] += await methods[m].run(images[i], `bench-${round}-${i}`, round * imageCount + i + 1);
  }
}
torch?.close();
await model.close();

const samples = rounds * imageCount * n;
const rate = (m: number): number => samples / seconds[m];
console.log(`model ${entry.name} (d = ${d}), ${threads} threads (onnxruntime intra-op${torch ? `; torch.set_num_threads, torch ${torchInfo!.torch}` : ''}), batch ${batchSize}, sigma ${sigma}`);
console.log(`${imageCount} Fashion-MNIST test images x N = ${n} samples x ${rounds} rounds = ${samples} samples per method\n`);
console.log('| method | samples/s | us/sample |');
console.log('|---|---:|---:|');
methods.forEach((method, m) => console.log(`| ${method.name.trim()} | ${rate(m).toFixed(0)} | ${(1e6 / rate(m)).toFixed(2)} |`));
console.log(`\n(b)/(a) certify / onnxruntime forward: ${(rate(1) / rate(0)).toFixed(3)}   (goal >= 0.90)`);
if (torch) console.log(`(b)/(c) certify / Cohen PyTorch loop:   ${(rate(1) / rate(2)).toFixed(2)}x   (goal >= 5)`);
