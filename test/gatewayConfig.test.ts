// Gateway configuration: layering (defaults < file < env < flags), validation, worker sizing;
// and the shipped deploy/ configuration checked by the real promtool and nats-server.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig, sizeWorkers } from '../src/gateway/config.js';

const dir = mkdtempSync(join(tmpdir(), 'certigate-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const deploy = (path: string) => fileURLToPath(new URL(`../deploy/${path}`, import.meta.url));

describe('gateway configuration', () => {
  it('has working defaults: shipped manifest, ./data, no NATS, no admin token', () => {
    const config = loadGatewayConfig({ cores: 2 });
    expect(config.port).toBe(8080);
    expect(config.dataDir).toBe('./data');
    expect(config.natsUrl).toBeNull();
    expect(config.adminToken).toBeNull();
    expect(config.models.endsWith(join('models', 'manifest.json'))).toBe(true);
    expect(config.defaults).toMatchObject({ n0: 100, n: 100_000, alpha: 0.001 });
    expect(config.memorySearchHelper).toBe(true);
    expect(loadGatewayConfig({ cores: 1 }).memorySearchHelper).toBe(false);
    expect(loadGatewayConfig({ cores: 1, flags: { memorySearchHelper: true } }).memorySearchHelper).toBe(true);
    expect(config.memoryWarmupDecisions).toBe(768);
    expect(config.memoryBackgroundMerges).toBe(true);
    expect(loadGatewayConfig({ cores: 2, flags: { memoryBackgroundMerges: false } }).memoryBackgroundMerges).toBe(false);
    expect(() => loadGatewayConfig({ cores: 2, flags: { memoryWarmupDecisions: -1 } })).toThrow(/memoryWarmupDecisions/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('layers file < env < flags, merging bounds key by key', () => {
    const file = join(dir, 'gateway.json');
    writeFileSync(file, JSON.stringify({ port: 9000, host: '0.0.0.0', bounds: { maxN: 5000, minAlpha: 1e-6 }, maxQueue: 3 }));
    const config = loadGatewayConfig({
      file,
      env: { CERTIGATE_PORT: '9100', CERTIGATE_ADMIN_TOKEN: 'a-token-of-sixteen-chars', CERTIGATE_NATS_URL: 'nats://127.0.0.1:4222' },
      flags: { port: 9200, bounds: { maxN: 4000 }, defaults: { n: 1000 } },
      cores: 8,
    });
    expect(config.port).toBe(9200);
    expect(config.host).toBe('0.0.0.0');
    expect(config.bounds.maxN).toBe(4000);
    expect(config.bounds.minAlpha).toBe(1e-6);
    expect(config.maxQueue).toBe(3);
    expect(config.adminToken).toBe('a-token-of-sixteen-chars');
    expect(config.natsUrl).toBe('nats://127.0.0.1:4222');
    expect(config.defaults.n).toBe(1000);
  });

  it.each([
    [{ port: 70000 }, /port/],
    [{ bounds: { sigmaMin: 1, sigmaMax: 0.5 } }, /sigmaMin/],
    [{ adminToken: 'short' }, /adminToken/],
    [{ defaults: { n: 2_000_000 } }, /maxN/],
    [{ unknownKey: 1 }, /unknownKey|Unrecognized/],
    [{ bounds: { allowedSolvers: ['sga'] } }, /solver/],
  ])('refuses %j', (flags, message) => {
    expect(() => loadGatewayConfig({ flags: flags as never, cores: 2 })).toThrow(ConfigError);
    expect(() => loadGatewayConfig({ flags: flags as never, cores: 2 })).toThrow(message);
  });

  it('refuses an unreadable or invalid config file', () => {
    expect(() => loadGatewayConfig({ file: join(dir, 'missing.json') })).toThrow(ConfigError);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ port: ');
    expect(() => loadGatewayConfig({ file: bad })).toThrow(ConfigError);
  });

  it('sizes workers x intra-op threads to the cores', () => {
    expect(sizeWorkers(1)).toEqual({ workers: 1, intraOpThreads: 1 });
    expect(sizeWorkers(2)).toEqual({ workers: 2, intraOpThreads: 1 });
    expect(sizeWorkers(16)).toEqual({ workers: 8, intraOpThreads: 2 });
    expect(sizeWorkers(16, 4)).toEqual({ workers: 4, intraOpThreads: 4 });
    expect(sizeWorkers(16, undefined, 8)).toEqual({ workers: 2, intraOpThreads: 8 });
    const { workers, intraOpThreads } = sizeWorkers(12);
    expect(workers * intraOpThreads).toBeLessThanOrEqual(12);
  });
});

describe('deploy/ configuration', () => {
  it('promtool accepts the Prometheus config and the alert rules', () => {
    const config = execFileSync('promtool', ['check', 'config', deploy('prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(config).toContain('SUCCESS');
    const rules = execFileSync('promtool', ['check', 'rules', deploy('prometheus/alerts.yml')], { encoding: 'utf8' });
    expect(rules).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the alert rules only use metrics the gateway exports', () => {
    const rules = readFileSync(deploy('prometheus/alerts.yml'), 'utf8');
    const used = new Set(rules.match(/certigate_[a-z_]+/g));
    const metricsSource = readFileSync(fileURLToPath(new URL('../src/gateway/metrics.ts', import.meta.url)), 'utf8');
    for (const name of used) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(metricsSource, `${name} is not exported`).toContain(`'${base}'`);
    }
  });

  it('the example gateway config is valid and names every key (the admin token comes from the environment)', () => {
    const file = deploy('gateway.example.json');
    const config = loadGatewayConfig({ file, env: { CERTIGATE_ADMIN_TOKEN: 'an-admin-token-from-env' }, cores: 16 });
    expect(config.workers * config.intraOpThreads).toBeLessThanOrEqual(16);
    expect(config.adminToken).toBe('an-admin-token-from-env');
    const keys = Object.keys(JSON.parse(readFileSync(file, 'utf8')));
    for (const key of Object.keys(config)) if (key !== 'adminToken' && !key.startsWith('search')) expect(keys, key).toContain(key);
  });

  it('nats-server accepts the JetStream config', () => {
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, readFileSync(deploy('nats/nats.conf'), 'utf8').replace('/var/lib/nats/jetstream', join(dir, 'js')));
    const result = spawnSync('nats-server', ['-c', conf, '-t'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toMatch(/is valid/);
    expect(readFileSync(conf, 'utf8')).toMatch(/jetstream\s*\{/);
  });
});
