// lab-check: the lab's test bench for the servers students write. It probes a running server of the
// handout's kind (TCPServer.py, UDPServer.py, WebServer.py) and says, check by check, what it does
// right and wrong, in the lab's words. --json gives an autograder the same verdicts; --run starts
// the student's server itself and restarts it when a check kills it.
//
// The file reads in three parts: what each check sends and how a reply is judged (pure functions,
// exported for the tests), how the bytes travel (TCP, UDP, HTTP over TCP, the student's process),
// and the command line, which runs the checks in order and prints the report.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { lookup as mimeLookup } from 'mrmime';
import {
  COMMON_OPTIONS, checkFamily, checkHost, familyOf, parseCommandLine, parsePort, parseSeconds, type Flags, type ProgramSpec,
} from '../lib/cli.ts';
import { ExplainedError, UsageError, exitWhenFlushed, runProgram } from '../lib/program.ts';
import { EXIT, type ExitCode } from '../lib/exit-codes.ts';
import { errorCode, explainNetworkError } from '../lib/network-errors.ts';
import { createTrace, formatEndpoint, type Trace } from '../lib/trace.ts';
import { escapeForPeople } from '../lib/terminal-text.ts';
import { uppercaseAscii } from '../lib/uppercase.ts';

const PROGRAM = 'lab-check';

// ---------------------------------------------------------------------------------------------
// Part 1: the checks' messages and verdicts. Pure: bytes in, PASS/WARN/FAIL and sentences out.

export type Kind = 'tcp' | 'udp' | 'web';
export type Status = 'pass' | 'warn' | 'fail' | 'skip';

/** What one check concluded: one sentence, and for WARN/FAIL what the server did and what to change. */
export interface Verdict { status: Status; summary: string; detail: string }
export interface CheckResult extends Verdict { id: string }
export interface Report { kind: Kind; target: string; checks: CheckResult[]; counts: Record<Status, number> }

/** The check ids, in the order they run and are reported: graders key on them, so they never change. */
export const CHECK_IDS = {
  tcp: ['connect', 'sample', 'only-a-z', 'binary-safe', 'long-message', 'split-message', 'half-close', 'concurrent', 'survives'],
  udp: ['reply', 'only-a-z', 'binary-safe', 'reply-to-sender', 'large-datagram', 'empty-datagram', 'survives'],
  web: ['connect', 'status-line', 'headers-end', 'content-type', 'content-length', 'body', 'binary-body', 'not-found',
    'split-request', 'browser-request', 'traversal', 'concurrent', 'survives'],
} as const satisfies Record<Kind, readonly string[]>;

/** The handout's sample sentence ("Input lowercase sentence hello, welcome"). */
export const SAMPLE = Buffer.from('hello, welcome');
/** Upper case, digits, the handout's &*! and two letters beyond a-z that str.upper() would change. */
export const MIXED = Buffer.from('Hello, World! ABC xyz 0123 &*! café straße');
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** Longer than the handout's recv(1024) and than one 1460-byte segment. */
export const LONG_MESSAGE = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(67).slice(0, 3000));
/** Longer than the handout's recvfrom(2048). */
export const LARGE_DATAGRAM = Buffer.from('a datagram larger than recvfrom(2048) reads; '.repeat(89).slice(0, 4000));
/** How long the second part of a split message or request waits: a slow typist, or a slow link. */
export const SPLIT_GAP_MS = 300;

/** The lab's transform, on a copy: a-z become A-Z, every other byte stays. */
export function labUppercase(bytes: Uint8Array): Buffer {
  return uppercaseAscii(Buffer.from(bytes));
}

const pass = (summary: string, detail = ''): Verdict => ({ status: 'pass', summary, detail });
const skip = (summary: string): Verdict => ({ status: 'skip', summary, detail: '' });
/** A WARN or FAIL: the sentence, then what the server did and what to change, each on its own line. */
function problem(status: 'warn' | 'fail', summary: string, did: string, change: string): Verdict {
  return { status, summary, detail: `what it did: ${did}\nwhat to change: ${change}` };
}

/**
 * Bytes from the wire as a terminal may show them (lib/terminal-text's one rule): valid UTF-8
 * letters, digits, punctuation and symbols as themselves, everything else (controls, escapes,
 * bidi marks, broken UTF-8) as \xHH or \u{...}, so that a hostile or broken server cannot move
 * the cursor or forge a report line. Quoted, so `"` and `\` are escaped too.
 */
export function showBytes(bytes: Uint8Array, max = 60): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return `"${showText(buf, max, true)}"${buf.length > max ? `... (${buf.length} bytes)` : ''}`;
}

/** showBytes without the quotes and the length: for lines of a server's own output. */
export function showText(bytes: Uint8Array, max: number, quoted = false): string {
  return escapeForPeople(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(0, max), { quoted });
}

/** How a TCP exchange ended: the server closed (FIN), reset (RST), said nothing more, or we had enough. */
export type TcpEnd = 'closed' | 'reset' | 'silent' | 'enough';
export interface TcpOutcome { reply: Buffer; ended: TcpEnd; finSent?: boolean }

/** What a reply to an uppercase request looks like, compared with what the lab's transform gives. */
export type ReplyShape = 'exact' | 'empty' | 'cut-short' | 'str-upper' | 'swapcase' | 'unchanged' | 'replacement-chars' | 'longer' | 'different';

/** Names the mistake a reply shows, trying the classic ones first. */
export function classifyReply(sent: Buffer, reply: Buffer): ReplyShape {
  const expected = labUppercase(sent);
  if (reply.equals(expected)) return 'exact';
  if (reply.length === 0) return 'empty';
  if (reply.length < expected.length && expected.subarray(0, reply.length).equals(reply)) return 'cut-short';
  const text = sent.toString('utf8');
  const isText = Buffer.from(text).equals(sent);
  if (isText && reply.equals(Buffer.from(text.toUpperCase()))) return 'str-upper';
  if ((isText && reply.equals(Buffer.from(swapCase(text)))) || reply.equals(swapCaseAscii(sent))) return 'swapcase';
  if (reply.equals(sent)) return 'unchanged';
  if (reply.includes(Buffer.from('\ufffd')) && !sent.includes(Buffer.from('\ufffd'))) return 'replacement-chars';
  if (reply.length > expected.length && reply.subarray(0, expected.length).equals(expected)) return 'longer';
  return 'different';
}

/** Python's bytes.swapcase(): A-Z and a-z trade places, nothing else changes. */
function swapCaseAscii(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => (b >= 0x41 && b <= 0x5a ? b + 32 : b >= 0x61 && b <= 0x7a ? b - 32 : b)));
}

