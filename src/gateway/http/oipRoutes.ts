// Open Inference Protocol (KServe v2) routes. Errors use OIP's own body `{ "error": "..." }`.
// `infer` certifies each row of the batch by default; `parameters.mode` = "predict" runs
// Cohen's PREDICT and "logits" the raw forward pass. Certification parameters travel in the
// request's `parameters` (n0, n, alpha, sigma, norm, solver) and results in the response's.
import { Hono } from 'hono';
import { z } from 'zod';
import type { ModelEntry } from '../../engine/manifest.js';
import type { CertifyResponse } from '../decisionResponse.js';
import { badRequest, GatewayError } from '../errors.js';
import { decodeInput, parseOrThrow } from '../validation.js';
import { readJsonBody } from './body.js';
import type { AppDeps, GatewayEnv } from './env.js';

const paramValue = z.union([z.string(), z.number(), z.boolean()]);

const inferRequestSchema = z.object({
  id: z.string().max(256).optional(),
  parameters: z.record(z.string(), paramValue).optional(),
  inputs: z.array(z.object({
    name: z.string(),
    shape: z.array(z.number().int().nonnegative()).min(1),
    datatype: z.string(),
    data: z.array(z.unknown()), // numbers, flat or nested by the shape; checked by flatten()
    parameters: z.record(z.string(), paramValue).optional(),
  })).length(1, 'the model takes exactly one input tensor'),
  outputs: z.array(z.object({ name: z.string(), parameters: z.record(z.string(), paramValue).optional() })).optional(),
});

const CERTIFY_PARAM_KEYS = ['n0', 'n', 'alpha', 'sigma', 'norm', 'solver'] as const;
const PREDICT_PARAM_KEYS = ['n', 'alpha', 'sigma', 'norm'] as const;

/** Row-major values of `data` (flat, or nested at most `maxDepth` deep); anything else is a 400. */
function flatten(data: unknown[], maxDepth: number, out: number[] = [], depth = 1): number[] {
  if (depth > maxDepth) throw badRequest('input_shape', `data is nested deeper than its shape (${maxDepth} dimensions)`);
  for (const v of data) {
    if (Array.isArray(v)) flatten(v, maxDepth, out, depth + 1);
    else if (typeof v === 'number') out.push(v);
    else throw badRequest('invalid_request', `inputs.0.data holds a ${v === null ? 'null' : typeof v}; FP32 data are numbers`);
  }
  return out;
}

function pick(parameters: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (parameters[key] !== undefined) out[key] = parameters[key];
  return out;
}

interface Tensor { name: string; shape: number[]; datatype: string; data: number[] }

/** Rows of the batch as flat arrays, after checking name, datatype and shape against the model. */
function batchRows(input: z.infer<typeof inferRequestSchema>['inputs'][number], entry: ModelEntry): number[][] {
  if (input.name !== entry.inputName) throw badRequest('input_name', `input tensor is named "${input.name}"; model ${entry.name} takes "${entry.inputName}"`);
  if (input.datatype !== 'FP32') throw badRequest('input_datatype', `datatype ${input.datatype} is not supported; send FP32`);
  const size = entry.inputShape.reduce((a, b) => a * b, 1);
  const [rows, ...rest] = input.shape;
  const restSize = rest.reduce((a, b) => a * b, 1);
  const sameShape = rest.length === entry.inputShape.length && rest.every((d, i) => d === entry.inputShape[i]);
  if (rows === undefined || rows < 1 || restSize !== size || !(sameShape || rest.length === 1)) {
    throw badRequest('input_shape', `shape [${input.shape.join(', ')}] does not match [-1, ${entry.inputShape.join(', ')}]`);
  }
  const flat = flatten(input.data, input.shape.length);
  if (flat.length !== rows * size) throw badRequest('input_shape', `data holds ${flat.length} values; shape [${input.shape.join(', ')}] needs ${rows * size}`);
  return Array.from({ length: rows }, (_, r) => flat.slice(r * size, (r + 1) * size));
}

function certifyOutputs(decisions: CertifyResponse[]): Tensor[] {
  const shape = [decisions.length];
  return [
    { name: 'answer', shape, datatype: 'INT64', data: decisions.map((d) => d.answer ?? -1) },
    { name: 'radius', shape, datatype: 'FP64', data: decisions.map((d) => d.radius) },
    { name: 'sigma', shape, datatype: 'FP64', data: decisions.map((d) => d.sigma) },
    { name: 'p_a_lower', shape, datatype: 'FP64', data: decisions.map((d) => d.base.pALower) },
    { name: 'memory_seq', shape, datatype: 'INT64', data: decisions.map((d) => d.memory.seq) },
  ];
}

