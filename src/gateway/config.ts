// Gateway configuration: defaults < JSON file < environment < command-line flags,
// parsed once and validated; the result is a frozen plain object passed to whoever needs it.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_MANIFEST } from '../engine/manifest.js';
import { SERVING_WARMUP_DECISIONS } from '../memory/sequentialMemory.js';

const SOLVERS = ['sga', 'batched', 'grid', 'fixed'] as const;

const boundsSchema = z.object({
  maxN: z.number().int().positive().default(1_000_000),
  maxN0: z.number().int().positive().default(10_000),
  minAlpha: z.number().gt(0).lt(1).default(1e-9),
  maxAlpha: z.number().gt(0).lt(1).default(0.5),
  sigmaMin: z.number().positive().default(0.05),
  sigmaMax: z.number().positive().default(2),
  allowedSolvers: z.array(z.enum(SOLVERS)).min(1).default([...SOLVERS]),
  /** Most forward passes one sigma search may spend (params.search). */
  maxSearchEvaluations: z.number().int().positive().default(20_000),
}).strict().refine((b) => b.sigmaMin <= b.sigmaMax, { message: 'sigmaMin must be <= sigmaMax' })
  .refine((b) => b.minAlpha <= b.maxAlpha, { message: 'minAlpha must be <= maxAlpha' });

const defaultsSchema = z.object({
  n0: z.number().int().positive().default(100),
  n: z.number().int().positive().default(100_000),
  alpha: z.number().gt(0).lt(1).default(0.001),
  solver: z.enum(SOLVERS).default('batched'),
}).strict();

export const gatewayConfigSchema = z.object({
  port: z.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  /** Path of the model manifest (models/manifest.json). */
  models: z.string().min(1).default(fileURLToPath(DEFAULT_MANIFEST)),
  /** Directory of the file memory (one log per model and norm). */
  dataDir: z.string().min(1).default('./data'),
  natsUrl: z.string().min(1).nullable().default(null),
  /** Decisions go to `${natsSubjectPrefix}.{model}`. */
  natsSubjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).default('certigate.decisions'),
  /**
   * JetStream stream that keeps the published decisions (created if missing, file storage).
   * When set, decisions are published through JetStream and acknowledged (a missing ack counts as
   * a publish failure); null publishes on core NATS only.
   */
  natsStream: z.string().regex(/^[A-Za-z0-9_-]+$/).nullable().default(null),
  /** Subject of the NATS certify service endpoint. */
  natsServiceSubject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).default('certigate.certify'),
  /** Bearer token for the memory export; null disables the export route (403). */
  adminToken: z.string().min(16, 'the admin token must have at least 16 characters').nullable().default(null),
  bounds: boundsSchema.default(() => boundsSchema.parse({})),
  defaults: defaultsSchema.default(() => defaultsSchema.parse({})),
  /** Range of the data-dependent sigma search; default: the engine's per-model range around sigma0. */
  searchSigmaMin: z.number().positive().optional(),
  searchSigmaMax: z.number().positive().optional(),
  /** Engine worker threads (each with its own onnxruntime sessions). */
  workers: z.number().int().positive().max(256).optional(),
  /** onnxruntime intra-op threads per worker. */
  intraOpThreads: z.number().int().positive().max(256).optional(),
  executionProviders: z.array(z.string().min(1)).min(1).default(['cpu']),
  /** Noise samples per model call. */
  batchSize: z.number().int().positive().default(1000),
  /** Requests waiting for a worker beyond those running; more get 429. */
  maxQueue: z.number().int().nonnegative().default(64),
  /** Proposals waiting for the sequential memory of one (model, norm) before 503. */
  memoryQueueCapacity: z.number().int().positive().default(1024),
  /** Each memory searches its index on a second thread as well; default: with two or more cores. */
  memorySearchHelper: z.boolean().optional(),
  /** Each memory merges its index's segments on a thread of its own, so that no decision waits for a merge. */
  memoryBackgroundMerges: z.boolean().default(true),
  /** Decisions each memory computes (and discards) after its replay, before it serves: the first real ones then run optimized code. */
  memoryWarmupDecisions: z.number().int().nonnegative().max(100_000).default(SERVING_WARMUP_DECISIONS),
  /** Lines of one certifyStream evaluated concurrently. */
  streamWindow: z.number().int().positive().default(4),
  requestDeadlineMs: z.number().int().positive().default(120_000),
  bodyLimitBytes: z.number().int().positive().default(1 << 20),
  /** Bound on the whole NDJSON body of one certifyStream request. */
  streamBodyLimitBytes: z.number().int().positive().default(256 << 20),
  /** Grace period of a SIGTERM drain before in-flight requests are abandoned. */
  shutdownTimeoutMs: z.number().int().positive().default(30_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).strict();

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type GatewayConfig = Readonly<z.output<typeof gatewayConfigSchema> & { workers: number; intraOpThreads: number; memorySearchHelper: boolean }>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Workers x intra-op threads sized to the cores: one worker per two cores with two
 * threads each overlaps requests while keeping each model call parallel; on two cores or
 * fewer, one thread per worker so that two requests still overlap.
 */
