// The served OpenAPI 3.1 document of every route (GET /openapi.json).

const json = (schema: object) => ({ 'application/json': { schema } });
const ndjson = (schema: object) => ({ 'application/x-ndjson': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponses = {
  400: { description: 'Bad input: wrong shape or length, non-finite values, parameters out of bounds, invalid JSON; nothing is stored', content: json(ref('Error')) },
  404: { description: 'Unknown model or route', content: json(ref('Error')) },
  413: { description: 'Body over the limit', content: json(ref('Error')) },
  415: { description: 'Wrong content type', content: json(ref('Error')) },
  429: { description: 'Admission queue full; see Retry-After', headers: { 'Retry-After': { schema: { type: 'integer' } } }, content: json(ref('Error')) },
  503: { description: 'Deadline passed while queued, or shutting down; see Retry-After', content: json(ref('Error')) },
  504: { description: 'Deadline passed while evaluating; nothing stored', content: json(ref('Error')) },
};
const oipError = { description: 'OIP error', content: json(ref('OipError')) };

export function openApiDocument(version: string, models: string[]): object {
  const modelParam = { name: 'model', in: 'path', required: true, schema: { type: 'string', enum: models } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'certigate',
      version,
      description: 'Certified predictions (data-dependent randomized smoothing) with a sequential memory that keeps certified regions of different answers disjoint. Seeds are drawn by the server and recorded.',
    },
    paths: {
      '/v1/models': { get: { summary: 'Served models (manifest entries)', responses: { 200: { description: 'Manifest', content: json({ type: 'object', properties: { default: { type: 'string' }, models: { type: 'array', items: { type: 'object' } } } }) } } } },
      '/v1/models/{model}': { get: { summary: 'One manifest entry', parameters: [modelParam], responses: { 200: { description: 'Manifest entry', content: json({ type: 'object' }) }, 404: errorResponses[404] } } },
      '/v1/models/{model}:certify': {
        post: {
          summary: 'Certify one input (data-dependent sigma, Monte Carlo certificate, sequential memory); answered once the decision is durable',
          parameters: [modelParam],
          requestBody: { required: true, content: json(ref('CertifyRequest')) },
          responses: { 200: { description: 'Decision', content: json(ref('CertifyResponse')) }, ...errorResponses },
        },
      },
      '/v1/models/{model}:certifyStream': {
        post: {
          summary: 'NDJSON stream of certify bodies; one response line per input line, in order; a bad line gets an error line and the stream goes on',
          parameters: [modelParam],
          requestBody: { required: true, content: ndjson(ref('CertifyRequest')) },
          responses: { 200: { description: 'One CertifyResponse or StreamError per line', content: ndjson({ oneOf: [ref('CertifyResponse'), ref('StreamError')] }) }, ...errorResponses },
        },
      },
      '/v1/models/{model}:predict': {
        post: {
          summary: "Cohen's PREDICT: uncertified, no memory",
          parameters: [modelParam],
          requestBody: { required: true, content: json(ref('PredictRequest')) },
          responses: { 200: { description: 'Prediction', content: json(ref('PredictResponse')) }, ...errorResponses },
        },
      },
      '/v1/models/{model}/memory': {
        get: {
          summary: 'Memory export (NDJSON, same records as `certigate memory export`); admin bearer token',
          security: [{ adminToken: [] }],
          parameters: [modelParam,
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 }, description: 'Only records with seq > after' },
            { name: 'norm', in: 'query', schema: { type: 'string', enum: ['l2', 'l1'] }, description: "Default: the model's norm" }],
          responses: {
            200: { description: 'Records', content: ndjson(ref('MemoryRecord')) },
            401: { description: 'Missing or wrong token', content: json(ref('Error')) },
            403: { description: 'Export disabled (no admin token configured)', content: json(ref('Error')) },
          },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI document' } } } },
      '/v2': { get: { summary: 'OIP server metadata', responses: { 200: { description: '{name, version, extensions}', content: json({ type: 'object' }) } } } },
      '/v2/health/live': { get: { summary: 'OIP liveness', responses: { 200: { description: 'Live' } } } },
      '/v2/health/ready': { get: { summary: 'OIP readiness', responses: { 200: { description: 'Ready' }, 400: { description: 'Not ready (draining)' } } } },
      '/v2/models/{model}': { get: { summary: 'OIP model metadata', parameters: [modelParam], responses: { 200: { description: '{name, versions, platform, inputs, outputs}' }, 404: oipError } } },
      '/v2/models/{model}/ready': { get: { summary: 'OIP model readiness', parameters: [modelParam], responses: { 200: { description: 'Ready' }, 400: { description: 'Not ready (draining)' }, 404: oipError } } },
      '/v2/models/{model}/versions/{version}': { get: { summary: 'OIP model metadata of a version (the only version is "1")', parameters: [modelParam, { name: 'version', in: 'path', required: true, schema: { const: '1' } }], responses: { 200: { description: 'As /v2/models/{model}' }, 404: oipError } } },
      '/v2/models/{model}/versions/{version}/ready': { get: { summary: 'OIP model readiness of a version', parameters: [modelParam, { name: 'version', in: 'path', required: true, schema: { const: '1' } }], responses: { 200: { description: 'Ready' }, 400: { description: 'Not ready (draining)' }, 404: oipError } } },
      '/v2/models/{model}/versions/{version}/infer': { post: { summary: 'OIP inference of a version; as /v2/models/{model}/infer', parameters: [modelParam, { name: 'version', in: 'path', required: true, schema: { const: '1' } }], requestBody: { required: true, content: json(ref('InferRequest')) }, responses: { 200: { description: 'Inference response', content: json(ref('InferResponse')) }, 400: oipError, 404: oipError } } },
      '/v2/models/{model}/infer': {
        post: {
          summary: 'OIP inference. parameters.mode: certify (default; each row certified and stored; results in outputs answer/radius/sigma/p_a_lower/memory_seq and in parameters), predict, or logits. Certification parameters n0, n, alpha, sigma, norm, solver in parameters.',
          parameters: [modelParam],
          requestBody: { required: true, content: json(ref('InferRequest')) },
          responses: { 200: { description: 'Inference response', content: json(ref('InferResponse')) }, 400: oipError, 404: oipError, 413: oipError, 415: oipError, 429: oipError },
        },
      },
    },
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
        StreamError: { allOf: [ref('Error'), { type: 'object', properties: { line: { type: 'integer' }, requestId: { type: 'string' } } }] },
        OipError: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
        Input: {
          oneOf: [
            { type: 'array', items: { type: 'number' }, description: 'Flat input, length = product of the input shape, in the data domain' },
            { type: 'object', required: ['b64'], properties: { b64: { type: 'string', description: 'Little-endian float32 bytes, base64' } }, additionalProperties: false },
          ],
        },
        CertifyRequest: {
          type: 'object', required: ['input'], additionalProperties: false,
          properties: {
            input: ref('Input'),
            id: { type: ['string', 'null'], description: 'Client id, echoed' },
            params: {
              type: 'object', additionalProperties: false,
              properties: {
                n0: { type: 'integer', minimum: 1 }, n: { type: 'integer', minimum: 1 },
                alpha: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 0.5 },
                sigma: { oneOf: [{ const: 'auto' }, { type: 'number', exclusiveMinimum: 0 }] },
                norm: { enum: ['l2', 'l1'] }, solver: { enum: ['sga', 'batched', 'grid', 'fixed'] },
                search: {
                  type: 'object', additionalProperties: false,
                  description: 'Budget of the sigma search (bounded by the server: maxSearchEvaluations)',
                  properties: {
                    samples: { type: 'integer', minimum: 1 }, steps: { type: 'integer', minimum: 0 },
                    gridSize: { type: 'integer', minimum: 1 }, stepSize: { type: 'number', exclusiveMinimum: 0 },
                  },
                },
              },
            },
          },
        },
        CertifyResponse: {
          type: 'object',
          required: ['requestId', 'id', 'model', 'answer', 'label', 'radius', 'norm', 'sigma', 'base', 'memory', 'seed', 'timingsMs'],
          properties: {
            requestId: { type: 'string' }, id: { type: ['string', 'null'] }, model: { type: 'string' },
            answer: { type: ['integer', 'null'], description: 'null = abstain' }, label: { type: ['string', 'null'] },
            radius: { type: 'number', minimum: 0, description: 'After the memory' }, norm: { enum: ['l2', 'l1'] },
            sigma: { type: 'number', description: 'Sigma used for certification' },
            base: {
              type: 'object', required: ['answer', 'radius', 'pALower', 'countA', 'n', 'n0', 'alpha', 'sigma0'],
              properties: {
                answer: { type: ['integer', 'null'] }, radius: { type: 'number' }, pALower: { type: 'number' }, countA: { type: 'integer' },
                n: { type: 'integer' }, n0: { type: 'integer' }, alpha: { type: 'number' }, sigma0: { type: 'number' }, solver: { type: 'string' },
              },
            },
            memory: {
              type: 'object', required: ['seq', 'action', 'conflictSeq'],
              properties: { seq: { type: 'integer' }, action: { enum: ['none', 'shrink', 'relabel', 'repeat'] }, conflictSeq: { type: ['integer', 'null'] } },
            },
            seed: { type: 'string', description: 'Server-chosen, recorded' },
            timingsMs: { type: 'object', properties: { sigma: { type: 'number' }, certify: { type: 'number' }, memory: { type: 'number' }, total: { type: 'number' } } },
          },
        },
        PredictRequest: {
          type: 'object', required: ['input'], additionalProperties: false,
          properties: {
            input: ref('Input'), id: { type: ['string', 'null'] },
            params: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer' }, alpha: { type: 'number' }, sigma: { type: 'number' }, norm: { enum: ['l2', 'l1'] } } },
          },
        },
        PredictResponse: {
          type: 'object',
          properties: {
            requestId: { type: 'string' }, id: { type: ['string', 'null'] }, model: { type: 'string' }, answer: { type: ['integer', 'null'] }, label: { type: ['string', 'null'] },
            norm: { type: 'string' }, sigma: { type: 'number' }, n: { type: 'integer' }, alpha: { type: 'number' }, countA: { type: 'integer' }, countB: { type: 'integer' },
            pValue: { type: 'number' }, seed: { type: 'string' }, timingsMs: { type: 'object' },
          },
        },
        MemoryRecord: {
          type: 'object', required: ['seq', 'model', 'norm', 'answer', 'radius', 'sigma', 'input', 'seed', 'time'],
          properties: {
            seq: { type: 'integer' }, model: { type: 'string' }, norm: { type: 'string' }, answer: { type: ['integer', 'null'] }, radius: { type: 'number' },
            sigma: { type: 'number' }, input: { type: 'object', properties: { b64: { type: 'string' } } }, seed: { type: 'string' }, time: { type: 'string', format: 'date-time' },
          },
        },
        InferRequest: {
          type: 'object', required: ['inputs'],
          properties: {
            id: { type: 'string' }, parameters: { type: 'object' },
            inputs: { type: 'array', minItems: 1, maxItems: 1, items: { type: 'object', required: ['name', 'shape', 'datatype', 'data'], properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, datatype: { const: 'FP32' }, data: { type: 'array' } } } },
            outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
          },
        },
        InferResponse: {
          type: 'object', required: ['model_name', 'outputs'],
          properties: {
            model_name: { type: 'string' }, model_version: { type: 'string' }, id: { type: 'string' }, parameters: { type: 'object' },
            outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, shape: { type: 'array' }, datatype: { type: 'string' }, data: { type: 'array' } } } },
          },
        },
      },
    },
  };
}
