// Messages between the gateway and its engine worker threads (structured-clone friendly).
import type { DecisionRequest, EngineDecision, PredictRequest, RunnerOptions } from '../engine/index.js';
import type { Prediction } from '../engine/types.js';

export interface EngineWorkerData {
  manifestPath: string;
  /** Names of the manifest's models this worker loads. */
  models: string[];
  runner: RunnerOptions;
}

export type EngineTask =
  | { op: 'certify'; model: string; input: Float32Array; request: DecisionRequest; seed: string }
  | { op: 'predict'; model: string; input: Float32Array; request: PredictRequest; seed: string }
  | { op: 'logits'; model: string; input: Float32Array; batchSize: number };

export type EngineTaskResult<T extends EngineTask> = T extends { op: 'certify' }
  ? EngineDecision
  : T extends { op: 'predict' }
    ? Prediction
    : Float32Array;

/** `deadlineAtMs` (epoch ms): the engine stops before its next model call once it has passed. */
export type ToWorker = { kind: 'task'; id: number; task: EngineTask; deadlineAtMs: number } | { kind: 'close' };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'startFailed'; message: string }
  | { kind: 'done'; id: number; result: unknown }
  /** `deadline`: the engine stopped because the task's deadline passed (a 504, not an engine failure). */
  | { kind: 'failed'; id: number; message: string; deadline: boolean }
  | { kind: 'closed' };
