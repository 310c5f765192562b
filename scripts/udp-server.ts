// udp-server: the handout's UDPServer.py, grown up. Every datagram that arrives is answered with
// its uppercase form, sent back to the address and port it came from. No connections, no state.
import dgram from 'node:dgram';
import net from 'node:net';
import { COMMON_OPTIONS, familyOf, parseCommandLine, type ProgramSpec } from '../lib/cli.ts';
import { exitWhenFlushed, onStopSignals, runProgram, stopCause } from '../lib/program.ts';
import { EXIT } from '../lib/exit-codes.ts';
import { errorCode, explainNetworkError } from '../lib/network-errors.ts';
import {
  describeEndpoints, howOtherHostsConnect, ipv4Fallback, listenAddressFromArgs, resolveListenAddresses, type ListenAddress,
} from '../lib/listen.ts';
import { byteCount, createTrace, formatEndpoint, isTracing, type Trace } from '../lib/trace.ts';
import { uppercaseAscii } from '../lib/uppercase.ts';
import { createLineLog, type LineLog } from '../lib/log-lines.ts';

const PROGRAM = 'udp-server';

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'the uppercase service over UDP (the handout\'s UDPServer.py). Each datagram is answered ' +
    'with one datagram: the same bytes with a-z made A-Z.',
  usage: ['[PORT]', 'HOST PORT'],
  options: COMMON_OPTIONS,
  exitCodes: [0, 64, 68, 69, 70, 71, 75, 77],
  examples: [
    ['udp-server', 'listen on UDP port 12000 on every IPv4 and IPv6 address, as the handout\'s server does'],
    ['udp-server 127.0.0.1 12001', 'listen only on loopback, port 12001'],
    ['udp-server localhost 12001', 'listen on every address localhost names (127.0.0.1 and ::1 on most hosts)'],
    ['udp-server -q', 'no line per datagram: only the ready lines and errors'],
  ],
  notes: `UDP has no connections: the server learns each client's address from its datagram and
answers there; each datagram is logged as "client address:port: bytes in, bytes out". Datagrams up to 65507 bytes (IPv4) or 65527 bytes (IPv6) come back whole. The port
is not shared (no SO_REUSEADDR): a second server on the same port is refused (exit 71).
Wireshark shows the lab's UDP port 12000 as "LLC" (its guess from the port number): use
Analyze > Decode As > UDP port 12000 > Data, or tshark -d udp.port==12000,data.
With -v, the times lag Wireshark's a little: the kernel queues each datagram before this
program's recvfrom() runs.`,
};


async function main(): Promise<void> {
  const { flags, positionals } = parseCommandLine(spec, process.argv.slice(2));
  const address = listenAddressFromArgs(positionals, 12000, familyOf(flags));
  const options: AnswerOptions = { quiet: Boolean(flags.quiet), trace: createTrace(PROGRAM, Boolean(flags.verbose)), log: createLineLog() };

  const sockets: dgram.Socket[] = [];
  const bound: ListenAddress[] = [];
  for (const each of await resolveListenAddresses(address, familyOf(flags), 'UDP')) {
    const { socket, bound: listening } = await bind(each, familyOf(flags));
    socket.on('message', (message, sender) => answer(socket, message, sender, options));
    // A client that vanished makes its host send ICMP "port unreachable"; on an unconnected socket
    // Linux does not report that, and any other error concerns one datagram: log it, keep serving.
    socket.on('error', (err) => console.error(`${PROGRAM}: ${errorCode(err) ?? err.message}; still serving`));
    sockets.push(socket);
    bound.push({ ...listening, port: socket.address().port });
  }
  // Handlers before the ready line: whoever waits for that line may signal us right after it.
  // A second signal exits at once (onStopSignals): closing the sockets twice would throw.
  onStopSignals((signal) => {
    options.log.flush(); // the datagrams answered come before the line saying we stop
    if (!options.quiet) console.log(`${stopCause(signal)}: stopping`);
    let open = sockets.length;
    for (const socket of sockets) socket.close(() => { if (--open === 0) exitWhenFlushed(EXIT.ok); });
  });
  // The ready line even with -q: it says where to connect, and scripts wait for it.
  console.log('The server is ready to receive');
  console.log(`Listening on UDP ${describeEndpoints(bound)} (${bound[0].description}). Stop with Ctrl-C.`);
  console.log(howOtherHostsConnect('udp-client', bound, bound[0].port));
}

interface AnswerOptions {
  /** -q: no line per datagram. */
  quiet: boolean;
  trace: Trace;
  /** A line per datagram, written once per turn of the event loop (~97,000 round trips/s instead of ~85,000). */
  log: LineLog;
}

/** Reply to one datagram, to the address and port it came from, and log it as tcp-server logs a connection. */
function answer(socket: dgram.Socket, message: Buffer, sender: dgram.RemoteInfo, { quiet, trace, log }: AnswerOptions): void {
  const client = formatEndpoint(sender.address, sender.port);
  // Without -v, no trace line is built at all.
  const tracing = isTracing(trace);
  if (tracing) trace(`received ${byteCount(message.length)} from ${client}`);
  socket.send(uppercaseAscii(message), sender.port, sender.address, (err) => {
    if (err) trace(`reply to ${client} failed: ${errorCode(err)}`);
    else if (tracing) trace(`sent ${byteCount(message.length)} to ${client}`);
    if (!quiet) log.add(`${client}: ${byteCount(message.length)} in, ${err ? `no reply (${errorCode(err)})` : `${byteCount(message.length)} out`}`);
  });
}

/** Binds without SO_REUSEADDR, so a second server on the port is refused instead of sharing it. */
function bind(address: ListenAddress, family: 0 | 4 | 6): Promise<{ socket: dgram.Socket; bound: ListenAddress }> {
  // A host name is looked up in the socket's family: IPv6 only when -6 asks for it.
  const type = net.isIPv4(address.host) ? 'udp4' : net.isIPv6(address.host) || family === 6 ? 'udp6' : 'udp4';
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type, reuseAddr: false, ipv6Only: address.ipv6Only });
    socket.once('error', (err) => {
      socket.close();
      const fallback = ipv4Fallback(address, errorCode(err));
      if (fallback) return bind(fallback, family).then(resolve, reject);
      reject(explainNetworkError(err, { proto: 'UDP', host: address.host, port: address.port, during: 'listen' }));
    });
    socket.bind({ port: address.port, address: address.host, exclusive: true }, () => {
      socket.removeAllListeners('error');
      resolve({ socket, bound: address });
    });
  });
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main, { server: true });