export function sizeWorkers(cores: number, workers?: number, threads?: number): { workers: number; intraOpThreads: number } {
  if (workers && threads) return { workers, intraOpThreads: threads };
  if (workers) return { workers, intraOpThreads: Math.max(1, Math.floor(cores / workers)) };
  if (threads) return { workers: Math.max(1, Math.floor(cores / threads)), intraOpThreads: threads };
  if (cores <= 2) return { workers: Math.max(1, cores), intraOpThreads: 1 };
  return { workers: Math.floor(cores / 2), intraOpThreads: 2 };
}

const ENV_KEYS: Record<string, { key: keyof GatewayConfigInput; parse: (v: string) => unknown }> = {
  CERTIGATE_PORT: { key: 'port', parse: Number },
  CERTIGATE_HOST: { key: 'host', parse: String },
  CERTIGATE_MODELS: { key: 'models', parse: String },
  CERTIGATE_DATA: { key: 'dataDir', parse: String },
  CERTIGATE_NATS_URL: { key: 'natsUrl', parse: String },
  CERTIGATE_NATS_STREAM: { key: 'natsStream', parse: String },
  CERTIGATE_ADMIN_TOKEN: { key: 'adminToken', parse: String },
  CERTIGATE_WORKERS: { key: 'workers', parse: Number },
  CERTIGATE_INTRA_OP_THREADS: { key: 'intraOpThreads', parse: Number },
  CERTIGATE_MAX_QUEUE: { key: 'maxQueue', parse: Number },
  CERTIGATE_REQUEST_DEADLINE_MS: { key: 'requestDeadlineMs', parse: Number },
  CERTIGATE_BODY_LIMIT_BYTES: { key: 'bodyLimitBytes', parse: Number },
  CERTIGATE_LOG_LEVEL: { key: 'logLevel', parse: String },
};

export function configFromEnv(env: NodeJS.ProcessEnv): GatewayConfigInput {
  const out: Record<string, unknown> = {};
  for (const [name, { key, parse }] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = parse(value);
  }
  return out as GatewayConfigInput;
}

function readConfigFile(path: string): GatewayConfigInput {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as GatewayConfigInput;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
}

export interface ConfigSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: GatewayConfigInput;
  cores?: number;
}

/** Merges defaults < file < env < flags (bounds/defaults merged key by key) and validates once. */
export function loadGatewayConfig(sources: ConfigSources = {}): GatewayConfig {
  const layers = [
    sources.file ? readConfigFile(sources.file) : {},
    configFromEnv(sources.env ?? {}),
    sources.flags ?? {},
  ];
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const nested = (key === 'bounds' || key === 'defaults') && typeof value === 'object' && value !== null;
      merged[key] = nested ? { ...(merged[key] as object | undefined), ...value } : value;
    }
  }
  const parsed = gatewayConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid gateway configuration: ${issues}`);
  }
  const cores = sources.cores ?? availableParallelism();
  const sized = sizeWorkers(cores, parsed.data.workers, parsed.data.intraOpThreads);
  if (parsed.data.defaults.n > parsed.data.bounds.maxN || parsed.data.defaults.n0 > parsed.data.bounds.maxN0) {
    throw new ConfigError('invalid gateway configuration: defaults.n/n0 exceed bounds.maxN/maxN0');
  }
  if (!parsed.data.bounds.allowedSolvers.includes(parsed.data.defaults.solver)) {
    throw new ConfigError('invalid gateway configuration: defaults.solver is not in bounds.allowedSolvers');
  }
  return Object.freeze({ ...parsed.data, ...sized, memorySearchHelper: parsed.data.memorySearchHelper ?? cores >= 2 });
}
