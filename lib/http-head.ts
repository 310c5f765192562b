// How -v shows an HTTP head (web-server and http-client): one line per header line, indented
// under the trace line and marked "> " (request) or "< " (response), as curl -v does.

/**
 * The head's lines, with control characters shown as \xHH so that a hostile head cannot forge
 * trace lines. C1 controls count too: a head read as latin1 turns byte 0x9b into U+009B, which a
 * terminal may take for CSI, the start of an escape sequence, as it takes ESC [.
 */
export function indentHead(head: string, prefix: '> ' | '< '): string {
  const printable = (line: string) => line.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return head.replace(/\r\n\r\n$/, '').split('\r\n').map((line) => `  ${prefix}${printable(line)}`).join('\n');
}
