// Admission: a request still queued when its deadline passes gets 503 + Retry-After, one still
// evaluating gets 504, neither stores anything; a stream waits for room instead of failing lines.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MANIFEST } from '../src/engine/manifest.js';
import { workerDataFor } from '../src/gateway/enginePool.js';
import type { FromWorker, ToWorker } from '../src/gateway/workerProtocol.js';
import { spawnModuleWorker } from '../src/util/moduleWorker.js';
import { exportMemory, postJson, startTestGateway, testImages, type TestGateway } from './helpers/gatewayHarness.js';

let gw: TestGateway;
beforeAll(async () => {
  // Model calls of 10 000 samples: the engine stops at the first call boundary past a deadline,
  // so the running request holds the worker for a whole call, far past 150 ms, and the queued
  // ones expire in the queue. With small calls it let go within milliseconds, and requests
  // arriving spread out on a loaded machine each started and ran out their own deadline (all 504).
  gw = await startTestGateway({ workers: 1, maxQueue: 8, requestDeadlineMs: 150, batchSize: 10_000 });
});
afterAll(async () => {
  await gw?.stop();
});

describe('request deadline', () => {
  it('answers 504 (evaluating) and 503 (queued) and stores nothing', async () => {
    const url = `${gw.url}/v1/models/${gw.model}:certify`;
    const before = await exportMemory(gw.url, gw.model);
    // n = 50 000 takes far longer than 150 ms on any CPU; six requests share one worker.
    const results = await Promise.all(testImages(6).map((input) => postJson(url, { input, params: { n: 50_000, sigma: 0.25 } })));
    const statuses = results.map((r) => r.status).sort();
    // The first runs past its deadline (504); the engine stops it at its next model call, so a
    // queued one may still start and time out while running (504); the others expire queued (503).
    expect(statuses[0]).toBe(503);
    expect(statuses[statuses.length - 1]).toBe(504);
    for (const status of statuses) expect([503, 504]).toContain(status);
    for (const r of results) expect(r.body.error.code).toBe('deadline_exceeded');
    for (const r of results.filter((x) => x.status === 503)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
  });
});

describe('engine worker', () => {
  it('reports a task stopped by its deadline as such (the pool answers 504, not an engine failure)', async () => {
    // The engine can see the deadline pass before the gateway's own timer fires on a busy event loop.
    const data = workerDataFor({ models: fileURLToPath(DEFAULT_MANIFEST), intraOpThreads: 1, executionProviders: ['cpu'], batchSize: 100 }, ['fmnist-cohen-025']);
    const worker = spawnModuleWorker(new URL('../src/gateway/enginePool.ts', import.meta.url).href, 'engineWorker', data);
    try {
      const messages: FromWorker[] = [];
      const failed = new Promise<FromWorker>((resolve) => {
        worker.on('message', (msg: FromWorker) => {
          messages.push(msg);
          if (msg.kind === 'ready') {
            const input = Float32Array.from(testImages(1)[0]!);
            const request = { n0: 10, n: 1000, alpha: 0.001, sigma: 0.25, norm: 'l2' as const, solver: 'fixed' as const, search: {} };
            const task: ToWorker = { kind: 'task', id: 1, task: { op: 'certify', model: 'fmnist-cohen-025', input, request, seed: '0123456789abcdef0123456789abcdef' }, deadlineAtMs: Date.now() - 1 };
            worker.postMessage(task);
          }
          if (msg.kind === 'failed' || msg.kind === 'done') resolve(msg);
        });
      });
      const reply = await failed;
      expect(reply, JSON.stringify(reply)).toMatchObject({ kind: 'failed', id: 1, deadline: true });
    } finally {
      await worker.terminate();
    }
  });
});

describe('certifyStream under a full admission queue', () => {
  it('waits for room instead of failing lines, and keeps the order', async () => {
    const tight = await startTestGateway({ workers: 1, maxQueue: 0, streamWindow: 4 });
    try {
      const url = `${tight.url}/v1/models/${tight.model}:certify`;
      const images = testImages(24).slice(20, 24);
      // Two single requests at once on one worker with no queue: one runs, the other is refused ...
      const pair = await Promise.all(images.slice(0, 2).map((input) => postJson(url, { input, params: { n: 3000, sigma: 0.25 } })));
      expect(pair.map((r) => r.status).sort()).toEqual([200, 429]);
      // ... while the lines of a stream wait their turn.
      const body = images.map((input, i) => JSON.stringify({ input, id: `w${i}`, params: { sigma: 0.25 } })).join('\n');
      const res = await fetch(`${tight.url}/v1/models/${tight.model}:certifyStream`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.id ?? l.error?.code)).toEqual(['w0', 'w1', 'w2', 'w3']);
    } finally {
      await tight.stop();
    }
  });
});
