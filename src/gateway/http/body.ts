// Reading request bodies: content type checked, size bounded while reading (a declared
// Content-Length over the limit is refused before a byte is read), JSON parsed.
import { GatewayError } from '../errors.js';

export const JSON_TYPES = ['application/json'];
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];

export function mediaType(header: string | undefined | null): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export function requireContentType(header: string | undefined | null, accepted: string[]): void {
  const type = mediaType(header);
  if (!accepted.includes(type)) {
    throw new GatewayError(415, 'unsupported_media_type', `content type "${type || '(none)'}" is not accepted; send ${accepted[0]}`);
  }
}

export function tooLarge(limitBytes: number): GatewayError {
  return new GatewayError(413, 'body_too_large', `request body exceeds the limit of ${limitBytes} bytes`);
}

/** Refuses a declared Content-Length over the limit without reading the body. */
export function checkDeclaredLength(header: string | undefined | null, limitBytes: number): void {
  if (header === undefined || header === null || header === '') return;
  const declared = Number(header);
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);
}

export async function readBodyLimited(request: Request, limitBytes: number): Promise<Uint8Array> {
  checkDeclaredLength(request.headers.get('content-length'), limitBytes);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel();
      throw tooLarge(limitBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
  requireContentType(request.headers.get('content-type'), JSON_TYPES);
  const bytes = await readBodyLimited(request, limitBytes);
  return parseJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GatewayError(400, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`);
  }
}
