// The lab's transform, byte by byte: only a-z change. Runs lib/ directly (Node strips the types).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { simdAvailable, uppercaseAscii } from '../lib/uppercase.ts';
import { expectedUpper } from './helpers.mjs';

test('every one of the 256 byte values: a-z become A-Z, all others pass unchanged', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const out = uppercaseAscii(Buffer.from(all));
  for (let i = 0; i < 256; i++) {
    const expected = i >= 0x61 && i <= 0x7a ? i - 0x20 : i;
    assert.is(out[i], expected, `byte 0x${i.toString(16)}`);
  }
});

test('the handout sample and the characters it names', () => {
  assert.is(Buffer.from(uppercaseAscii(Buffer.from('hello, welcome'))).toString(), 'HELLO, WELCOME');
  assert.is(Buffer.from(uppercaseAscii(Buffer.from('&*! 0123 ABC'))).toString(), '&*! 0123 ABC');
});

test('UTF-8 letters are not letters here: ß and é keep their bytes, even split across chunks', () => {
  const text = Buffer.from('straße café');
  const whole = Buffer.from(uppercaseAscii(Buffer.from(text))).toString();
  assert.is(whole, 'STRAßE CAFé');
  // Split inside the two-byte ß: each half transformed alone gives the same bytes.
  const cut = text.indexOf(0xc3) + 1;
  const halves = Buffer.concat([uppercaseAscii(text.subarray(0, cut)), uppercaseAscii(text.subarray(cut))]);
  assert.is(halves.toString(), 'STRAßE CAFé');
});

test('every byte value in every lane of a 4-byte word, at every alignment and length', () => {
  const reference = (bytes) => bytes.map((b) => (b >= 0x61 && b <= 0x7a ? b - 0x20 : b));
  const backing = new Uint8Array(4096);
  for (let offset = 0; offset < 8; offset++) {
    for (let length = 0; length <= 67; length++) {
      for (let value = 0; value < 256; value++) {
        const view = backing.subarray(offset, offset + length);
        for (let i = 0; i < length; i++) view[i] = (value + i * 37) & 0xff; // every value visits every lane
        const expected = reference(Array.from(view));
        uppercaseAscii(view);
        for (let i = 0; i < length; i++) {
          if (view[i] !== expected[i]) assert.unreachable(`offset ${offset} length ${length} index ${i}: ${view[i]} != ${expected[i]}`);
        }
      }
    }
  }
});

test('bytes outside the view are never touched', () => {
  const backing = new Uint8Array(16).fill(0x61);
  uppercaseAscii(backing.subarray(3, 13));
  assert.equal(Array.from(backing), [0x61, 0x61, 0x61, ...Array(10).fill(0x41), 0x61, 0x61, 0x61]);
});

test('an empty chunk is fine', () => {
  assert.is(uppercaseAscii(Buffer.alloc(0)).length, 0);
});

test('large chunks (WebAssembly SIMD, 16 bytes a step): every value in every lane, every alignment, across 64 KiB pieces', () => {
  assert.ok(simdAvailable(), 'WebAssembly SIMD did not compile: the large-chunk path is not the one tested here');
  const backing = Buffer.alloc(200_100);
  for (const length of [511, 512, 513, 527, 528, 529, 4096, 65535, 65536, 65537, 65552, 131071, 200_000]) {
    for (let offset = 0; offset < 4; offset++) {
      const view = backing.subarray(offset, offset + length);
      for (let i = 0; i < length; i++) view[i] = (i * 37 + length + offset) & 0xff; // 37 is odd: every value in every lane
      const expected = expectedUpper(view);
      assert.ok(uppercaseAscii(view) === view, 'changed in place');
      assert.ok(Buffer.from(view).equals(expected), `length ${length}, offset ${offset}`);
    }
  }
});

test.run();
