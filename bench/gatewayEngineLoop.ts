// Worker of bench/gateway.ts: the engine alone, certifying its share of images back to back.
import { parentPort, workerData } from 'node:worker_threads';
import { Engine, loadManifest, modelPath, newSeed, type DecisionRequest } from '../src/engine/index.js';

const data = workerData as { manifestPath: string; model: string; threads: number; batchSize: number; request: DecisionRequest; images: Float32Array[] };
const manifest = loadManifest(data.manifestPath);
const entry = manifest.models.find((m) => m.name === data.model)!;
const engine = await Engine.load(entry, modelPath(manifest, entry), { intraOpThreads: data.threads, batchSize: data.batchSize });
await engine.certify(data.images[0]!, { ...data.request, n: 100, n0: 10 }, newSeed()); // warm-up
parentPort!.postMessage({ kind: 'ready' });
parentPort!.once('message', async () => {
  const started = performance.now();
  for (const image of data.images) await engine.certify(image, data.request, newSeed());
  parentPort!.postMessage({ kind: 'done', ms: performance.now() - started });
  await engine.close();
});
