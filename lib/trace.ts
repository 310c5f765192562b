// The -v trace: one stderr line per socket event, stamped with the wall-clock time to the
// microsecond so a student can line it up with Wireshark's "Time of Day" column.
import { escapeForPeople } from './terminal-text.ts';

/** An address as a student reads it: IPv4-mapped IPv6 (::ffff:1.2.3.4) as plain IPv4. */
export function formatAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** `address:port` as a student reads it: plain IPv4 (see formatAddress), IPv6 in brackets. */
export function formatEndpoint(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '?';
  const plain = formatAddress(address);
  return plain.includes(':') ? `[${plain}]:${port}` : `${plain}:${port}`;
}

/** "1 byte", "2 bytes": a count of bytes as a log line says it. */
export function byteCount(count: number): string {
  return `${count} ${count === 1 ? 'byte' : 'bytes'}`;
}

function timeOfDay(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const date = new Date(Math.floor(micros / 1000));
  const hms = [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${hms}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

export type Trace = (event: string) => void;

const silent: Trace = () => {};

/** A tracer that prints when enabled and does nothing when not. */
export function createTrace(program: string, enabled: boolean): Trace {
  if (!enabled) return silent;
  return (event) => process.stderr.write(`${timeOfDay()} ${program}: ${event}\n`);
}

/** Whether `trace` prints: hot paths check this first, so that without -v they build no strings. */
export function isTracing(trace: Trace): boolean {
  return trace !== silent;
}

// How -v shows an HTTP head (web-server and http-client): one line per header line, indented
// under the trace line and marked "> " (request) or "< " (response), as curl -v does.
/**
 * The head's lines (a string of bytes, one character per byte, as node:http and http-client read
 * it) shown as lib/terminal-text shows bytes, so that a hostile head cannot forge trace lines or
 * steer the terminal: a lone byte 0x9b would otherwise reach it as CSI, the start of an escape
 * sequence, as ESC [ does.
 */
export function indentHead(head: string, prefix: '> ' | '< '): string {
  return head.replace(/\r\n\r\n$/, '').split('\r\n')
    .map((line) => `  ${prefix}${escapeForPeople(Buffer.from(line, 'latin1'))}`).join('\n');
}