function certifyParameters(decisions: CertifyResponse[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = { mode: 'certify', decisions: JSON.stringify(decisions) };
  if (decisions.length === 1) {
    const d = decisions[0]!;
    Object.assign(out, {
      request_id: d.requestId, answer: d.answer ?? -1, label: d.label ?? 'abstain', radius: d.radius, norm: d.norm,
      sigma: d.sigma, seed: d.seed, memory_seq: d.memory.seq, memory_action: d.memory.action,
    });
  }
  return out;
}

function selectOutputs(outputs: Tensor[], requested: Array<{ name: string }> | undefined): Tensor[] {
  if (!requested || requested.length === 0) return outputs;
  return requested.map(({ name }) => {
    const found = outputs.find((o) => o.name === name);
    if (!found) throw badRequest('unknown_output', `unknown output "${name}"; available: ${outputs.map((o) => o.name).join(', ')}`);
    return found;
  });
}

export function oipRoutes(deps: AppDeps): Hono<GatewayEnv> {
  const { config, service, state } = deps;
  const app = new Hono<GatewayEnv>();

  app.get('/', (c) => {
    c.set('route', '/v2');
    return c.json({ name: 'certigate', version: deps.version, extensions: ['certify', 'predict', 'logits'] });
  });
  app.get('/health/live', (c) => {
    c.set('route', '/v2/health/live');
    return c.json({ live: true });
  });
  app.get('/health/ready', (c) => {
    c.set('route', '/v2/health/ready');
    const ready = state.ready && !state.draining;
    return c.json({ ready }, ready ? 200 : 400); // OIP: 200 = true, 4xx = false
  });
  // Every model route also answers under /versions/{version} (OIP); the one version is "1".
  const checkVersion = (version: string | undefined) => {
    if (version !== undefined && version !== '1') throw new GatewayError(404, 'unknown_version', `unknown model version "${version}"; the only version is "1"`);
  };
  const param = (c: { req: { param(name: string): string | undefined } }, name: string) => c.req.param(name);
  app.on('GET', ['/models/:model/ready', '/models/:model/versions/:version/ready'], (c) => {
    c.set('route', '/v2/models/{model}/ready');
    const entry = service.model(c.req.param('model'));
    checkVersion(param(c, 'version'));
    const ready = state.ready && !state.draining;
    return c.json({ name: entry.name, ready }, ready ? 200 : 400);
  });
  app.on('GET', ['/models/:model', '/models/:model/versions/:version'], (c) => {
    c.set('route', '/v2/models/{model}');
    const entry = service.model(c.req.param('model'));
    checkVersion(param(c, 'version'));
    return c.json({
      name: entry.name,
      versions: ['1'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: entry.inputName, datatype: 'FP32', shape: [-1, ...entry.inputShape] }],
      outputs: [{ name: entry.outputName, datatype: 'FP32', shape: [-1, entry.labels.length] }],
      parameters: { labels: JSON.stringify(entry.labels), sigma0: entry.sigma0, norm: entry.norm, domain_min: entry.domain.min, domain_max: entry.domain.max },
    });
  });

  app.on('POST', ['/models/:model/infer', '/models/:model/versions/:version/infer'], async (c) => {
    c.set('route', '/v2/models/{model}/infer');
    const entry = service.model(c.req.param('model'));
    checkVersion(param(c, 'version'));
    const request = parseOrThrow(inferRequestSchema, await readJsonBody(c.req.raw, config.bodyLimitBytes), 'body');
    const parameters = request.parameters ?? {};
    const mode = parameters.mode ?? 'certify';
    const rows = batchRows(request.inputs[0]!, entry);
    const requestId = c.get('requestId');
    const id = request.id ?? requestId;
    const reply = (outputs: Tensor[], responseParameters: Record<string, unknown>) =>
      c.json({ model_name: entry.name, model_version: '1', id, parameters: responseParameters, outputs: selectOutputs(outputs, request.outputs) });

    if (mode === 'logits') {
      const batch = new Float32Array(rows.length * rows[0]!.length);
      rows.forEach((row, r) => batch.set(decodeInput(row, entry), r * row.length));
      const logits = await service.logits(entry, batch, rows.length);
      return reply([{ name: entry.outputName, shape: [rows.length, entry.labels.length], datatype: 'FP32', data: Array.from(logits) }], { mode });
    }
    if (mode === 'predict') {
      const params = pick(parameters, PREDICT_PARAM_KEYS);
      const bodies = rows.map((row) => ({ input: row, params }));
      const predictions = await Promise.all(bodies.map((body, r) => service.predict(entry.name, body, `${requestId}-${r}`)));
      return reply([
        { name: 'answer', shape: [rows.length], datatype: 'INT64', data: predictions.map((p) => p.answer ?? -1) },
        { name: 'p_value', shape: [rows.length], datatype: 'FP64', data: predictions.map((p) => p.pValue) },
      ], { mode, predictions: JSON.stringify(predictions) });
    }
    if (mode !== 'certify') throw badRequest('invalid_parameter', `parameters.mode must be certify, predict or logits, not ${String(mode)}`);

    // Every row is validated before any is evaluated, so a bad row stores nothing.
    const params = pick(parameters, CERTIFY_PARAM_KEYS);
    const jobs = rows.map((row) => service.checkCertify(entry.name, { input: row, params }));
    const settled = await Promise.allSettled(jobs.map((job, r) => service.runCertify(job, rows.length === 1 ? requestId : `${requestId}-${r}`)));
    const failed = settled.findIndex((s) => s.status === 'rejected');
    if (failed >= 0) {
      const stored = settled.flatMap((s, r) => (s.status === 'fulfilled' ? [`row ${r} -> seq ${s.value.memory.seq}`] : []));
      const cause = (settled[failed] as PromiseRejectedResult).reason;
      const err = cause instanceof GatewayError ? cause : new GatewayError(500, 'internal', 'internal error');
      throw new GatewayError(err.status, err.code, `row ${failed}: ${err.message}${stored.length ? `; stored: ${stored.join(', ')}` : ''}`, err.retryAfterS);
    }
    const decisions = settled.map((s) => (s as PromiseFulfilledResult<CertifyResponse>).value);
    return reply(certifyOutputs(decisions), certifyParameters(decisions));
  });

  return app;
}
