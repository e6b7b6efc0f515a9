// Starts the real gateway (real node HTTP server on an ephemeral loopback port, real engine
// workers on the shipped model, real memory files in a temp dir) and small helpers to call it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadFashionMnist } from '../../src/datasets/fashionMnist.js';
import { loadGatewayConfig, type GatewayConfigInput } from '../../src/gateway/config.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../src/gateway/server.js';

export const MANIFEST_PATH = fileURLToPath(new URL('../../models/manifest.json', import.meta.url));
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** Small N so that integration tests are fast; the statistics are not what they test. */
export const SMALL = { n: 200, n0: 20 } as const;

export interface TestGateway {
  gateway: RunningGateway;
  url: string;
  dataDir: string;
  model: string;
  stop(): Promise<void>;
}

export function testConfigInput(dataDir: string, overrides: GatewayConfigInput = {}): GatewayConfigInput {
  return {
    port: 0,
    host: '127.0.0.1',
    models: MANIFEST_PATH,
    dataDir,
    adminToken: ADMIN_TOKEN,
    workers: 2,
    intraOpThreads: 1,
    batchSize: 200,
    logLevel: 'silent',
    ...overrides,
    defaults: { ...SMALL, ...overrides.defaults },
  };
}

export async function startTestGateway(overrides: GatewayConfigInput = {}, options: GatewayOptions = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'certigate-gw-'));
  const config = loadGatewayConfig({ flags: testConfigInput(dataDir, overrides) });
  const gateway = await startGateway(config, { logger: pino({ level: 'silent' }), ...options });
  return {
    gateway, url: gateway.url, dataDir, model: 'fmnist-cohen-025',
    async stop() {
      await gateway.shutdown('test');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let images: number[][] | null = null;
/** Real Fashion-MNIST test images as flat arrays in [0, 1]. */
export function testImages(count: number): number[][] {
  if (!images || images.length < count) {
    const set = loadFashionMnist('test', Math.max(count, 32));
    images = set.images.map((image) => Array.from(image));
  }
  return images.slice(0, count);
}

export function b64(values: ArrayLike<number>): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i]!, i * 4);
  return bytes.toString('base64');
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function exportMemory(url: string, model: string, after = 0): Promise<any[]> {
  const res = await fetch(`${url}/v1/models/${model}/memory?after=${after}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  return (await res.text()).split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

/** Value of one series of the Prometheus text exposition (sum over series matching every label given). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(match[3]);
  }
  return total;
}
