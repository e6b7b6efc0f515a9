// Byte layout of the memory log.
//   file   = header(16) frame*
//   header = "CGMEMLOG" | u32 version | u32 reserved
//   frame  = u32 FRAME_MAGIC | u32 payloadLength | u32 crc32c(payloadLength bytes ++ payload) | payload
//   payload = f64 seq | f64 radius | i32 answer (-1 = abstain) | u32 inputLength | u32 jsonLength | u32 0
//             | inputLength x f32 (the input, bit for bit) | JSON metadata (utf-8)
// All little-endian. The per-frame magic lets a replay tell a torn tail (no valid frame after
// the damage) from corruption before the tail (a valid frame follows). CRC-32C comes from
// @node-rs/crc32 (the CPU's CRC32 instruction): a replay checksums gigabytes, and it ran 2.3x
// faster than the table-driven loop in WebAssembly that this project had before.
import { crc32c } from '@node-rs/crc32';

export const FILE_MAGIC = 'CGMEMLOG';
export const FILE_VERSION = 1;
export const FILE_HEADER_BYTES = 16;
export const FRAME_MAGIC = 0x314d4743; // "CGM1"
export const FRAME_HEADER_BYTES = 12;
export const PAYLOAD_HEADER_BYTES = 32;
/** Frames larger than this are treated as damage, not allocated. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Replays read this much at a time: always at least one whole frame of the largest allowed size. */
export const CHUNK_BYTES = MAX_PAYLOAD_BYTES + 2 * FRAME_HEADER_BYTES + 16 * 1024 * 1024;

export function fileHeader(): Uint8Array {
  const out = new Uint8Array(FILE_HEADER_BYTES);
  out.set(new TextEncoder().encode(FILE_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, FILE_VERSION, true);
  return out;
}

export function checkFileHeader(bytes: Uint8Array): string | null {
  if (bytes.length < FILE_HEADER_BYTES) return 'file header is incomplete';
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== FILE_MAGIC) return 'not a certigate memory log (bad file magic)';
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (version !== FILE_VERSION) return `unsupported log version ${version}`;
  return null;
}

/** The binary fields a replay needs without parsing JSON. */
export interface FrameFields {
  seq: number;
  radius: number;
  answer: number | null;
  input: Float32Array;
  json: Uint8Array;
}

export function encodeFrame(seq: number, answer: number | null, radius: number, input: Float32Array, metadata: object): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(metadata));
  const payloadLength = PAYLOAD_HEADER_BYTES + input.byteLength + json.length;
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payloadLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, payloadLength, true);
  const p = FRAME_HEADER_BYTES;
  view.setFloat64(p, seq, true);
  view.setFloat64(p + 8, radius, true);
  view.setInt32(p + 16, answer === null ? -1 : answer, true);
  view.setUint32(p + 20, input.length, true);
  view.setUint32(p + 24, json.length, true);
  frame.set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength), p + PAYLOAD_HEADER_BYTES);
  frame.set(json, p + PAYLOAD_HEADER_BYTES + input.byteLength);
  view.setUint32(8, frameChecksum(frame, 0, payloadLength), true);
  return frame;
}

/** CRC-32C (Castagnoli, reflected) of each byte value, for the frame's length field. */
const CRC32C_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

/** CRC-32C over the length field and the payload of the frame starting at `at`. */
export function frameChecksum(bytes: Uint8Array, at: number, payloadLength: number): number {
  // The length field's 4 bytes by table: a call into @node-rs/crc32 costs 0.5-0.9 us whatever
  // its length (a throwaway loop), a third of a whole frame's check.
  let lengthCrc = 0xffffffff;
  for (let i = at + 4; i < at + 8; i++) lengthCrc = CRC32C_TABLE[(lengthCrc ^ bytes[i]) & 0xff] ^ (lengthCrc >>> 8);
  return crc32c(bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + payloadLength), ~lengthCrc >>> 0);
}

export type FrameCheck =
  | { ok: true; length: number }
  | { ok: false; incomplete: boolean; reason: string };

/** Validates the frame at `at` within `bytes` (which may end early: then `incomplete`). */
export function checkFrame(bytes: Uint8Array, at: number): FrameCheck {
  if (bytes.length - at < FRAME_HEADER_BYTES) return { ok: false, incomplete: true, reason: 'incomplete frame header' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(at, true) !== FRAME_MAGIC) return { ok: false, incomplete: false, reason: 'bad frame magic' };
  const payloadLength = view.getUint32(at + 4, true);
  if (payloadLength < PAYLOAD_HEADER_BYTES || payloadLength > MAX_PAYLOAD_BYTES) {
    return { ok: false, incomplete: false, reason: `implausible payload length ${payloadLength}` };
  }
  if (bytes.length - at < FRAME_HEADER_BYTES + payloadLength) return { ok: false, incomplete: true, reason: 'incomplete payload' };
  const stored = view.getUint32(at + 8, true);
  if (frameChecksum(bytes, at, payloadLength) !== stored) return { ok: false, incomplete: false, reason: 'CRC-32C mismatch' };
  const p = at + FRAME_HEADER_BYTES;
  const inputLength = view.getUint32(p + 20, true);
  const jsonLength = view.getUint32(p + 24, true);
  if (PAYLOAD_HEADER_BYTES + 4 * inputLength + jsonLength !== payloadLength) {
    return { ok: false, incomplete: false, reason: 'payload fields disagree with the payload length' };
  }
  return { ok: true, length: FRAME_HEADER_BYTES + payloadLength };
}

/**
 * Decodes a frame already validated by checkFrame. The input is copied (aligned and owned),
 * into `into` when given and of the right length (replay reuses one buffer).
 */
export function decodeFrame(bytes: Uint8Array, at: number, into?: Float32Array): FrameFields {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = at + FRAME_HEADER_BYTES;
  const answer = view.getInt32(p + 16, true);
  const inputLength = view.getUint32(p + 20, true);
  const jsonLength = view.getUint32(p + 24, true);
  const inputStart = p + PAYLOAD_HEADER_BYTES;
  const input = into && into.length === inputLength ? into : new Float32Array(inputLength);
  new Uint8Array(input.buffer, input.byteOffset, 4 * inputLength).set(bytes.subarray(inputStart, inputStart + 4 * inputLength));
  return {
    seq: view.getFloat64(p, true),
    radius: view.getFloat64(p + 8, true),
    answer: answer < 0 ? null : answer,
    input,
    json: bytes.subarray(inputStart + 4 * inputLength, inputStart + 4 * inputLength + jsonLength),
  };
}

/** Byte offset of the input within a frame. */
export const INPUT_OFFSET_IN_FRAME = FRAME_HEADER_BYTES + PAYLOAD_HEADER_BYTES;
