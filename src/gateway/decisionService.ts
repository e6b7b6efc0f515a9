// The one path every transport (HTTP, NDJSON stream, OIP, NATS) takes for a decision:
// validate -> engine (worker pool, concurrent) -> memory (serialised, durable) -> answer,
// then publish and measure. Nothing is stored unless every check passed.
import type { Logger } from 'pino';
import { newSeed } from '../engine/index.js';
import type { DecisionRequest, EngineDecision } from '../engine/index.js';
import type { LoadedManifest, ModelEntry } from '../engine/manifest.js';
import type { Prediction } from '../engine/types.js';
import type { MemoryOutcome, Proposal } from '../memory/types.js';
import type { GatewayConfig } from './config.js';
import { buildCertifyResponse, type CertifyResponse } from './decisionResponse.js';
import type { EnginePool } from './enginePool.js';
import { notFound } from './errors.js';
import type { DecisionMemory } from './memoryPort.js';
import type { GatewayMetrics } from './metrics.js';
import {
  certifyBodySchema, decodeInput, parseOrThrow, predictBodySchema, resolveCertifyParams, resolvePredictParams,
  type ResolvedCertifyParams,
} from './validation.js';

export interface DecisionPublisher {
  /** Called once the decision is durable, in the memory's order. Must not throw. */
  publish(model: string, response: CertifyResponse): void;
}

export interface PredictResponse {
  requestId: string;
  id: string | null;
  model: string;
  answer: number | null;
  label: string | null;
  norm: string;
  sigma: number;
  n: number;
  alpha: number;
  countA: number;
  countB: number;
  pValue: number;
  seed: string;
  timingsMs: { predict: number; total: number };
}

export interface DecisionServiceDeps {
  config: GatewayConfig;
  manifest: LoadedManifest;
  pool: EnginePool;
  memory: DecisionMemory;
  metrics: GatewayMetrics;
  logger: Logger;
  publisher?: DecisionPublisher | null;
}

/** A checked certify request, ready for the engine (validation is separate so a stream can reject one line). */
export interface CertifyJob {
  entry: ModelEntry;
  input: Float32Array;
  clientId: string | null;
  params: ResolvedCertifyParams;
}

/** The engine's request for resolved certify parameters (the configured sigma search range included). */
export function engineRequest(params: ResolvedCertifyParams, config: GatewayConfig): DecisionRequest {
  return {
    n0: params.n0, n: params.n, alpha: params.alpha, sigma: params.sigma, norm: params.norm, solver: params.solver,
    search: {
      ...params.search,
      ...(config.searchSigmaMin !== undefined ? { sigmaMin: config.searchSigmaMin } : {}),
      ...(config.searchSigmaMax !== undefined ? { sigmaMax: config.searchSigmaMax } : {}),
    },
  };
}

export class DecisionService {
  private publisher: DecisionPublisher | null;

  constructor(private readonly deps: DecisionServiceDeps) {
    this.publisher = deps.publisher ?? null;
  }

  setPublisher(publisher: DecisionPublisher | null): void {
    this.publisher = publisher;
  }

  get models(): ModelEntry[] {
    return this.deps.manifest.models;
  }

  get defaultModel(): string {
    return this.deps.manifest.default;
  }

  model(name: string): ModelEntry {
    const entry = this.deps.manifest.models.find((m) => m.name === name);
    if (!entry) throw notFound('unknown_model', `unknown model "${name}"; GET /v1/models lists the served models`);
    return entry;
  }

  /** Validates a certify body (throws a 4xx GatewayError) without touching engine or memory. */
  checkCertify(modelName: string, body: unknown): CertifyJob {
    const entry = this.model(modelName);
    const parsed = parseOrThrow(certifyBodySchema, body, 'body');
    const params = resolveCertifyParams(parsed.params, entry, this.deps.config);
    const input = decodeInput(parsed.input, entry);
    return { entry, input, clientId: parsed.id ?? null, params };
  }

  async certify(modelName: string, body: unknown, requestId: string): Promise<CertifyResponse> {
    return this.runCertify(this.checkCertify(modelName, body), requestId);
  }

