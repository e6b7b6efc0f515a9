// Binds the gateway to the file memory of src/memory (one append-only log per model and norm
// under the data directory) and reports what the memory does to the metrics and the log.
import type { Logger } from 'pino';
import type { LoadedManifest } from '../engine/manifest.js';
import { MemoryStore, type MemoryObserver } from '../memory/index.js';
import type { GatewayConfig } from './config.js';
import type { DecisionMemory } from './memoryPort.js';
import type { GatewayMetrics } from './metrics.js';

export interface MemoryContext {
  config: GatewayConfig;
  manifest: LoadedManifest;
  /** Without metrics and logger the memory runs unobserved (CLI). */
  metrics?: GatewayMetrics;
  logger?: Logger;
}

export function memoryObserver(metrics: GatewayMetrics, logger: Logger): MemoryObserver {
  return {
    onDecision(event) {
      metrics.memoryRegionOverlaps.inc({ model: event.model, norm: event.norm }, event.overlaps);
      metrics.memorySize.set({ model: event.model, norm: event.norm }, event.size);
      metrics.memoryCandidates.observe({ model: event.model, norm: event.norm }, event.candidates);
    },
    onGroupCommit(event) {
      metrics.memoryFsyncDuration.observe({ model: event.model, norm: event.norm }, event.fsyncMs / 1000);
      metrics.memoryGroupSize.observe({ model: event.model, norm: event.norm }, event.records);
    },
    onMaintenance(event) {
      metrics.memoryMaintenanceDuration.observe({ model: event.model, norm: event.norm }, event.ms / 1000);
    },
    onQueueDepth(event) {
      metrics.memoryQueueDepth.set({ model: event.model, norm: event.norm }, event.depth);
    },
    onReplay(event) {
      metrics.memorySize.set({ model: event.model, norm: event.norm }, event.records);
      if (event.tornTail) logger.warn({ model: event.model, norm: event.norm, tornTail: event.tornTail }, 'memory log had a torn tail record; truncated');
      logger.info({
        model: event.model, norm: event.norm, records: event.records, ms: Math.round(event.ms),
        warmupDecisions: event.warmupDecisions, warmupMs: Math.round(event.warmupMs),
      }, 'memory replayed');
    },
    onFailure(event) {
      metrics.memoryFailures.inc({ model: event.model, norm: event.norm });
      logger.error({ model: event.model, norm: event.norm, err: event.error }, 'memory failed');
    },
  };
}

export async function openFileMemory(context: MemoryContext): Promise<DecisionMemory>;
export async function openFileMemory(config: GatewayConfig, manifest: LoadedManifest): Promise<DecisionMemory>;
export async function openFileMemory(first: MemoryContext | GatewayConfig, second?: LoadedManifest): Promise<DecisionMemory> {
  const context: MemoryContext = second ? { config: first as GatewayConfig, manifest: second } : (first as MemoryContext);
  const { config, manifest, metrics, logger } = context;
  const observer = metrics && logger ? memoryObserver(metrics, logger) : undefined;
  const store = new MemoryStore({
    dataDir: config.dataDir, queueCapacity: config.memoryQueueCapacity, observer,
    searchHelper: config.memorySearchHelper, backgroundMerges: config.memoryBackgroundMerges, warmupDecisions: config.memoryWarmupDecisions,
  });
  try {
    // Replay each model's default memory now: a corrupt log stops the start, not the first request.
    for (const entry of manifest.models) await store.memory(entry.name, entry.norm);
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    decide: (proposal) => store.decide(proposal),
    findRepeat: (model, norm, input) => store.findRepeat(model, norm, input),
    export: (model, norm, afterSeq) => store.export(model, { norm, after: afterSeq }) as AsyncIterable<unknown> as AsyncIterable<Record<string, unknown>>,
    close: () => store.close(),
  };
}
