// Listening: where a server listens (the address from its command line, every address a name
// resolves to, the line that tells other hosts how to connect), binding it with one clear error,
// and the cap on open connections below the descriptor limit.
//
// Where a server listens: `[HOST] [PORT]` from the command line, one positional meaning PORT.
// With no HOST, all interfaces: IPv6 and IPv4 on one dual-stack socket (IPv4 clients then show up
// as ::ffff:a.b.c.d, which formatEndpoint prints as plain IPv4), or only one family with -4/-6.
//
// Both servers cap their open connections below the process's file-descriptor limit (ulimit -n).
// Past that limit accept() fails with EMFILE, and libuv quietly accepts and closes the excess
// (its "EMFILE trick"): no event reaches the program, so nothing would be logged. Under a cap,
// Node itself refuses the connection and says so ('drop'), and descriptors stay free for files.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { checkFamily, checkHost, parsePort } from './cli.ts';
import { UsageError } from './program.ts';
import { errorCode, explainNetworkError } from './network-errors.ts';
import { formatEndpoint } from './trace.ts';
import { readFileSync, readdirSync } from 'node:fs';

export interface ListenAddress {
  host: string;
  port: number;
  /** With host '::', whether IPv4 clients are refused. */
  ipv6Only: boolean;
  /** For the ready line: what addresses this covers. */
  description: string;
  /** The program's usual port (12000, the web server's 6789): what a permission error suggests. */
  labPort: number;
}

export function listenAddressFromArgs(positionals: string[], defaultPort: number, family: 0 | 4 | 6): ListenAddress {
  if (positionals.length > 2) {
    throw new UsageError(`too many arguments (${positionals.join(' ')}): give at most HOST and PORT`);
  }
  if (positionals.length === 2 && /^\d+$/.test(positionals[0]) && !/^\d+$/.test(positionals[1])) {
    throw new UsageError(`HOST comes first, then PORT: ${positionals[1]} ${positionals[0]}`);
  }
  const port = positionals.length > 0 ? parsePort(positionals[positionals.length - 1]) : defaultPort;
  if (positionals.length === 2) {
    const host = checkFamily(checkHost(positionals[0]), family);
    return { host, port, ipv6Only: false, description: 'this address only', labPort: defaultPort };
  }
  if (family === 4) return { host: '0.0.0.0', port, ipv6Only: false, description: 'all IPv4 addresses', labPort: defaultPort };
  if (family === 6) return { host: '::', port, ipv6Only: true, description: 'all IPv6 addresses', labPort: defaultPort };
  return { host: '::', port, ipv6Only: false, description: 'all IPv6 and IPv4 addresses', labPort: defaultPort };
}

/** On a kernel without IPv6 the dual-stack default cannot bind; IPv4 alone is the honest fallback. */
export function ipv4Fallback(address: ListenAddress, code: string | undefined): ListenAddress | undefined {
  const noIpv6 = code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL';
  return address.host === '::' && !address.ipv6Only && noIpv6
    ? { ...address, host: '0.0.0.0', description: 'all IPv4 addresses (this host has no IPv6)' }
    : undefined;
}

/**
 * Binds a TCP server (net or http), falling back to IPv4 alone where the kernel has no IPv6; a
 * bind failure rejects with the explained error. Once listening, an accept error (EMFILE when out
 * of file descriptors) is logged and the server keeps serving.
 */
export function listenTcp(server: net.Server, address: ListenAddress, program: string): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      const fallback = ipv4Fallback(address, errorCode(err));
      if (fallback) return listenTcp(server, fallback, program).then(resolve, reject);
      reject(explainNetworkError(err, { proto: 'TCP', host: address.host, port: address.port, during: 'listen', labPort: address.labPort }));
    };
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port, ipv6Only: address.ipv6Only, exclusive: true }, () => {
      server.off('error', onError);
      keepServingOnAcceptErrors(server, program);
      resolve(address);
    });
  });
}

/** A listening server's errors are failed accepts: each is said on stderr, and serving goes on. */
export function keepServingOnAcceptErrors(server: net.Server, program: string): void {
  server.on('error', (err) => {
    const code = errorCode(err);
    // Out of descriptors: limitConnections says that once per rush, not once per accept.
    if (code !== 'EMFILE' && code !== 'ENFILE') console.error(`${program}: accept failed (${code}); still serving`);
  });
}

/**
 * Every address a listen HOST stands for. A name is resolved to all of its addresses, and the
 * server listens on each (as nginx does): on a stock Debian hosts file "localhost" is both
 * 127.0.0.1 and ::1, and listening on the first alone leaves `tcp-client 127.0.0.1` refused.
 */
export async function resolveListenAddresses(address: ListenAddress, family: 0 | 4 | 6, proto: 'TCP' | 'UDP'): Promise<ListenAddress[]> {
  if (net.isIP(address.host) !== 0) return [address];
  let found: { address: string }[];
  try {
    found = await lookup(address.host, { all: true, family });
  } catch (err) {
    throw explainNetworkError(err, { proto, host: address.host, port: address.port, during: 'listen', labPort: address.labPort });
  }
  const description = `every address ${address.host} resolves to`;
  return [...new Set(found.map((a) => a.address))].map((host) => ({ ...address, host, ipv6Only: false, description }));
}

/** `127.0.0.1:12000 and [::1]:12000`: the numeric addresses a server listens on, for its ready line. */
export function describeEndpoints(bound: { host: string; port: number }[]): string {
  return bound.map(({ host, port }) => formatEndpoint(host, port)).join(' and ');
}

/**
 * The line after the ready line that tells a student what to type on the other host: the
 * client's command with an address of this host that others can reach, or that none can.
 */
export function howOtherHostsConnect(client: string, bound: ListenAddress[], port: number): string {
  const wildcard = bound.filter((b) => b.host === '::' || b.host === '0.0.0.0');
  const specific = bound.filter((b) => !wildcard.includes(b)).map((b) => b.host);
  if (wildcard.length === 0 && specific.every(isLoopback)) {
    return `Only this host can connect (${specific.join(' and ')} ${specific.length === 1 ? 'is a loopback address' : 'are loopback addresses'}); ` +
      'leave HOST out to let other hosts in.';
  }
  const reachable = [
    ...wildcard.flatMap((b) => interfaceAddresses(b.host === '0.0.0.0' || !b.ipv6Only, b.host === '::')),
    ...specific.filter((host) => !isLoopback(host)),
  ];
  if (reachable.length === 0) return 'No other host can connect yet: this host has only loopback addresses (see ip addr).';
  const [first, ...others] = [...new Set(reachable)];
  return `Clients on other hosts: ${client} ${first} ${port}${others.length > 0 ? ` (or another address of this host: ${others.join(', ')})` : ''}`;
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}

/**
 * This host's addresses that other hosts can use, IPv4 first (the lab's). IPv6 link-local
 * addresses (fe80::) are left out: they need a zone (%eth0) that differs on the other host.
 */
function interfaceAddresses(ipv4: boolean, ipv6: boolean): string[] {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal);
  const v4 = ipv4 ? all.filter((a) => a.family === 'IPv4').map((a) => a.address) : [];
  const v6 = ipv6 ? all.filter((a) => a.family === 'IPv6' && !/^fe80:/i.test(a.address)).map((a) => a.address) : [];
  return [...v4, ...v6];
}

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
