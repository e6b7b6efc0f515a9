// `certigate serve`: the gateway. Configuration: --config FILE < CERTIGATE_* env < flags.
import type { Command } from 'commander';
import { inputSize, loadManifest } from '../engine/manifest.js';
import { ConfigError, loadGatewayConfig, type GatewayConfigInput } from '../gateway/config.js';
import { startGateway } from '../gateway/server.js';

interface ServeFlags {
  port?: string;
  host?: string;
  data?: string;
  nats?: string;
  config?: string;
  models?: string;
  workers?: string;
  threads?: string;
  maxQueue?: string;
  deadlineMs?: string;
  logLevel?: string;
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ConfigError(`--${name} must be an integer, got "${value}"`);
  return n;
}

function flagsToConfig(flags: ServeFlags): GatewayConfigInput {
  return {
    port: integer('port', flags.port),
    host: flags.host,
    dataDir: flags.data,
    natsUrl: flags.nats,
    models: flags.models,
    workers: integer('workers', flags.workers),
    intraOpThreads: integer('threads', flags.threads),
    maxQueue: integer('max-queue', flags.maxQueue),
    requestDeadlineMs: integer('deadline-ms', flags.deadlineMs),
    logLevel: flags.logLevel as GatewayConfigInput['logLevel'],
  };
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the gateway (HTTP, Open Inference Protocol, optional NATS). Admin token from CERTIGATE_ADMIN_TOKEN.')
    .option('--port <n>', 'TCP port (0 = any free port)', undefined)
    .option('--host <host>', 'address to listen on')
    .option('--data <dir>', 'memory directory (default ./data)')
    .option('--nats <url>', 'NATS server: publish decisions and offer the certify service')
    .option('--config <file>', 'JSON configuration file (keys of gatewayConfigSchema: port, host, models, dataDir, natsUrl, bounds, defaults, workers, maxQueue, ...)')
    .option('--models <file>', 'model manifest (default: the shipped models/manifest.json)')
    .option('--workers <n>', 'engine worker threads')
    .option('--threads <n>', 'onnxruntime intra-op threads per worker')
    .option('--max-queue <n>', 'requests waiting for a worker before 429')
    .option('--deadline-ms <n>', 'per-request deadline')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(async (flags: ServeFlags) => {
      let config;
      try {
        config = loadGatewayConfig({ file: flags.config, env: process.env, flags: flagsToConfig(flags) });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`certigate serve: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      let gateway;
      try {
        gateway = await startGateway(config);
      } catch (err) {
        // e.g. a corrupt memory log, a port in use, an unreachable NATS server: say so and stop.
        process.stderr.write(`certigate serve: cannot start: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const manifest = loadManifest(config.models);
      const model = manifest.default;
      const size = inputSize(manifest.models.find((m) => m.name === model)!);
      process.stderr.write(
        `certigate listening on ${gateway.url} (model ${model}, memory ${config.dataDir}${config.natsUrl ? `, NATS ${config.natsUrl}` : ''})\n` +
        `try:\n  node -e 'console.log(JSON.stringify({input: Array(${size}).fill(0.5), params: {n: 1000}}))' | ` +
        `curl -s -H 'content-type: application/json' --data-binary @- ${gateway.url}/v1/models/${model}:certify\n`,
      );
      let signals = 0;
      const stop = (signal: NodeJS.Signals) => {
        if (++signals > 1) process.exit(1); // a second signal does not wait for the drain
        gateway.shutdown(signal).then(
          () => process.exit(0),
          (err: unknown) => {
            gateway.logger.error({ err }, 'shutdown failed');
            gateway.logger.flush();
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
