// Hooks through which the gateway counts what the memory does (the memory imports no metrics library).
import type { MemoryAction, Norm } from './types.js';

export interface DecisionEvent {
  model: string;
  norm: Norm;
  seq: number;
  action: MemoryAction;
  answer: number | null;
  radius: number;
  /**
   * Stored regions of another answer found in conflict (RuleOutcome.overlaps): a relabel counts
   * every region that contained x, a shrink at least the one that bounds it.
   */
  overlaps: number;
  /** Records whose exact distance was computed (index candidates). */
  candidates: number;
  /** Memory size after the decision. */
  size: number;
  /** Steps 1-3 (repeat lookup, searches, rules). */
  decideMs: number;
  /** performance.now() when step 1 began: the steps ran from startedAt to startedAt + decideMs (for tracing, e.g. of GC pauses). */
  startedAt: number;
  /** Adding the new record to the index, the sketches and the repeat table (merges wait: onMaintenance); 0 for a repeat. */
  insertMs: number;
}

export interface MemoryObserver {
  onDecision?(event: DecisionEvent): void;
  onGroupCommit?(event: { model: string; norm: Norm; records: number; writeMs: number; fsyncMs: number }): void;
  onQueueDepth?(event: { model: string; norm: Norm; depth: number }): void;
  /** `ms`: the replay; then `warmupDecisions` decisions were computed in `warmupMs` (SequentialMemoryOptions.warmupDecisions). */
  onReplay?(event: {
    model: string; norm: Norm; records: number; ms: number; tornTail: { offset: number; bytes: number; reason: string } | null;
    warmupDecisions: number; warmupMs: number;
  }): void;
  onFailure?(event: { model: string; norm: Norm; error: Error }): void;
  /** Index maintenance after a group was answered: segment merges and how long they took. */
  onMaintenance?(event: { model: string; norm: Norm; merges: number; ms: number }): void;
}
