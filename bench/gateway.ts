// bench/gateway: what the gateway adds on top of the engine, measured side by side in one run.
// Single requests: engine.certify in-process vs POST :certify end to end (HTTP, validation,
// worker hop, memory with fsync), same images, same N. Concurrency: W engine threads running
// back to back vs 16 HTTP clients against a gateway with the same W workers.
// The concurrent phases alternate (E H, H E, E H, ...) over `rounds` to cancel drift in a shared machine's load.
// Usage: npx tsx bench/gateway.ts [--n 10000] [--n0 100] [--single 10] [--total 32] [--clients 16] [--workers 2] [--threads 1] [--rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { Engine, loadManifest, modelPath, newSeed, type DecisionRequest } from '../src/engine/index.js';
import { loadGatewayConfig } from '../src/gateway/config.js';
import { startGateway } from '../src/gateway/server.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    n0: { type: 'string', default: '100' },
    single: { type: 'string', default: '10' },
    total: { type: 'string', default: '32' },
    clients: { type: 'string', default: '16' },
    workers: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    'batch-size': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
  },
});
const n = Number(args.n);
const n0 = Number(args.n0);
const singles = Number(args.single);
const total = Number(args.total);
const clients = Number(args.clients);
const workers = Number(args.workers);
const threads = Number(args.threads);
const batchSize = Number(args['batch-size']);
const rounds = Number(args.rounds);
const loadAtStart = loadavg();

const manifestPath = fileURLToPath(new URL('../models/manifest.json', import.meta.url));
const manifest = loadManifest(manifestPath);
const entry = manifest.models.find((m) => m.name === manifest.default)!;
const request: DecisionRequest = { n0, n, alpha: 0.001, sigma: 'auto', norm: entry.norm, solver: 'batched' };
const images = loadFashionMnist('test', 1 + singles + total * rounds).images;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// --- the gateway under test (real memory files, real workers) ---
const dataDir = mkdtempSync(join(tmpdir(), 'certigate-bench-'));
const config = loadGatewayConfig({
  flags: { port: 0, dataDir, models: manifestPath, workers, intraOpThreads: threads, batchSize, maxQueue: 1024, logLevel: 'silent', defaults: { n, n0 } },
});
const gateway = await startGateway(config, { logger: pino({ level: 'silent' }) });
const certifyUrl = `${gateway.url}/v1/models/${entry.name}:certify`;
interface HttpTiming { ms: number; engineMs: number; memoryMs: number; totalMs: number }
async function httpCertify(image: Float32Array): Promise<HttpTiming> {
  const started = performance.now();
  const res = await fetch(certifyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: Array.from(image), params: { n, n0 } }) });
  const body = await res.json() as { timingsMs: { sigma: number; certify: number; memory: number; total: number } };
  if (res.status !== 200) throw new Error(`certify answered ${res.status}: ${JSON.stringify(body)}`);
  const t = body.timingsMs;
  return { ms: performance.now() - started, engineMs: t.sigma + t.certify, memoryMs: t.memory, totalMs: t.total };
}

// --- single requests, interleaved: engine in-process, then the same image over HTTP ---
const engine = await Engine.load(entry, modelPath(manifest, entry), { intraOpThreads: threads, batchSize });
await engine.certify(images[0]!, { ...request, n: 100, n0: 10 }, newSeed());
await httpCertify(images[images.length - 1]!); // warm-up of a gateway worker
const engineSingle: number[] = [];
const httpSingle: number[] = [];
const httpTimings: HttpTiming[] = [];
for (let i = 1; i <= singles; i++) {
  const t0 = performance.now();
  await engine.certify(images[i]!, request, newSeed());
  engineSingle.push(performance.now() - t0);
  const http = await httpCertify(images[i]!);
  httpSingle.push(http.ms);
  httpTimings.push(http);
}
await engine.close();

