/**
 * The lab's transform: the 26 bytes a-z become A-Z, every other byte value passes unchanged.
 * Works on bytes, not strings, so UTF-8 (ß, é) and binary data survive, and a multi-byte
 * character split across two TCP chunks cannot break. Changes `chunk` in place and returns it.
 */
export function uppercaseAscii<Bytes extends Uint8Array>(chunk: Bytes): Bytes {
  if (chunk.length >= SIMD_FROM) {
    const simd = simdUppercaser();
    if (simd) return uppercaseWithSimd(chunk, simd);
  }
  return uppercaseBytes(chunk, 0, chunk.length);
}

/** The rule itself, one byte at a time, from `from` up to `to`. */
function uppercaseBytes<Bytes extends Uint8Array>(chunk: Bytes, from: number, to: number): Bytes {
  for (let i = from; i < to; i++) {
    // 0x61..0x7a is a..z, and A..Z is 0x20 below. Bytes >= 0x80 (UTF-8, binary) are never touched.
    if (chunk[i] >= 0x61 && chunk[i] <= 0x7a) chunk[i] -= 0x20;
  }
  return chunk;
}

// ---- The same rule, 16 bytes a step: WebAssembly SIMD, for TCP's large chunks ----

/**
 * From this size on, chunks go through WebAssembly: copied into its memory, transformed 16 bytes
 * per step, copied back. It earns its lines on the 1 GiB stream through tcp-server: the bench's
 * "a-z transform" row runs tcp-server bundled as built and with the byte loop alone, in turns on
 * the same runtime (tests/bench/RESULTS.md, 2026-12-04: 1.3 to 2.1 times the byte loop's MB/s, and the
 * byte loop alone fell below Python's bytes.upper). A 4-byte (SWAR) loop that stood between them
 * is gone: it only ever took chunks under 512 bytes, where it saved ~10-25 ns on a 64-byte
 * datagram (65-80 ns against 56, in-process) whose round trip through udp-server takes ~7,400 ns,
 * and ~250 ns on 511 bytes. Small chunks and datagrams stay in the byte loop.
 */
const SIMD_FROM = 512;
/** The WebAssembly memory holds one piece of a chunk at a time: 2 pages of 64 KiB. */
const SIMD_PIECE = 65536;

interface SimdUppercaser {
  bytes: Uint8Array;
  upper: (from: number, to: number) => void;
}

function uppercaseWithSimd<Bytes extends Uint8Array>(chunk: Bytes, { bytes, upper }: SimdUppercaser): Bytes {
  for (let offset = 0; offset < chunk.length; offset += SIMD_PIECE) {
    const piece = chunk.subarray(offset, offset + SIMD_PIECE);
    const whole = piece.length & ~15; // the SIMD loop takes 16-byte steps; the rest goes byte by byte
    bytes.set(piece.subarray(0, whole));
    upper(0, whole);
    piece.set(bytes.subarray(0, whole));
    uppercaseBytes(piece, whole, piece.length);
  }
  return chunk;
}

let simd: SimdUppercaser | null | undefined;

/** Whether large chunks take the SIMD path here (the tests check that it is the one they test). */
export function simdAvailable(): boolean {
  return simdUppercaser() !== null;
}

/** The compiled module, made on first use (start-up pays nothing); null where WebAssembly SIMD is unavailable. */
function simdUppercaser(): SimdUppercaser | null {
  if (simd !== undefined) return simd;
  try {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(simdModule()));
    simd = {
      bytes: new Uint8Array((exports.memory as WebAssembly.Memory).buffer),
      upper: exports.upper as SimdUppercaser['upper'],
    };
  } catch {
    simd = null; // e.g. node --jitless: the byte loop does the work
  }
  return simd;
}

/**
 * The module's bytes, written out by hand (no WebAssembly toolchain in the build). In text form:
 *
 *   (module
 *     (memory (export "memory") 2)
 *     (func (export "upper") (param $p i32) (param $end i32) (local $v v128)
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
 *         ;; lower = (v - 'a') < 26, unsigned, per byte: 0xff for a-z, else 0; v ^= lower & 0x20
 *         (v128.store (local.get $p)
 *           (v128.xor (local.tee $v (v128.load (local.get $p)))
 *             (v128.and (i8x16.lt_u (i8x16.sub (local.get $v) (i8x16.splat (i32.const 0x61)))
 *                                   (i8x16.splat (i32.const 26)))
 *                       (i8x16.splat (i32.const 0x20)))))
 *         (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *         (br 0)))))
 */
function simdModule(): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f, V128 = 0x7b, SIMD = 0xfd;
  const splat = (value: number[]) => [0x41, ...value, SIMD, 0x0f]; // i32.const (signed LEB128), i8x16.splat
  const body = [
    0x01, 0x01, V128, // one local, $v
    0x02, 0x40, 0x03, 0x40, // block, loop
    0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01, // br_if 1 (i32.ge_u $p $end)
    0x20, 0x00, // the store's address
    0x20, 0x00, SIMD, 0x00, 0x00, 0x00, // v128.load $p
    0x22, 0x02, 0x20, 0x02, // local.tee $v, local.get $v
    ...splat([0xe1, 0x00]), SIMD, 0x71, // i8x16.sub 0x61
    ...splat([0x1a]), SIMD, 0x26, // i8x16.lt_u 26
    ...splat([0x20]), SIMD, 0x4e, // v128.and 0x20
    SIMD, 0x51, // v128.xor
    SIMD, 0x0b, 0x00, 0x00, // v128.store
    0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // $p += 16
    0x0c, 0x00, 0x0b, 0x0b, 0x0b, // br 0, end loop, end block, end func
  ];
  const name = (text: string) => [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x02, I32, I32, 0x00]), // types: (i32, i32) -> ()
    ...section(3, [0x01, 0x00]), // functions: one, of type 0
    ...section(5, [0x01, 0x00, 0x02]), // memories: one, 2 pages
    ...section(7, [0x02, ...name('memory'), 0x02, 0x00, ...name('upper'), 0x00, 0x00]), // exports
    ...section(10, [0x01, ...unsignedLeb128(body.length), ...body]), // code
  ]);
}

function section(id: number, contents: number[]): number[] {
  return [id, ...unsignedLeb128(contents.length), ...contents];
}

function unsignedLeb128(value: number): number[] {
  const out: number[] = [];
  do {
    const low = value & 0x7f;
    value >>>= 7;
    out.push(value ? low | 0x80 : low);
  } while (value);
  return out;
}
