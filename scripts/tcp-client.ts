// tcp-client: the handout's TCPClient.py, grown up. Connects to the uppercase server, sends a
// sentence (or a whole stream), and prints what comes back.
import { fstatSync } from 'node:fs';
import net from 'node:net';
import {
  COMMON_OPTIONS, clientAddressFromArgs, familyOf, parseCommandLine, parseSeconds, type ProgramSpec,
} from '../lib/cli.ts';
import { ExplainedError, exitWhenFlushed, runProgram } from '../lib/program.ts';
import { EXIT } from '../lib/exit-codes.ts';
import { errorCode, explainNetworkError, type ErrorContext } from '../lib/network-errors.ts';
import { askSentence } from '../lib/sentence-prompt.ts';
import { byteCount, createTrace, formatEndpoint, isTracing, type Trace } from '../lib/trace.ts';

const PROGRAM = 'tcp-client';

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'the client of the uppercase service over TCP (the handout\'s TCPClient.py): sends text to ' +
    'tcp-server and prints the reply.',
  usage: ['HOST PORT MESSAGE...', 'HOST PORT            (prompts for a sentence, as the handout does)', 'HOST PORT < FILE     (streams the file; the reply goes to stdout)'],
  options: [
    { name: 'timeout', short: 't', value: 'SECONDS', help: 'give up connecting after this long (default 5)' },
    { name: 'idle-timeout', value: 'SECONDS', help: 'after sending everything, give up when the server is silent this long (default 30)' },
    { name: 'max-time', value: 'SECONDS', help: 'give up when the whole exchange (connect, send, reply) takes longer, as curl --max-time (default: no limit)' },
    ...COMMON_OPTIONS,
  ],
  messageAfter: 2,
  exitCodes: [0, 64, 68, 69, 70, 71, 74, 75, 76, 77, 130],
  examples: [
    ['tcp-client 127.0.0.1 12000 hello, welcome', 'prints HELLO, WELCOME'],
    ['tcp-client -v localhost 12000 hi', 'also traces the connection on stderr: connect, bytes, FIN, close'],
    ['cat notes.txt | tcp-client 10.1.10.115 12000 > NOTES.txt', 'streams a file of any size through the server'],
  ],
  notes: `Options go before HOST: every word after PORT is the message, exactly as typed
("5 - 3 = 2", "env -i"), as ssh takes its command after the host.
With MESSAGE, the words are joined by spaces, sent, and the connection half-closed (FIN):
the server then knows the message is complete, replies and closes. The reply goes to stdout as
it arrives, and must be exactly as long as the message: a shorter one is reported as cut short
(the handout's TCPServer.py reads only 1024 bytes), a longer one as more than was sent (exit 76).
A server that trickles its reply is still answered within --max-time. If nothing listens on HOST PORT, the kernel there answers the SYN with a
RST: "connection refused" (exit 69).`,
};


async function main(): Promise<void> {
  const { flags, positionals } = parseCommandLine(spec, process.argv.slice(2));
  const { host, port } = clientAddressFromArgs(PROGRAM, positionals, familyOf(flags));
  const timeoutMs = parseSeconds(flags, 'timeout', 5) * 1000;
  const idleMs = parseSeconds(flags, 'idle-timeout', 30) * 1000;
  const maxMs = flags['max-time'] === undefined ? undefined : parseSeconds(flags, 'max-time', 0) * 1000;
  const trace = createTrace(PROGRAM, Boolean(flags.verbose));
  const context: ErrorContext = { proto: 'TCP', host, port, during: 'connect' };

  const deadline = maxMs === undefined ? undefined : overallDeadline(maxMs, context);
  const withinMaxTime = <T>(work: Promise<T>) => (deadline ? deadline.race(work) : work);
  const socket = await withinMaxTime(connect(host, port, familyOf(flags), timeoutMs, context, trace));
  context.during = 'transfer';
  let input: Buffer | NodeJS.ReadableStream = process.stdin;
  let reply = plainReply();
  let empty = 'stdin was empty';
  if (positionals.length > 2) {
    input = Buffer.from(positionals.slice(2).join(' '));
    reply = sentenceReply('');
    empty = 'the message was empty';
  } else if (process.stdin.isTTY) {
    // The time the student takes to type is not the exchange's: --max-time waits meanwhile.
    deadline?.pause();
    const sentence = await askSentence();
    if (sentence === undefined) {
      socket.destroy(); // Ctrl-D: no sentence, nothing sent; the server sees the connection end
      return exitWhenFlushed(EXIT.ok);
    }
    deadline?.resume();
    input = Buffer.from(sentence);
    reply = sentenceReply('from Server: '); // the handout's words, as it prints them
    empty = 'the sentence was an empty line';
  }
  let sent: number;
  try {
    sent = await withinMaxTime(exchange(socket, input, reply, idleMs, context, trace));
  } finally {
    socket.destroy();
    // Print what did come back even when it was cut short: that is the lesson.
    reply.finish();
  }
  // Nothing to print is the right answer to nothing, but a silent exit 0 looks like a failure.
  if (sent === 0) process.stderr.write(`${PROGRAM}: ${empty}: nothing was sent (only the FIN that closes the connection), and nothing came back.\n`);
  exitWhenFlushed(EXIT.ok);
}

