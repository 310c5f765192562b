// Where a server listens: `[HOST] [PORT]` from the command line, one positional meaning PORT.
// With no HOST, all interfaces: IPv6 and IPv4 on one dual-stack socket (IPv4 clients then show up
// as ::ffff:a.b.c.d, which formatEndpoint prints as plain IPv4), or only one family with -4/-6.
import type net from 'node:net';
import { UsageError, checkFamily, checkHost, parsePort } from './cli.ts';
import { errorCode, explainNetworkError } from './network-errors.ts';

export interface ListenAddress {
  host: string;
  port: number;
  /** With host '::', whether IPv4 clients are refused. */
  ipv6Only: boolean;
  /** For the ready line: what addresses this covers. */
  description: string;
}

export function listenAddressFromArgs(positionals: string[], defaultPort: number, family: 0 | 4 | 6): ListenAddress {
  if (positionals.length > 2) {
    throw new UsageError(`too many arguments (${positionals.join(' ')}): give at most HOST and PORT`);
  }
  const port = positionals.length > 0 ? parsePort(positionals[positionals.length - 1]) : defaultPort;
  if (positionals.length === 2) {
    const host = checkFamily(checkHost(positionals[0]), family);
    return { host, port, ipv6Only: false, description: 'this address only' };
  }
  if (family === 4) return { host: '0.0.0.0', port, ipv6Only: false, description: 'all IPv4 addresses' };
  if (family === 6) return { host: '::', port, ipv6Only: true, description: 'all IPv6 addresses' };
  return { host: '::', port, ipv6Only: false, description: 'all IPv6 and IPv4 addresses' };
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
      reject(explainNetworkError(err, { proto: 'TCP', host: address.host, port: address.port, during: 'listen' }));
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
