// tcp-client: the handout's TCPClient.py, grown up. Connects to the uppercase server, sends a
// sentence (or a whole stream), and prints what comes back.
import net from 'node:net';
import { createInterface } from 'node:readline/promises';
import {
  COMMON_OPTIONS, ExplainedError, clientAddressFromArgs, exitWhenFlushed, familyOf, parseCommandLine, parseSeconds,
  runProgram, type ProgramSpec,
} from '../lib/cli.ts';
import { EXIT } from '../lib/exit-codes.ts';
import { explainNetworkError, type ErrorContext } from '../lib/network-errors.ts';
import { createTrace, formatEndpoint, type Trace } from '../lib/trace.ts';

const PROGRAM = 'tcp-client';

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'the client of the uppercase service over TCP (the handout\'s TCPClient.py): sends text to ' +
    'tcp-server and prints the reply.',
  usage: ['HOST PORT MESSAGE...', 'HOST PORT            (prompts for a sentence, as the handout does)', 'HOST PORT < FILE     (streams the file; the reply goes to stdout)'],
  options: [
    { name: 'timeout', short: 't', value: 'SECONDS', help: 'give up connecting after this long (default 5)' },
    { name: 'idle-timeout', value: 'SECONDS', help: 'after sending everything, give up when the server is silent this long (default 30)' },
    ...COMMON_OPTIONS,
  ],
  messageAfter: 2,
  examples: [
    ['tcp-client 127.0.0.1 12000 hello, welcome', 'prints HELLO, WELCOME'],
    ['tcp-client -v localhost 12000 hi', 'also traces the connection on stderr: connect, bytes, FIN, close'],
    ['cat notes.txt | tcp-client 10.1.10.115 12000 > NOTES.txt', 'streams a file of any size through the server'],
  ],
  notes: `Options go before HOST: every word after PORT is the message, exactly as typed
("5 - 3 = 2", "env -i"), as ssh takes its command after the host.
With MESSAGE, the words are joined by spaces, sent, and the connection half-closed (FIN):
the server then knows the message is complete, replies and closes. The reply must be as long as
the message; the handout's TCPServer.py reads only 1024 bytes, and a longer message is reported
as cut short (exit 76). If nothing listens on HOST PORT, the kernel there answers the SYN with a
RST: "connection refused" (exit 69).`,
};

runProgram(PROGRAM, main);

async function main(): Promise<void> {
  const { flags, positionals } = parseCommandLine(spec, process.argv.slice(2));
  const { host, port } = clientAddressFromArgs(PROGRAM, positionals, familyOf(flags));
  const timeoutMs = parseSeconds(flags, 'timeout', 5) * 1000;
  const idleMs = parseSeconds(flags, 'idle-timeout', 30) * 1000;
  const trace = createTrace(PROGRAM, Boolean(flags.verbose));
  const context: ErrorContext = { proto: 'TCP', host, port, during: 'connect' };

  const socket = await connect(host, port, familyOf(flags), timeoutMs, context, trace);
  context.during = 'transfer';
  if (positionals.length > 2 || process.stdin.isTTY) {
    const message = positionals.length > 2 ? positionals.slice(2).join(' ') : await askSentence();
    const { reply, problem } = await exchange(socket, Buffer.from(message), idleMs, context, trace);
    // Print what did come back even when it was cut short: that is the lesson.
    const prefix = positionals.length > 2 ? '' : 'from Server: '; // the handout's words, as it prints them
    process.stdout.write(Buffer.concat([Buffer.from(prefix), reply, Buffer.from('\n')]));
    if (problem) throw problem;
  } else {
    await streamStdin(socket, idleMs, context, trace);
  }
  exitWhenFlushed(EXIT.ok);
}

/** Opens the connection; a refusal, unknown host or timeout becomes one explained line. */
function connect(host: string, port: number, family: 0 | 4 | 6, timeoutMs: number, context: ErrorContext, trace: Trace): Promise<net.Socket> {
  trace(`connecting to ${host} port ${port} (TCP three-way handshake: SYN, SYN-ACK, ACK)`);
  return new Promise((resolve, reject) => {
    // allowHalfOpen: after our FIN we keep reading until the server has sent every reply byte.
    const socket = net.connect({ host, port, family, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ExplainedError(`timed out connecting to ${host} port ${port} after ${timeoutMs / 1000} s: no answer at all ` +
        '(the host may be down, or a firewall drops the packets). Check the address, or raise --timeout.', EXIT.tempFail));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(explainNetworkError(err, context));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      trace(`connected ${formatEndpoint(socket.localAddress, socket.localPort)} -> ${formatEndpoint(socket.remoteAddress, socket.remotePort)}`);
      resolve(socket);
    });
  });
}

