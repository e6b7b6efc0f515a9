// What the gateway needs from the sequential memory (src/memory): a serialised, durable
// decide() per (model, norm), an NDJSON-ready export, and close(). The memory owns the queue
// that orders decisions; decide() resolves only once the record is fsynced.
import type { MemoryOutcome, Norm, Proposal } from '../memory/types.js';

export interface DecisionMemory {
  decide(proposal: Proposal): Promise<MemoryOutcome>;
  /** The durable stored decision for exactly this input (a repeat), or null: checked before the model is evaluated. */
  findRepeat(model: string, norm: Norm, input: Float32Array): Promise<MemoryOutcome | null>;
  /** Records of (model, norm) with seq > afterSeq, oldest first, as `memory export` lines. */
  export(model: string, norm: Norm, afterSeq: number): AsyncIterable<Record<string, unknown>>;
  /** Flushes and closes every log. */
  close(): Promise<void>;
}
