// Request schemas (zod) and input decoding. Everything a client sends is checked here,
// before any model call or memory step, so that a bad request changes nothing.
import { z } from 'zod';
import type { ModelEntry } from '../engine/manifest.js';
import type { Norm, SigmaSolver } from '../engine/types.js';
import { DEFAULT_SEARCH, searchEvaluations } from '../engine/sigma.js';
import type { GatewayConfig } from './config.js';
import { badRequest } from './errors.js';

const B64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

export const inputSchema = z.union([
  z.array(z.number()),
  z.object({ b64: z.string() }).strict(),
]);

/** Budget of the data-dependent sigma search (engine SigmaSearchOptions), bounded by the server. */
export const searchParamsSchema = z.object({
  samples: z.number().int().positive().optional(),
  steps: z.number().int().nonnegative().optional(),
  gridSize: z.number().int().positive().optional(),
  stepSize: z.number().positive().optional(),
}).strict();

export const certifyParamsSchema = z.object({
  n0: z.number().int().positive().optional(),
  n: z.number().int().positive().optional(),
  alpha: z.number().gt(0).lt(0.5).optional(),
  sigma: z.union([z.literal('auto'), z.number().positive()]).optional(),
  norm: z.enum(['l2', 'l1']).optional(),
  solver: z.enum(['sga', 'batched', 'grid', 'fixed']).optional(),
  search: searchParamsSchema.optional(),
}).strict();

export const certifyBodySchema = z.object({
  input: inputSchema,
  id: z.string().max(256).nullable().optional(),
  params: certifyParamsSchema.optional(),
}).strict();

export const predictBodySchema = z.object({
  input: inputSchema,
  id: z.string().max(256).nullable().optional(),
  params: z.object({
    n: z.number().int().positive().optional(),
    alpha: z.number().gt(0).lt(0.5).optional(),
    sigma: z.number().positive().optional(),
    norm: z.enum(['l2', 'l1']).optional(),
  }).strict().optional(),
}).strict();

export type CertifyBody = z.infer<typeof certifyBodySchema>;
export type PredictBody = z.infer<typeof predictBodySchema>;
export type RawInput = z.infer<typeof inputSchema>;

/** Parses `value` with `schema` or throws a 400 naming the first offending field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join('.') : what;
  throw badRequest('invalid_request', `${path}: ${issue?.message ?? 'invalid'}`);
}

/** Decodes a JSON array or `{ b64 }` (little-endian float32) into a checked Float32Array. */
export function decodeInput(raw: RawInput, entry: ModelEntry): Float32Array {
  const size = entry.inputShape.reduce((a, b) => a * b, 1);
  let x: Float32Array;
  if (Array.isArray(raw)) {
    if (raw.length !== size) {
      throw badRequest('input_shape', `input has ${raw.length} values; model ${entry.name} takes ${size} (shape [${entry.inputShape.join(', ')}], flattened)`);
    }
    x = Float32Array.from(raw);
  } else {
    if (raw.b64.length % 4 !== 0 || !B64_PATTERN.test(raw.b64)) throw badRequest('input_encoding', 'input.b64 is not valid base64');
    const bytes = Buffer.from(raw.b64, 'base64');
    if (bytes.length !== size * 4) {
      throw badRequest('input_shape', `input.b64 holds ${bytes.length} bytes; model ${entry.name} takes ${size} float32 values (${size * 4} bytes)`);
    }
    x = new Float32Array(size);
    for (let i = 0; i < size; i++) x[i] = bytes.readFloatLE(i * 4);
  }
  for (let i = 0; i < size; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw badRequest('input_not_finite', `input[${i}] is ${v}; inputs must be finite`);
    if (v < entry.domain.min || v > entry.domain.max) {
      throw badRequest('input_domain', `input[${i}] = ${v} is outside the model's data domain [${entry.domain.min}, ${entry.domain.max}]`);
    }
  }
  return x;
}