/** Like the handout's input('Input lowercase sentence'), but it also works when stdout is piped. */
async function askSentence(): Promise<string> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  const sentence = await terminal.question('Input lowercase sentence: ');
  terminal.close();
  return sentence;
}

/**
 * Sends the whole message, half-closes, and collects the reply until the server closes. A reply
 * shorter than the message comes back with the problem explained, so the caller can print both.
 */
function exchange(socket: net.Socket, message: Buffer, idleMs: number, context: ErrorContext, trace: Trace): Promise<{ reply: Buffer; problem?: ExplainedError }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const reply = () => Buffer.concat(chunks);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      trace(`received ${chunk.length} bytes`);
    });
    socket.on('error', (err) => resolve({ reply: reply(), problem: shortOrBroken(err, message.length, received, context) }));
    socket.on('end', () => {
      trace('server closed its side (FIN received)');
      socket.end();
    });
    socket.on('close', (hadError) => {
      if (hadError) return;
      trace(`closed: ${message.length} bytes out, ${received} bytes in`);
      resolve({ reply: reply(), problem: received < message.length ? shortReply(message.length, received, context) : undefined });
    });
    socket.end(message, () => trace(`sent ${message.length} bytes, then FIN (half-close: nothing more from us)`));
    giveUpWhenSilent(socket, idleMs, context, (problem) => resolve({ reply: reply(), problem }));
  });
}

/** stdin -> server -> stdout, binary-safe and with backpressure; half-close at stdin's end. */
function streamStdin(socket: net.Socket, idleMs: number, context: ErrorContext, trace: Trace): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    process.stdin.on('data', (chunk: Buffer) => { sent += chunk.length; });
    process.stdin.on('end', () => {
      trace(`stdin ended after ${sent} bytes; sending FIN`);
      giveUpWhenSilent(socket, idleMs, context, reject);
    });
    process.stdin.pipe(socket); // pipe() ends the socket (FIN) when stdin ends, and waits for drain
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // A slow reader of our stdout slows the server down instead of growing this process.
      if (!process.stdout.write(chunk)) {
        socket.pause();
        process.stdout.once('drain', () => socket.resume());
      }
    });
    socket.on('error', (err) => reject(shortOrBroken(err, sent, received, context)));
    socket.on('end', () => {
      trace('server closed its side (FIN received)');
      socket.end();
    });
    socket.on('close', (hadError) => {
      if (hadError) return;
      trace(`closed: ${sent} bytes out, ${received} bytes in`);
      // The server closed while stdin still had more: that input was never sent, so say so.
      if (!process.stdin.readableEnded) reject(closedBeforeInputEnded(sent, received, context));
      else if (received < sent) reject(shortReply(sent, received, context));
      else resolve();
    });
  });
}

/** Once we have sent everything, a server silent for idleMs will not answer: end instead of hanging. */
function giveUpWhenSilent(socket: net.Socket, idleMs: number, { host, port }: ErrorContext, fail: (problem: ExplainedError) => void): void {
  socket.setTimeout(idleMs, () => {
    socket.destroy();
    fail(new ExplainedError(`the server at ${host} port ${port} sent nothing for ${idleMs / 1000} s after our last byte, ` +
      'and did not close: it may be stuck, or waiting for more than we send. Raise --idle-timeout to wait longer.', EXIT.tempFail));
  });
}

function closedBeforeInputEnded(sent: number, received: number, { host, port }: ErrorContext): ExplainedError {
  return new ExplainedError(`the server at ${host} port ${port} closed the connection after ${sent} bytes of input and ` +
    `${received} bytes of reply, before the input ended: the rest was never sent (the handout's TCPServer.py answers one recv() and closes).`, EXIT.protocol);
}

function shortReply(sent: number, received: number, { host, port }: ErrorContext): ExplainedError {
  return new ExplainedError(`the server at ${host} port ${port} closed after sending back ${received} of ${sent} bytes: ` +
    'the reply was cut short (the handout\'s TCPServer.py reads only the first 1024 bytes).', EXIT.protocol);
}

/**
 * A reset while bytes are still owed is the short-reply case too: a server that closes without
 * reading everything (like the handout's TCPServer.py after its one recv(1024)) sends RST, not FIN,
 * and Linux then drops whatever reply bytes had not been read yet.
 */
function shortOrBroken(err: Error, sent: number, received: number, context: ErrorContext): ExplainedError {
  const broken = explainNetworkError(err, context);
  if (broken.exitCode !== EXIT.ioErr || received >= sent) return broken;
  return new ExplainedError(`${shortReply(sent, received, context).message} Then it reset the connection ` +
    '(a server that closes with unread data sends RST).', EXIT.protocol);
}
