// The decision path of the server (validation -> engine -> memory), opened in-process for CLI
// commands, so that `certigate certify` goes through the same memory and checks as `serve`.
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadManifest, type LoadedManifest } from '../engine/manifest.js';
import { loadGatewayConfig, type GatewayConfig, type GatewayConfigInput } from '../gateway/config.js';
import { DecisionService } from '../gateway/decisionService.js';
import { EnginePool, workerDataFor } from '../gateway/enginePool.js';
import { openFileMemory } from '../gateway/memoryAdapter.js';
import type { DecisionMemory } from '../gateway/memoryPort.js';
import { GatewayMetrics } from '../gateway/metrics.js';

export interface CliRuntime {
  config: GatewayConfig;
  manifest: LoadedManifest;
  service: DecisionService;
  close(): Promise<void>;
}

/** PREDICT is uncertified and never stored: its runtime has no memory to write to. */
const NO_MEMORY: DecisionMemory = {
  decide: () => { throw new Error('assertion: predict does not go through the memory'); },
  export: () => { throw new Error('assertion: predict does not go through the memory'); },
  findRepeat: () => { throw new Error('assertion: predict does not go through the memory'); },
  close: async () => {},
};

export async function openCliRuntime(flags: GatewayConfigInput, options: { memory: boolean }): Promise<CliRuntime> {
  const config = loadGatewayConfig({ env: process.env, flags: { workers: 1, logLevel: 'silent', ...flags } });
  const manifest = loadManifest(config.models);
  const memory = options.memory ? await openFileMemory(config, manifest) : NO_MEMORY;
  let pool: EnginePool;
  try {
    pool = await EnginePool.start({
      size: config.workers,
      maxQueue: config.maxQueue,
      workerData: workerDataFor(config, manifest.models.map((m) => m.name)),
    });
  } catch (err) {
    await memory.close();
    throw err;
  }
  const logger = pino({ level: 'silent' });
  const service = new DecisionService({ config, manifest, pool, memory, metrics: new GatewayMetrics(new Registry()), logger });
  return {
    config,
    manifest,
    service,
    close: async () => {
      await pool.close();
      await memory.close();
    },
  };
}
