// tcp-server: the handout's TCPServer.py, grown up. Listens on a TCP port; for every client,
// uppercases a-z in each chunk as it arrives and sends it straight back. Many clients at once.
import net from 'node:net';
import { COMMON_OPTIONS, parseCommandLine, familyOf, parseSeconds, type ProgramSpec } from '../lib/cli.ts';
import { exitWhenFlushed, onStopSignals, runProgram, stopCause } from '../lib/program.ts';
import { limitConnections, describeEndpoints, howOtherHostsConnect, listenAddressFromArgs, listenTcp, resolveListenAddresses, type ListenAddress } from '../lib/listen.ts';
import { EXIT } from '../lib/exit-codes.ts';
import { errorCode } from '../lib/network-errors.ts';
import { byteCount, createTrace, formatEndpoint, isTracing, type Trace } from '../lib/trace.ts';
import { uppercaseAscii } from '../lib/uppercase.ts';
import { createLineLog, type LineLog } from '../lib/log-lines.ts';

const PROGRAM = 'tcp-server';

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'the uppercase service over TCP (the handout\'s TCPServer.py). Every byte a-z a client sends ' +
    'comes back as A-Z, at once; all other bytes come back unchanged.',
  usage: ['[PORT]', 'HOST PORT'],
  options: [
    { name: 'idle-timeout', value: 'SECONDS', help: 'close a connection that sends and reads nothing this long (default 300)' },
    { name: 'grace', value: 'SECONDS', help: 'on Ctrl-C/SIGTERM, let open transfers finish this long (default 10)' },
    ...COMMON_OPTIONS,
  ],
  exitCodes: [0, 64, 68, 69, 70, 71, 75, 77],
  examples: [
    ['tcp-server', 'listen on port 12000 on every IPv4 and IPv6 address, as the handout\'s server does'],
    ['tcp-server 127.0.0.1 12001', 'listen only on loopback, port 12001'],
    ['tcp-server localhost 12001', 'listen on every address localhost names (127.0.0.1 and ::1 on most hosts)'],
    ['tcp-server -v 12000', 'also trace every connection, chunk and close on stderr (compare with Wireshark)'],
  ],
  notes: `Each connection: read a chunk, uppercase a-z, write it back; when the client half-closes
(sends FIN), finish writing and close. The handout's Python client never half-closes: it reads
one reply and closes, which works too. Stop the server with Ctrl-C.
With -v, the times lag Wireshark's a little: the kernel completes the handshake and buffers
the data before this program's accept() and read() run.`,
};

interface ServerOptions {
  idleMs: number;
  graceMs: number;
  quiet: boolean;
  trace: Trace;
  /** A line per connection, written once per turn of the event loop. */
  log: LineLog;
}


async function main(): Promise<void> {
  const { flags, positionals } = parseCommandLine(spec, process.argv.slice(2));
  const address = listenAddressFromArgs(positionals, 12000, familyOf(flags));
  const options: ServerOptions = {
    idleMs: parseSeconds(flags, 'idle-timeout', 300) * 1000,
    graceMs: parseSeconds(flags, 'grace', 10) * 1000,
    quiet: Boolean(flags.quiet),
    trace: createTrace(PROGRAM, Boolean(flags.verbose)),
    log: createLineLog(),
  };
  const connections = new Set<net.Socket>();
  const addresses = await resolveListenAddresses(address, familyOf(flags), 'TCP');
  const servers: net.Server[] = [];
  const bound: ListenAddress[] = [];
  for (const each of addresses) {
    // allowHalfOpen: when the client sends FIN we may still have replies to write; we close after them.
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => serveConnection(socket, connections, options));
    // Under a low ulimit -n, refuse what does not fit (and say so once) rather than let accept()
    // fail; the descriptors are shared out between the listening sockets.
    limitConnections(server, PROGRAM, { wanted: Infinity, perConnection: addresses.length, spare: 8 });
    const listening = await listenTcp(server, each, PROGRAM);
    servers.push(server);
    bound.push({ ...listening, port: (server.address() as net.AddressInfo).port });
  }
  closeIdleConnections(connections, options);
  // Handlers before the ready line: whoever waits for that line may signal us right after it.
  stopOnSignals(servers, connections, options);
  // The ready line even with -q: it says where to connect, and scripts wait for it.
  console.log('The server is ready to receive');
  console.log(`Listening on TCP ${describeEndpoints(bound)} (${bound[0].description}). Stop with Ctrl-C.`);
  console.log(howOtherHostsConnect('tcp-client', bound, bound[0].port));
}

/** What the server keeps of one connection, on its socket: one object, and no closure per connection. */
interface Connection {
  /** The client's address:port, for the log (one getpeername, at accept). */
  client: string;
  closedBy: string;
  options: ServerOptions;
  connections: Set<net.Socket>;
  /** The idle sweep's last look: bytes moved so far, and since when (0: not looked at yet). */
  moved: number;
  movedAt: number;
}

const CONNECTION = Symbol('connection');
type ServedSocket = net.Socket & { [CONNECTION]: Connection };