/** Python's str.swapcase(), near enough to recognise it. */
function swapCase(text: string): string {
  return [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}

/** The byte offset where two buffers first differ (the shorter one's length if one is a prefix). */
export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** "X came back as Y": whole when short, else from a little before the first changed byte. */
function fromDifference(sent: Buffer, reply: Buffer): string {
  if (sent.length <= 60 && reply.length <= 60) return `${showBytes(sent)} came back as ${showBytes(reply)}`;
  const at = Math.max(0, firstDifference(labUppercase(sent), reply) - 4);
  return `from byte ${at} on, ${showBytes(sent.subarray(at), 16)} came back as ${showBytes(reply.subarray(at), 16)}`;
}

/** What the server did with a message, and what to change, for each shape of wrong reply. */
function explainReply(sent: Buffer, outcome: TcpOutcome | { reply: Buffer }, how: string): { did: string; change: string } {
  const { reply } = outcome;
  const expected = labUppercase(sent);
  const ended = 'ended' in outcome ? outcome.ended : undefined;
  switch (classifyReply(sent, reply)) {
    case 'empty':
      return ended === 'silent'
        ? { did: `sent nothing back for ${how}, and did not close.`, change: 'reply after each recv(): the client waits for the reply before it closes its side.' }
        : { did: `${ended === 'reset' ? 'reset' : 'closed'} the connection without sending anything back for ${how}.`,
          change: 'an exception probably ended the handler (run it in a terminal to see the traceback); send the reply before close().' };
    case 'cut-short':
      return { did: `sent back only the first ${reply.length} of ${expected.length} bytes for ${how}${ended === 'silent' ? ' and then nothing more' : ''}.`,
        change: 'one recv() returns what has arrived so far, at most its buffer size: loop on recv() and send each piece back, ' +
          'until recv() returns b\'\' (the client closed its side).' };
    case 'str-upper':
      return { did: `decodes the bytes and calls str.upper(), which changes more than a-z: ${fromDifference(sent, reply)}.`,
        change: 'call upper() on the bytes recv() returned, without decode(): bytes.upper() changes only a-z (handout Task 1 a).' };
    case 'swapcase':
      return { did: `swaps the case of letters (swapcase()): ${fromDifference(sent, reply)}.`,
        change: 'use upper(): an upper-case letter must stay as it is (handout Task 1 b).' };
    case 'unchanged':
      return { did: `echoed ${how} back unchanged.`, change: 'call .upper() on what recv() returned before send().' };
    case 'replacement-chars':
      return { did: `replaced bytes that are not UTF-8 text with U+FFFD (EF BF BD): ${fromDifference(sent, reply)}.`,
        change: 'do not decode(): the service works on bytes, and bytes.upper() changes only a-z.' };
    case 'longer':
      return { did: `sent back ${reply.length - expected.length} bytes more than it got (${showBytes(reply.subarray(expected.length))} at the end).`,
        change: 'send back exactly the transformed bytes, nothing added (no newline, no prompt).' };
    default: {
      const at = firstDifference(expected, reply);
      return { did: `sent back ${reply.length} bytes for ${expected.length}; from byte ${at} on, ${showBytes(reply.subarray(at), 24)} instead of ${showBytes(expected.subarray(at), 24)}.`,
        change: 'change only the bytes a-z (0x61-0x7a) to A-Z; send every other byte back as it came.' };
    }
  }
}

/** The one sentence for a check whose message got nothing back at all, or else `otherwise`. */
function summaryOf(what: string, outcome: TcpOutcome | { reply: Buffer }, otherwise: string): string {
  if (outcome.reply.length > 0) return otherwise;
  const ended = 'ended' in outcome ? outcome.ended : 'silent';
  return `${what} got no reply${ended === 'silent' ? '' : ended === 'reset' ? ': the server reset the connection' : ': the server closed the connection'}.`;
}

export function judgeSample(outcome: TcpOutcome | { reply: Buffer }): Verdict {
  if (outcome.reply.equals(labUppercase(SAMPLE))) return pass('"hello, welcome" came back as "HELLO, WELCOME".');
  const { did, change } = explainReply(SAMPLE, outcome, 'the handout\'s sample "hello, welcome"');
  return problem('fail', summaryOf('the handout\'s sample "hello, welcome"', outcome, 'the handout\'s sample did not come back as "HELLO, WELCOME".'), did, change);
}

export function judgeOnlyAToZ(outcome: TcpOutcome | { reply: Buffer }): Verdict {
  if (outcome.reply.equals(labUppercase(MIXED))) return pass('only a-z changed: upper case, digits, &*!, é and ß came back byte for byte.');
  const { did, change } = explainReply(MIXED, outcome, 'a message mixing upper case, digits, &*!, é and ß');
  return problem('fail', summaryOf('a message mixing upper case, digits, &*!, é and ß', outcome, 'a message mixing upper case, digits, &*!, é and ß came back with more than a-z changed.'), did, change);
}

export function judgeBinarySafe(outcome: TcpOutcome | { reply: Buffer }): Verdict {
  if (outcome.reply.equals(labUppercase(ALL_BYTES))) return pass('all 256 byte values came back with only a-z changed.');
  const shape = classifyReply(ALL_BYTES, outcome.reply);
  if (shape === 'empty' && 'ended' in outcome && outcome.ended !== 'silent') {
    return problem('fail', 'a message holding all 256 byte values got no reply.',
      `${outcome.ended === 'reset' ? 'reset' : 'closed'} the connection without a reply: decode() raises UnicodeDecodeError on bytes 0x80-0xff, which are not UTF-8.`,
      'do not decode(): call upper() on the bytes recv() returned (bytes.upper() changes only a-z).');
  }
  const { did, change } = explainReply(ALL_BYTES, outcome, 'all 256 byte values');
  return problem('fail', summaryOf('a message holding all 256 byte values', outcome, 'a message holding all 256 byte values came back changed.'), did, change);
}

export function judgeLongMessage(outcome: TcpOutcome): Verdict {
  const expected = labUppercase(LONG_MESSAGE);
  if (outcome.reply.equals(expected)) return pass(`a ${LONG_MESSAGE.length}-byte message came back whole.`);
  const shape = classifyReply(LONG_MESSAGE, outcome.reply);
  if (shape === 'cut-short' || (shape === 'empty' && outcome.ended === 'reset')) {
    const got = outcome.reply.length;
    return problem('warn', `only ${got} of ${LONG_MESSAGE.length} bytes came back: the reply was cut short.`,
      `reads once with recv(${got === 1024 || got === 0 ? '1024' : 'N'}) and closes${outcome.ended === 'reset' ? ' with bytes still unread, so the kernel sent RST (a reset)' : ''}; ` +
      'the handout\'s TCPServer.py does the same, which is why this is a warning.',
      'loop: while True: data = recv(1024); if not data: break; send(data.upper()). Then close().');
  }
  const { did, change } = explainReply(LONG_MESSAGE, outcome, `a ${LONG_MESSAGE.length}-byte message`);
  return problem('fail', summaryOf(`a ${LONG_MESSAGE.length}-byte message`, outcome, `a ${LONG_MESSAGE.length}-byte message came back wrong.`), did, change);
}

/** A message sent in two parts SPLIT_GAP_MS apart: the first part is `first` bytes of `sent`. */
export function judgeSplitMessage(outcome: TcpOutcome, sent: Buffer, first: number): Verdict {
  const expected = labUppercase(sent);
  if (outcome.reply.equals(expected)) return pass(`a message sent in two segments ${SPLIT_GAP_MS} ms apart came back whole.`);
  if (outcome.reply.equals(expected.subarray(0, first))) {
    return problem('warn', `only the first of two segments (${SPLIT_GAP_MS} ms apart) came back.`,
      `answered ${showBytes(outcome.reply)} for the first segment and ${outcome.ended === 'silent' ? 'ignored' : 'closed before'} the second: ` +
      'it reads once with recv() (so does the handout\'s TCPServer.py). TCP is a byte stream: one send() may arrive as several recv()s.',
      'keep calling recv() until it returns b\'\', sending each piece back as it comes.');
  }
  const { did, change } = explainReply(sent, outcome, `a message in two segments ${SPLIT_GAP_MS} ms apart`);
  return problem('fail', summaryOf(`a message sent in two segments ${SPLIT_GAP_MS} ms apart`, outcome, `a message sent in two segments ${SPLIT_GAP_MS} ms apart came back wrong.`), did, change);
}

export function judgeHalfClose(outcome: TcpOutcome): Verdict {
  if (outcome.reply.equals(labUppercase(SAMPLE))) {
    return pass(outcome.finSent === false
      ? 'the reply came before the client\'s FIN (shutdown(SHUT_WR)) was due: this server does not wait for it.'
      : 'after the client\'s FIN (shutdown(SHUT_WR)), the reply still came.');
  }
  const { did, change } = explainReply(SAMPLE, outcome, 'the sample sent with FIN right after it');
  return problem('fail', 'the client sent the sample and then FIN (it will send nothing more): the reply did not come.', did,
    `${change} A FIN only means "no more data from the client"; the client still reads the reply.`);
}

/** What the concurrency check saw: whether the second client was answered while the first sat silent. */
export interface ConcurrentObservation { answeredWhileFirstWaits: boolean; answeredAfterFirstLeft: boolean; waitedMs: number }

export function judgeConcurrent(seen: ConcurrentObservation, what: 'message' | 'request'): Verdict {
  if (seen.answeredWhileFirstWaits) return pass(`a second client was answered while a first one was connected and silent.`);
  const later = seen.answeredAfterFirstLeft ? 'it was answered only after the first client had sent its ' + what : 'it was not answered even after the first client had sent its ' + what;
  return problem('warn', `a second client got no answer within ${(seen.waitedMs / 1000).toFixed(1)} s while a first one was connected and silent.`,
    `serves one connection at a time (accept, recv, send, close in one loop, like the handout's server); ${later}.`,
    'serve each connection in its own thread (threading.Thread(target=handle, args=(connectionSocket,)).start()), ' +
    'or use socketserver.ThreadingTCPServer; then one slow client cannot hold up the others.');
}

/** After bad clients (named in `after`), did a normal client still get its answer? */
export function judgeSurvives(answered: boolean, after: string, fault?: string, proto: 'TCP' | 'UDP' = 'TCP'): Verdict {
  if (answered) return pass(`after ${after}, a normal client was still answered.`);
  return problem('fail', `after ${after}, a normal client was not answered.`,
    fault ?? 'stopped answering: it hangs, or its loop ended.',
    proto === 'TCP'
      ? 'one client must never stop the server: catch the exceptions of one connection (try/except around its handling) and go back to accept().'
      : 'one datagram must never stop the server: catch the exceptions of one datagram (try/except around its handling) and go back to recvfrom().');
}

/** A check ran, and afterwards the server no longer listened: the check failed, whatever it saw. */
export function markDied(verdict: Verdict, output?: string, proto: 'TCP' | 'UDP' = 'TCP'): Verdict {
  const did = /^what it did: (.*)$/m.exec(verdict.detail)?.[1];
  const change = /^what to change: (.*)$/m.exec(verdict.detail)?.[1];
  const catchAll = 'catch the errors of one client (try/except around the handling of one connection or datagram), ' +
    'so that one client can never stop the server.';
  return {
    status: 'fail',
    summary: verdict.status === 'pass' ? 'the server died during this check.' : `the server died during this check; ${verdict.summary}`,
    detail: `what it did: ${did ? `${did} ` : ''}Then it ${proto === 'TCP' ? 'stopped accepting connections' : 'stopped answering (its port is closed: ICMP port unreachable)'}: an uncaught exception ended it${output === undefined ? '' : ' (its output is below)'}.\n` +
      `what to change: ${change && /try\/except/.test(change) ? change : change ? `${change} And ${catchAll}` : catchAll[0].toUpperCase() + catchAll.slice(1)}` +
      (output === undefined ? '' : output.trim() ? `\nits output (last lines):\n${output}` : '\nits output: (nothing)'),
  };
}

// UDP ----------------------------------------------------------------------------------------

/** One datagram that came in, and where from. */
export interface Datagram { data: Buffer; from: { address: string; port: number } }

export function judgeUdpReply(reply: Buffer | undefined, tries: number, seconds: number): Verdict {
  if (reply === undefined) {
    return problem('fail', `no reply to the sample datagram after ${tries} tries of ${seconds} s each.`,
      'stayed silent. UDP is connectionless (handout Q2): the client gets no error when nothing listens, the port is wrong, or the datagram is lost.',
      'start the server first, check the port on both sides, and answer each datagram with sendto(reply, clientAddress).');
  }
  return judgeSample({ reply });
}

export function judgeLargeDatagram(reply: Buffer | undefined): Verdict {
  const expected = labUppercase(LARGE_DATAGRAM);
  if (reply?.equals(expected)) return pass(`a ${LARGE_DATAGRAM.length}-byte datagram came back whole.`);
  if (reply === undefined) {
    return problem('fail', `a ${LARGE_DATAGRAM.length}-byte datagram got no reply.`, 'stayed silent.',
      'answer every datagram, whatever its size; one datagram carries up to 65507 bytes over IPv4.');
  }
  if (classifyReply(LARGE_DATAGRAM, reply) === 'cut-short') {
    return problem('warn', `only ${reply.length} of ${LARGE_DATAGRAM.length} bytes came back: the datagram was cut.`,
      `reads with recvfrom(${reply.length}), and the kernel discards the rest of a longer datagram (the handout's UDPServer.py reads 2048).`,
      'read with a buffer as large as a datagram can be: recvfrom(65535).');
  }
  const { did, change } = explainReply(LARGE_DATAGRAM, { reply }, `a ${LARGE_DATAGRAM.length}-byte datagram`);
  return problem('fail', `a ${LARGE_DATAGRAM.length}-byte datagram came back wrong.`, did, change);
}

export function judgeEmptyDatagram(reply: Buffer | undefined): Verdict {
  if (reply === undefined) return pass('an empty datagram was ignored (no reply), and the server goes on.');
  if (reply.length === 0) return pass('an empty datagram was answered with an empty datagram.');
  return problem('warn', `an empty datagram was answered with ${reply.length} bytes.`, `answered ${showBytes(reply)}.`,
    'the uppercase of nothing is nothing: answer with an empty datagram, or not at all.');
}

/** Two clients on two ports each sent a message; what each received, and from where. */
export interface ReplyToSenderObservation {
  server: { address: string; port: number };
  clients: { sent: Buffer; port: number; received: Datagram[] }[];
}

export function judgeReplyToSender(seen: ReplyToSenderObservation): Verdict {
  const fromServer = (d: Datagram) => d.from.port === seen.server.port;
  const problems: string[] = [];
  let wrongSource: Datagram | undefined;
  for (const client of seen.clients) {
    const own = client.received.find((d) => d.data.equals(labUppercase(client.sent)));
    const others = client.received.filter((d) => d !== own);
    if (!own) problems.push(`the client on port ${client.port} got no reply to ${showBytes(client.sent)}`);
    else if (!fromServer(own)) wrongSource = own;
    if (others.length > 0) problems.push(`the client on port ${client.port} also got ${showBytes(others[0].data)}, a reply meant for the other client`);
  }
  if (problems.length === 0 && !wrongSource) return pass('two clients on different ports each got their own reply, at their own address and port.');
  if (problems.length === 0 && wrongSource) {
    return problem('fail', `the replies came from port ${wrongSource.from.port}, not from the server's port ${seen.server.port}.`,
      'sends its replies through another socket than the one it received on.',
      'reply with serverSocket.sendto(modifiedMessage, clientAddress), through the socket bound to the port: a client that ' +
      'connect()ed its UDP socket (as udp-client does) drops datagrams from any other port.');
  }
  return problem('fail', 'two clients on different ports did not each get their own reply.', `${problems.join('; ')}.`,
    'send each reply to the address recvfrom() returned with that very datagram: message, clientAddress = ' +
    'serverSocket.recvfrom(2048); serverSocket.sendto(reply, clientAddress). Never a fixed port or a remembered address.');
}

// Web ----------------------------------------------------------------------------------------

/** An HTTP response as it came off the wire, read leniently so each check can judge its own part. */
export interface HttpResponse {
  statusLine: string;
  status?: number;
  /** How the head ended: CRLF CRLF as RFC 9112 says, bare LF LF, or no empty line at all. */
  headEnd: 'crlf' | 'lf' | 'missing';
  headers: Map<string, string>;
  body: Buffer;
  /** The server closed the connection (rather than going silent) after what we got. */
  closed: boolean;
  raw: Buffer;
}

/** Splits a response into status line, header lines and body; never throws on a broken one. */
export function parseHttpResponse(raw: Buffer, closed: boolean): HttpResponse {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  let headEnd: HttpResponse['headEnd'];
  let head: string;
  let body: Buffer;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) {
    headEnd = 'crlf'; head = raw.subarray(0, crlf).toString('latin1'); body = raw.subarray(crlf + 4);
  } else if (lf >= 0) {
    headEnd = 'lf'; head = raw.subarray(0, lf).toString('latin1'); body = raw.subarray(lf + 2);
  } else {
    // No empty line: take the lines that look like header lines as the head, the rest as the body.
    headEnd = 'missing';
    let at = 0;
    let first = true;
    while (at < raw.length) {
      const nl = raw.indexOf('\n', at);
      if (nl < 0) break;
      const line = raw.subarray(at, nl).toString('latin1').replace(/\r$/, '');
      if (!first && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(line)) break;
      first = false;
      at = nl + 1;
    }
    head = raw.subarray(0, at).toString('latin1').replace(/\r?\n$/, '');
    body = raw.subarray(at);
  }
  const [statusLine = '', ...lines] = head.split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1];
  return { statusLine, status: status === undefined ? undefined : Number(status), headEnd, headers, body, closed, raw };
}

