// Hono environment shared by the gateway's routes.
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config.js';
import type { DecisionService } from '../decisionService.js';
import type { DecisionMemory } from '../memoryPort.js';
import type { GatewayMetrics } from '../metrics.js';

export interface GatewayState {
  /** Set on SIGTERM: new requests get 503 while in-flight ones drain. */
  draining: boolean;
  ready: boolean;
}

export interface AppDeps {
  config: GatewayConfig;
  service: DecisionService;
  memory: DecisionMemory;
  metrics: GatewayMetrics;
  logger: Logger;
  state: GatewayState;
  version: string;
}

export type GatewayEnv = {
  Variables: {
    requestId: string;
    /** Route template used as the metrics label (bounded cardinality). */
    route: string;
  };
};
