// NATS: a real nats-server (JetStream on) receives every durable decision, in memory order, on
// certigate.decisions.{model}; certify is a discoverable NATS service answering requests.
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportMemory, postJson, startTestGateway, testImages, type TestGateway } from './helpers/gatewayHarness.js';
import { startNatsServer, type NatsServer } from './helpers/gatewayNats.js';

let nats: NatsServer;
let gw: TestGateway;
let nc: NatsConnection;
const received: any[] = [];
const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const decode = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  const sub = nc.subscribe('certigate.decisions.*');
  (async () => {
    for await (const m of sub) received.push({ subject: m.subject, body: decode(m) });
  })();
  await nc.flush();
  // natsStream: the gateway creates a JetStream stream for the decisions and publishes with acks.
  gw = await startTestGateway({ natsUrl: nats.url, natsStream: 'DECISIONS' });
});

afterAll(async () => {
  await gw?.stop();
  await nc?.close();
  await nats?.stop();
});

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('NATS', () => {
  it('publishes every decision after it is durable, in memory order', async () => {
    const images = testImages(10);
    const url = `${gw.url}/v1/models/${gw.model}:certify`;
    const responses = await Promise.all(images.map((input, i) => postJson(url, { input, id: `n${i}` })));
    for (const r of responses) expect(r.status).toBe(200);
    await waitFor(() => received.length >= images.length, 'decisions on NATS');
    expect(received).toHaveLength(images.length);
    for (const m of received) expect(m.subject).toBe(`certigate.decisions.${gw.model}`);
    const seqs = received.map((m) => m.body.memory.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // the log order
    expect(new Set(seqs).size).toBe(seqs.length);
    // The published object is the response object.
    const byRequest = new Map(responses.map((r) => [r.body.requestId, r.body]));
    for (const m of received) expect(m.body).toEqual(byRequest.get(m.body.requestId));
    // Every published decision is in the memory.
    const stored = await exportMemory(gw.url, gw.model);
    const storedSeqs = new Set(stored.map((r) => r.seq));
    for (const s of seqs) expect(storedSeqs.has(s)).toBe(true);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info('DECISIONS')).state.messages).toBe(images.length);
  });

  it('offers certify as a discoverable NATS service (request/reply)', async () => {
    const client = nc.services.client();
    const pings = [];
    for await (const p of await client.ping('certigate')) pings.push(p);
    expect(pings).toHaveLength(1);
    const infos = [];
    for await (const i of await client.info('certigate')) infos.push(i);
    expect(infos[0].endpoints.map((e: any) => e.subject)).toContain('certigate.certify');

    const before = received.length;
    const input = testImages(12)[11];
    const reply = await nc.request('certigate.certify', encode({ input, id: 'via-nats', params: { n: 200, n0: 20 } }), { timeout: 60_000 });
    expect(reply.headers?.get('Nats-Service-Error-Code') ?? '').toBe('');
    const body = decode(reply);
    expect(body).toMatchObject({ id: 'via-nats', model: gw.model });
    for (const key of ['requestId', 'answer', 'label', 'radius', 'norm', 'sigma', 'base', 'memory', 'seed', 'timingsMs']) expect(body).toHaveProperty(key);
    await waitFor(() => received.length === before + 1, 'the service decision on NATS');
    expect(received.at(-1).body).toEqual(body);

    // A named model works too; bad input gets a service error with the HTTP status, and changes nothing.
    const stored = await exportMemory(gw.url, gw.model);
    const bad = await nc.request('certigate.certify', encode({ model: gw.model, input: [1, 2, 3] }), { timeout: 10_000 });
    expect(bad.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(decode(bad).error.code).toBe('input_shape');
    const unknown = await nc.request('certigate.certify', encode({ model: 'nope', input }), { timeout: 10_000 });
    expect(unknown.headers?.get('Nats-Service-Error-Code')).toBe('404');
    const notJson = await nc.request('certigate.certify', new TextEncoder().encode('{'), { timeout: 10_000, headers: natsHeaders() });
    expect(notJson.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(await exportMemory(gw.url, gw.model)).toEqual(stored);
    expect(received.length).toBe(before + 1);

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/certigate_nats_published_total\{model="fmnist-cohen-025"\} 11/);
    expect(metrics).not.toMatch(/certigate_nats_publish_failures_total\{[^\n]*\} [1-9]/);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info('DECISIONS')).state.messages).toBe(11);
  });

  it('counts a decision JetStream did not acknowledge as a publish failure; the answer still goes out', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete('DECISIONS');
    const failures = async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      const match = /certigate_nats_publish_failures_total\{model="fmnist-cohen-025"\} (\d+)/.exec(text);
      return match ? Number(match[1]) : 0;
    };
    const before = await failures();
    const res = await postJson(`${gw.url}/v1/models/${gw.model}:certify`, { input: testImages(14)[13] });
    expect(res.status).toBe(200);
    const until = Date.now() + 20_000;
    while ((await failures()) === before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await failures()).toBe(before + 1);
    const stored = await exportMemory(gw.url, gw.model);
    expect(stored.at(-1).seed).toBe(res.body.seed);
  });
});
