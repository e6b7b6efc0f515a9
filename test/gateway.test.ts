// The gateway over real HTTP: every route and its contract fields (DESIGN 3.1/3.2), with the
// shipped model in real engine workers and the real memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN, b64, exportMemory, metricValue, postJson, startTestGateway, testImages, type TestGateway,
} from './helpers/gatewayHarness.js';

let gw: TestGateway;
let certifyUrl: string;

beforeAll(async () => {
  gw = await startTestGateway();
  certifyUrl = `${gw.url}/v1/models/${gw.model}:certify`;
});
afterAll(async () => {
  await gw?.stop();
});

function expectContract(body: any): void {
  expect(Object.keys(body)).toEqual(expect.arrayContaining(['requestId', 'id', 'model', 'answer', 'label', 'radius', 'norm', 'sigma', 'base', 'memory', 'seed', 'timingsMs']));
  expect(typeof body.requestId).toBe('string');
  expect(body.model).toBe(gw.model);
  expect(body.answer === null || Number.isInteger(body.answer)).toBe(true);
  expect(body.radius).toBeGreaterThanOrEqual(0);
  if (body.answer === null) {
    expect(body.label).toBeNull();
    expect(body.radius).toBe(0);
  } else expect(typeof body.label).toBe('string');
  expect(['l2', 'l1']).toContain(body.norm);
  expect(body.sigma).toBeGreaterThan(0);
  for (const key of ['answer', 'radius', 'pALower', 'countA', 'n', 'n0', 'alpha', 'sigma0']) expect(body.base).toHaveProperty(key);
  expect(body.base.countA).toBeLessThanOrEqual(body.base.n);
  expect(body.base.pALower).toBeGreaterThanOrEqual(0);
  expect(body.base.pALower).toBeLessThanOrEqual(1);
  expect(Number.isInteger(body.memory.seq)).toBe(true);
  expect(['none', 'shrink', 'relabel', 'repeat']).toContain(body.memory.action);
  expect(body.memory).toHaveProperty('conflictSeq');
  expect(body.seed).toMatch(/^[0-9a-f]{32}$/);
  for (const key of ['sigma', 'certify', 'memory', 'total']) expect(typeof body.timingsMs[key]).toBe('number');
  expect(body.timingsMs.total).toBeGreaterThanOrEqual(body.timingsMs.memory);
}

