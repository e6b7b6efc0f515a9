// /v1 routes (DESIGN 3.1/3.2): certify, certifyStream, predict, model list, memory export.
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { GatewayError, notFound } from '../errors.js';
import { parseOrThrow } from '../validation.js';
import { readJsonBody } from './body.js';
import type { AppDeps, GatewayEnv } from './env.js';
import { certifyStreamResponse } from './ndjsonStream.js';

/** `{model}:{method}` as one path segment (the colon belongs to Google-style custom methods). */
function splitSpec(spec: string): { model: string; method: string } {
  const colon = spec.lastIndexOf(':');
  if (colon <= 0) throw notFound('not_found', `no route for "${spec}"; use /v1/models/{model}:certify, :certifyStream or :predict`);
  return { model: spec.slice(0, colon), method: spec.slice(colon + 1) };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const exportQuerySchema = z.object({
  after: z.coerce.number().int().min(0).default(0),
  norm: z.enum(['l2', 'l1']).optional(),
}).strict();

export function v1Routes(deps: AppDeps): Hono<GatewayEnv> {
  const { config, service, memory } = deps;
  const app = new Hono<GatewayEnv>();

  app.get('/models', (c) => {
    c.set('route', '/v1/models');
    return c.json({ default: service.defaultModel, models: service.models });
  });

  app.get('/models/:model', (c) => {
    c.set('route', '/v1/models/{model}');
    return c.json(service.model(c.req.param('model')));
  });

  app.post('/models/:spec', async (c) => {
    const { model, method } = splitSpec(c.req.param('spec'));
    const requestId = c.get('requestId');
    switch (method) {
      case 'certify': {
        c.set('route', '/v1/models/{model}:certify');
        service.model(model); // unknown model: 404 before the body is read
        const body = await readJsonBody(c.req.raw, config.bodyLimitBytes);
        return c.json(await service.certify(model, body, requestId));
      }
      case 'predict': {
        c.set('route', '/v1/models/{model}:predict');
        service.model(model);
        const body = await readJsonBody(c.req.raw, config.bodyLimitBytes);
        return c.json(await service.predict(model, body, requestId));
      }
      case 'certifyStream':
        c.set('route', '/v1/models/{model}:certifyStream');
        return certifyStreamResponse(c.req.raw, model, requestId, deps);
      default:
        throw notFound('not_found', `unknown method ":${method}"; use :certify, :certifyStream or :predict`);
    }
  });

  app.get('/models/:model/memory', async (c) => {
    c.set('route', '/v1/models/{model}/memory');
    if (config.adminToken === null) throw new GatewayError(403, 'export_disabled', 'the memory export needs an admin token in the server configuration (CERTIGATE_ADMIN_TOKEN)');
    if (!tokenMatches(c.req.header('authorization'), config.adminToken)) {
      c.header('WWW-Authenticate', 'Bearer realm="certigate-admin"');
      throw new GatewayError(401, 'unauthorized', 'the memory export needs the admin bearer token');
    }
    const entry = service.model(c.req.param('model'));
    const query = parseOrThrow(exportQuerySchema, c.req.query(), 'query');
    const norm = query.norm ?? entry.norm;
    const records = memory.export(entry.name, norm, query.after)[Symbol.asyncIterator]();
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await records.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(JSON.stringify(next.value) + '\n'));
        } catch (err) {
          deps.logger.error({ err, requestId: c.get('requestId') }, 'memory export failed');
          controller.error(err);
        }
      },
      async cancel() {
        await records.return?.();
      },
    });
    return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
  });

  return app;
}
