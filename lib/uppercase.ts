/**
 * The lab's transform: the 26 bytes a-z become A-Z, every other byte value passes unchanged.
 * Works on bytes, not strings, so UTF-8 (ß, é) and binary data survive, and a multi-byte
 * character split across two TCP chunks cannot break. Changes `chunk` in place and returns it.
 */
export function uppercaseAscii(chunk: Uint8Array): Uint8Array {
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i];
    // 0x61..0x7a is a..z; clearing bit 0x20 gives A..Z. Bytes >= 0x80 (UTF-8) are never touched.
    if (byte >= 0x61 && byte <= 0x7a) chunk[i] = byte & 0xdf;
  }
  return chunk;
}
