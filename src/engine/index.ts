// Public surface of the engine (what the gateway, the CLI, bench/ and tests import).
export * from './types.js';
export * from './manifest.js';
export { Engine, type DecisionRequest, type EngineDecision, type PredictRequest } from './engine.js';
export { OnnxModel, DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from './model.js';
export { Smooth, radiusFromPA, DeadlineExceededError } from './smooth.js';
export { optimizeSigma, radiusProxy, geometricGrid, searchEvaluations, DEFAULT_SEARCH, PAPER_SGA } from './sigma.js';
export { newSeed, deriveStream, Xoshiro128 } from './random.js';
export { floatMargin, quantize, QUANTUM } from './soundness.js';