describe('v1 certify, predict, stream and export', () => {
  it('lists the manifest models', async () => {
    const res = await fetch(`${gw.url}/v1/models`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.default).toBe(gw.model);
    const entry = body.models.find((m: any) => m.name === gw.model);
    expect(entry.inputShape).toEqual([1, 28, 28]);
    expect(entry.labels).toHaveLength(10);
  });

  it('certifies a JSON array and answers the DESIGN 3.1 object; a b64 copy of it is a repeat', async () => {
    const [image] = testImages(1);
    const first = await postJson(certifyUrl, { input: image, id: 'client-1', params: { n: 200, n0: 20 } }, { 'x-request-id': 'req-abc' });
    expect(first.status).toBe(200);
    expectContract(first.body);
    expect(first.body.id).toBe('client-1');
    expect(first.body.requestId).toBe('req-abc');
    expect(first.headers.get('x-request-id')).toBe('req-abc');
    expect(first.body.base.n).toBe(200);
    expect(first.body.base.n0).toBe(20);
    expect(first.body.memory.action).toBe('none');
    expect(first.body.radius).toBeLessThanOrEqual(first.body.base.radius);

    const evaluations = async () => metricValue(await (await fetch(`${gw.url}/metrics`)).text(), 'certigate_model_evaluations_total', { model: gw.model });
    const evaluationsBefore = await evaluations();
    const again = await postJson(certifyUrl, { input: { b64: b64(image!) } });
    expect(again.status).toBe(200);
    // Answered from the memory before any model evaluation.
    expect(await evaluations()).toBe(evaluationsBefore);
    expect(again.body.timingsMs.certify).toBe(0);
    expect(again.body.timingsMs.sigma).toBe(0);
    expectContract(again.body);
    expect(again.body.id).toBeNull();
    expect(again.body.memory.action).toBe('repeat');
    expect(again.body.memory.seq).toBe(first.body.memory.seq);
    expect(again.body.answer).toBe(first.body.answer);
    expect(again.body.radius).toBe(first.body.radius);
    expect(again.body.seed).toBe(first.body.seed);

    const exported = await exportMemory(gw.url, gw.model, first.body.memory.seq - 1);
    expect(exported[0].seq).toBe(first.body.memory.seq);
    expect(exported[0].seed).toBe(first.body.seed);
    expect(exported[0].input.b64).toBe(b64(image!));
    expect(exported[0].radius).toBe(first.body.radius);
  });

  it('abstains when the evidence cannot reach pA > 1/2, and an abstain inside a region is relabelled', async () => {
    const image = testImages(3)[2]!;
    const certified = await postJson(certifyUrl, { input: image, params: { n: 400, sigma: 0.25 } });
    expect(certified.status).toBe(200);
    // n = 20 at alpha = 1e-9: even 20/20 gives a Clopper-Pearson bound of 1e-9^(1/20) < 1/2.
    const nearby = image.map((v, i) => (i === 0 ? Math.min(1, v + 1e-3) : v));
    const weak = await postJson(certifyUrl, { input: nearby, params: { n: 20, n0: 20, alpha: 1e-9, sigma: 0.25 } });
    expect(weak.status).toBe(200);
    expectContract(weak.body);
    expect(weak.body.base.answer).toBeNull();
    expect(weak.body.base.radius).toBe(0);
    // The test image (a trouser) is certified with a clear margin, so the abstain lies inside its region.
    expect(certified.body.answer).not.toBeNull();
    expect(certified.body.radius).toBeGreaterThan(1e-2);
    expect(weak.body.memory.action).toBe('relabel');
    expect(weak.body.answer).toBe(certified.body.answer);
    expect(weak.body.memory.conflictSeq).toBe(certified.body.memory.seq);
    expect(weak.body.radius).toBeGreaterThan(0);
    expect(weak.body.radius).toBeLessThanOrEqual(certified.body.radius);
  });

  it('predicts without touching the memory', async () => {
    const before = await exportMemory(gw.url, gw.model);
    const res = await postJson(`${gw.url}/v1/models/${gw.model}:predict`, { input: testImages(4)[3], params: { n: 200 } });
    expect(res.status).toBe(200);
    for (const key of ['requestId', 'model', 'answer', 'label', 'norm', 'sigma', 'n', 'alpha', 'countA', 'countB', 'pValue', 'seed']) expect(res.body).toHaveProperty(key);
    expect(res.body.n).toBe(200);
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
  });

  it('streams NDJSON in order; a bad line gets an error line and the stream goes on', async () => {
    const images = testImages(8).slice(4, 8);
    const lines = [
      JSON.stringify({ input: images[0], id: 's0' }),
      '{not json',
      JSON.stringify({ input: images[1], id: 's2' }),
      JSON.stringify({ input: [0.5, 0.5], id: 's3' }),
      '',
      JSON.stringify({ input: { b64: b64(images[2]!) }, id: 's5' }),
      JSON.stringify({ input: images[3], id: 's6', params: { n: 10_000_000 } }),
      JSON.stringify({ input: images[3], id: 's7' }),
    ];
    const res = await fetch(`${gw.url}/v1/models/${gw.model}:certifyStream`, {
      method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') + '\n',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const out = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(out).toHaveLength(7); // the empty line is skipped
    expect(out.map((o) => o.id ?? o.error.code)).toEqual(['s0', 'invalid_json', 's2', 'input_shape', 's5', 'param_out_of_bounds', 's7']);
    for (const o of [out[0], out[2], out[4], out[6]]) expectContract(o);
    expect(out[1].line).toBe(2);
    const seqs = [out[0], out[2], out[4], out[6]].map((o) => o.memory.seq);
    expect(new Set(seqs).size).toBe(4);
  });

  it('keeps the l1 certificates in their own memory (export ?norm=l1)', async () => {
    const l2Before = await exportMemory(gw.url, gw.model);
    const res = await postJson(certifyUrl, { input: testImages(15)[14], params: { norm: 'l1', sigma: 0.25 } });
    expect(res.status).toBe(200);
    expectContract(res.body);
    expect(res.body.norm).toBe('l1');
    const l1 = await (await fetch(`${gw.url}/v1/models/${gw.model}/memory?norm=l1`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const records = l1.trim().split('\n').map((l) => JSON.parse(l));
    expect(records.at(-1)).toMatchObject({ seq: res.body.memory.seq, norm: 'l1', seed: res.body.seed });
    expect(await exportMemory(gw.url, gw.model)).toEqual(l2Before);
  });

  it('takes the sigma solver and its budget from params and records them for replay', async () => {
    const image = testImages(20)[17]!.map((v, i) => (i === 0 ? 0.123 : v)); // unique: not a repeat
    const res = await postJson(certifyUrl, { input: image, params: { n: 100, n0: 10, solver: 'grid', search: { samples: 8, gridSize: 5 } } });
    expect(res.status).toBe(200);
    expect(res.body.base.solver).toBe('grid');
    const [record] = await exportMemory(gw.url, gw.model, res.body.memory.seq - 1);
    expect(record.params.solver).toBe('grid');
    expect(record.params.searchOptions).toMatchObject({ solver: 'grid', samples: 8, gridSize: 5, sigma0: 0.25 });
  });

  it('exports the memory as NDJSON behind the admin token, with ?after', async () => {
    const all = await exportMemory(gw.url, gw.model);
    expect(all.length).toBeGreaterThan(3);
    expect(all.map((r) => r.seq)).toEqual([...all.map((r) => r.seq)].sort((a, b) => a - b));
    for (const key of ['seq', 'model', 'norm', 'answer', 'radius', 'sigma', 'input', 'seed', 'time']) expect(all[0]).toHaveProperty(key);
    const tail = await exportMemory(gw.url, gw.model, all[1].seq);
    expect(tail).toEqual(all.slice(2));
    const url = `${gw.url}/v1/models/${gw.model}/memory`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await none.json()).error.code).toBe('unauthorized');
    expect((await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } })).status).toBe(401);
    expect((await fetch(`${url}?after=abc`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(400);
  });
});

describe('bad input gets a 4xx and changes nothing (DESIGN 3.2)', () => {
  const image = () => testImages(1)[0]!;
  const withValue = (value: number) => {
    const x = Float32Array.from(image());
    x[100] = value;
    return b64(x);
  };
  const cases: Array<{ name: string; path?: string; body: () => unknown; status: number; code: string; contentType?: string }> = [
    { name: 'array too short', body: () => ({ input: image().slice(1) }), status: 400, code: 'input_shape' },
    { name: 'array too long', body: () => ({ input: [...image(), 0] }), status: 400, code: 'input_shape' },
    { name: 'b64 of the wrong length', body: () => ({ input: { b64: b64(image().slice(3)) } }), status: 400, code: 'input_shape' },
    { name: 'NaN in b64', body: () => ({ input: { b64: withValue(Number.NaN) } }), status: 400, code: 'input_not_finite' },
    { name: 'Infinity in b64', body: () => ({ input: { b64: withValue(Number.POSITIVE_INFINITY) } }), status: 400, code: 'input_not_finite' },
    { name: '-Infinity in b64', body: () => ({ input: { b64: withValue(Number.NEGATIVE_INFINITY) } }), status: 400, code: 'input_not_finite' },
    { name: 'not base64', body: () => ({ input: { b64: '@@@@' } }), status: 400, code: 'input_encoding' },
    { name: 'value outside the data domain', body: () => ({ input: image().map((v, i) => (i === 5 ? 1.5 : v)) }), status: 400, code: 'input_domain' },
    { name: 'string in the array', body: () => ({ input: image().map((v, i) => (i === 5 ? 'x' : v)) }), status: 400, code: 'invalid_request' },
    { name: 'missing input', body: () => ({ params: { n: 100 } }), status: 400, code: 'invalid_request' },
    { name: 'unknown field', body: () => ({ input: image(), seed: 'abcd' }), status: 400, code: 'invalid_request' },
    { name: 'n over the bound', body: () => ({ input: image(), params: { n: 2_000_000 } }), status: 400, code: 'param_out_of_bounds' },
    { name: 'n0 over the bound', body: () => ({ input: image(), params: { n0: 20_000 } }), status: 400, code: 'param_out_of_bounds' },
    { name: 'alpha under the bound', body: () => ({ input: image(), params: { alpha: 1e-12 } }), status: 400, code: 'param_out_of_bounds' },
    { name: 'alpha of 1', body: () => ({ input: image(), params: { alpha: 1 } }), status: 400, code: 'invalid_request' },
    { name: 'alpha of 0.5', body: () => ({ input: image(), params: { alpha: 0.5 } }), status: 400, code: 'invalid_request' },
    { name: 'search budget over the bound', body: () => ({ input: image(), params: { search: { samples: 1000, gridSize: 64 } } }), status: 400, code: 'param_out_of_bounds' },
    { name: 'unknown search option', body: () => ({ input: image(), params: { search: { seed: 1 } } }), status: 400, code: 'invalid_request' },
    { name: 'sigma over the bound', body: () => ({ input: image(), params: { sigma: 5 } }), status: 400, code: 'param_out_of_bounds' },
    { name: 'negative sigma', body: () => ({ input: image(), params: { sigma: -0.1 } }), status: 400, code: 'invalid_request' },
    { name: 'unknown norm', body: () => ({ input: image(), params: { norm: 'linf' } }), status: 400, code: 'invalid_request' },
    { name: 'fractional n', body: () => ({ input: image(), params: { n: 100.5 } }), status: 400, code: 'invalid_request' },
    { name: 'invalid JSON', body: () => '{"input": [', status: 400, code: 'invalid_json' },
    { name: '1e400 in JSON (parses to Infinity)', body: () => JSON.stringify({ input: image() }).replace(/^\{"input":\[[^,]+,/, '{"input":[1e400,'), status: 400, code: 'invalid_request' },
    { name: 'unknown model', path: '/v1/models/no-such-model:certify', body: () => ({ input: image() }), status: 404, code: 'unknown_model' },
    { name: 'unknown method', path: '/v1/models/fmnist-cohen-025:explain', body: () => ({ input: image() }), status: 404, code: 'not_found' },
    { name: 'wrong content type', body: () => JSON.stringify({ input: image() }), status: 415, code: 'unsupported_media_type', contentType: 'text/plain' },
    { name: 'body over the limit', body: () => ({ input: image(), id: 'x'.repeat(2 << 20) }), status: 413, code: 'body_too_large' },
  ];

  it.each(cases)('$name -> $status $code', async ({ path, body, status, code, contentType }) => {
    const before = await exportMemory(gw.url, gw.model);
    const payload = body();
    const res = await fetch(`${gw.url}${path ?? `/v1/models/${gw.model}:certify`}`, {
      method: 'POST', headers: { 'content-type': contentType ?? 'application/json' }, body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    expect(res.status).toBe(status);
    const error = (await res.json()).error;
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
  });

  it('a chunked body over the limit (no Content-Length) -> 413, nothing stored', async () => {
    const before = await exportMemory(gw.url, gw.model);
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(certifyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('body_too_large');
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
  });

  it('stream with the wrong content type -> 415; OIP infer with a bad shape -> 400 {"error": string}', async () => {
    const before = await exportMemory(gw.url, gw.model);
    const stream = await fetch(`${gw.url}/v1/models/${gw.model}:certifyStream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(stream.status).toBe(415);
    const infer = await postJson(`${gw.url}/v2/models/${gw.model}/infer`, { inputs: [{ name: 'input', shape: [1, 27, 28], datatype: 'FP32', data: image().slice(28) }] });
    expect(infer.status).toBe(400);
    expect(typeof infer.body.error).toBe('string');
    const nan = await postJson(`${gw.url}/v2/models/${gw.model}/infer`, { inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP64', data: image() }] });
    expect(nan.status).toBe(400);
    const deep = 20_000; // nesting far deeper than the shape must be a 400, not a stack overflow
    const nested = await postJson(`${gw.url}/v2/models/${gw.model}/infer`, `{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":${'['.repeat(deep)}1${']'.repeat(deep)}}]}`);
    expect(nested.status).toBe(400);
    const strings = await postJson(`${gw.url}/v2/models/${gw.model}/infer`, { inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', data: image().map(String) }] });
    expect(strings.status).toBe(400);
    const unknown = await postJson(`${gw.url}/v2/models/nope/infer`, { inputs: [] });
    expect(unknown.status).toBe(404);
    expect(typeof unknown.body.error).toBe('string');
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
  });
});

describe('Open Inference Protocol v2', () => {
  it('health, server and model metadata, readiness', async () => {
    expect((await fetch(`${gw.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${gw.url}/v2/health/ready`)).status).toBe(200);
    const server = await (await fetch(`${gw.url}/v2`)).json();
    expect(server).toMatchObject({ name: 'certigate' });
    expect(Array.isArray(server.extensions)).toBe(true);
    expect(typeof server.version).toBe('string');
    const meta = await (await fetch(`${gw.url}/v2/models/${gw.model}`)).json();
    expect(meta).toMatchObject({ name: gw.model, platform: 'onnx_onnxv1' });
    expect(meta.versions.length).toBeGreaterThan(0);
    expect(meta.inputs[0]).toEqual({ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] });
    expect(meta.outputs[0]).toEqual({ name: 'logits', datatype: 'FP32', shape: [-1, 10] });
    expect((await fetch(`${gw.url}/v2/models/${gw.model}/ready`)).status).toBe(200);
    const missing = await fetch(`${gw.url}/v2/models/nope/ready`);
    expect(missing.status).toBe(404);
    expect(typeof (await missing.json()).error).toBe('string');
  });

  it('infer certifies with parameters in and results out', async () => {
    const image = testImages(10)[9]!;
    const res = await postJson(`${gw.url}/v2/models/${gw.model}/infer`, {
      id: 'oip-1', parameters: { n: 200, n0: 20, alpha: 0.001 },
      inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: image }],
    });
    expect(res.status).toBe(200);
    expect(res.body.model_name).toBe(gw.model);
    expect(res.body.id).toBe('oip-1');
    const names = res.body.outputs.map((o: any) => o.name);
    expect(names).toEqual(['answer', 'radius', 'sigma', 'p_a_lower', 'memory_seq']);
    for (const output of res.body.outputs) expect(output.shape).toEqual([1]);
    const decisions = JSON.parse(res.body.parameters.decisions);
    expectContract(decisions[0]);
    expect(res.body.parameters.memory_seq).toBe(decisions[0].memory.seq);
    expect(res.body.outputs[0].data[0]).toBe(decisions[0].answer ?? -1);
    expect(decisions[0].base.n).toBe(200);
  });

  it('answers under /versions/1 too, and 404 for another version', async () => {
    expect((await fetch(`${gw.url}/v2/models/${gw.model}/versions/1/ready`)).status).toBe(200);
    expect((await (await fetch(`${gw.url}/v2/models/${gw.model}/versions/1`)).json()).name).toBe(gw.model);
    const other = await fetch(`${gw.url}/v2/models/${gw.model}/versions/2`);
    expect(other.status).toBe(404);
    expect(typeof (await other.json()).error).toBe('string');
    const res = await postJson(`${gw.url}/v2/models/${gw.model}/versions/1/infer`, {
      parameters: { mode: 'logits' }, inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', data: testImages(1)[0] }],
    });
    expect(res.status).toBe(200);
    expect(res.body.outputs[0].shape).toEqual([1, 10]);
  });

  it('infer predict runs PREDICT per row and stores nothing', async () => {
    const before = await exportMemory(gw.url, gw.model);
    const images = testImages(2);
    const res = await postJson(`${gw.url}/v2/models/${gw.model}/infer`, {
      parameters: { mode: 'predict', n: 200 }, inputs: [{ name: 'input', shape: [2, 1, 28, 28], datatype: 'FP32', data: images }],
    });
    expect(res.status).toBe(200);
    expect(res.body.outputs.map((o: any) => o.name)).toEqual(['answer', 'p_value']);
    expect(res.body.outputs[0].shape).toEqual([2]);
    expect(JSON.parse(res.body.parameters.predictions)).toHaveLength(2);
    expect(await exportMemory(gw.url, gw.model)).toEqual(before);
  });

  it('infer logits runs the raw forward pass on a batch', async () => {
    const images = testImages(2);
    const res = await postJson(`${gw.url}/v2/models/${gw.model}/infer`, {
      parameters: { mode: 'logits' }, inputs: [{ name: 'input', shape: [2, 784], datatype: 'FP32', data: images }],
      outputs: [{ name: 'logits' }],
    });
    expect(res.status).toBe(200);
    expect(res.body.outputs[0]).toMatchObject({ name: 'logits', shape: [2, 10], datatype: 'FP32' });
    expect(res.body.outputs[0].data).toHaveLength(20);
  });
});

describe('concurrency', () => {
  it('evaluates concurrent requests in parallel workers (both busy at once)', async () => {
    let maxBusy = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await fetch(`${gw.url}/metrics`)).text();
        maxBusy = Math.max(maxBusy, metricValue(text, 'certigate_engine_workers_busy'));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const images = testImages(20).slice(16, 20);
    const results = await Promise.all(images.map((input) => postJson(certifyUrl, { input, params: { n: 5000, sigma: 0.25 } })));
    sampling = false;
    await sampler;
    for (const r of results) expect(r.status).toBe(200);
    expect(maxBusy).toBe(2);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metricValue(text, 'certigate_engine_workers_busy')).toBe(0);
  });
});

describe('OpenAPI and metrics', () => {
  it('serves an OpenAPI document of every route', async () => {
    const doc = await (await fetch(`${gw.url}/openapi.json`)).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/v1/models', '/v1/models/{model}:certify', '/v1/models/{model}:certifyStream', '/v1/models/{model}:predict',
      '/v1/models/{model}/memory', '/metrics', '/v2', '/v2/health/live', '/v2/health/ready', '/v2/models/{model}', '/v2/models/{model}/ready', '/v2/models/{model}/infer']) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(Object.keys(doc.components.schemas.CertifyResponse.properties)).toEqual(expect.arrayContaining(['requestId', 'base', 'memory', 'seed', 'timingsMs']));
  });

  it('moves the listed series', async () => {
    const scrape = async () => {
      const res = await fetch(`${gw.url}/metrics`);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    const before = await scrape();
    const model = { model: gw.model };
    // A new point next to the trouser image, an abstain right next to it (relabelled: an overlap), an abstain elsewhere.
    const trouser = testImages(3)[2]!;
    const shifted = (delta: number) => trouser.map((v, i) => (i === 7 ? Math.min(1, v + delta) : v));
    const weak = { n: 20, n0: 20, alpha: 1e-9, sigma: 0.25 };
    const ok = await postJson(certifyUrl, { input: shifted(2e-3), params: { n: 400, sigma: 0.25 } });
    expect(ok.status).toBe(200);
    const relabelled = await postJson(certifyUrl, { input: shifted(3e-3), params: weak });
    expect(relabelled.body.memory.action).toBe('relabel');
    const abstain = await postJson(certifyUrl, { input: testImages(13)[12], params: weak });
    expect(abstain.status).toBe(200);
    expect(abstain.body.answer).toBeNull();
    await postJson(certifyUrl, { input: [1] });
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(moved('certigate_decisions_total', model)).toBe(3);
    expect(moved('certigate_decisions_total', { ...model, action: 'relabel' })).toBe(1);
    expect(moved('certigate_decisions_total', { ...model, answer: 'abstain' })).toBe(1);
    expect(moved('certigate_memory_overlaps_total', { ...model, action: 'relabel' })).toBe(1);
    expect(moved('certigate_memory_overlapping_regions_total', model)).toBeGreaterThanOrEqual(1);
    expect(moved('certigate_stage_duration_seconds_count', { ...model, stage: 'sigma' })).toBe(3);
    expect(moved('certigate_stage_duration_seconds_count', { ...model, stage: 'certify' })).toBe(3);
    expect(moved('certigate_stage_duration_seconds_count', { ...model, stage: 'memory' })).toBe(3);
    expect(moved('certigate_memory_fsync_duration_seconds_count', model)).toBeGreaterThanOrEqual(1);
    expect(moved('certigate_memory_records', model)).toBe(3);
    expect(moved('certigate_http_request_duration_seconds_count', { route: '/v1/models/{model}:certify', status: '200' })).toBe(3);
    expect(moved('certigate_http_request_duration_seconds_count', { route: '/v1/models/{model}:certify', status: '400' })).toBe(1);
    expect(moved('certigate_certified_radius_count', model)).toBe(3);
    expect(moved('certigate_sigma_count', model)).toBe(3);
    expect(moved('certigate_abstains_total', model)).toBe(1);
    expect(moved('certigate_model_evaluations_total', model)).toBeGreaterThanOrEqual((20 + 400) + 2 * (20 + 20));
    expect(moved('certigate_memory_records_appended_total', model)).toBe(3);
    expect(moved('certigate_rejected_requests_total', { reason: 'input_shape' })).toBe(1);
    for (const name of ['certigate_queue_depth', 'certigate_in_flight_requests', 'certigate_memory_overlaps_total', 'certigate_nats_publish_failures_total', 'certigate_memory_last_seq']) {
      expect(after).toContain(`# TYPE ${name}`);
    }
  });
});
