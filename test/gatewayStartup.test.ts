// Start-up refuses a damaged memory: corruption before the tail stops the gateway with a clear
// error (DESIGN 2.2), in-process and as `serve` (exit 1), instead of serving on a broken memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/gateway/config.js';
import { startGateway } from '../src/gateway/server.js';
import { LogCorruptionError } from '../src/memory/index.js';
import { postJson, startTestGateway, testConfigInput, testImages } from './helpers/gatewayHarness.js';
import { spawnGateway } from './helpers/gatewayProcess.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('gateway start-up', () => {
  it('refuses to start on a memory log corrupted before its tail', async () => {
    const gw = await startTestGateway();
    cleanups.push(() => gw.stop());
    const url = `${gw.url}/v1/models/${gw.model}:certify`;
    for (const input of testImages(3)) expect((await postJson(url, { input })).status).toBe(200);
    await gw.gateway.shutdown('test');
    const log = join(gw.dataDir, gw.model, 'l2.log');
    const bytes = readFileSync(log);
    bytes[Math.floor(bytes.length / 3)]! ^= 0xff; // inside the first record; valid records follow
    writeFileSync(log, bytes);

    const config = loadGatewayConfig({ flags: testConfigInput(gw.dataDir) });
    await expect(startGateway(config, { logger: pino({ level: 'silent' }) })).rejects.toThrow(LogCorruptionError);

    await expect(spawnGateway(['--data', gw.dataDir])).rejects.toThrow(/cannot start: .*corrupt/);
  });
});
