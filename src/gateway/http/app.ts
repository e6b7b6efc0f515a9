// The Hono application: request ids, access logs, latency metrics, error mapping, routes.
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { asGatewayError, errorBody, GatewayError, ShuttingDownError } from '../errors.js';
import { openApiDocument } from '../openapi.js';
import type { AppDeps, GatewayEnv } from './env.js';
import { oipRoutes } from './oipRoutes.js';
import { v1Routes } from './v1Routes.js';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function isOip(path: string): boolean {
  return path === '/v2' || path.startsWith('/v2/');
}

export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const { metrics, logger, state } = deps;
  const app = new Hono<GatewayEnv>();

  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    c.set('route', 'unmatched');
    const started = performance.now();
    // Probes keep answering while draining (readiness then says false).
    const probe = c.req.path === '/metrics' || c.req.path.startsWith('/v2/health') || /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/ready$/.test(c.req.path);
    if (state.draining && !probe) throw new ShuttingDownError();
    metrics.inFlight.inc();
    try {
      await next();
    } finally {
      metrics.inFlight.dec();
      c.header('x-request-id', requestId);
      const seconds = (performance.now() - started) / 1000;
      metrics.requestDuration.observe({ route: c.get('route'), method: c.req.method, status: String(c.res.status) }, seconds);
      if (!probe) {
        logger.info({ requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      }
    }
  });

  app.onError((err, c) => {
    const gatewayError = asGatewayError(err);
    const requestId = c.get('requestId');
    if (gatewayError.status >= 500 && !(err instanceof GatewayError)) logger.error({ err, requestId }, 'unexpected error');
    metrics.rejected.inc({ reason: gatewayError.code });
    if (gatewayError.retryAfterS !== undefined) c.header('Retry-After', String(gatewayError.retryAfterS));
    // The body may be unread (refused before or while reading): do not reuse the connection.
    const unreadBody = gatewayError.status === 413 || gatewayError.status === 415;
    if (state.draining || unreadBody) c.header('Connection', 'close');
    c.header('x-request-id', requestId);
    const status = gatewayError.status as 400;
    return isOip(c.req.path) ? c.json({ error: gatewayError.message }, status) : c.json(errorBody(gatewayError), status);
  });

  app.notFound((c) => {
    const message = `no route ${c.req.method} ${c.req.path}`;
    return isOip(c.req.path) ? c.json({ error: message }, 404) : c.json({ error: { code: 'not_found', message } }, 404);
  });

  app.get('/metrics', async (c) => {
    c.set('route', '/metrics');
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });
  app.get('/openapi.json', (c) => {
    c.set('route', '/openapi.json');
    return c.json(openApiDocument(deps.version, deps.service.models.map((m) => m.name)));
  });
  app.route('/v1', v1Routes(deps));
  app.route('/v2', oipRoutes(deps));
  return app;
}
