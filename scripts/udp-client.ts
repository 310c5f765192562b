// udp-client: the handout's UDPClient.py, grown up. Sends each message as one datagram and waits
// for the uppercase reply, retrying a few times, because UDP itself never says "nobody is there".
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import {
  COMMON_OPTIONS, clientAddressFromArgs, familyOf, parseCommandLine, parseCount, parseSeconds, type ProgramSpec,
} from '../lib/cli.ts';
import { ExplainedError, exitWhenFlushed, runProgram } from '../lib/program.ts';
import { EXIT } from '../lib/exit-codes.ts';
import { errorCode, explainNetworkError, type ErrorContext } from '../lib/network-errors.ts';
import { askSentence } from '../lib/sentence-prompt.ts';
import { byteCount, createTrace, formatEndpoint, type Trace } from '../lib/trace.ts';
import { uppercaseAscii } from '../lib/uppercase.ts';

const PROGRAM = 'udp-client';
// The largest UDP payload: 65535 (IP length field) - 20 (IPv4 header) - 8 (UDP header) = 65507;
// IPv6's 16-bit payload length does not count its 40-byte header: 65535 - 8 = 65527.
const MAX_DATAGRAM = { 4: 65507, 6: 65527 } as const;

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'the client of the uppercase service over UDP (the handout\'s UDPClient.py): sends one ' +
    'datagram per message to udp-server and prints each reply.',
  usage: ['HOST PORT MESSAGE...', 'HOST PORT            (prompts for a sentence, as the handout does)', 'HOST PORT < FILE     (one datagram per line)'],
  options: [
    { name: 'timeout', short: 't', value: 'SECONDS', help: 'wait this long for each reply (default 1)' },
    { name: 'retries', short: 'r', value: 'COUNT', help: 'send again this many times when no reply comes (default 2)' },
    ...COMMON_OPTIONS,
  ],
  messageAfter: 2,
  exitCodes: [0, 64, 65, 68, 69, 70, 71, 74, 75, 77, 130],
  examples: [
    ['udp-client 127.0.0.1 12000 hello, welcome', 'prints HELLO, WELCOME'],
    ['printf "one\\ntwo\\n" | udp-client localhost 12000', 'two datagrams, two replies: ONE, TWO'],
    ['udp-client -t 0.5 -r 0 10.1.10.115 12000 hi', 'one try, half a second: see how UDP fails silently'],
  ],
  notes: `Options go before HOST: every word after PORT is the message, exactly as typed
("5 - 3 = 2", "env -i"), as ssh takes its command after the host.
UDP sends no error when nothing listens: the datagram is simply dropped. The host may answer
with an ICMP "port unreachable" message, which this client reports (it uses a connected UDP
socket, so the kernel hands the ICMP error to it): exit 69. If no reply and no ICMP comes (a
firewall, a lost datagram), it gives up after 1 + --retries tries: exit 75. A message larger
than one datagram can carry (65507 bytes over IPv4, 65527 over IPv6) is refused before sending:
exit 65. Wireshark shows UDP port 12000 as "LLC" (its guess from the port number): use
Analyze > Decode As > UDP port 12000 > Data, or tshark -d udp.port==12000,data.`,
};


async function main(): Promise<void> {
  const { flags, positionals } = parseCommandLine(spec, process.argv.slice(2));
  const { host, port } = clientAddressFromArgs(PROGRAM, positionals, familyOf(flags));
  const timeoutMs = parseSeconds(flags, 'timeout', 1) * 1000;
  const tries = 1 + parseCount(flags, 'retries', 2, 0, 100);
  const trace = createTrace(PROGRAM, Boolean(flags.verbose));
  const context: ErrorContext = { proto: 'UDP', host, port, during: 'connect' };

  const addresses = await resolveServer(host, familyOf(flags), context, trace);
  const link: ServerLink = { addresses, index: 0, socket: await openConnectedSocket(addresses[0], port, context, trace) };
  const ask = async (message: Buffer) => {
    process.stdout.write(Buffer.concat([await askAnyAddress(link, message, { tries, timeoutMs, context, trace }), Buffer.from('\n')]));
  };
  if (positionals.length > 2) {
    await ask(Buffer.from(positionals.slice(2).join(' ')));
  } else if (process.stdin.isTTY) {
    const sentence = await askSentence(); // the handout asks for one sentence; Ctrl-D gives none
    if (sentence !== undefined) await ask(Buffer.from(sentence));
  } else {
    // The reader only bounds memory; askServer refuses a line too long for the address in use.
    for await (const line of readDatagrams(Math.max(...addresses.map((a) => MAX_DATAGRAM[a.family])))) await ask(line);
  }
  link.socket.close();
  exitWhenFlushed(EXIT.ok);
}

interface ServerAddress { address: string; family: 4 | 6 }

/** Every address HOST stands for (localhost: ::1 and 127.0.0.1 on a stock Debian host), in the resolver's order. */
async function resolveServer(host: string, family: 0 | 4 | 6, context: ErrorContext, trace: Trace): Promise<ServerAddress[]> {
  try {
    const found = (await lookup(host, { family, all: true })) as ServerAddress[];
    if (found.length > 1) trace(`${host} is ${found.map((a) => a.address).join(' and ')}: trying them in that order`);
    return found;
  } catch (err) {
    throw explainNetworkError(err, context);
  }
}

/**
 * A UDP socket "connected" to the server: no packet is sent (UDP has no handshake), but the kernel
 * now filters replies to that peer and reports its ICMP errors to us as ECONNREFUSED.
 */