  async runCertify(job: CertifyJob, requestId: string): Promise<CertifyResponse> {
    const { config, pool, memory, metrics } = this.deps;
    const started = performance.now();
    const { entry, input, params } = job;
    const seed = newSeed();
    const request = engineRequest(params, config);
    // An exact repeat is answered from the memory (records are never removed): no model evaluation.
    const lookupStarted = performance.now();
    const stored = await memory.findRepeat(entry.name, params.norm, input);
    if (stored) return this.answer(job, requestId, seed, null, stored, performance.now() - lookupStarted, started);
    const decision: EngineDecision = await pool.run(
      { op: 'certify', model: entry.name, input, request, seed },
      Date.now() + config.requestDeadlineMs,
    );
    metrics.modelEvaluations.inc({ model: entry.name }, decision.evaluations);
    const proposal: Proposal = {
      model: entry.name, norm: params.norm, input, base: decision.base, seed,
      params: { ...params, searchOptions: decision.searchOptions }, timingsMs: { ...decision.timingsMs }, requestId, clientId: job.clientId,
    };
    const memoryStarted = performance.now();
    const outcome = await memory.decide(proposal);
    return this.answer(job, requestId, seed, decision, outcome, performance.now() - memoryStarted, started);
  }

  /** The outcome is durable: publish first (memory order), then measure and answer. */
  private answer(
    job: CertifyJob, requestId: string, seed: string, decision: EngineDecision | null, outcome: MemoryOutcome, memoryMs: number, started: number,
  ): CertifyResponse {
    const { entry, params } = job;
    const response = buildCertifyResponse({
      requestId, clientId: job.clientId, entry, norm: params.norm, seed, decision, outcome,
      memoryMs, totalMs: performance.now() - started,
    });
    this.publisher?.publish(entry.name, response);
    this.observe(response, decision, memoryMs);
    this.deps.logger.info({ requestId, model: entry.name, seq: outcome.seq, action: outcome.action, answer: response.answer, radius: response.radius, sigma: response.sigma, totalMs: Math.round(response.timingsMs.total) }, 'decision');
    return response;
  }

  async predict(modelName: string, body: unknown, requestId: string): Promise<PredictResponse> {
    const { config, pool } = this.deps;
    const started = performance.now();
    const entry = this.model(modelName);
    const parsed = parseOrThrow(predictBodySchema, body, 'body');
    const params = resolvePredictParams(parsed.params, entry, config);
    const input = decodeInput(parsed.input, entry);
    const seed = newSeed();
    const prediction: Prediction = await pool.run(
      { op: 'predict', model: entry.name, input, request: params, seed },
      Date.now() + config.requestDeadlineMs,
    );
    this.deps.metrics.modelEvaluations.inc({ model: entry.name }, prediction.n);
    const predictMs = performance.now() - started;
    return {
      requestId, id: parsed.id ?? null, model: entry.name,
      answer: prediction.answer, label: prediction.answer === null ? null : (entry.labels[prediction.answer] ?? null),
      norm: prediction.norm, sigma: prediction.sigma, n: prediction.n, alpha: prediction.alpha,
      countA: prediction.countA, countB: prediction.countB, pValue: prediction.pValue, seed,
      timingsMs: { predict: predictMs, total: performance.now() - started },
    };
  }

  /** Raw forward pass of a checked batch (OIP infer without certification). */
  async logits(entry: ModelEntry, batch: Float32Array, rows: number): Promise<Float32Array> {
    const logits: Float32Array = await this.deps.pool.run(
      { op: 'logits', model: entry.name, input: batch, batchSize: rows },
      Date.now() + this.deps.config.requestDeadlineMs,
    );
    this.deps.metrics.modelEvaluations.inc({ model: entry.name }, rows);
    return logits;
  }

  private observe(response: CertifyResponse, decision: EngineDecision | null, memoryMs: number): void {
    const { metrics } = this.deps;
    const model = response.model;
    const norm = response.norm;
    const action = response.memory.action;
    if (decision) {
      metrics.stageDuration.observe({ model, stage: 'sigma' }, decision.timingsMs.sigma / 1000);
      metrics.stageDuration.observe({ model, stage: 'certify' }, decision.timingsMs.certify / 1000);
    }
    metrics.stageDuration.observe({ model, stage: 'memory' }, memoryMs / 1000);
    metrics.decisions.inc({ model, norm, answer: response.label ?? (response.answer === null ? 'abstain' : String(response.answer)), action });
    if (action === 'shrink' || action === 'relabel') metrics.overlaps.inc({ model, norm, action });
    if (action !== 'repeat') {
      metrics.memoryRecords.inc({ model, norm });
      metrics.memoryLastSeq.set({ model, norm }, response.memory.seq);
    }
    metrics.radius.observe({ model, norm }, response.radius);
    metrics.sigma.observe({ model }, response.sigma);
    if (response.answer === null) metrics.abstains.inc({ model, norm });
  }
}
