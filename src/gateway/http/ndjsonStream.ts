// :certifyStream — NDJSON in, NDJSON out, one line per input line and in input order.
// A bad line gets an error line and the stream goes on. At most `streamWindow` lines of one
// stream are evaluated at once; the input is not read further until the oldest line is
// answered, so a fast client cannot pile work up in the gateway.
import { asGatewayError, errorBody, GatewayError, OverloadedError } from '../errors.js';
import { checkDeclaredLength, NDJSON_TYPES, parseJson, requireContentType, tooLarge } from './body.js';
import type { AppDeps } from './env.js';

const NEWLINE = 0x0a;

/** Splits a byte stream into lines of at most `maxLineBytes`; longer lines are reported as null. */
async function* lines(body: ReadableStream<Uint8Array>, maxLineBytes: number, maxTotalBytes: number): AsyncGenerator<string | null> {
  const reader = body.getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let total = 0;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxTotalBytes) throw tooLarge(maxTotalBytes);
      let start = 0;
      for (let i = value.indexOf(NEWLINE); i >= 0; i = value.indexOf(NEWLINE, start)) {
        const part = value.subarray(start, i);
        start = i + 1;
        if (overlong || pendingBytes + part.byteLength > maxLineBytes) yield null;
        else yield decoder.decode(Buffer.concat([...pending, part]));
        pending = [];
        pendingBytes = 0;
        overlong = false;
      }
      const rest = value.subarray(start);
      if (rest.byteLength > 0 && !overlong) {
        if (pendingBytes + rest.byteLength > maxLineBytes) {
          overlong = true;
          pending = [];
          pendingBytes = 0;
        } else {
          pending.push(rest.slice());
          pendingBytes += rest.byteLength;
        }
      }
    }
    if (overlong) yield null;
    else if (pendingBytes > 0) yield decoder.decode(Buffer.concat(pending));
  } finally {
    reader.releaseLock();
  }
}

export function certifyStreamResponse(request: Request, model: string, requestId: string, deps: AppDeps): Response {
  const { config, service, logger } = deps;
  service.model(model);
  requireContentType(request.headers.get('content-type'), NDJSON_TYPES);
  checkDeclaredLength(request.headers.get('content-length'), config.streamBodyLimitBytes);
  const input = request.body;
  const encoder = new TextEncoder();

  const answerLine = async (text: string, lineNo: number): Promise<unknown> => {
    const lineRequestId = `${requestId}-${lineNo}`;
    try {
      const job = service.checkCertify(model, parseJson(text));
      // Overload inside a stream waits for room instead of failing the line, up to the deadline.
      const deadline = Date.now() + config.requestDeadlineMs;
      for (;;) {
        try {
          return await service.runCertify(job, lineRequestId);
        } catch (err) {
          if (!(err instanceof OverloadedError) || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, Math.min(1000, err.retryAfterS! * 1000)));
        }
      }
    } catch (err) {
      const gatewayError = asGatewayError(err);
      if (gatewayError.status >= 500 && !(err instanceof GatewayError)) logger.error({ err, requestId: lineRequestId }, 'stream line failed');
      deps.metrics.rejected.inc({ reason: gatewayError.code });
      return { line: lineNo, requestId: lineRequestId, ...errorBody(gatewayError) };
    }
  };

  const output = new ReadableStream<Uint8Array>({
    async start(controller) {
      const window: Array<Promise<unknown>> = [];
      const emit = async () => controller.enqueue(encoder.encode(JSON.stringify(await window.shift()!) + '\n'));
      let lineNo = 0;
      try {
        if (input) {
          for await (const text of lines(input, config.bodyLimitBytes, config.streamBodyLimitBytes)) {
            lineNo++;
            if (text !== null && text.trim() === '') continue;
            window.push(text === null
              ? Promise.resolve({ line: lineNo, ...errorBody(tooLarge(config.bodyLimitBytes)) })
              : answerLine(text, lineNo));
            while (window.length >= config.streamWindow) await emit();
          }
        }
        while (window.length > 0) await emit();
      } catch (err) {
        // The input broke off (client gone, body over the total limit): answer what was admitted, then report.
        while (window.length > 0) await emit().catch(() => undefined);
        const gatewayError = err instanceof GatewayError ? err : new GatewayError(400, 'stream_aborted', 'the request body ended abnormally');
        try {
          controller.enqueue(encoder.encode(JSON.stringify({ line: lineNo, ...errorBody(gatewayError) }) + '\n'));
        } catch {
          // the client is gone
        }
      }
      try {
        controller.close();
      } catch {
        // already closed by a cancelled client
      }
    },
  });
  return new Response(output, { headers: { 'content-type': 'application/x-ndjson', 'x-request-id': requestId } });
}