export function encodeB64(x: Float32Array): string {
  const bytes = Buffer.alloc(x.length * 4);
  for (let i = 0; i < x.length; i++) bytes.writeFloatLE(x[i], i * 4);
  return bytes.toString('base64');
}

export interface ResolvedCertifyParams {
  n0: number;
  n: number;
  alpha: number;
  sigma: number | 'auto';
  norm: Norm;
  solver: SigmaSolver;
  search: z.infer<typeof searchParamsSchema>;
}

function outOfBounds(message: string) {
  return badRequest('param_out_of_bounds', message);
}

/** Fills defaults (server config, then the model's manifest entry) and enforces the server's bounds. */
export function resolveCertifyParams(params: CertifyBody['params'], entry: ModelEntry, config: GatewayConfig): ResolvedCertifyParams {
  const { bounds, defaults } = config;
  const resolved: ResolvedCertifyParams = {
    n0: params?.n0 ?? defaults.n0,
    n: params?.n ?? defaults.n,
    alpha: params?.alpha ?? defaults.alpha,
    sigma: params?.sigma ?? (entry.sigmaMode === 'auto' ? 'auto' : entry.sigma0),
    norm: params?.norm ?? entry.norm,
    solver: params?.solver ?? defaults.solver,
    search: params?.search ?? {},
  };
  if (resolved.n > bounds.maxN) throw outOfBounds(`params.n = ${resolved.n} exceeds the server bound ${bounds.maxN}`);
  if (resolved.n0 > bounds.maxN0) throw outOfBounds(`params.n0 = ${resolved.n0} exceeds the server bound ${bounds.maxN0}`);
  if (resolved.alpha < bounds.minAlpha || resolved.alpha > bounds.maxAlpha) {
    throw outOfBounds(`params.alpha = ${resolved.alpha} is outside the server bounds [${bounds.minAlpha}, ${bounds.maxAlpha}]`);
  }
  if (resolved.sigma !== 'auto' && (resolved.sigma < bounds.sigmaMin || resolved.sigma > bounds.sigmaMax)) {
    throw outOfBounds(`params.sigma = ${resolved.sigma} is outside the server bounds [${bounds.sigmaMin}, ${bounds.sigmaMax}]`);
  }
  if (!bounds.allowedSolvers.includes(resolved.solver)) {
    throw outOfBounds(`params.solver = ${resolved.solver} is not allowed (allowed: ${bounds.allowedSolvers.join(', ')})`);
  }
  const evaluations = searchEvaluations({ ...DEFAULT_SEARCH, ...resolved.search, solver: resolved.solver });
  if (resolved.sigma === 'auto' && evaluations > bounds.maxSearchEvaluations) {
    throw outOfBounds(`params.search costs ${evaluations} model evaluations, above the server bound ${bounds.maxSearchEvaluations}`);
  }
  return resolved;
}

export interface ResolvedPredictParams {
  n: number;
  alpha: number;
  sigma: number;
  norm: Norm;
}

export function resolvePredictParams(params: PredictBody['params'], entry: ModelEntry, config: GatewayConfig): ResolvedPredictParams {
  const { bounds, defaults } = config;
  const resolved: ResolvedPredictParams = {
    n: params?.n ?? defaults.n,
    alpha: params?.alpha ?? defaults.alpha,
    sigma: params?.sigma ?? entry.sigma0,
    norm: params?.norm ?? entry.norm,
  };
  if (resolved.n > bounds.maxN) throw outOfBounds(`params.n = ${resolved.n} exceeds the server bound ${bounds.maxN}`);
  if (resolved.alpha < bounds.minAlpha || resolved.alpha > bounds.maxAlpha) {
    throw outOfBounds(`params.alpha = ${resolved.alpha} is outside the server bounds [${bounds.minAlpha}, ${bounds.maxAlpha}]`);
  }
  if (resolved.sigma < bounds.sigmaMin || resolved.sigma > bounds.sigmaMax) {
    throw outOfBounds(`params.sigma = ${resolved.sigma} is outside the server bounds [${bounds.sigmaMin}, ${bounds.sigmaMax}]`);
  }
  return resolved;
}