/** Where the reply goes: stdout as it arrives, never gathered in memory. */
interface ReplyWriter {
  /** Writes bytes of the reply; false when stdout is full and the socket should wait. */
  write(chunk: Buffer): boolean;
  /** Ends the output (a sentence's newline), only if any reply came. */
  finish(): void;
}

/** A stream's reply: the bytes as they are, nothing added. */
function plainReply(): ReplyWriter {
  return { write: (chunk) => process.stdout.write(chunk), finish: () => {} };
}

/** A sentence's reply: `prefix` before its first byte, a newline after its last; no reply, no line. */
function sentenceReply(prefix: string): ReplyWriter {
  let started = false;
  return {
    write(chunk) {
      if (!started && prefix) process.stdout.write(prefix);
      started = true;
      return process.stdout.write(chunk);
    },
    finish() {
      if (started) process.stdout.write('\n');
      started = false;
    },
  };
}

/**
 * --max-time: one timer over the whole run, as curl has, so that a server trickling a byte a
 * second (which the idle timeout never notices) still cannot keep the client forever.
 */
function overallDeadline(maxMs: number, { host, port }: ErrorContext) {
  let left = maxMs;
  let startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let expire: (err: ExplainedError) => void = () => {};
  const expired = new Promise<never>((_, reject) => { expire = reject; });
  expired.catch(() => {}); // raced below; unobserved until then
  const arm = () => {
    startedAt = Date.now();
    timer = setTimeout(() => expire(new ExplainedError(`gave up after --max-time ${maxMs / 1000} s: the exchange with ${host} ` +
      `port ${port} was still not over (a server that answers very slowly, or never stops). Raise --max-time to wait longer.`,
    EXIT.tempFail)), left);
    timer.unref();
  };
  arm();
  return {
    race: <T>(work: Promise<T>): Promise<T> => Promise.race([work, expired]),
    pause: () => { clearTimeout(timer); left -= Date.now() - startedAt; },
    resume: arm,
  };
}

