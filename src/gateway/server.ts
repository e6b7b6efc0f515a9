// Starting and stopping the gateway: memory, engine workers, NATS, HTTP server; graceful
// shutdown stops accepting, drains in-flight requests, closes workers, flushes the memory
// log and NATS, then the log.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { loadManifest } from '../engine/manifest.js';
import type { GatewayConfig } from './config.js';
import { DecisionService } from './decisionService.js';
import { EnginePool, workerDataFor } from './enginePool.js';
import { createApp } from './http/app.js';
import type { GatewayState } from './http/env.js';
import type { DecisionMemory } from './memoryPort.js';
import { openFileMemory, type MemoryContext } from './memoryAdapter.js';
import { GatewayMetrics } from './metrics.js';
import { NatsBridge } from './natsBridge.js';

export const GATEWAY_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface GatewayOptions {
  logger?: Logger;
  /** Opens the sequential memory; default: the file memory under config.dataDir. */
  openMemory?: (context: MemoryContext) => Promise<DecisionMemory>;
  registry?: Registry;
}

export interface RunningGateway {
  url: string;
  port: number;
  config: GatewayConfig;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Idempotent; resolves once everything is drained and closed. */
  shutdown(reason?: string): Promise<void>;
}

function listen(server: ServerType): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    if (server.listening) resolve(server.address() as AddressInfo);
    server.once('listening', () => resolve(server.address() as AddressInfo));
    server.once('error', reject);
  });
}

export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'certigate' } });
  const manifest = loadManifest(config.models);
  const metrics = new GatewayMetrics(options.registry ?? new Registry());
  const state: GatewayState = { draining: false, ready: false };

  const memory = await (options.openMemory ?? openFileMemory)({ config, manifest, metrics, logger });
  let pool: EnginePool;
  try {
    pool = await EnginePool.start({
      size: config.workers,
      maxQueue: config.maxQueue,
      workerData: workerDataFor(config, manifest.models.map((m) => m.name)),
      onQueueDepth: (depth) => metrics.queueDepth.set(depth),
      onBusy: (busy) => metrics.busyWorkers.set(busy),
      onWorkerError: (err) => {
        metrics.workerFailures.inc();
        logger.error({ err }, 'engine worker failed');
      },
    });
  } catch (err) {
    await memory.close();
    throw err;
  }
  const service = new DecisionService({ config, manifest, pool, memory, metrics, logger });
  let nats: NatsBridge | null = null;
  try {
    if (config.natsUrl) {
      nats = await NatsBridge.start({ config, service, metrics, logger, version: GATEWAY_VERSION });
      service.setPublisher(nats);
    }
  } catch (err) {
    await pool.close();
    await memory.close();
    throw err;
  }

  const app = createApp({ config, service, memory, metrics, logger, state, version: GATEWAY_VERSION });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });
  const address = await listen(server);
  state.ready = true;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, workers: config.workers, intraOpThreads: config.intraOpThreads, models: manifest.models.map((m) => m.name), dataDir: config.dataDir, nats: config.natsUrl }, 'listening');

  let stopping: Promise<void> | null = null;
  const shutdown = (reason = 'shutdown') => {
    stopping ??= (async () => {
      logger.info({ reason }, 'draining');
      state.draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their requests finish; close them as they do.
      const idleSweep = setInterval(() => (server as import('node:http').Server).closeIdleConnections?.(), 100);
      const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs).unref());
      const stopNats = nats?.stopService();
      if ((await Promise.race([closed, timedOut])) === 'timeout') {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'drain timed out; closing remaining connections');
        (server as import('node:http').Server).closeAllConnections?.();
      }
      clearInterval(idleSweep);
      await stopNats;
      await pool.close();
      await memory.close();
      await nats?.close();
      logger.info({ reason }, 'stopped');
      logger.flush();
    })();
    return stopping;
  };
  return { url, port: address.port, config, metrics, logger, shutdown };
}
