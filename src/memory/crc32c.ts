// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven "slicing by 8":
// eight 256-entry tables let the loop consume 8 bytes per step, which matters when a
// replay checksums gigabytes of log.

const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = buildTables();

function buildTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[0][n];
    for (let t = 1; t < 8; t++) {
      c = tables[0][c & 0xff] ^ (c >>> 8);
      tables[t][n] = c >>> 0;
    }
  }
  return tables;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Continues a CRC-32C over `bytes`; start with the default (0) for a fresh checksum. */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  const t0 = TABLES[0];
  let crc = ~previous >>> 0;
  let i = 0;
  const n = bytes.length;
  // Bytewise up to a 4-byte boundary, then whole words through an aligned view.
  while (i < n && (bytes.byteOffset + i) % 4 !== 0) crc = t0[(crc ^ bytes[i++]) & 0xff] ^ (crc >>> 8);
  const words = (n - i) >> 3 << 1;
  if (LITTLE_ENDIAN && words > 0) {
    crc = crcWords(new Uint32Array(bytes.buffer, bytes.byteOffset + i, words), crc);
    i += words * 4;
  }
  while (i < n) crc = t0[(crc ^ bytes[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Slicing by 8 over pairs of little-endian 32-bit words. */
function crcWords(words: Uint32Array, crc: number): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  for (let w = 0; w < words.length; w += 2) {
    const lo = words[w] ^ crc;
    const hi = words[w + 1];
    crc =
      t7[lo & 0xff] ^ t6[(lo >>> 8) & 0xff] ^ t5[(lo >>> 16) & 0xff] ^ t4[lo >>> 24] ^
      t3[hi & 0xff] ^ t2[(hi >>> 8) & 0xff] ^ t1[(hi >>> 16) & 0xff] ^ t0[hi >>> 24];
  }
  return crc;
}
