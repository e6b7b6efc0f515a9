// The certify response object of DESIGN 3.1 (field names are the contract) and its builder.
import type { EngineDecision } from '../engine/index.js';
import type { ModelEntry } from '../engine/manifest.js';
import type { MemoryAction, MemoryOutcome, Norm } from '../memory/types.js';

export interface CertifyResponse {
  requestId: string;
  id: string | null;
  model: string;
  answer: number | null;
  label: string | null;
  radius: number;
  norm: Norm;
  sigma: number;
  base: {
    answer: number | null;
    radius: number;
    pALower: number;
    countA: number;
    n: number;
    n0: number;
    alpha: number;
    sigma0: number;
    solver: string;
    /** Subtracted from pALower before the radius (floating-point soundness); absent for older records. */
    floatMargin?: number;
  };
  memory: { seq: number; action: MemoryAction; conflictSeq: number | null };
  seed: string;
  timingsMs: { sigma: number; certify: number; memory: number; total: number };
}

export interface ResponseContext {
  requestId: string;
  clientId: string | null;
  entry: ModelEntry;
  norm: Norm;
  seed: string;
  /** null: an exact repeat answered from the memory before any model evaluation. */
  decision: EngineDecision | null;
  outcome: MemoryOutcome;
  memoryMs: number;
  totalMs: number;
}

export function buildCertifyResponse(ctx: ResponseContext): CertifyResponse {
  const { outcome, entry } = ctx;
  // A repeat answers with the stored decision: its base, sigma and seed are what an auditor replays.
  const repeat = outcome.action === 'repeat';
  if (!repeat && !ctx.decision) throw new Error('a decision that is not a repeat needs its engine result');
  const base = repeat ? outcome.record.base : ctx.decision!.base;
  return {
    requestId: ctx.requestId,
    id: ctx.clientId,
    model: entry.name,
    answer: outcome.answer,
    label: outcome.answer === null ? null : (entry.labels[outcome.answer] ?? null),
    radius: outcome.radius,
    norm: ctx.norm,
    sigma: base.sigma,
    base: {
      answer: base.answer,
      radius: base.radius,
      pALower: base.pALower,
      countA: base.countA,
      n: base.n,
      n0: base.n0,
      alpha: base.alpha,
      sigma0: base.sigma0,
      solver: base.solver,
      ...('floatMargin' in base ? { floatMargin: (base as { floatMargin: number }).floatMargin } : {}),
    },
    memory: { seq: outcome.seq, action: outcome.action, conflictSeq: outcome.conflictSeq },
    seed: repeat ? outcome.record.seed : ctx.seed,
    timingsMs: {
      sigma: ctx.decision?.timingsMs.sigma ?? 0,
      certify: ctx.decision?.timingsMs.certify ?? 0,
      memory: ctx.memoryMs,
      total: ctx.totalMs,
    },
  };
}