/** The body as the server meant it: cut at Content-Length when that is a number. */
export function bodyOf(response: HttpResponse): Buffer {
  const length = Number(response.headers.get('content-length'));
  return Number.isInteger(length) && length >= 0 && response.headers.has('content-length') ? response.body.subarray(0, length) : response.body;
}

function noAnswer(path: string, response: HttpResponse | undefined, t: number): string | undefined {
  if (!response) return `sent nothing for GET ${path} within ${t} s`;
  if (response.raw.length === 0) return `${response.closed ? 'closed the connection' : 'stayed silent'} without answering GET ${path}`;
  return undefined;
}

export function judgeStatusLine(path: string, response: HttpResponse, t: number): Verdict {
  const none = noAnswer(path, response, t);
  if (none) return problem('fail', `no status line came back for GET ${path}.`, `${none}.`, 'send a status line first: "HTTP/1.1 200 OK\\r\\n".');
  if (/^HTTP\/1\.[01] 200 [^\r\n]*$/.test(response.statusLine) && response.raw.includes(`${response.statusLine}\r\n`)) {
    return pass(`GET ${path} was answered "${response.statusLine}".`);
  }
  if (response.status !== undefined && response.status !== 200) {
    return problem('fail', `GET ${path} was answered with status ${response.status}, not 200.`, `answered ${showBytes(Buffer.from(response.statusLine, 'latin1'))}.`,
      `check that the file exists where the server looks (filename[1:] is relative to the folder the server was started in).`);
  }
  return problem('fail', `the first line of the answer to GET ${path} is not a valid status line.`,
    `began with ${showBytes(Buffer.from(response.statusLine, 'latin1'))}${response.raw.includes(`${response.statusLine}\r\n`) ? '' : ' (not ended by CRLF)'}.`,
    'begin with exactly "HTTP/1.1 200 OK\\r\\n": version, space, status code, space, reason phrase, CR LF.');
}

export function judgeHeadersEnd(response: HttpResponse): Verdict {
  if (response.raw.length === 0) return problem('fail', 'there was no answer to look at.', 'sent nothing.', 'send a status line, header lines and an empty line.');
  if (response.headEnd === 'crlf') return pass('the header lines end with an empty line (CRLF CRLF).');
  if (response.headEnd === 'lf') {
    return problem('fail', 'the header lines end with LF LF, not CRLF CRLF.', 'ends its lines with "\\n" only.',
      'end every header line with "\\r\\n", and the head with an empty line: "...\\r\\n\\r\\n".');
  }
  return problem('fail', 'no empty line ends the header lines: a browser reads the body as more header lines.',
    'sent the body straight after the header lines.', 'send "\\r\\n" once more after the last header line, so the head ends with "\\r\\n\\r\\n".');
}

export function judgeContentType(path: string, response: HttpResponse): Verdict {
  const type = response.headers.get('content-type');
  const expected = mimeLookup(path.split('?')[0]);
  if (type === undefined) {
    return problem('warn', 'no Content-Type header line: the browser has to guess what the file is.', 'sent no Content-Type.',
      `add "Content-Type: ${expected ?? 'text/html'}\\r\\n" (by the file's extension) to the header lines.`);
  }
  const media = type.split(';')[0].trim().toLowerCase();
  if (expected === undefined || media === expected) return pass(`Content-Type: ${showBytes(Buffer.from(type, 'latin1')).slice(1, -1)}.`);
  return problem('fail', `Content-Type says ${showBytes(Buffer.from(media))} but ${path} is ${expected}.`, `sent "Content-Type: ${showBytes(Buffer.from(type, 'latin1')).slice(1, -1)}".`,
    `choose the type from the file's extension (mimetypes.guess_type(filename)): ${expected} here.`);
}

