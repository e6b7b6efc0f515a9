// Which answers' regions usually decide a decision of a given answer (contain its input or bind
// its radius), counted over the decisions of this process: the capping search visits their
// trees first and so narrows sooner. It orders the search only; what the search returns, and
// hence every decision, does not depend on it.
import type { AnswerKey } from './regionIndex.js';

export class ConflictOrder {
  private readonly counts = new Map<AnswerKey, Map<AnswerKey, number>>();

  /** A decision proposed as `own` was relabelled to, or shrunk by a region of, `other`. */
  record(own: AnswerKey, other: AnswerKey): void {
    let row = this.counts.get(own);
    if (!row) this.counts.set(own, (row = new Map()));
    row.set(other, (row.get(other) ?? 0) + 1);
  }

  /** The answers that have decided decisions of `own`, most often first (ties: smaller key). */
  first(own: AnswerKey): AnswerKey[] {
    const row = this.counts.get(own);
    if (!row) return [];
    return [...row.keys()].sort((a, b) => row.get(b)! - row.get(a)! || a - b);
  }
}
