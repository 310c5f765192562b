// Bytes and text shown to people from somewhere we do not control (an argument, a server's reply,
// a request line, a file name) must not act on the screen or pose as something else: ESC starts
// sequences that recolour, move the cursor or retitle the window, CR and LF split a one-line
// message, bidi controls reorder what the reader sees ("txt.exe" shown as "exe.txt"), and
// zero-width characters make two different names look alike. One rule, for every program:
//
// - Bytes are read as UTF-8; a byte that is not part of a valid UTF-8 sequence is shown as \xHH.
// - A character is shown as itself if it is the space or a letter, mark, number, punctuation or
//   symbol (Unicode L, M, N, P, S); with `ascii`, only if it is also printable ASCII.
// - Any other is escaped: \n, \r and \t by name; below U+0100 as \xHH (so a string of bytes read as
//   latin1, as node:http hands over a request line, shows each byte); above as \u{HHHH}, or with
//   `ascii` as the \xHH of each of its UTF-8 bytes. U+FFFD is escaped too: it is what a terminal
//   shows for bytes it cannot decode, so a real one must look different.
// - `quoted` (Apache's log rule, and a reply shown between quotes): " and \ get a backslash.

export interface ShowOptions {
  /** Only printable ASCII as itself (a log line must be ASCII: lib/log-lines counts bytes by characters). */
  ascii?: boolean;
  /** The text stands between double quotes: `"` and `\` are escaped too, so the quotes stay the field's ends. */
  quoted?: boolean;
}

/** Nothing to escape in most text: printable ASCII (and no quote or backslash when quoted). */
const PLAIN = /^[\x20-\x7e]*$/;
const PLAIN_QUOTED = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
const PRINTABLE = /^[ \p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` (a string, or bytes read as UTF-8) as people may safely see it: the rule above. */
export function escapeForPeople(text: string | Uint8Array, { ascii = false, quoted = false }: ShowOptions = {}): string {
  if (typeof text === 'string') {
    // The test is cheaper than the walk: the access log calls this for every request line.
    if ((quoted ? PLAIN_QUOTED : PLAIN).test(text)) return text;
    let shown = '';
    for (const c of text) shown += showCharacter(c, ascii, quoted);
    return shown;
  }
  // The same test for bytes: as latin1, each byte is one character.
  const latin1 = Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  if ((quoted ? PLAIN_QUOTED : PLAIN).test(latin1)) return latin1;
  let shown = '';
  for (let i = 0; i < text.length;) {
    const length = utf8SequenceLength(text, i);
    if (length === 0 || (ascii && length > 1)) {
      // Not UTF-8, or (ascii) a character outside ASCII: its bytes, as they are.
      for (const byte of text.subarray(i, i + Math.max(length, 1))) shown += hexByte(byte);
      i += Math.max(length, 1);
    } else {
      const c = length === 1 ? String.fromCharCode(text[i]) : Buffer.from(text.subarray(i, i + length)).toString('utf8');
      shown += showCharacter(c, ascii, quoted);
      i += length;
    }
  }
  return shown;
}

function showCharacter(c: string, ascii: boolean, quoted: boolean): string {
  if (quoted && (c === '"' || c === '\\')) return `\\${c}`;
  const code = c.codePointAt(0)!;
  if (code >= 0x20 && code < 0x7f) return c;
  if (!ascii && code > 0x9f && code !== 0xfffd && PRINTABLE.test(c)) return c;
  if (NAMED[c] !== undefined) return NAMED[c];
  if (code < 0x100) return hexByte(code);
  if (ascii) return [...Buffer.from(c, 'utf8')].map(hexByte).join('');
  return `\\u{${code.toString(16)}}`;
}

function hexByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * The length of the valid UTF-8 sequence at `i` (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0 if the byte there does not start one.
 */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  const cont = (k: number, low = 0x80, high = 0xbf) => i + k < bytes.length && bytes[i + k] >= low && bytes[i + k] <= high;
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const [low, high] = b === 0xe0 ? [0xa0, 0xbf] : b === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, low, high) && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const [low, high] = b === 0xf0 ? [0x90, 0xbf] : b === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, low, high) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