export function judgeContentLength(response: HttpResponse): Verdict {
  const declared = response.headers.get('content-length');
  if (declared === undefined) {
    if (response.closed) {
      return problem('warn', 'no Content-Length header line; the body ends only because the server closes the connection.',
        'sent no Content-Length and closed after the body (so the client cannot tell a complete body from a cut one).',
        'add "Content-Length: N\\r\\n", N being the number of BYTES of the body: len(data) of the file read with open(name, "rb").');
    }
    return problem('fail', 'no Content-Length, and the connection stayed open: the client cannot tell where the body ends.',
      'sent no Content-Length and did not close.', 'add "Content-Length: N\\r\\n" (bytes of the body), or close the connection after the body.');
  }
  const length = Number(declared);
  if (!/^\d+$/.test(declared)) {
    return problem('fail', `Content-Length is ${showBytes(Buffer.from(declared, 'latin1'))}, not a number.`, 'sent a Content-Length that is not a whole number.',
      'send the body\'s size in bytes, e.g. "Content-Length: 1234\\r\\n".');
  }
  if (response.body.length === length) return pass(`Content-Length: ${length} matches the ${length}-byte body.`);
  const chars = response.body.toString('utf8').length;
  const characters = chars === length && chars !== response.body.length;
  return problem('fail', `Content-Length says ${length} but the body ${response.closed || response.body.length > length ? 'has' : 'had, when the server went silent,'} ${response.body.length} bytes.`,
    characters ? `counted characters (len() of a str), not bytes: letters like é take 2 bytes in UTF-8.` : `declared ${length} bytes and sent ${response.body.length}.`,
    'compute Content-Length from the bytes you send: read the file with open(name, "rb") and use len(data).');
}

export function judgeBody(response: HttpResponse, local: Buffer | undefined, localName?: string): Verdict {
  const body = bodyOf(response);
  if (local === undefined) {
    if (body.length > 0) return pass(`the body is ${body.length} bytes (give --local FILE to compare it byte for byte).`);
    return problem('fail', 'the body is empty.', 'sent no file content after the head.', 'send the file\'s bytes after the empty line that ends the head.');
  }
  if (body.equals(local)) return pass(`the body equals ${localName ?? 'the local file'} byte for byte (${local.length} bytes).`);
  const cutByLength = wrongLengthCut(response, local);
  if (cutByLength) return cutByLength;
  if (body.length > local.length && body.subarray(0, local.length).equals(local)) {
    return problem('fail', `the body has ${body.length - local.length} bytes more than ${localName ?? 'the file'}: ${showBytes(body.subarray(local.length))} at the end.`,
      `sent the file and then ${showBytes(body.subarray(local.length))} (the skeleton's connectionSocket.send("\\r\\n".encode()) adds these).`,
      'send the file\'s bytes and nothing after them.');
  }
  if (body.length < local.length && local.subarray(0, body.length).equals(body)) {
    return problem('fail', `the body is cut short: ${body.length} of ${local.length} bytes.`, `sent only the first ${body.length} bytes.`,
      'send the whole file: connectionSocket.sendall(data) sends every byte; send() may send fewer.');
  }
  const at = firstDifference(local, body);
  return problem('fail', `the body differs from ${localName ?? 'the file'} from byte ${at} on.`,
    `sent ${showBytes(body.subarray(at), 24)} where the file has ${showBytes(local.subarray(at), 24)} (${body.length} bytes for ${local.length}).`,
    'send the file\'s bytes unchanged: open(name, "rb"), read(), sendall().');
}

/** All the file's bytes were sent, but a wrong Content-Length makes a client keep fewer (or wait for more). */
function wrongLengthCut(response: HttpResponse, local: Buffer): Verdict | undefined {
  if (!response.body.equals(local) || bodyOf(response).length === local.length) return undefined;
  return problem('fail', `every byte of the file was sent, but Content-Length (${response.headers.get('content-length')}) tells the client to keep ${bodyOf(response).length} of its ${local.length} bytes.`,
    'sent the right bytes under a wrong Content-Length (see the content-length check).',
    'send Content-Length: len(data), with data the bytes of the file (open(name, "rb").read()).');
}

export function judgeBinaryBody(path: string, response: HttpResponse | undefined, local: Buffer | undefined, t: number): Verdict {
  const none = noAnswer(path, response, t);
  if (none || !response) {
    return problem('fail', `a binary file (${path}) did not come back.`,
      `${none}: reading a binary file in text mode (open(name) without "b") raises UnicodeDecodeError.`,
      'read files in binary mode, open(name, "rb"), and send the bytes as they are (no decode, no encode).');
  }
  if (response.status !== 200) {
    return problem('fail', `a binary file (${path}) was answered with status ${response.status ?? '(none)'}.`, `answered ${showBytes(Buffer.from(response.statusLine, 'latin1'))}.`,
      'serve every file, whatever its content: open(name, "rb").');
  }
  const body = bodyOf(response);
  if (local === undefined) {
    return body.length > 0
      ? pass(`a binary file came back (${body.length} bytes; give --binary-local FILE to compare it byte for byte).`)
      : problem('fail', `a binary file (${path}) came back empty.`, 'sent no body.', 'read the file with open(name, "rb") and send its bytes.');
  }
  if (body.equals(local)) return pass(`a binary file (${path}) came back byte-exact (${local.length} bytes).`);
  const cutByLength = wrongLengthCut(response, local);
  if (cutByLength) return cutByLength;
  const at = firstDifference(local, body);
  return problem('fail', `a binary file (${path}) came back corrupted: ${body.length} bytes for ${local.length}, different from byte ${at} on.`,
    'changed the bytes: reading in text mode and encoding the str again (or decode(errors=...)) does not give the same bytes back.',
    'read with open(name, "rb") and send the bytes unchanged: no str in between.');
}

export function judgeNotFound(path: string, response: HttpResponse | undefined, t: number): Verdict {
  const none = noAnswer(path, response, t);
  if (none || !response) {
    return problem('fail', `a missing file (${path}) got no answer.`, `${none}.`,
      'when open() raises an IOError (FileNotFoundError), answer "HTTP/1.1 404 Not Found\\r\\n", header lines, an empty line, and a short page.');
  }
  const body = bodyOf(response);
  if (response.status === 404 && body.length > 0) return pass(`a missing file (${path}) got "${response.statusLine}" with a ${body.length}-byte page.`);
  if (response.status === 404) {
    return problem('fail', `a missing file got status 404 but no page.`, 'sent the status line and no body: the browser shows a blank page.',
      'send a short page after the head, e.g. <html><body><h1>404 Not Found</h1></body></html>.');
  }
  const saysNotFound = /not\s*found/i.test(body.toString('latin1'));
  return problem('fail', `a missing file (${path}) got status ${response.status ?? '(none)'}, not 404${saysNotFound ? ', with a page that says "not found"' : ''}.`,
    `answered ${showBytes(Buffer.from(response.statusLine, 'latin1'))}: browsers, caches and search engines believe the status code, not the page.`,
    'answer "HTTP/1.1 404 Not Found\\r\\n" when the file does not exist (the handout: return a "404 Not Found" error message).');
}

/** Whether an answer is the file, complete: status 200 and the expected body. */
export function isRightAnswer(response: HttpResponse | undefined, expectedBody: Buffer | undefined): boolean {
  if (!response || response.status !== 200) return false;
  const body = bodyOf(response);
  return expectedBody ? body.equals(expectedBody) : body.length > 0;
}

export function judgeSplitRequest(path: string, response: HttpResponse | undefined, expectedBody: Buffer | undefined): Verdict {
  if (isRightAnswer(response, expectedBody)) return pass(`a request whose header lines came ${SPLIT_GAP_MS} ms after its request line was answered right.`);
  const got = response?.raw.length ? `answered ${showBytes(Buffer.from(response.statusLine, 'latin1'))} with a ${bodyOf(response).length}-byte body` : 'did not answer';
  return problem('warn', `a request whose header lines came ${SPLIT_GAP_MS} ms after its request line was not answered right.`,
    `${got}: it reads the request with one recv(), which returns only what has arrived so far.`,
    'read until the empty line that ends the head ("\\r\\n\\r\\n") has arrived: loop on recv() and add up the pieces.');
}

export function judgeBrowserRequest(response: HttpResponse | undefined, expectedBody: Buffer | undefined, t: number): Verdict {
  if (isRightAnswer(response, expectedBody) && response && (response.closed || response.headers.has('content-length'))) {
    return pass('a request shaped like Chromium\'s (keep-alive, Accept, User-Agent, a 600-byte head) got a complete answer.');
  }
  const got = !response?.raw.length ? `sent nothing within ${t} s`
    : response.status !== 200 ? `answered ${showBytes(Buffer.from(response.statusLine, 'latin1'))}`
      : !response.closed && !response.headers.has('content-length') ? 'kept the connection open (the browser asked for keep-alive) with no Content-Length, so the body never ends'
        : `sent a body that differs from the one a plain request got (${bodyOf(response).length} bytes)`;
  return problem('fail', 'a request shaped like Chromium\'s (keep-alive, Accept, User-Agent, a 600-byte head) did not get a complete answer.',
    `${got}.`, 'read the whole head (up to "\\r\\n\\r\\n"), and either send Content-Length or close the connection after the body.');
}

/** The first lines of /etc/passwd, wherever it is served from: "root:x:0:0:...". */
export function looksLikePasswd(body: Buffer): boolean {
  return /^root:[^:\n]*:0:0:/m.test(body.toString('latin1'));
}

export function judgeTraversal(tries: { path: string; response: HttpResponse | undefined }[]): Verdict {
  const leaked = tries.filter((x) => x.response && looksLikePasswd(x.response.body));
  if (leaked.length === 0) return pass(`${tries.map((x) => x.path).join(' and ')} did not return /etc/passwd.`);
  return problem('fail', `SECURITY: ${leaked[0].path} returned the contents of /etc/passwd.`,
    `serves any file the server's user can read: "../" in the path climbs out of the folder (${leaked.map((x) => x.path).join(', ')}).`,
    'decode %XX first, then refuse any path with a ".." segment (answer 404 or 403), or resolve it (os.path.realpath) and check it stays inside the served folder.');
}

// ---------------------------------------------------------------------------------------------
// Part 2: the wire. Every exchange is bounded by the per-step timeout, and traced with -v.

interface Target { host: string; port: number; family: 0 | 4 | 6; timeoutMs: number; trace: Trace }

