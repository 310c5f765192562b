// Turns a socket error into one true sentence and a sysexits code. Built from err.code, because
// the message can be empty: Node's Happy Eyeballs connect fails with an AggregateError holding
// one error per address tried.
import { EXIT, type ExitCode } from './exit-codes.ts';
import { ExplainedError } from './program.ts';

export interface ErrorContext {
  proto: 'TCP' | 'UDP';
  host: string;
  port: number;
  /** What we were doing: connecting or sending (client), listening (server), or mid-transfer. */
  during: 'connect' | 'listen' | 'transfer';
  /** A client: every address of HOST it tried, in order (a name may have several). */
  tried?: string[];
  /** A server: its usual port, the one to suggest instead of a privileged one (12000; web-server 6789). */
  labPort?: number;
}

/** The errno-style code of an error, looking inside an AggregateError if need be. */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[] } | undefined;
  if (typeof e?.code === 'string') return e.code;
  if (Array.isArray(e?.errors)) return e.errors.map(errorCode).find((c) => c !== undefined);
  return undefined;
}

export function explainNetworkError(err: unknown, ctx: ErrorContext): ExplainedError {
  const code = errorCode(err) ?? 'UNKNOWN';
  const where = `${ctx.host} port ${ctx.port}`;
  // A name tried at more than one address was refused at each: say which, as Wireshark shows them.
  const tried = ctx.tried && (ctx.tried.length > 1 || ctx.tried[0] !== ctx.host) ? ` (tried ${ctx.tried.join(' and ')})` : '';
  // A server given a HOST listens only there: 127.0.0.1 takes no clients that come to ::1 or 10.0.0.5.
  const elsewhere = ' (or the server listens on another address)';
  const explained = (message: string, exitCode: ExitCode) => new ExplainedError(message, exitCode);
  switch (code) {
    case 'ECONNREFUSED':
      return ctx.proto === 'TCP'
        ? explained(`connection refused by ${where}${tried}: nothing listens on TCP port ${ctx.port} at ${ctx.host}. ` +
          `Start the server first, or check the port number${elsewhere}.`, EXIT.unavailable)
        : explained(`nothing listens on UDP port ${ctx.port} at ${ctx.host}${tried}: its host answered with ICMP ` +
          `"port unreachable" (UDP itself never reports an error). Start the server first, or check the port number${elsewhere}.`,
        EXIT.unavailable);
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return explained(`unknown host "${ctx.host}": the name does not resolve. Check the spelling, or give an IP address.`, EXIT.noHost);
    case 'EAI_AGAIN':
      return explained(`cannot resolve "${ctx.host}" right now (DNS did not answer). Try again, or give an IP address.`, EXIT.tempFail);
    case 'ETIMEDOUT':
      return explained(`timed out connecting to ${where}: no answer at all (the host may be down, or a firewall drops the packets).`, EXIT.tempFail);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return explained(`${ctx.host} is unreachable (${code}): no route to that host. Check the address and the network.`, EXIT.unavailable);
    case 'EAFNOSUPPORT':
      return explained(`${ctx.host} is not an address of the family asked for (${code}): drop -4/-6 or give another address.`, EXIT.usage);
    case 'EADDRINUSE':
      return explained(`cannot listen on ${ctx.proto} ${where}: the address is already in use (another server, maybe another copy ` +
        'of this one, has it). Stop that one, or pick another port.', EXIT.osErr);
    case 'EACCES':
    case 'EPERM':
      return explained(`cannot ${ctx.during === 'listen' ? 'listen on' : 'reach'} ${ctx.proto} ${where}: permission denied ` +
        `(ports below 1024 need root). Pick a port of 1024 or more; the lab uses ${ctx.labPort ?? 12000}.`, EXIT.noPerm);
    case 'EADDRNOTAVAIL':
      return explained(`cannot use ${ctx.host}: it is not an address of this host (${code}). ` +
        'Leave the host out to listen on all addresses, or give one that `ip addr` shows.', EXIT.osErr);
    case 'ECONNRESET':
    case 'EPIPE':
      return explained(`the connection to ${where} was reset by the peer (${code}) before the transfer finished.`, EXIT.ioErr);
    case 'EMSGSIZE':
      return explained(`the datagram is too large for ${where} (${code}).`, EXIT.dataErr);
    default:
      return explained(`${ctx.during} ${ctx.proto} ${where} failed: ${code}${(err as Error)?.message ? ` (${(err as Error).message})` : ''}`,
        EXIT.unavailable);
  }
}
