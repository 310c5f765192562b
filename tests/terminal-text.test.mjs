// lib/terminal-text's one rule for bytes shown to people (errors, -v heads, lab-check's reports,
// the access log, listings), in-process: a table of what reaches the screen for each kind of input.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeForPeople } from '../lib/terminal-text.ts';

const B = (...bytes) => Uint8Array.from(bytes);
const U = (text) => new TextEncoder().encode(text);

const shown = suite('escapeForPeople: text and bytes as people may safely see them');
for (const [name, input, options, expected] of [
  ['printable ASCII as itself', 'GET /index.html HTTP/1.1', {}, 'GET /index.html HTTP/1.1'],
  ['letters, marks, numbers, symbols of any script', 'café straße 東京 e\u0301 € ½ ✓', {}, 'café straße 東京 e\u0301 € ½ ✓'],
  ['CR, LF, tab by name', 'a\r\nb\tc', {}, 'a\\r\\nb\\tc'],
  ['ESC (a colour, a new title) cannot act', '\x1b[31mred\x1b]0;title\x07', {}, '\\x1b[31mred\\x1b]0;title\\x07'],
  ['NUL and DEL', 'a\0b\x7f', {}, 'a\\x00b\\x7f'],
  ['C1 controls (U+009B is CSI to a terminal)', '\x9b2J\x85', {}, '\\x9b2J\\x85'],
  ['bidi overrides and isolates cannot reorder a line', 'ab\u202ecd\u2066e\u2069\u200f', {}, 'ab\\u{202e}cd\\u{2066}e\\u{2069}\\u{200f}'],
  ['zero-width and no-break spaces cannot make two names look alike', 'a\u200bb\u00a0c\ufeff', {}, 'a\\u{200b}b\\xa0c\\u{feff}'],
  ['the Unicode line and paragraph separators', 'a\u2028b\u2029', {}, 'a\\u{2028}b\\u{2029}'],
  ['a real U+FFFD looks unlike a byte the terminal cannot decode', 'a\ufffdb', {}, 'a\\u{fffd}b'],
  ['a lone surrogate', 'a\ud800b', {}, 'a\\u{d800}b'],
  ['a backslash stays one when not quoted', 'C:\\dir', {}, 'C:\\dir'],
  ['quoted: " and \\ get a backslash', 'say "\\"', { quoted: true }, 'say \\"\\\\\\"'],
  ['bytes: valid UTF-8 as characters', U('straße'), {}, 'straße'],
  ['bytes: not UTF-8, each as \\xHH', B(0x41, 0x80, 0xff, 0x42), {}, 'A\\x80\\xffB'],
  ['bytes: a sequence cut short', B(0x61, 0xc3), {}, 'a\\xc3'],
  ['bytes: an overlong "/" (C0 AF) is not UTF-8', B(0xc0, 0xaf), {}, '\\xc0\\xaf'],
  ['bytes: a UTF-16 surrogate in UTF-8 (ED A0 80) is not UTF-8', B(0xed, 0xa0, 0x80), {}, '\\xed\\xa0\\x80'],
  ['bytes: above U+10FFFF is not UTF-8', B(0xf4, 0x90, 0x80, 0x80), {}, '\\xf4\\x90\\x80\\x80'],
  ['bytes: a four-byte character', U('a😀'), {}, 'a😀'],
  ['bytes: the bidi override in UTF-8', U('txt\u202eexe'), {}, 'txt\\u{202e}exe'],
  ['ascii: below U+0100 as one \\xHH, above as its UTF-8 bytes', 'café€', { ascii: true }, 'caf\\xe9\\xe2\\x82\\xac'],
  ['ascii: bytes, each character as its UTF-8 bytes', U('café'), { ascii: true }, 'caf\\xc3\\xa9'],
  ['ascii: a string of bytes read as latin1 keeps each byte', 'caf\xc3\xa9', { ascii: true }, 'caf\\xc3\\xa9'],
  ['ascii and quoted: Apache\'s log rule', 'GET /a"b\\c\n HTTP/1.1', { ascii: true, quoted: true }, 'GET /a\\"b\\\\c\\n HTTP/1.1'],
]) {
  shown(name, () => assert.is(escapeForPeople(input, options), expected));
}
shown('whatever goes in, one line of printable text comes out (every byte value, every code point below U+3000)', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const options of [{}, { ascii: true }, { quoted: true }]) {
    assert.not.match(escapeForPeople(all, options), /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  }
  let text = '';
  for (let c = 0; c < 0x3000; c++) text += String.fromCodePoint(c);
  assert.not.match(escapeForPeople(text), /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/);
  assert.match(escapeForPeople(text, { ascii: true }), /^[\x20-\x7e]*$/);
});
shown.run();
