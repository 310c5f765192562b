// The servers' logs on stdout: a line per connection (tcp-server), per datagram (udp-server),
// per answer (web-server). Lines are gathered for one turn of the event loop and written
// together: one write(2) per line cost web-server a third of its rate for a 1 KiB GET
// (33,000 -> 20,000 requests/s, log to a pipe; batched, 31,000), and udp-server an eighth of its
// round trips (~97,000 -> ~85,000/s). A terminal still sees each line at once: the turn ends in
// microseconds.

/** Linux writes up to this many bytes to a pipe in one piece, never mixed with another writer's. */
const PIPE_BUF = 4096;

export interface LineLog {
  /** Adds one line (without its newline); it is written at the end of this turn of the event loop. */
  add(line: string): void;
  /** Writes what is gathered now: before a line printed another way, and on exit. */
  flush(): void;
}

/**
 * A log whose lines go out once per turn through `write` (stdout by default), and whatever is
 * pending on exit too. Lines must be ASCII (their callers escape what came from the wire), so
 * that characters count bytes for PIPE_BUF.
 */
export function createLineLog(write: (chunk: string) => void = writeToStdout): LineLog {
  let pending: string[] = [];
  const flush = () => {
    const lines = pending;
    pending = [];
    for (const chunk of wholeLineChunks(lines, PIPE_BUF)) write(chunk);
  };
  process.on('exit', flush);
  return {
    add(line) {
      if (pending.length === 0) setImmediate(flush);
      pending.push(line);
    },
    flush,
  };
}

/** stdout, until a write to it failed (a full disk, a closed reader): lib/program.ts said so once. */
function writeToStdout(chunk: string): void {
  if (process.stdout.writable) process.stdout.write(chunk);
}

/**
 * The lines joined into chunks of at most `limit` characters, each ending at a line's end (a
 * longer line is a chunk of its own): with web-server --workers several processes write to one
 * stdout, and a line cut in two by another process's write would corrupt the log.
 */
export function wholeLineChunks(lines: string[], limit: number): string[] {
  const chunks: string[] = [];
  let chunk = '';
  for (const line of lines) {
    if (chunk.length > 0 && chunk.length + line.length + 1 > limit) {
      chunks.push(chunk);
      chunk = '';
    }
    chunk += `${line}\n`;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
