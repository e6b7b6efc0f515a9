// Per-request deadline: a request still queued when its deadline passes gets 503 + Retry-After,
// one still evaluating gets 504; neither stores anything.
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
    // n = 50 000 takes far longer than 150 ms on any CPU; three requests share one worker.
    const results = await Promise.all(testImages(3).map((input) => postJson(url, { input, params: { n: 50_000, sigma: 0.25 } })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([503, 503, 504]);
    for (const r of results) expect(r.body.error.code).toBe('deadline_exceeded');
    for (const r of results.filter((x) => x.status === 503)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
  });
});
