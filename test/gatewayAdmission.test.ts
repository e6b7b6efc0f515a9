// Admission: a request still queued when its deadline passes gets 503 + Retry-After, one still
// evaluating gets 504, neither stores anything; a stream waits for room instead of failing lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportMemory, postJson, startTestGateway, testImages, type TestGateway } from './helpers/gatewayHarness.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ workers: 1, maxQueue: 8, requestDeadlineMs: 150 });
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
    // queued one may start and time out while running (504); the later ones expire queued (503).
    expect(statuses[0]).toBe(503);
    expect(statuses[statuses.length - 1]).toBe(504);
    for (const status of statuses) expect([503, 504]).toContain(status);
    for (const r of results) expect(r.body.error.code).toBe('deadline_exceeded');
    for (const r of results.filter((x) => x.status === 503)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
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
