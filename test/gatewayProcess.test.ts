// The gateway as a process: overload is refused with 429 + Retry-After from a bounded queue
// (memory stays bounded), and SIGTERM drains in-flight requests, losing no acknowledged decision.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/memory/index.js';
import { ADMIN_TOKEN, exportMemory, metricValue, postJson, testImages } from './helpers/gatewayHarness.js';
import { spawnGateway, type GatewayProcess } from './helpers/gatewayProcess.js';

const MODEL = 'fmnist-cohen-025';
const dirs: string[] = [];
const children: GatewayProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'certigate-proc-'));
  dirs.push(dir);
  return dir;
}

describe('gateway process', () => {
  it('refuses overload with 429 + Retry-After, stores only what it answered, keeps the queue bounded', async () => {
    const gw = await spawnGateway(['--data', tempDir(), '--workers', '1', '--threads', '1', '--max-queue', '2'], { CERTIGATE_ADMIN_TOKEN: ADMIN_TOKEN });
    children.push(gw);
    const url = `${gw.url}/v1/models/${MODEL}:certify`;
    const rss = async () => metricValue(await (await fetch(`${gw.url}/metrics`)).text(), 'certigate_process_resident_memory_bytes');
    const images = testImages(32);
    // Warm up (first model call allocates), then measure.
    expect((await postJson(url, { input: images[0], params: { n: 200, n0: 20 } })).status).toBe(200);
    const rssBefore = await rss();
    let maxQueueSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await fetch(`${gw.url}/metrics`)).text();
        maxQueueSeen = Math.max(maxQueueSeen, metricValue(text, 'certigate_queue_depth'));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const burst = 200;
    const results = await Promise.all(Array.from({ length: burst }, (_, i) =>
      postJson(url, { input: images[1 + (i % 31)].map((v, j) => (j === 0 ? (i + 1) / 1000 : v)), params: { n: 1000, n0: 20 } })));
    sampling = false;
    await sampler;
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok.length + refused.length).toBe(burst);
    expect(refused.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.body.error.code).toBe('overloaded');
    }
    expect(maxQueueSeen).toBeLessThanOrEqual(2);
    // Only the answered requests are in the memory (plus the warm-up).
    const stored = await exportMemory(gw.url, MODEL);
    expect(stored).toHaveLength(ok.length + 1);
    expect(new Set(stored.map((r) => r.seed))).toEqual(new Set([...ok.map((r) => r.body.seed), stored[0].seed]));
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metricValue(metrics, 'certigate_rejected_requests_total', { reason: 'overloaded' })).toBe(refused.length);
    // 200 refused requests leave no pile-up behind (generous bound: the burst's bodies are ~2 MB).
    expect((await rss()) - rssBefore).toBeLessThan(150 * 1024 * 1024);
    gw.child.kill('SIGTERM');
    expect((await gw.exited).code).toBe(0);
  });

  it('SIGTERM drains in-flight requests, flushes the log and loses no acknowledged decision', async () => {
    const dataDir = tempDir();
    const gw = await spawnGateway(['--data', dataDir, '--workers', '2', '--threads', '1'], { CERTIGATE_ADMIN_TOKEN: ADMIN_TOKEN });
    children.push(gw);
    const url = `${gw.url}/v1/models/${MODEL}:certify`;
    // The banner goes to stderr right after the 'listening' log line on stdout.
    for (let i = 0; i < 200 && !gw.stderr().includes('curl'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(gw.stderr()).toContain(`listening on ${gw.url}`);
    expect(gw.stderr()).toContain(`curl`);
    const images = testImages(8);
    const inFlight = images.map((input, i) => postJson(url, { input, id: `t${i}`, params: { n: 3000, n0: 20 } }));
    // Signal once the first answer is out: the rest are queued or evaluating.
    await Promise.race(inFlight);
    gw.child.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    const exit = await gw.exited;
    expect(exit.code).toBe(0);
    // Every request admitted before the signal was answered (drained, not dropped).
    for (const r of results) expect(r.status).toBe(200);
    // After the drain the gateway is gone.
    await expect(fetch(url, { method: 'POST' })).rejects.toThrow();

    const messages = gw.logs.map((l) => l.msg);
    expect(messages).toContain('draining');
    expect(messages.at(-1)).toBe('stopped');
    const logged = new Set(gw.logs.filter((l) => l.msg === 'decision').map((l) => l.requestId));
    for (const r of results) expect(logged.has(r.body.requestId)).toBe(true);

    // Reopen the memory from its files: every acknowledged decision is there, as answered.
    const store = new MemoryStore({ dataDir, readOnly: true });
    const records = [];
    for await (const record of store.export(MODEL, { norm: 'l2' })) records.push(record);
    await store.close();
    const bySeq = new Map(records.map((r) => [r.seq, r]));
    for (const r of results) {
      const record = bySeq.get(r.body.memory.seq);
      expect(record, `seq ${r.body.memory.seq}`).toBeDefined();
      expect(record!.seed).toBe(r.body.seed);
      expect(record!.answer).toBe(r.body.answer);
      expect(record!.radius).toBe(r.body.radius);
    }
  });
});
