// The contract between the gateway/CLI and the sequential memory (DESIGN section 2).
// The memory imports nothing from the gateway; it takes the engine's decision as plain data.

export type Norm = 'l2' | 'l1';
export type MemoryAction = 'none' | 'shrink' | 'relabel' | 'repeat';

/** What the engine decided for one input, before the memory (the "base" decision). */
export interface BaseDecision {
  answer: number | null; // null = ABSTAIN
  radius: number; // certified radius of the base decision (0 when abstaining)
  pALower: number;
  countA: number;
  n: number;
  n0: number;
  alpha: number;
  sigma: number; // sigma used for certification
  sigma0: number;
  solver: string; // sigma solver that chose `sigma`
}

/** A decision offered to the memory. */
export interface Proposal {
  model: string;
  norm: Norm;
  input: Float32Array;
  base: BaseDecision;
  /** Master seed (hex) from which every noise stream of this decision was derived. */
  seed: string;
  /** Resolved request parameters, recorded so that an auditor can replay the decision. */
  params: Record<string, unknown>;
  timingsMs: Record<string, number>;
  requestId?: string;
  clientId?: string | null;
}

/** A durable record of the memory (one line of `memory export`, plus the raw input). */
export interface DecisionRecord {
  seq: number;
  model: string;
  norm: Norm;
  answer: number | null; // after the memory
  radius: number; // after the memory
  sigma: number;
  input: Float32Array;
  seed: string;
  time: string; // ISO-8601
  action: MemoryAction;
  conflictSeq: number | null;
  /** Version of the decision rules that decided it (rules.ts RULES_VERSION); absent in records decided by version 1. */
  rulesVersion?: number;
  base: BaseDecision;
  params: Record<string, unknown>;
  timingsMs: Record<string, number>;
  requestId?: string;
  clientId?: string | null;
}

/** The memory's answer to a proposal; returned only once the record is durable. */
export interface MemoryOutcome {
  seq: number;
  answer: number | null;
  radius: number;
  action: MemoryAction;
  conflictSeq: number | null;
  /** The stored record (for a repeat: the earlier record that is repeated). */
  record: DecisionRecord;
}