/** Connects, or resolves with the socket error (ECONNREFUSED: nothing listens). */
function connectTcp(target: Target): Promise<net.Socket | { error: unknown }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port, family: target.family, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => { socket.destroy(); resolve({ error: Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }) }); }, target.timeoutMs);
    socket.once('error', (error) => { clearTimeout(timer); resolve({ error }); });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      target.trace(`connected ${formatEndpoint(socket.localAddress, socket.localPort)} -> ${formatEndpoint(socket.remoteAddress, socket.remotePort)}`);
      resolve(socket);
    });
  });
}

interface TcpPlan {
  /** Sent in order, SPLIT_GAP_MS apart. */
  parts: Buffer[];
  /** Send FIN (shutdown(SHUT_WR)) this many ms after the last part. */
  fin?: number;
  /** The reply is complete (stop waiting a moment after this). */
  complete: (reply: Buffer) => boolean;
}

type TcpResult = TcpOutcome | { error: unknown };

/** One conversation: connect, send the parts, collect the reply until complete, closed, reset or silent. */
async function talkTcp(target: Target, plan: TcpPlan): Promise<TcpResult> {
  const socket = await connectTcp(target);
  if ('error' in socket) return socket;
  return converse(socket, target, plan);
}

function converse(socket: net.Socket, target: Target, plan: TcpPlan): Promise<TcpOutcome> {
  const { trace } = target;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let finished = false;
    let sending = true;
    let finSent = false;
    let idle: NodeJS.Timeout | undefined;
    const reply = () => Buffer.concat(chunks);
    const finish = (ended: TcpEnd) => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      hangUp(socket);
      resolve({ reply: reply(), ended, finSent });
    };
    // Silence is judged from the last thing that happened: our last send, or their last byte.
    const waitForMore = (ms = target.timeoutMs) => {
      clearTimeout(idle);
      idle = setTimeout(() => (sending ? waitForMore() : finish(plan.complete(reply()) ? 'enough' : 'silent')), ms);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      trace(`received ${chunk.length} bytes: ${showBytes(chunk, 4096)}`);
      // A complete reply still gets a moment for anything extra (a newline, a second copy).
      waitForMore(plan.complete(reply()) && !sending ? Math.min(100, target.timeoutMs) : target.timeoutMs);
    });
    socket.on('end', () => { trace('the server closed its side (FIN)'); finish('closed'); });
    socket.on('error', (err) => { trace(`error: ${errorCode(err) ?? err.message}`); finish(errorCode(err) === 'ECONNRESET' || errorCode(err) === 'EPIPE' ? 'reset' : 'closed'); });
    socket.on('close', () => finish('closed'));
    waitForMore();
    void (async () => {
      for (const [i, part] of plan.parts.entries()) {
        if (i > 0) await sleep(SPLIT_GAP_MS);
        if (finished || socket.destroyed) return;
        socket.write(part);
        trace(`sent ${part.length} bytes: ${showBytes(part, 4096)}`);
      }
      // A server that answers its one recv() and closes at once would cross FINs with ours, and a
      // simultaneous close leaves TIME_WAIT on its port for 60 s: a server without SO_REUSEADDR (the
      // handout's) could not bind it again. So the FIN waits a moment, and is not sent once the
      // server has closed: a reply that came without it came all the same.
      if (plan.fin !== undefined && plan.parts.length > 0) await sleep(plan.fin);
      if (plan.fin !== undefined && !finished) {
        socket.end();
        finSent = true;
        trace('sent FIN (half-close: nothing more from the client)');
      }
      sending = false;
      waitForMore(plan.complete(reply()) ? Math.min(100, target.timeoutMs) : target.timeoutMs);
    })();
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function expectBytes(n: number): (reply: Buffer) => boolean {
  return (reply) => reply.length >= n;
}

/**
 * Ends our side of a conversation. When the server closed first, we answer its FIN with RST: its
 * socket then skips TIME_WAIT (60 s on Linux), which would otherwise keep a server without
 * SO_REUSEADDR (the handout's) from binding its port again when --run restarts it.
 */
function hangUp(socket: net.Socket, reset = false): void {
  if (socket.destroyed) return;
  if (reset || socket.readableEnded) socket.resetAndDestroy(); else socket.destroy();
}

/**
 * Hangs up once the server has closed its side, or after `ms`. A server that answers and closes
 * at once would otherwise cross FINs with us: a simultaneous close leaves TIME_WAIT on both sides.
 */
async function hangUpAfterServer(socket: net.Socket, ms: number): Promise<void> {
  if (!socket.readableEnded && !socket.destroyed) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      socket.once('end', () => { clearTimeout(timer); resolve(); });
      socket.once('close', () => { clearTimeout(timer); resolve(); });
    });
  }
  hangUp(socket);
}

/** An HTTP exchange: the request in parts, the answer read until it is complete or the server closes. */
async function talkHttp(target: Target, parts: Buffer[]): Promise<HttpResponse | { error: unknown }> {
  const result = await talkTcp(target, { parts, complete: httpComplete });
  if ('error' in result) return result;
  return parseHttpResponse(result.reply, result.ended === 'closed' || result.ended === 'reset');
}

/** Complete when the head has ended and Content-Length bytes of body are in. */
function httpComplete(reply: Buffer): boolean {
  const end = reply.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(reply.subarray(0, end).toString('latin1'))?.[1];
  return length !== undefined && reply.length - end - 4 >= Number(length);
}

function plainRequest(target: Target, path: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader(target)}\r\nConnection: close\r\n\r\n`);
}

function hostHeader({ host, port }: Target): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/** The head Chromium sends for a page, padded to about 600 bytes as with a few cookies. */
export function browserRequest(host: string, path: string): Buffer {
  const head = [
    `GET ${path} HTTP/1.1`, `Host: ${host}`, 'Connection: keep-alive',
    'sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"', 'sec-ch-ua-mobile: ?0', 'sec-ch-ua-platform: "Linux"',
    'Upgrade-Insecure-Requests: 1',
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
    'Sec-Fetch-Site: none', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-User: ?1', 'Sec-Fetch-Dest: document',
    'Accept-Encoding: gzip, deflate, br, zstd', 'Accept-Language: en-US,en;q=0.9',
  ].join('\r\n');
  const padding = Math.max(0, 600 - head.length - 4 - 'Cookie: lab='.length - 2);
  return Buffer.from(`${head}\r\nCookie: lab=${'x'.repeat(padding)}\r\n\r\n`);
}

/** A UDP socket "connected" to the server: the kernel reports its ICMP port-unreachable as ECONNREFUSED. */
async function udpSocket(target: Target, connected: boolean): Promise<dgram.Socket> {
  const socket = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    if (connected) socket.connect(target.port, target.host, () => resolve());
    else socket.bind(0, net.isIPv6(target.host) ? '::' : '0.0.0.0', () => resolve());
  });
  socket.removeAllListeners('error');
  return socket;
}

/** Sends one datagram and waits for one reply, sending again after each silent timeout (like udp-client). */
async function askUdp(target: Target, message: Buffer, tries: number): Promise<{ reply?: Buffer; refused?: unknown }> {
  const socket = await udpSocket(target, true);
  try {
    return await new Promise((resolve) => {
      let attempt = 0;
      let timer: NodeJS.Timeout | undefined;
      socket.on('message', (reply) => {
        target.trace(`received ${reply.length} bytes: ${showBytes(reply, 4096)}`);
        clearTimeout(timer);
        resolve({ reply });
      });
      socket.on('error', (err) => {
        target.trace(`error: ${errorCode(err) ?? err.message} (ICMP port unreachable: nothing listens there)`);
        clearTimeout(timer);
        resolve({ refused: err });
      });
      const send = () => {
        attempt++;
        socket.send(message);
        target.trace(`sent ${message.length} bytes (try ${attempt} of ${tries}): ${showBytes(message, 4096)}`);
        timer = setTimeout(() => (attempt < tries ? send() : resolve({})), target.timeoutMs);
      };
      send();
    });
  } finally {
    socket.close();
  }
}

// The student's server (--run) -----------------------------------------------------------------

/** A server started from --run: its own process group, so that stopping it stops its children too. */
interface StudentServer { child: ChildProcess; output: string; exited: boolean }

function startStudentServer(command: string, trace: Trace): StudentServer {
  // PYTHONUNBUFFERED: a Python server's prints would otherwise sit in its buffer when it dies.
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  const server: StudentServer = { child, output: '', exited: false };
  const keep = (chunk: Buffer) => { server.output = (server.output + chunk.toString('utf8')).slice(-20000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => { server.exited = true; trace(`--run: the server (PID ${child.pid}) exited (${signal ?? `code ${code}`})`); });
  trace(`--run: started "${command}" as PID ${child.pid}, in its own process group`);
  return server;
}

/** Ends the process group of a server we started, and only that one. */
async function stopStudentServer(server: StudentServer): Promise<void> {
  const pid = server.child.pid;
  if (pid === undefined) return;
  signalGroup(pid, 'SIGTERM');
  for (let waited = 0; !server.exited && waited < 1000; waited += 20) await sleep(20);
  signalGroup(pid, 'SIGKILL'); // children it left behind (the group outlives its leader)
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

/**
 * Whether something is bound to `port` on this host, from /proc/net: a connect() to find out
 * would itself be a client with an empty request, and the skeleton WebServer.py dies of that.
 */
export function portInUse(kind: Kind, port: number, tables = readProcNet(kind)): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  // st 0A is LISTEN for TCP; any bound UDP socket counts.
  return tables.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1]?.endsWith(hex) && (kind === 'udp' || f[3] === '0A');
  });
}

function readProcNet(kind: Kind): string {
  const proto = kind === 'udp' ? 'udp' : 'tcp';
  return [proto, `${proto}6`].map((f) => { try { return readFileSync(`/proc/net/${f}`, 'utf8'); } catch { return ''; } }).join('\n');
}

async function waitUntilListening(kind: Kind, port: number, server: StudentServer, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (portInUse(kind, port)) return true;
    if (server.exited) return false;
    await sleep(25);
  }
  return false;
}

/** The last lines of a server's output, escaped for the terminal and indented under the check. */
export function lastLines(output: string, count = 12): string {
  // A server that prints "Ready to serve..." per request would fill the lines before its traceback.
  const runs: { line: string; times: number }[] = [];
  for (const line of output.replace(/\n$/, '').split('\n')) {
    if (runs.length && runs[runs.length - 1].line === line) runs[runs.length - 1].times++;
    else runs.push({ line, times: 1 });
  }
  return runs.slice(-count).map(({ line, times }) => `  | ${showText(Buffer.from(line), 200)}${times > 1 ? `   (${times} times)` : ''}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Part 3: running the checks in order, and the command line.

