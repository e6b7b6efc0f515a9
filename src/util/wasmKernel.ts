// Compiles a WebAssembly kernel that many instances share. V8 (Node 20) first calls each
// export of each instance through a generic JS-to-wasm wrapper and, at its 1000th call,
// compiles a wrapper for it on the calling thread (about 0.3 ms per instance of the region
// search, bench/wasmCalls.ts). The memory makes an instance per index segment, so those
// compiles landed inside decisions, several at once. Without the generic wrapper, V8 compiles
// one wrapper per module and signature, which every instance shares (and each call is cheaper).
// The flag is process-wide and set before any kernel is compiled; it changes no result, only
// how calls enter WebAssembly.
import { setFlagsFromString } from 'node:v8';

/** A WebAssembly page, the unit in which memories are sized and grown. */
export const WASM_PAGE_BYTES = 65_536;
/** The most pages a wasm32 memory may have (4 GiB). */
export const WASM_MAX_PAGES = 65_536;

export function compileKernel(base64: string): WebAssembly.Module {
  setFlagsFromString('--no-wasm-generic-wrapper');
  return new WebAssembly.Module(Buffer.from(base64, 'base64'));
}

/** Carves 16-byte aligned regions (byte offsets) out of one kernel's memory, in order. */
export class MemoryLayout {
  bytes = 0;
  take(bytes: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil(bytes / 16) * 16;
    return at;
  }
}
