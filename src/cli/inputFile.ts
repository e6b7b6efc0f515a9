// Reads the inputs of `certify` / `predict`: one JSON array, a JSON array of arrays, or NDJSON
// whose lines are arrays or request bodies ({ input, id?, params? }).
import { readFileSync } from 'node:fs';

export function readInputFile(path: string): unknown[] {
  const text = readFileSync(path, 'utf8').trim();
  if (text.length === 0) throw new Error(`${path} is empty`);
  try {
    const whole: unknown = JSON.parse(text);
    if (Array.isArray(whole) && whole.length > 0 && whole.every((v) => Array.isArray(v))) return whole;
    return [whole];
  } catch {
    return text.split('\n').filter((l) => l.trim().length > 0).map((line, i) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (err) {
        throw new Error(`${path}:${i + 1}: not JSON (${(err as Error).message})`);
      }
    });
  }
}

/** A line that is a bare array is an input; anything else is taken as a request body. */
export function asBody(item: unknown, params: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(item)) return { input: item, params };
  if (item !== null && typeof item === 'object') {
    const body = item as Record<string, unknown>;
    return { ...body, params: { ...(body.params as Record<string, unknown> | undefined), ...params } };
  }
  return { input: item, params };
}
