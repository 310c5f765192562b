// Both servers cap their open connections below the process's file-descriptor limit (ulimit -n).
// Past that limit accept() fails with EMFILE, and libuv quietly accepts and closes the excess
// (its "EMFILE trick"): no event reaches the program, so nothing would be logged. Under a cap,
// Node itself refuses the connection and says so ('drop'), and descriptors stay free for files.
import { readFileSync, readdirSync } from 'node:fs';
import type net from 'node:net';

/** One rush of refusals logs one line: another line only after this long without a refusal. */
const QUIET_BEFORE_NEXT_LINE_MS = 5000;

/**
 * Sets server.maxConnections to `wanted` or to what the descriptor limit leaves room for,
 * whichever is lower, keeping `spare` descriptors for everything else (files, DNS, Node's own);
 * logs a refusal on stderr once per rush. Returns the cap.
 */
export function limitConnections(server: net.Server, program: string, wanted: number, spare: number): number {
  const limit = openFileLimit();
  const fit = Math.max(1, limit - openFileCount() - spare);
  const cap = Math.min(wanted, fit);
  const why = fit < wanted
    ? `the most that the file-descriptor limit (ulimit -n ${limit}) leaves room for`
    : 'the most allowed (--max-connections)';
  if (Number.isFinite(cap)) server.maxConnections = cap;
  let lastRefusal = -Infinity;
  server.on('drop', () => {
    const now = Date.now();
    if (now - lastRefusal > QUIET_BEFORE_NEXT_LINE_MS) {
      console.error(`${program}: ${cap} connections open, ${why}: refusing new ones until some close`);
    }
    lastRefusal = now;
  });
  return cap;
}

/** The soft limit on open files (ulimit -n), or Infinity where /proc does not say. */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line && line[1] !== 'unlimited' ? Number(line[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

/** Descriptors open now (stdio, Node's event loop and signal pipes, the listening socket...). */
function openFileCount(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}
