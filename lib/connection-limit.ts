// Both servers cap their open connections below the process's file-descriptor limit (ulimit -n).
// Past that limit accept() fails with EMFILE, and libuv quietly accepts and closes the excess
// (its "EMFILE trick"): no event reaches the program, so nothing would be logged. Under a cap,
// Node itself refuses the connection and says so ('drop'), and descriptors stay free for files.
import { readFileSync, readdirSync } from 'node:fs';
import type net from 'node:net';

/** One rush of refusals logs one line: another line only after this long without a refusal. */
const QUIET_BEFORE_NEXT_LINE_MS = 5000;

export interface LimitOptions {
  /** The cap asked for on the command line (Infinity for none). */
  wanted: number;
  /** Descriptors one connection may need: 1 for its socket, 2 if it also reads a file. */
  perConnection: number;
  /** Descriptors kept for everything else (the listening socket, DNS, Node's own). */
  spare: number;
}

/**
 * Sets server.maxConnections to `wanted` or to what the descriptor limit leaves room for,
 * whichever is lower, and logs refused connections on stderr once per rush. Returns a function
 * through which the program reports other descriptor shortages (EMFILE opening a file) to the
 * same once-per-rush line, saying what it does about them.
 */
export function limitConnections(server: net.Server, program: string, { wanted, perConnection, spare }: LimitOptions): (why: string) => void {
  const limit = openFileLimit();
  const fit = Math.max(1, Math.floor((limit - openFileCount() - spare) / perConnection));
  const cap = Math.min(wanted, fit);
  if (Number.isFinite(cap)) server.maxConnections = cap;
  let lastShortage = -Infinity;
  const report = (why: string) => {
    const now = Date.now();
    if (now - lastShortage > QUIET_BEFORE_NEXT_LINE_MS) console.error(`${program}: ${why}`);
    lastShortage = now;
  };
  const capReason = fit < wanted
    ? `the most that the file-descriptor limit (ulimit -n ${limit}) leaves room for`
    : 'the most allowed (--max-connections)';
  server.on('drop', () => report(`${cap} connections open, ${capReason}: refusing new ones until some close`));
  // Whichever comes first in a rush, refusal or shortage, its one line names the limit.
  const shortage = (consequence: string) => report(`out of file descriptors (the file-descriptor limit (ulimit -n ${limit}) is reached): ${consequence}`);
  // accept() itself can still run out while refused sockets are being closed (libuv closes them
  // a moment later): the same shortage, said on the same once-per-rush line.
  server.on('error', (err: Error & { code?: string }) => {
    if (err.code === 'EMFILE' || err.code === 'ENFILE') shortage('refusing new connections until some close');
  });
  return shortage;
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

/** Descriptors open now (stdio, Node's event loop and signal pipes...). */
function openFileCount(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}