/** Opens the connection; a refusal, unknown host or timeout becomes one explained line. */
function connect(host: string, port: number, family: 0 | 4 | 6, timeoutMs: number, context: ErrorContext, trace: Trace): Promise<net.Socket> {
  trace(`connecting to ${host} port ${port} (TCP three-way handshake: SYN, SYN-ACK, ACK)`);
  return new Promise((resolve, reject) => {
    // allowHalfOpen: after our FIN we keep reading until the server has sent every reply byte.
    const socket = net.connect({ host, port, family, allowHalfOpen: true, noDelay: true });
    // A name may stand for several addresses (localhost: ::1 and 127.0.0.1), tried in turn: each
    // attempt is a SYN Wireshark shows, so -v shows it too, and a refusal names them all.
    context.tried = [];
    socket.on('connectionAttempt', (ip: string) => {
      context.tried!.push(ip);
      trace(`trying ${formatEndpoint(ip, port)}`);
    });
    socket.on('connectionAttemptFailed', (ip: string, _port: number, _family: number, err: Error) => {
      trace(`${formatEndpoint(ip, port)} failed: ${errorCode(err) ?? err.message}`);
    });
    socket.on('connectionAttemptTimeout', (ip: string) => trace(`${formatEndpoint(ip, port)} did not answer in time; trying the next address`));
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

/**
 * Sends the input (a sentence, or stdin streamed with backpressure), half-closes (FIN) when it
 * ends, and streams the reply to stdout until the server closes. Resolves with the number of bytes
 * sent when every one came back; rejects with the problem explained: cut short, more than was
 * sent, reset, silence.
 */
function exchange(socket: net.Socket, input: Buffer | NodeJS.ReadableStream, reply: ReplyWriter, idleMs: number,
  context: ErrorContext, trace: Trace): Promise<number> {
  return new Promise((resolve, reject) => {
    const progress: Progress = { sent: 0, received: 0, inputEnded: false, inputSize: undefined };
    const fail = (problem: ExplainedError) => {
      socket.destroy();
      reject(problem);
    };
    if (Buffer.isBuffer(input)) {
      progress.sent = input.length;
      progress.inputEnded = true;
      socket.end(input, () => trace(`sent ${byteCount(input.length)}, then FIN (half-close: nothing more from us)`));
      giveUpWhenSilent(socket, idleMs, context, fail);
    } else {
      progress.inputSize = regularFileSize(0);
      input.on('data', (chunk: Buffer) => { progress.sent += chunk.length; });
      input.on('end', () => {
        progress.inputEnded = true;
        trace(`stdin ended after ${byteCount(progress.sent)}; sending FIN`);
        giveUpWhenSilent(socket, idleMs, context, fail);
      });
      input.pipe(socket); // pipe() ends the socket (FIN) when stdin ends, and waits for drain
    }
    socket.on('data', (chunk: Buffer) => {
      // The uppercase service sends back exactly what it got, never more: the excess is not
      // printed, and the client stops there instead of taking an endless stream.
      const owed = progress.sent - progress.received;
      progress.received += chunk.length;
      if (isTracing(trace)) trace(`received ${byteCount(chunk.length)}`);
      if (chunk.length > owed) {
        if (owed > 0) reply.write(chunk.subarray(0, owed));
        return fail(longerReply(progress, context));
      }
      // A slow reader of our stdout slows the server down instead of growing this process.
      if (!reply.write(chunk)) {
        socket.pause();
        process.stdout.once('drain', () => socket.resume());
      }
    });
    socket.on('error', (err) => {
      trace(`${errorCode(err) ?? err.message} after ${byteCount(progress.sent)} out (${progress.inputEnded ? 'all the input' : 'the input had not ended'}), ${byteCount(progress.received)} in`);
      reject(shortOrBroken(err, progress, context));
    });
    socket.on('end', () => {
      trace('server closed its side (FIN received)');
      socket.end();
    });
    socket.on('close', (hadError) => {
      if (hadError) return;
      trace(`closed: ${byteCount(progress.sent)} out, ${byteCount(progress.received)} in`);
      // The server closed while stdin still had more: that input was never sent, so say so.
      if (!progress.inputEnded) reject(closedBeforeInputEnded(progress, context));
      else if (progress.received < progress.sent) reject(shortReply(progress, context));
      else resolve(progress.sent);
    });
  });
}

/** How far an exchange got, for the sentence that says how it ended. */
interface Progress {
  /** Bytes of the input handed to the connection so far (all of it once inputEnded). */
  sent: number;
  received: number;
  inputEnded: boolean;
  /** The whole input's size when stdin is a file (`< FILE`), known before it is all read. */
  inputSize: number | undefined;
}

/** The size of the regular file open on `fd`, or undefined (a pipe, a terminal). */
function regularFileSize(fd: number): number | undefined {
  try {
    const stat = fstatSync(fd);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * "R of the N bytes" in the user's terms: N is the whole input (the message, the file given as
 * stdin, or a stream that ended), never how much of a stream had been read when the server
 * stopped, which only tells how large the buffers were; "R bytes" when the whole is unknown.
 */
function cameBack({ sent, received, inputEnded, inputSize }: Progress): string {
  const whole = inputEnded ? sent : inputSize;
  return whole === undefined ? byteCount(received) : `${received} of the ${byteCount(whole)}`;
}

/** Once we have sent everything, a server silent for idleMs will not answer: end instead of hanging. */
function giveUpWhenSilent(socket: net.Socket, idleMs: number, { host, port }: ErrorContext, fail: (problem: ExplainedError) => void): void {
  socket.setTimeout(idleMs, () => {
    socket.destroy();
    fail(new ExplainedError(`the server at ${host} port ${port} sent nothing for ${idleMs / 1000} s after our last byte, ` +
      'and did not close: it may be stuck, or waiting for more than we send. Raise --idle-timeout to wait longer.', EXIT.tempFail));
  });
}

function closedBeforeInputEnded(progress: Progress, { host, port }: ErrorContext): ExplainedError {
  return new ExplainedError(`the server at ${host} port ${port} closed the connection after ${cameBack(progress)} came back, ` +
    'before the input ended: the rest was never sent (the handout\'s TCPServer.py answers one recv() and closes).', EXIT.protocol);
}

/** The server closed (FIN) before sending back all it got. */
function shortReply(progress: Progress, { host, port }: ErrorContext): ExplainedError {
  if (progress.received === 0) {
    return new ExplainedError(`the server at ${host} port ${port} closed the connection without answering ` +
      `(0 of the ${byteCount(progress.sent)} sent came back).`, EXIT.protocol);
  }
  return new ExplainedError(`the server at ${host} port ${port} closed after sending back ${cameBack(progress)}: ` +
    `the reply was cut short${looksLikeOneRecv(progress) ? ONE_RECV : ''}.`, EXIT.protocol);
}

/** The reply stops at exactly 1024 bytes of more: what the handout's one recv(1024) does. */
function looksLikeOneRecv({ sent, received, inputEnded }: Progress): boolean {
  return received === 1024 && (sent > 1024 || !inputEnded);
}
const ONE_RECV = ' (the handout\'s TCPServer.py reads only the first 1024 bytes)';

/** The server sent more than it got: not the uppercase service, or one that adds to it. */
function longerReply({ sent, received }: Progress, { host, port }: ErrorContext): ExplainedError {
  return new ExplainedError(`the server at ${host} port ${port} sent back more than it got (at least ${received} bytes for ` +
    `our ${sent}): the uppercase service answers each byte with one byte. Only the first ${sent} were printed.`, EXIT.protocol);
}

/**
 * A reset. When the reply stopped at the handout's 1024 bytes it is the short-reply case: a server
 * that closes without reading everything (TCPServer.py after its one recv(1024)) sends RST, not
 * FIN, and Linux then drops whatever reply bytes had not been read yet. Any other reset is said as
 * one, with what came back: a reset is not a cut.
 */
function shortOrBroken(err: Error, progress: Progress, context: ErrorContext): ExplainedError {
  const broken = explainNetworkError(err, context);
  if (broken.exitCode !== EXIT.ioErr) return broken;
  const { host, port } = context;
  if (progress.inputEnded && looksLikeOneRecv(progress)) {
    return new ExplainedError(`${shortReply(progress, context).message} Then it reset the connection ` +
      '(a server that closes with unread data sends RST).', EXIT.protocol);
  }
  const dropped = 'the reset also makes the kernel drop any reply not yet read, so it may have sent more';
  if (!progress.inputEnded) {
    return new ExplainedError(`the server at ${host} port ${port} reset the connection (${errorCode(err)}) before the input ` +
      `ended, after ${cameBack(progress)} came back: the rest was never sent (the handout's TCPServer.py answers one ` +
      `recv(1024) and closes with the rest unread, which sends a reset; ${dropped}).`, EXIT.protocol);
  }
  return new ExplainedError(`the server at ${host} port ${port} reset the connection (${errorCode(err)}) after ` +
    `${cameBack(progress)} came back (a server resets a connection it closes with data unread; ${dropped}).`, EXIT.ioErr);
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main);
