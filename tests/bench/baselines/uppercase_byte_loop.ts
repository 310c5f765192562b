// The lab's transform as a plain byte loop, for the bench's question: does lib/uppercase.ts's
// WebAssembly path earn its lines? tcp-server is bundled with this module in its place.
export function uppercaseAscii<Bytes extends Uint8Array>(chunk: Bytes): Bytes {
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] >= 0x61 && chunk[i] <= 0x7a) chunk[i] -= 0x20;
  }
  return chunk;
}