interface Session {
  kind: Kind;
  target: Target;
  /** Makes a normal request and says whether the server still accepts connections. */
  isAlive: () => Promise<boolean>;
  run?: { command: string; server?: StudentServer; startMs: number };
}

type CheckBody = () => Promise<Verdict> | Verdict;

/** What stops the whole run: nothing listens (exit 69), with the explanation the clients give. */
class NothingListens extends Error {
  readonly explanation: ExplainedError;
  constructor(explanation: ExplainedError) {
    super(explanation.message);
    this.explanation = explanation;
  }
}

async function runChecks(session: Session, checks: Record<string, { body: CheckBody; touchesServer: boolean }>, ids: readonly string[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let diedDuring: string | undefined;
  for (const id of ids) {
    if (diedDuring) {
      results.push({ id, ...skip(`not run: the server died during the ${diedDuring} (start it again, or use --run).`) });
      continue;
    }
    const check = checks[id];
    session.target.trace(`--- check ${id}`);
    let verdict = await check.body();
    const last = id === ids[ids.length - 1];
    if (check.touchesServer && verdict.status !== 'skip' && !(await stillAlive(session))) {
      verdict = markDied(verdict, session.run?.server ? lastLines(session.run.server.output) : undefined, session.kind === 'udp' ? 'UDP' : 'TCP');
      if (session.run && !last) {
        try {
          await restart(session);
        } catch (err) {
          if (!(err instanceof NothingListens)) throw err;
          diedDuring = `${id} check, and --run could not start it again`;
          verdict = { ...verdict, detail: `${verdict.detail}\n${err.explanation.message}` };
        }
      } else if (!session.run) diedDuring = `${id} check`;
    }
    results.push({ id, ...verdict });
  }
  return results;
}

async function stillAlive(session: Session): Promise<boolean> {
  if (session.run) {
    await sleep(30); // a crash closes the socket a moment before the process is gone
    if (session.run.server?.exited) return false;
  }
  return (await session.isAlive()) && !(session.run?.server?.exited);
}

async function startAndWait(session: Session): Promise<void> {
  const run = session.run!;
  let server: StudentServer;
  for (let attempt = 1; ; attempt++) {
    server = run.server = startStudentServer(run.command, session.target.trace);
    if (await waitUntilListening(session.kind, session.target.port, server, run.startMs)) return;
    // A connection of the dead server may still hold the port for a moment: try again, briefly.
    if (attempt === 5 || !/address already in use/i.test(server.output)) break;
    await sleep(300);
  }
  const output = lastLines(server.output);
  await stopStudentServer(server);
  const what = server.exited ? 'exited before it listened' : `did not listen within ${run.startMs / 1000} s`;
  const why = /address already in use/i.test(server.output)
    ? 'The port is still held: by another program, or by a connection of the server\'s last run that the kernel keeps ' +
      'for 60 s (TIME_WAIT); serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind() lets it bind anyway.'
    : 'Does it take that port from its command line?';
  throw new NothingListens(new ExplainedError(`--run: "${run.command}" ${what} on ${session.kind === 'udp' ? 'UDP' : 'TCP'} ` +
    `port ${session.target.port}. ${why} Its output:\n${output || '  | (nothing)'}`, EXIT.unavailable));
}

async function restart(session: Session): Promise<void> {
  if (session.run?.server) await stopStudentServer(session.run.server);
  session.target.trace('--run: starting the server again for the remaining checks');
  await startAndWait(session);
}

// TCP checks ---------------------------------------------------------------------------------

function tcpChecks(session: Session): Record<string, { body: CheckBody; touchesServer: boolean }> {
  const target = session.target;
  const ask = async (message: Buffer | Buffer[], fin?: number): Promise<TcpOutcome> => {
    const parts = Array.isArray(message) ? message : [message];
    const result = await talkTcp(target, { parts, fin, complete: expectBytes(Buffer.concat(parts).length) });
    return 'error' in result ? { reply: Buffer.alloc(0), ended: errorCode(result.error) === 'ETIMEDOUT' ? 'silent' : 'closed' } : result;
  };
  const probe = (body: CheckBody) => ({ body, touchesServer: true });
  const splitAt = 7; // "hello, " | "welcome"
  return {
    connect: probe(async () => {
      const socket = await connectTcp(target);
      if ('error' in socket) throw new NothingListens(explainNetworkError(socket.error, { proto: 'TCP', host: target.host, port: target.port, during: 'connect' }));
      // Not a silent hang-up: a server that dies of an empty request is the survives check's business.
      await converse(socket, target, { parts: [SAMPLE], complete: expectBytes(SAMPLE.length) });
      return pass(`a connection to ${formatEndpoint(target.host, target.port)} is accepted.`);
    }),
    sample: probe(async () => judgeSample(await ask(SAMPLE))),
    'only-a-z': probe(async () => judgeOnlyAToZ(await ask(MIXED))),
    'binary-safe': probe(async () => judgeBinarySafe(await ask(ALL_BYTES))),
    'long-message': probe(async () => judgeLongMessage(await ask(LONG_MESSAGE))),
    'split-message': probe(async () => judgeSplitMessage(await ask([SAMPLE.subarray(0, splitAt), SAMPLE.subarray(splitAt)]), SAMPLE, splitAt)),
    'half-close': probe(async () => judgeHalfClose(await ask(SAMPLE, Math.min(100, target.timeoutMs)))),
    concurrent: probe(async () => judgeConcurrent(await secondClientWhileFirstWaits(target, SAMPLE, expectBytes(SAMPLE.length)), 'message')),
    survives: probe(async () => {
      await badClients(target, [Buffer.from('hel')]);
      const answered = (await ask(SAMPLE)).reply.equals(labUppercase(SAMPLE));
      return judgeSurvives(answered, 'a client that reset its connection and one that connected and sent nothing');
    }),
  };
}

/**
 * A first client connects and says nothing; a second asks. Then the first sends its own request,
 * so that a one-at-a-time server gets a real request from it rather than an empty one.
 */
async function secondClientWhileFirstWaits(target: Target, request: Buffer, complete: (r: Buffer) => boolean): Promise<ConcurrentObservation> {
  const first = await connectTcp(target);
  if ('error' in first) return { answeredWhileFirstWaits: false, answeredAfterFirstLeft: false, waitedMs: 0 };
  await sleep(50);
  const second = await connectTcp(target);
  if ('error' in second) { hangUp(first); return { answeredWhileFirstWaits: false, answeredAfterFirstLeft: false, waitedMs: 0 }; }
  const started = Date.now();
  let answeredAt: number | undefined;
  const chunks: Buffer[] = [];
  second.on('data', (c: Buffer) => {
    chunks.push(c);
    target.trace(`second client received ${c.length} bytes: ${showBytes(c, 4096)}`);
    if (answeredAt === undefined && complete(Buffer.concat(chunks))) answeredAt = Date.now();
  });
  second.on('end', () => { if (answeredAt === undefined && chunks.length > 0) answeredAt = Date.now(); });
  second.resume();
  second.on('error', () => {});
  second.write(request);
  target.trace(`second client sent ${request.length} bytes while the first is silent`);
  for (let waited = 0; answeredAt === undefined && waited < target.timeoutMs; waited += 20) await sleep(20);
  const whileWaiting = answeredAt !== undefined;
  const waitedMs = (answeredAt ?? Date.now()) - started;
  target.trace('first client now sends its request');
  const firstDone = converse(first, target, { parts: [request], complete });
  for (let waited = 0; answeredAt === undefined && waited < 2 * target.timeoutMs; waited += 20) await sleep(20);
  await firstDone;
  await hangUpAfterServer(second, Math.min(200, target.timeoutMs));
  return { answeredWhileFirstWaits: whileWaiting, answeredAfterFirstLeft: answeredAt !== undefined, waitedMs };
}

/** Clients a server meets in the wild: one that resets mid-message, one that connects and says nothing. */
async function badClients(target: Target, resetAfter: Buffer[]): Promise<void> {
  const resetter = await connectTcp(target);
  if (!('error' in resetter)) {
    for (const part of resetAfter) resetter.write(part);
    await sleep(50);
    target.trace('client resets its connection (RST)');
    hangUp(resetter, true);
  }
  await sleep(50);
  const silent = await connectTcp(target);
  if (!('error' in silent)) {
    target.trace('client connects, sends nothing, and closes');
    await converse(silent, target, { parts: [], fin: 0, complete: () => false });
  }
}

// UDP checks ---------------------------------------------------------------------------------

function udpChecks(session: Session): Record<string, { body: CheckBody; touchesServer: boolean }> {
  const target = session.target;
  const tries = 3;
  const once = async (message: Buffer) => (await askUdp(target, message, 1)).reply;
  const probe = (body: CheckBody) => ({ body, touchesServer: true });
  const silent = (what: string) => problem('fail', `${what} got no reply within ${target.timeoutMs / 1000} s.`, 'stayed silent.',
    'answer every datagram with serverSocket.sendto(reply, clientAddress); run the server in a terminal to see whether an exception ended it.');
  return {
    reply: probe(async () => {
      const { reply, refused } = await askUdp(target, SAMPLE, tries);
      if (refused) throw new NothingListens(explainNetworkError(refused, { proto: 'UDP', host: target.host, port: target.port, during: 'connect' }));
      return judgeUdpReply(reply, tries, target.timeoutMs / 1000);
    }),
    'only-a-z': probe(async () => {
      const reply = await once(MIXED);
      return reply === undefined ? silent('a message mixing upper case, digits, &*!, é and ß') : judgeOnlyAToZ({ reply });
    }),
    'binary-safe': probe(async () => {
      const reply = await once(ALL_BYTES);
      if (reply === undefined) {
        return problem('fail', 'a datagram holding all 256 byte values got no reply.',
          'stayed silent: decode() raises UnicodeDecodeError on bytes 0x80-0xff, which are not UTF-8.',
          'do not decode(): call upper() on the bytes recvfrom() returned (bytes.upper() changes only a-z).');
      }
      return judgeBinarySafe({ reply });
    }),
    'reply-to-sender': probe(async () => judgeReplyToSender(await twoClients(target))),
    'large-datagram': probe(async () => judgeLargeDatagram(await once(LARGE_DATAGRAM))),
    'empty-datagram': probe(async () => judgeEmptyDatagram(await once(Buffer.alloc(0)))),
    survives: probe(async () => {
      const garbage = await udpSocket(target, true);
      garbage.send(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0d, 0x0a]));
      target.trace('sent 8 bytes of garbage (not UTF-8)');
      const vanished = await udpSocket(target, true);
      vanished.send(SAMPLE);
      vanished.close(); // its reply will find no socket: the server's host gets ICMP port unreachable
      target.trace('a client sent the sample and closed its socket at once');
      await sleep(100);
      garbage.close();
      const { reply } = await askUdp(target, SAMPLE, tries);
      return judgeSurvives(reply?.equals(labUppercase(SAMPLE)) ?? false, 'a garbage datagram and a client that vanished before its reply', undefined, 'UDP');
    }),
  };
}