// --- concurrency: W engine threads back to back vs `clients` HTTP clients ---
// Each round certifies fresh images (no memory repeats); engine and HTTP get the same ones.
const roundImages = (round: number) => images.slice(1 + singles + round * total, 1 + singles + (round + 1) * total);
async function engineThroughput(round: number): Promise<number> {
  const share = (w: number) => roundImages(round).filter((_, i) => i % workers === w);
  const here = import.meta.url;
  const loopUrl = new URL('./gatewayEngineLoop.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const threadsList = Array.from({ length: workers }, (_, w) => new Worker(
    `import(${JSON.stringify(tsx)}).then(({ tsImport }) => tsImport(${JSON.stringify(loopUrl)}, ${JSON.stringify(here)}))`,
    { eval: true, workerData: { manifestPath, model: entry.name, threads, batchSize, request, images: share(w) } },
  ));
  await Promise.all(threadsList.map((t) => new Promise((r) => t.once('message', r))));
  const started = performance.now();
  await Promise.all(threadsList.map((t) => {
    const done = new Promise((r) => t.once('message', r));
    t.postMessage('go');
    return done;
  }));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(threadsList.map((t) => t.terminate()));
  return total / seconds;
}
async function httpThroughput(round: number): Promise<number> {
  const queue = roundImages(round);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < queue.length) await httpCertify(queue[next++]!);
  }));
  return total / ((performance.now() - started) / 1000);
}
const engineRates: number[] = [];
const httpRates: number[] = [];
for (let round = 0; round < rounds; round++) {
  if (round % 2 === 0) {
    engineRates.push(await engineThroughput(round));
    httpRates.push(await httpThroughput(round));
  } else {
    httpRates.push(await httpThroughput(round));
    engineRates.push(await engineThroughput(round));
  }
}
const engineRate = mean(engineRates);
const httpRate = mean(httpRates);
await gateway.shutdown('bench');
rmSync(dataDir, { recursive: true, force: true });

const singleOverhead = mean(httpSingle) / mean(engineSingle) - 1;
const report = {
  machine: { cores: availableParallelism(), node: process.version, loadAverage1mStartEnd: [+loadAtStart[0]!.toFixed(2), +loadavg()[0]!.toFixed(2)] },
  setup: { model: entry.name, n, n0, alpha: request.alpha, sigma: 'auto (batched)', workers, intraOpThreads: threads, batchSize, singles, total, clients, rounds },
  single: {
    engineMeanMs: +mean(engineSingle).toFixed(1), engineMedianMs: +median(engineSingle).toFixed(1),
    httpMeanMs: +mean(httpSingle).toFixed(1), httpMedianMs: +median(httpSingle).toFixed(1),
    // Where the HTTP time goes: the engine in its worker, the memory (index + fsync), the rest of
    // the rest inside timingsMs.total (worker message hop, engine work outside its own timers such
    // as GC), and outside it (HTTP, JSON, validation).
    breakdownMeanMs: {
      engineInWorker: +mean(httpTimings.map((t) => t.engineMs)).toFixed(1),
      memory: +mean(httpTimings.map((t) => t.memoryMs)).toFixed(2),
      workerHopAndUntimedEngine: +mean(httpTimings.map((t) => t.totalMs - t.engineMs - t.memoryMs)).toFixed(2),
      httpAndValidation: +mean(httpTimings.map((t) => t.ms - t.totalMs)).toFixed(2),
    },
    overheadPct: +(100 * singleOverhead).toFixed(2),
    overheadMedianPct: +(100 * (median(httpSingle) / median(engineSingle) - 1)).toFixed(2),
  },
  concurrent: {
    engineDecisionsPerS: +engineRate.toFixed(3), httpDecisionsPerS: +httpRate.toFixed(3), ratio: +(httpRate / engineRate).toFixed(3),
    perRound: engineRates.map((e, i) => ({ engine: +e.toFixed(3), http: +httpRates[i]!.toFixed(3), ratio: +(httpRates[i]! / e).toFixed(3) })),
  },
};
console.log(JSON.stringify(report, null, 2));