/**
 * One client's whole life: read, uppercase, write back, close. Never throws. Beyond what the bare
 * node:net server does, a connection costs only its log line's endpoint (one getpeername) and
 * its place in `connections`. The listeners are shared functions reading the Connection kept on
 * the socket: six closures per connection, a timer armed at accept and moved on every read and
 * write, and trace strings built with -v off cost tcp-server ~25% of its one-message connection
 * rate against the bare server (tests/bench, ratios 0.73 -> 0.8x).
 */
function serveConnection(socket: net.Socket, connections: Set<net.Socket>, options: ServerOptions): void {
  const { quiet, trace } = options;
  const tracing = isTracing(trace);
  // With -q and without -v no line names the client: no getpeername then.
  const client = quiet && !tracing ? '' : formatEndpoint(socket.remoteAddress, socket.remotePort);
  const served = socket as ServedSocket;
  served[CONNECTION] = { client, closedBy: 'server', options, connections, moved: 0, movedAt: 0 };
  connections.add(socket);
  if (tracing) trace(`accepted ${client} -> ${formatEndpoint(socket.localAddress, socket.localPort)}`);
  socket.on('data', echoUppercased);
  socket.on('end', finishAfterFin);
  socket.on('error', noteError);
  socket.on('close', logClosed);
}

function echoUppercased(this: ServedSocket, chunk: Buffer): void {
  const { client, options: { trace } } = this[CONNECTION];
  if (isTracing(trace)) trace(`${client}: received ${chunk.length} bytes; sending them back uppercased`);
  // Backpressure: if the client does not read its replies, stop reading its requests until
  // they drain, so a fast sender with a slow reader cannot make this process grow.
  if (!this.write(uppercaseAscii(chunk))) {
    this.pause();
    this.once('drain', resumeReading);
  }
}

function resumeReading(this: ServedSocket): void {
  this.resume();
}

function finishAfterFin(this: ServedSocket): void {
  const connection = this[CONNECTION];
  connection.closedBy = 'client';
  // A FIN says the client sends no more; whether it still reads (half-close, shutdown(SHUT_WR))
  // or has closed altogether (close()) is not on the wire: Wireshark shows the same FIN.
  const { trace } = connection.options;
  if (isTracing(trace)) trace(`${connection.client}: FIN received (the client sends no more); closing after the last reply`);
  this.end();
}

function noteError(this: ServedSocket, err: Error): void {
  this[CONNECTION].closedBy = `client (${errorCode(err)})`;
}

// One close listener: an emitter with two runs them from a copied array.
function logClosed(this: ServedSocket): void {
  const { client, closedBy, connections, options: { quiet, trace, log } } = this[CONNECTION];
  connections.delete(this);
  if (quiet && !isTracing(trace)) return;
  const line = `${client}: closed by ${closedBy}; ${byteCount(this.bytesRead)} in, ${byteCount(this.bytesWritten)} out`;
  if (!quiet) log.add(line);
  else trace(line);
}

/**
 * --idle-timeout: one sweep for all connections instead of a timer per connection. Every tenth
 * of the timeout (at most every second) each connection's bytes moved (read, and written out of
 * its buffer) are compared with the last look; one that moved nothing for the timeout is closed,
 * between 1 and 1.2 times the timeout after it last moved.
 */
function closeIdleConnections(connections: Set<net.Socket>, { idleMs, trace }: ServerOptions): void {
  const sweep = () => {
    const now = performance.now();
    for (const socket of connections) {
      const connection = (socket as ServedSocket)[CONNECTION];
      const moved = socket.bytesRead + socket.bytesWritten - socket.writableLength;
      if (connection.movedAt === 0 || moved !== connection.moved) {
        connection.moved = moved;
        connection.movedAt = now;
      } else if (now - connection.movedAt >= idleMs) {
        connection.closedBy = `server (idle for ${idleMs / 1000} s)`;
        trace(`${connection.client}: idle for ${idleMs / 1000} s; closing`);
        socket.destroy();
      }
    }
  };
  setInterval(sweep, Math.min(1000, idleMs / 10)).unref();
}

/**
 * Ctrl-C or SIGTERM: stop accepting, let open transfers finish for up to --grace seconds, exit 0.
 * A second signal exits at once (onStopSignals).
 */
function stopOnSignals(servers: net.Server[], connections: Set<net.Socket>, { graceMs, quiet, trace, log }: ServerOptions): void {
  onStopSignals((signal) => {
    log.flush(); // the connections closed so far come before the line saying we stop
    if (!quiet) console.log(stoppingLine(signal, connections.size, graceMs));
    let open = servers.length;
    for (const server of servers) {
      server.close(() => {
        if (--open > 0) return;
        trace('all connections closed');
        exitWhenFlushed(EXIT.ok);
      });
    }
    setTimeout(() => {
      log.flush();
      if (!quiet) console.log(`grace period over: closing ${connections.size} connections`);
      for (const socket of connections) socket.destroy();
      exitWhenFlushed(EXIT.ok);
    }, graceMs).unref();
  });
}

/** What the server says as it stops. The wait is mentioned only when there is one. */
function stoppingLine(signal: string, open: number, graceMs: number): string {
  return open === 0
    ? `${stopCause(signal)}: no connections open; stopping`
    : `${stopCause(signal)}: no new connections; waiting up to ${graceMs / 1000} s for the ${open} open ${open === 1 ? 'one' : 'ones'}`;
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main, { server: true });