/** Two unconnected sockets on two ports each send their own message; whatever comes back is kept. */
async function twoClients(target: Target): Promise<ReplyToSenderObservation> {
  const messages = [Buffer.from('first client, port one'), Buffer.from('second client, port two')];
  const sockets = await Promise.all(messages.map(() => udpSocket(target, false)));
  const clients = sockets.map((socket, i) => ({ sent: messages[i], port: socket.address().port, received: [] as Datagram[] }));
  sockets.forEach((socket, i) => socket.on('message', (data, from) => {
    target.trace(`client on port ${clients[i].port} received ${data.length} bytes from ${formatEndpoint(from.address, from.port)}: ${showBytes(data, 4096)}`);
    clients[i].received.push({ data, from: { address: from.address, port: from.port } });
  }));
  for (const [i, socket] of sockets.entries()) {
    socket.send(messages[i], target.port, target.host);
    target.trace(`client on port ${clients[i].port} sent ${showBytes(messages[i])}`);
    await sleep(20);
  }
  for (let waited = 0; waited < target.timeoutMs && !clients.every((c) => c.received.length > 0); waited += 20) await sleep(20);
  await sleep(Math.min(100, target.timeoutMs)); // a reply to the wrong client may still be on its way
  for (const socket of sockets) socket.close();
  return { server: { address: target.host, port: target.port }, clients };
}

// Web checks ---------------------------------------------------------------------------------

interface WebOptions { path: string; local?: Buffer; localName?: string; binaryPath?: string; binaryLocal?: Buffer }

function webChecks(session: Session, options: WebOptions): Record<string, { body: CheckBody; touchesServer: boolean }> {
  const target = session.target;
  const { path } = options;
  const t = target.timeoutMs / 1000;
  let first: HttpResponse = parseHttpResponse(Buffer.alloc(0), false);
  const get = async (parts: Buffer[]) => {
    const response = await talkHttp(target, parts);
    return 'error' in response ? undefined : response;
  };
  // What this server sends for PATH when asked plainly: the later checks compare against that, so
  // that a body that differs from --local is the body check's failure alone.
  const expectedBody = () => (first.status === 200 ? bodyOf(first) : options.local);
  const probe = (body: CheckBody) => ({ body, touchesServer: true });
  const judged = (body: CheckBody) => ({ body, touchesServer: false });
  return {
    connect: probe(async () => {
      const response = await talkHttp(target, [plainRequest(target, path)]);
      if ('error' in response) throw new NothingListens(explainNetworkError(response.error, { proto: 'TCP', host: target.host, port: target.port, during: 'connect' }));
      first = response;
      return pass(`a connection to ${formatEndpoint(target.host, target.port)} is accepted.`);
    }),
    'status-line': judged(() => judgeStatusLine(path, first, t)),
    'headers-end': judged(() => judgeHeadersEnd(first)),
    'content-type': judged(() => (first.raw.length ? judgeContentType(path, first) : problem('fail', 'there was no answer to look at.', 'sent nothing.', 'send a head first.'))),
    'content-length': judged(() => (first.raw.length ? judgeContentLength(first) : problem('fail', 'there was no answer to look at.', 'sent nothing.', 'send a head first.'))),
    body: judged(() => judgeBody(first, options.local, options.localName)),
    'binary-body': options.binaryPath === undefined
      ? judged(() => skip('not run: give --binary PATH (an image the server serves), and --binary-local FILE to compare it.'))
      : probe(async () => judgeBinaryBody(options.binaryPath!, await get([plainRequest(target, options.binaryPath!)]), options.binaryLocal, t)),
    'not-found': probe(async () => {
      const missing = `/lab-check-no-such-file-${process.pid}.html`;
      return judgeNotFound(missing, await get([plainRequest(target, missing)]), t);
    }),
    'split-request': probe(async () => {
      const request = plainRequest(target, path);
      const cut = request.indexOf('\r\n') + 2;
      return judgeSplitRequest(path, await get([request.subarray(0, cut), request.subarray(cut)]), expectedBody());
    }),
    'browser-request': probe(async () => judgeBrowserRequest(await get([browserRequest(hostHeader(target), path)]), expectedBody(), t)),
    traversal: probe(async () => {
      const paths = ['/../../../../../../../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd'];
      const tries = [];
      for (const p of paths) tries.push({ path: p, response: await get([plainRequest(target, p)]) });
      return judgeTraversal(tries);
    }),
    concurrent: probe(async () => judgeConcurrent(await secondClientWhileFirstWaits(target, plainRequest(target, path), (r) => httpComplete(r)), 'request')),
    survives: probe(async () => {
      const steps: [string, () => Promise<void>][] = [
        ['an empty request (connect, then close)', async () => {
          const s = await connectTcp(target);
          if (!('error' in s)) await converse(s, target, { parts: [], fin: 0, complete: () => false });
        }],
        ['a garbage request line', async () => { await talkTcp(target, { parts: [Buffer.from('\x16\x03\x01 garbage\r\n\r\n')], complete: () => false }); }],
        ['a client that reset its connection mid-request', () => badResetOnly(target, Buffer.from('GET / HT'))],
      ];
      for (const [what, step] of steps) {
        await step();
        const response = await get([plainRequest(target, path)]);
        if (!isRightAnswer(response, expectedBody())) {
          const died = response === undefined;
          return judgeSurvives(false, what, died
            ? `stopped answering after ${what}${what.startsWith('an empty request')
              ? ' (the skeleton\'s message.split()[1] raises IndexError on an empty request, and only IOError is caught)' : ''}.`
            : `did not answer a normal request right after ${what}.`);
        }
      }
      return judgeSurvives(true, 'an empty request, a garbage request line and a reset');
    }),
  };
}

async function badResetOnly(target: Target, part: Buffer): Promise<void> {
  const s = await connectTcp(target);
  if ('error' in s) return;
  s.write(part);
  await sleep(50);
  target.trace('client resets its connection (RST)');
  hangUp(s, true);
  await sleep(50);
}

