// Worker thread entry: owns one Engine per model, runs tasks one at a time.
// onnxruntime-node's session.run blocks its calling thread (DESIGN 3.4), so it runs here,
// off the gateway's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { DeadlineExceededError, Engine, loadManifest, modelPath } from '../engine/index.js';
import type { EngineTask, EngineWorkerData, FromWorker, ToWorker } from './workerProtocol.js';

const port = parentPort;
if (!port) throw new Error('engineWorker must run in a worker thread');
const data = workerData as EngineWorkerData;
const send = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

async function start(): Promise<Map<string, Engine>> {
  const manifest = loadManifest(data.manifestPath);
  const engines = new Map<string, Engine>();
  for (const name of data.models) {
    const entry = manifest.models.find((m) => m.name === name);
    if (!entry) throw new Error(`model ${name} is not in ${data.manifestPath}`);
    engines.set(name, await Engine.load(entry, modelPath(manifest, entry), data.runner));
  }
  return engines;
}

async function run(engines: Map<string, Engine>, task: EngineTask, deadlineAtMs: number): Promise<unknown> {
  const engine = engines.get(task.model);
  if (!engine) throw new Error(`model ${task.model} is not loaded in this worker`);
  switch (task.op) {
    case 'certify':
      return engine.certify(task.input, task.request, task.seed, deadlineAtMs);
    case 'predict':
      return engine.predict(task.input, task.request, task.seed, deadlineAtMs);
    case 'logits':
      return engine.logits(task.input, task.batchSize);
  }
}

try {
  const engines = await start();
  // Tasks are posted one at a time by the pool; the chain keeps them sequential regardless.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    chain = chain.then(async () => {
      if (msg.kind === 'close') {
        for (const engine of engines.values()) await engine.close();
        send({ kind: 'closed' });
        port.close();
        return;
      }
      try {
        const result = await run(engines, msg.task, msg.deadlineAtMs);
        send({ kind: 'done', id: msg.id, result });
      } catch (err) {
        send({ kind: 'failed', id: msg.id, message: (err as Error).message ?? String(err), deadline: err instanceof DeadlineExceededError });
      }
    });
  });
  send({ kind: 'ready' });
} catch (err) {
  send({ kind: 'startFailed', message: (err as Error).message ?? String(err) });
}
