// Every shipped model: the manifest validates, onnxruntime-node computes the same logits as
// PyTorch did at export (models/reference/NAME.json), and the clean accuracy recorded by the
// export is re-measured here on the same fixed test subset.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_LABELS, loadFashionMnist } from '../src/datasets/fashionMnist.js';
import type { ImageSet } from '../src/datasets/idx.js';
import { inputSize, loadManifest, modelPath, type ModelEntry } from '../src/engine/manifest.js';

const MANIFEST_PATH = resolve('models/manifest.json');
const LOGIT_TOLERANCE = 1e-4;
const ACCURACY_TOLERANCE = 0.01; // one percentage point
const manifest = loadManifest(MANIFEST_PATH);

interface Reference {
  model: string;
  scale: number;
  shape: number[];
  inputs: number[][]; // integers; the input is value / scale (exact in float32)
  logits: number[][];
}

function readReference(entry: ModelEntry): Reference {
  const file = entry.reference;
  if (typeof file !== 'string') throw new Error(`${entry.name}: manifest entry names no reference file`);
  return JSON.parse(readFileSync(resolve(manifest.dir, file), 'utf8')) as Reference;
}

async function logits(session: ort.InferenceSession, entry: ModelEntry, batch: Float32Array, count: number): Promise<Float32Array> {
  const feeds = { [entry.inputName]: new ort.Tensor('float32', batch, [count, ...entry.inputShape]) };
  const output = (await session.run(feeds))[entry.outputName];
  expect(output.dims).toEqual([count, entry.labels.length]);
  return output.data as Float32Array;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

describe('model manifest', () => {
  it('names an existing default and one file, config and reference per model', () => {
    expect(manifest.models.map((m) => m.name)).toContain(manifest.default);
    expect(new Set(manifest.models.map((m) => m.name)).size).toBe(manifest.models.length);
    for (const entry of manifest.models) {
      expect(existsSync(modelPath(manifest, entry)), entry.name).toBe(true);
      expect(existsSync(resolve('train/configs', `${entry.name}.json`)), entry.name).toBe(true);
      expect(entry.training.command).toBe(`npm run train -- ${entry.name}`);
      if (entry.dataset === 'fashion-mnist') expect(entry.labels).toEqual(FASHION_MNIST_LABELS);
      // the subset is part of the full test set: 4 standard errors of a 2000-image estimate apart at most
      expect(Math.abs((entry.subsetAccuracy as number) - entry.cleanAccuracy), entry.name).toBeLessThan(0.04);
    }
  });

  it('is what docs/models.md lists, with the same accuracies and commands', () => {
    const doc = readFileSync(resolve('docs/models.md'), 'utf8');
    for (const entry of manifest.models) {
      const row = doc.split('\n').find((line) => line.startsWith(`| ${entry.name} |`) || line.startsWith(`| **${entry.name}** `));
      expect(row, `${entry.name} has no row in docs/models.md`).toBeDefined();
      expect(row).toContain(`| ${(100 * entry.cleanAccuracy).toFixed(2)} % |`);
      expect(row).toContain(`\`${entry.training.command}\``);
    }
  });
});

describe.each(manifest.models.map((entry) => [entry.name, entry] as const))('shipped model %s', (_name, entry) => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath(manifest, entry), { intraOpNumThreads: 1 });
  });
  afterAll(async () => {
    await session?.release();
  });

  it('takes input/logits with a dynamic batch axis', () => {
    expect(session.inputNames).toEqual([entry.inputName]);
    expect(session.outputNames).toEqual([entry.outputName]);
  });

  it(`agrees with PyTorch's logits to ${LOGIT_TOLERANCE}`, async () => {
    const reference = readReference(entry);
    expect(reference.model).toBe(entry.name);
    const size = inputSize(entry);
    const count = reference.inputs.length;
    const batch = new Float32Array(count * size);
    reference.inputs.forEach((row, i) => {
      expect(row.length).toBe(size);
      row.forEach((v, j) => { batch[i * size + j] = v / reference.scale; });
    });
    const whole = await logits(session, entry, batch, count);
    for (let i = 0; i < count; i++) {
      // one at a time as well: the batch axis must not change any row
      const single = await logits(session, entry, batch.subarray(i * size, (i + 1) * size), 1);
      for (let k = 0; k < entry.labels.length; k++) {
        const expected = reference.logits[i][k];
        expect(Math.abs(whole[i * entry.labels.length + k] - expected), `${entry.name} input ${i} class ${k}`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
        expect(Math.abs(single[k] - expected), `${entry.name} input ${i} class ${k} (batch of 1)`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
      }
    }
  });

  it('has the clean accuracy on the fixed test subset that its export measured', async () => {
    const subset = entry.subset as { split: 'test'; first: number } | undefined;
    expect(subset?.split).toBe('test');
    expect(entry.dataset).toBe('fashion-mnist');
    const data: ImageSet = loadFashionMnist('test', subset!.first);
    expect(data.images.length).toBe(subset!.first);
    const size = inputSize(entry);
    const chunk = 500;
    let correct = 0;
    for (let start = 0; start < data.images.length; start += chunk) {
      const count = Math.min(chunk, data.images.length - start);
      const batch = new Float32Array(count * size);
      for (let i = 0; i < count; i++) batch.set(data.images[start + i], i * size);
      const out = await logits(session, entry, batch, count);
      const classes = entry.labels.length;
      for (let i = 0; i < count; i++) {
        if (argmax(out.subarray(i * classes, (i + 1) * classes)) === data.labels[start + i]) correct++;
      }
    }
    const measured = correct / data.images.length;
    expect(Math.abs(measured - (entry.subsetAccuracy as number)), `${entry.name}: measured ${measured}, manifest ${entry.subsetAccuracy}`)
      .toBeLessThanOrEqual(ACCURACY_TOLERANCE);
  });
});