// Command line -------------------------------------------------------------------------------

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'the lab\'s test bench: probes your TCP, UDP or web server of the handout\'s kind and says, ' +
    'check by check, what it does right and wrong (PASS, WARN, FAIL), and what to change.',
  usage: [
    'tcp HOST PORT            a TCP uppercase server (handout Task 1, TCPServer.py)',
    'udp HOST PORT            a UDP uppercase server (handout Task 1, UDPServer.py)',
    'web HOST PORT PATH [--local FILE] [--binary PATH [--binary-local FILE]]   a web server (Task 2); PATH names a file it serves',
  ],
  options: [
    { name: 'run', value: 'COMMAND', help: 'start the server yourself (e.g. \'python3 TCPServer.py 12000\'), wait for its port, check, stop it; restarted when a check kills it' },
    { name: 'json', help: 'print one JSON document on stdout (for autograders) instead of the report' },
    { name: 'timeout', short: 't', value: 'SECONDS', help: 'wait this long at each step for the server (default 2)' },
    { name: 'local', value: 'FILE', help: 'web: the file PATH should serve, compared byte for byte with the body' },
    { name: 'binary', value: 'PATH', help: 'web: also fetch this binary file (an image) and check it comes back intact' },
    { name: 'binary-local', value: 'FILE', help: 'web: the local copy of --binary PATH, compared byte for byte' },
    ...COMMON_OPTIONS.filter((o) => o.name !== 'quiet'),
  ],
  examples: [
    ['lab-check tcp 127.0.0.1 12000', 'check the TCPServer.py running on port 12000'],
    ['lab-check udp 127.0.0.1 12000 --run \'python3 UDPServer.py\'', 'start UDPServer.py, check it, stop it'],
    ['lab-check web 127.0.0.1 6789 /hello.html --local hello.html --binary /cat.jpg --binary-local cat.jpg', 'check a web server and the two files it serves'],
    ['lab-check --json -t 0.5 tcp 127.0.0.1 12000 --run \'python3 TCPServer.py\'', 'what an autograder runs: one JSON document'],
  ],
  notes: `Each check prints PASS, WARN or FAIL, its id and one sentence; a WARN or FAIL also says what
the server did and what to change. WARN means "the handout's own program does this too; a better
server would not". SKIP means the check could not run: without --run, every check after the one
during which the server died (that check says so); binary-body without --binary.
Check ids (stable, for graders):
  tcp: ${CHECK_IDS.tcp.join(' ')}
  udp: ${CHECK_IDS.udp.join(' ')}
  web: ${CHECK_IDS.web.join(' ')}
--run runs COMMAND with /bin/sh in a process group of its own, waits (up to 10 s) until the port
is bound, and stops that group (SIGTERM, then SIGKILL) at the end. Its output (a Python
traceback) is shown under the check that made it die, and it is started again for the rest.`,
  exitCodes: [
    [0, 'no check failed (warnings are lessons, not failures)'],
    [1, 'at least one check failed'],
    64, 68,
    [69, 'nothing listens at all (or the --run server never listened)'],
    70,
    [71, 'the port is already taken before --run starts the server'],
  ],
};

/** The report as text: one line per check, details indented, a summary line. */
export function formatReport(report: Report): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines = [`lab-check ${report.kind} ${report.target}`];
  for (const check of report.checks) {
    lines.push(`${check.status.toUpperCase().padEnd(4)} ${check.id.padEnd(width)}  ${check.summary}`);
    if (check.status === 'warn' || check.status === 'fail') for (const line of check.detail.split('\n')) lines.push(`       ${line}`);
  }
  const { pass: p, warn: w, fail: f, skip: s } = report.counts;
  lines.push(`${report.checks.length} checks: ${p} passed, ${w} warned, ${f} failed${s ? `, ${s} skipped` : ''}.${f ? '' : w ? ' No check failed; the warnings are lessons.' : ' Well done.'}`);
  return `${lines.join('\n')}\n`;
}

export function countStatuses(checks: CheckResult[]): Record<Status, number> {
  const counts: Record<Status, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return counts;
}

function readLocal(flags: Flags, name: string): Buffer | undefined {
  const file = flags[name];
  if (typeof file !== 'string') return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`--${name} ${file}: cannot read it (${errorCode(err) ?? 'error'}); give the local copy of the file the server serves`);
  }
}

interface Invocation { kind: Kind; target: Target; web?: WebOptions; run?: string; json: boolean }

function parseInvocation(argv: string[]): Invocation {
  const { flags, positionals } = parseCommandLine(spec, argv);
  const [kind, host, port, path, ...extra] = positionals;
  if (kind === undefined) throw new UsageError('missing what to check: tcp, udp or web; usage: lab-check tcp HOST PORT (see lab-check --help)');
  if (kind !== 'tcp' && kind !== 'udp' && kind !== 'web') throw new UsageError(`unknown kind "${kind}": give tcp, udp or web, e.g. lab-check tcp 127.0.0.1 12000`);
  const needs = kind === 'web' ? 'HOST PORT PATH' : 'HOST PORT';
  if (host === undefined || port === undefined || (kind === 'web' && path === undefined)) {
    throw new UsageError(`missing ${needs.split(' ').slice(positionals.length - 1).join(' and ')}; usage: lab-check ${kind} ${needs}`);
  }
  if ((kind === 'web' ? extra.length : path !== undefined ? 1 : 0) > 0) {
    throw new UsageError(`too many arguments after "lab-check ${kind} ${needs}": quote the --run command ('python3 Server.py 12000')`);
  }
  if (kind === 'web' && !path.startsWith('/')) throw new UsageError(`PATH "${path}" must start with /, as in a request line: e.g. /hello.html`);
  for (const webOnly of ['local', 'binary', 'binary-local']) {
    if (kind !== 'web' && flags[webOnly] !== undefined) throw new UsageError(`--${webOnly} is for web checks only`);
  }
  if (flags['binary-local'] !== undefined && flags.binary === undefined) throw new UsageError('--binary-local FILE needs --binary PATH (the path the server serves it at)');
  if (typeof flags.binary === 'string' && !flags.binary.startsWith('/')) throw new UsageError(`--binary "${flags.binary}" must start with /, e.g. /cat.jpg`);
  const family = familyOf(flags);
  const target: Target = {
    host: checkFamily(checkHost(host), family), port: parsePort(port), family,
    timeoutMs: parseSeconds(flags, 'timeout', 2) * 1000, trace: createTrace(PROGRAM, Boolean(flags.verbose)),
  };
  const web = kind === 'web' ? {
    path, local: readLocal(flags, 'local'), localName: typeof flags.local === 'string' ? flags.local : undefined,
    binaryPath: typeof flags.binary === 'string' ? flags.binary : undefined, binaryLocal: readLocal(flags, 'binary-local'),
  } : undefined;
  return { kind, target, web, run: typeof flags.run === 'string' ? flags.run : undefined, json: Boolean(flags.json) };
}

/** UDP needs an address to send to; resolve a name once, as a failure to resolve is a usage matter. */
async function resolveHost(target: Target): Promise<void> {
  if (net.isIP(target.host)) return;
  try {
    target.host = (await lookup(target.host, { family: target.family })).address;
  } catch (err) {
    throw explainNetworkError(err, { proto: 'UDP', host: target.host, port: target.port, during: 'connect' });
  }
}

async function main(): Promise<void> {
  const invocation = parseInvocation(process.argv.slice(2));
  const { kind, target } = invocation;
  await resolveHost(target);
  const session: Session = { kind, target, isAlive: async () => true };
  session.isAlive = aliveProbe(kind, target, invocation.web?.path ?? '/');
  const targetName = formatEndpoint(target.host, target.port);
  let results: CheckResult[];
  let exitCode: ExitCode | 1 = EXIT.ok;
  try {
    if (invocation.run !== undefined) {
      if (portInUse(kind, target.port)) {
        throw new ExplainedError(`--run: ${kind === 'udp' ? 'UDP' : 'TCP'} port ${target.port} is already in use before your server starts: ` +
          'another server (maybe an earlier copy of yours) has it. Stop that one, or pick another port.', EXIT.osErr);
      }
      session.run = { command: invocation.run, startMs: 10000 };
      // Whatever ends lab-check ends the student's server too: Ctrl-C and kill do not run 'exit' handlers.
      const stopServerNow = () => { if (session.run?.server?.child.pid) signalGroup(session.run.server.child.pid, 'SIGKILL'); };
      process.on('exit', stopServerNow);
      process.once('SIGINT', () => { stopServerNow(); process.exit(130); });
      process.once('SIGTERM', () => { stopServerNow(); process.exit(143); });
      await startAndWait(session);
    }
    const checks = kind === 'tcp' ? tcpChecks(session) : kind === 'udp' ? udpChecks(session) : webChecks(session, invocation.web!);
    results = await runChecks(session, checks, CHECK_IDS[kind]);
  } catch (err) {
    if (!(err instanceof NothingListens)) throw err;
    // Nothing to check at all: the report says so (graders get their JSON), and so does the exit status.
    const first = CHECK_IDS[kind][0];
    results = CHECK_IDS[kind].map((id) => (id === first
      ? { id, status: 'fail' as const, summary: `nothing answers at ${targetName}.`, detail: `what it did: ${err.explanation.message}\nwhat to change: ${session.run
        ? 'make the --run command start the server on that port (try it by hand in a terminal first).'
        : 'start the server first, and give lab-check the port the server binds.'}` }
      : { id, ...skip(`not run: nothing answers at ${targetName}.`) }));
    exitCode = EXIT.unavailable;
    // The text report says it under its first check; beside JSON, stderr is where a person looks.
    if (invocation.json) process.stderr.write(`${PROGRAM}: ${err.explanation.message}\n`);
  } finally {
    if (session.run?.server) await stopStudentServer(session.run.server);
  }
  const report: Report = { kind, target: targetName, checks: results, counts: countStatuses(results) };
  process.stdout.write(invocation.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  if (exitCode === EXIT.ok && report.counts.fail > 0) exitCode = 1;
  exitWhenFlushed(exitCode as ExitCode);
}

/** A normal request after a check: false only when nothing accepts connections any more. */
function aliveProbe(kind: Kind, target: Target, path: string): () => Promise<boolean> {
  const quiet: Target = { ...target, trace: (event) => target.trace(`(is it alive?) ${event}`) };
  if (kind === 'udp') {
    // Only the ICMP "port unreachable" of a dead server matters here, and on a LAN it is back in
    // well under a millisecond: one short try, not the full per-step timeout for a silent server.
    const brief: Target = { ...quiet, timeoutMs: Math.min(target.timeoutMs, 300) };
    return async () => !(await askUdp(brief, SAMPLE, 1)).refused;
  }
  const request = kind === 'web' ? plainRequest(target, path) : SAMPLE;
  return async () => {
    const result = await talkTcp(quiet, { parts: [request], complete: kind === 'web' ? httpComplete : expectBytes(SAMPLE.length) });
    return !('error' in result);
  };
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main);
