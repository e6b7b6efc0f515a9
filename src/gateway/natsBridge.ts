// NATS: every durable decision is published on `{prefix}.{model}`, and certify is offered as a
// NATS service (micro services framework: discoverable with `nats micro ls`, $SRV.PING etc.).
import { randomUUID } from 'node:crypto';
import { connect, RetentionPolicy, StorageType, type JetStreamClient, type NatsConnection, type Service, type ServiceMsg } from 'nats';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config.js';
import type { CertifyResponse } from './decisionResponse.js';
import type { DecisionPublisher, DecisionService } from './decisionService.js';
import { asGatewayError, errorBody } from './errors.js';
import type { GatewayMetrics } from './metrics.js';

export interface NatsBridgeDeps {
  config: GatewayConfig;
  service: DecisionService;
  metrics: GatewayMetrics;
  logger: Logger;
  version: string;
}

export const NATS_SERVICE_NAME = 'certigate';

export class NatsBridge implements DecisionPublisher {
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** JetStream acks not yet received; close() waits for them. */
  private readonly pendingAcks = new Set<Promise<unknown>>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly micro: Service,
    private readonly js: JetStreamClient | null,
    private readonly deps: NatsBridgeDeps,
  ) {}

  static async start(deps: NatsBridgeDeps): Promise<NatsBridge> {
    const { config, logger } = deps;
    const nc = await connect({ servers: config.natsUrl!, name: `certigate-${process.pid}`, maxReconnectAttempts: -1 });
    let js: JetStreamClient | null = null;
    if (config.natsStream) {
      const jsm = await nc.jetstreamManager();
      const subjects = [`${config.natsSubjectPrefix}.>`];
      try {
        await jsm.streams.info(config.natsStream);
      } catch {
        await jsm.streams.add({ name: config.natsStream, subjects, storage: StorageType.File, retention: RetentionPolicy.Limits });
        logger.info({ stream: config.natsStream, subjects }, 'nats stream created');
      }
      js = nc.jetstream();
    }
    const micro = await nc.services.add({
      name: NATS_SERVICE_NAME,
      version: deps.version,
      description: 'Certified predictions (data-dependent randomized smoothing) with a sequential memory',
      metadata: { decisions: `${config.natsSubjectPrefix}.{model}` },
    });
    const bridge = new NatsBridge(nc, micro, js, deps);
    micro.addEndpoint('certify', {
      subject: config.natsServiceSubject,
      metadata: { body: 'certify body of POST /v1/models/{model}:certify plus optional "model" (default model otherwise)' },
      handler: (err, msg) => {
        if (err) {
          logger.error({ err }, 'nats service endpoint failed');
          return;
        }
        void bridge.handle(msg);
      },
    });
    (async () => {
      for await (const status of nc.status()) logger.info({ type: status.type, data: String(status.data) }, 'nats status');
    })().catch(() => undefined);
    logger.info({ url: config.natsUrl, service: NATS_SERVICE_NAME, subject: config.natsServiceSubject }, 'nats connected');
    return bridge;
  }

  publish(model: string, response: CertifyResponse): void {
    const { config, metrics, logger } = this.deps;
    const subject = `${config.natsSubjectPrefix}.${model}`;
    const data = this.encoder.encode(JSON.stringify(response));
    const failed = (err: unknown) => {
      metrics.natsPublishFailures.inc({ model });
      logger.warn({ err, requestId: response.requestId, seq: response.memory.seq }, 'nats publish failed');
    };
    try {
      if (this.js) {
        // Sent now, in memory order; the ack arrives later. msgID lets JetStream drop a resend.
        const ack = this.js.publish(subject, data, { msgID: response.requestId }).then(
          () => metrics.natsPublished.inc({ model }),
          failed,
        );
        this.pendingAcks.add(ack);
        void ack.finally(() => this.pendingAcks.delete(ack));
      } else {
        this.nc.publish(subject, data);
        metrics.natsPublished.inc({ model });
      }
    } catch (err) {
      failed(err);
    }
  }

  private async handle(msg: ServiceMsg): Promise<void> {
    this.inFlight++;
    const requestId = randomUUID();
    const { service, logger } = this.deps;
    try {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(this.decoder.decode(msg.data)) as Record<string, unknown>;
      } catch {
        msg.respondError(400, 'body is not valid JSON', this.encoder.encode(JSON.stringify({ error: { code: 'invalid_json', message: 'body is not valid JSON' } })));
        return;
      }
      const { model, ...certifyBody } = body ?? {};
      const modelName = typeof model === 'string' ? model : service.defaultModel;
      const response = await service.certify(modelName, certifyBody, requestId);
      msg.respond(this.encoder.encode(JSON.stringify(response)));
    } catch (err) {
      const gatewayError = asGatewayError(err);
      if (gatewayError.status >= 500) logger.error({ err, requestId }, 'nats certify failed');
      this.deps.metrics.rejected.inc({ reason: gatewayError.code });
      msg.respondError(gatewayError.status, gatewayError.message, this.encoder.encode(JSON.stringify(errorBody(gatewayError))));
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Stops taking service requests and waits for those in flight. */
  async stopService(): Promise<void> {
    await this.micro.stop();
    if (this.inFlight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Flushes every published decision and closes the connection. */
  async close(): Promise<void> {
    if (!this.micro.isStopped) await this.stopService();
    await Promise.allSettled([...this.pendingAcks]);
    await this.nc.drain();
  }
}
