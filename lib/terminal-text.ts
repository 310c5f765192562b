// Text that reaches a terminal from somewhere we do not control (an argument, a server's bytes)
// must not act on it: ESC starts sequences that recolour, move the cursor or retitle the window,
// CR and LF split a one-line message, and bidi controls reorder what the reader sees.

/** C0 controls, DEL, C1 controls, the Unicode line separators and the bidi embedding/isolate controls. */
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character written as an escape (\n, \x1b, \u{202e}): one visible line. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.codePointAt(0)!;
    return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`);
  });
}