function openConnectedSocket({ address, family }: ServerAddress, port: number, context: ErrorContext, trace: Trace): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    socket.once('error', (err) => reject(explainNetworkError(err, context)));
    socket.connect(port, address, () => {
      socket.removeAllListeners('error');
      const local = socket.address();
      trace(`UDP socket ${formatEndpoint(local.address, local.port)} -> ${formatEndpoint(address, port)} (connected: no packet is sent)`);
      resolve(socket);
    });
  });
}

/** The server's addresses, and the socket connected to the one in use. */
interface ServerLink { addresses: ServerAddress[]; index: number; socket: dgram.Socket }

/**
 * askServer at the address in use. After an ICMP "port unreachable" the next address of the
 * name is tried, as tcp-client's connect tries them: a server on 127.0.0.1 still answers
 * `udp-client localhost` when localhost is ::1 first. Other failures end the run.
 */
async function askAnyAddress(link: ServerLink, message: Buffer, options: AskOptions): Promise<Buffer> {
  const { context, trace } = options;
  for (;;) {
    try {
      return await askServer(link.socket, message, options);
    } catch (err) {
      if (err instanceof ExplainedError) throw err;
      const tried = link.addresses.slice(0, link.index + 1).map((a) => a.address);
      if (errorCode(err) !== 'ECONNREFUSED' || link.index + 1 === link.addresses.length) throw explainNetworkError(err, { ...context, tried });
      trace(`${formatEndpoint(link.addresses[link.index].address, context.port)} answered ICMP "port unreachable"; trying the next address`);
      link.socket.close();
      link.index++;
      link.socket = await openConnectedSocket(link.addresses[link.index], context.port, context, trace);
    }
  }
}

interface AskOptions { tries: number; timeoutMs: number; context: ErrorContext; trace: Trace }

/** Sends the message and waits for one reply, sending again after each timeout. A socket error rejects as it is. */
function askServer(socket: dgram.Socket, message: Buffer, { tries, timeoutMs, context, trace }: AskOptions): Promise<Buffer> {
  const limit = datagramLimit(socket);
  if (message.length > limit) {
    return Promise.reject(new ExplainedError(`the message is ${message.length} bytes, but one UDP datagram carries at most ${limit} ` +
      `bytes over ${limit === 65507 ? 'IPv4' : 'IPv6'}: shorten it, or use tcp-client, which streams any length.`, EXIT.dataErr));
  }
  return new Promise((resolve, reject) => {
    let attempt = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      socket.off('message', onReply);
      socket.off('error', onError);
      outcome();
    };
    const expected = uppercaseAscii(Buffer.from(message));
    const onReply = (reply: Buffer) => {
      // A late answer to an earlier message (one we had sent again, or the previous line) must
      // not pass for this one: the service only changes a-z, so compare ignoring that.
      if (!uppercaseAscii(Buffer.from(reply)).equals(expected)) {
        trace(`received ${byteCount(reply.length)} that answer another message; still waiting`);
        return;
      }
      trace(`received ${byteCount(reply.length)}`);
      finish(() => resolve(reply));
    };
    const onError = (err: Error) => finish(() => reject(err));
    const send = () => {
      attempt++;
      socket.send(message, (err) => {
        if (err) return onError(err);
        trace(`sent ${byteCount(message.length)} (try ${attempt} of ${tries})`);
      });
      timer = setTimeout(attempt < tries ? send : giveUp, timeoutMs);
    };
    const giveUp = () => finish(() => reject(new ExplainedError(`no reply from ${context.host} port ${context.port} after ${tries} ` +
      `${tries === 1 ? 'try' : 'tries'} of ${timeoutMs / 1000} s each. UDP is connectionless: nothing tells the sender whether ` +
      'the server is down, the port is wrong, or a datagram was lost. Check that udp-server runs there on that port.', EXIT.tempFail)));
    socket.on('message', onReply);
    socket.on('error', onError);
    send();
  });
}

/** The largest payload one datagram to the server can carry, by the server address's family. */
function datagramLimit(socket: dgram.Socket): number {
  return MAX_DATAGRAM[socket.remoteAddress().family === 'IPv6' ? 6 : 4];
}

/**
 * Lines of stdin as bytes (one datagram each; a CR before the LF is dropped), held only while
 * they can still fit in one datagram: a line that grows past that, with no end yet (`< /dev/zero`),
 * is refused at once instead of being read to the end into memory.
 */
async function* readDatagrams(limit: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  const takeLine = (last: Buffer) => {
    const line = Buffer.concat([...pending, last]);
    pending = [];
    pendingLength = 0;
    return line.at(-1) === 0x0d ? line.subarray(0, -1) : line;
  };
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      yield takeLine(chunk.subarray(start, newline));
      start = newline + 1;
    }
    const rest = chunk.subarray(start);
    pendingLength += rest.length;
    // One more byte than the limit may be the CR of a CRLF.
    if (pendingLength > limit + 1) throw lineTooLong(pendingLength, limit);
    pending.push(rest);
  }
  if (pendingLength > 0) yield takeLine(Buffer.alloc(0));
}

function lineTooLong(length: number, limit: number): ExplainedError {
  return new ExplainedError(`a line of stdin is already ${length} bytes with no end in sight, but one UDP datagram carries at ` +
    `most ${limit} bytes over ${limit === MAX_DATAGRAM[4] ? 'IPv4' : 'IPv6'} (udp-client sends one datagram per line): ` +
    'split the input into lines, or use tcp-client, which streams any length.', EXIT.dataErr);
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main);
