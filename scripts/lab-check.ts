// lab-check: the lab's test bench for the servers students write. It probes a running server of the
// handout's kind (TCPServer.py, UDPServer.py, WebServer.py) and says, check by check, what it does
// right and wrong, in the lab's words. --json gives an autograder the same verdicts; --run starts
// the student's server itself, reads its traceback when it dies, and starts it again.
//
// A grade rests on every sentence, so a reason names a cause only when the evidence shows it (the
// reply's bytes, the server's traceback, its exit status); otherwise it says what happened and
// what may cause it. And the server may be hostile: every exchange is bounded in time and bytes,
// and nothing from the wire reaches the terminal raw.
//
// The file reads in four parts:
//   1. what each check sends, and how one reply is judged (pure: bytes in, a verdict out);
//   2. what the server shows of itself (its traceback, how it ended), and how the checks'
//      verdicts become the report: a death blamed on the request that caused it, one FAIL per
//      cause (pure: observations in, the report out);
//   3. the wire and the process: bounded exchanges over TCP, UDP and HTTP; the --run server;
//   4. the checks in order, and the command line.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { lookup as mimeLookup } from 'mrmime';
import {
  COMMON_OPTIONS, checkFamily, checkHost, familyOf, parseCommandLine, parsePort, parseSeconds, type Flags, type ProgramSpec,
} from '../lib/cli.ts';
import { ExplainedError, FinishedEarly, UsageError, exitWhenFlushed, runProgram } from '../lib/program.ts';
import { EXIT, type ExitCode } from '../lib/exit-codes.ts';
import { errorCode, explainNetworkError } from '../lib/network-errors.ts';
import { escapeForPeople } from '../lib/terminal-text.ts';
import { byteCount, createTrace, formatEndpoint, isTracing, type Trace } from '../lib/trace.ts';
import { uppercaseAscii } from '../lib/uppercase.ts';

const PROGRAM = 'lab-check';

// ---------------------------------------------------------------------------------------------
// Part 1: the checks' messages and verdicts. Pure: bytes in, PASS/WARN/FAIL and sentences out.

export type Kind = 'tcp' | 'udp' | 'web';
export type Status = 'pass' | 'warn' | 'fail' | 'skip';

/**
 * What one check concluded: one sentence, and for WARN/FAIL what the server did and what to
 * change. `cause` (not in the report) names the root cause of a WARN or FAIL, so that a second
 * check that fails only because of it is not counted again.
 */
export interface Verdict {
  status: Status; summary: string; detail: string;
  cause?: string;
  /** The parts of a WARN or FAIL's detail, kept so that Part 2 can add the server's own evidence. */
  did?: string; change?: string;
  /** Causes the bytes alone cannot prove: said as possibilities, and dropped when a traceback tells. */
  guess?: string;
}
export interface CheckResult { id: string; status: Status; summary: string; detail: string }
export interface Report { kind: Kind; target: string; checks: CheckResult[]; counts: Record<Status, number>; notes: string[] }

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
export const MIXED = Buffer.from('Hello, World! ABC xyz 0123 &*! café straße\n');
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** Longer than the handout's recv(1024) and than one 1460-byte segment. */
export const LONG_MESSAGE = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(67).slice(0, 3000));
/** Longer than the handout's recvfrom(2048). */
export const LARGE_DATAGRAM = Buffer.from('a datagram larger than recvfrom(2048) reads; '.repeat(89).slice(0, 4000));
/** What the first, silent client of the concurrency check says once the second has been answered. */
export const FIRST_CLIENT_MESSAGE = Buffer.from('the first client speaks last');
/** How long the second part of a split message or request waits: a slow typist, or a slow link. */
export const SPLIT_GAP_MS = 300;
/**
 * A reply may be this many times as long as the right one (plus a little) before the exchange
 * stops reading: enough to see what was added, never so much that a hostile server fills memory.
 */
export const REPLY_FACTOR = 4;
/** The most a response head may take (a browser's limit is of this order; node:http's is 16 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** The most a body may take when its size is unknown (no --local): an image of a few MB fits. */
export const MAX_UNKNOWN_BODY = 16 * 1024 * 1024;
/** Each exchange ends this many per-step timeouts after it began, however the server trickles. */
export const EXCHANGE_TIMEOUTS = 3;
/** UDP: datagrams sent for the reply check (the loss rate) and for every other probe. */
export const UDP_COPIES = { reply: 30, probe: 10 } as const;

/** The lab's transform, on a copy: a-z become A-Z, every other byte stays. */
export function labUppercase(bytes: Uint8Array): Buffer {
  return uppercaseAscii(Buffer.from(bytes));
}

const pass = (summary: string, detail = ''): Verdict => ({ status: 'pass', summary, detail });
const skip = (summary: string): Verdict => ({ status: 'skip', summary, detail: '' });
/** A WARN or FAIL: the sentence, then what the server did and what to change, each on its own line. */
function problem(status: 'warn' | 'fail', summary: string, did: string, change: string, cause?: string, guess?: string): Verdict {
  return { status, summary, detail: renderDetail(did, change, guess), did, change, ...(cause ? { cause } : {}), ...(guess ? { guess } : {}) };
}

function renderDetail(did: string, change: string, guess?: string, output?: string): string {
  return `what it did: ${did}${guess ? ` ${guess}` : ''}\nwhat to change: ${change}` +
    (output === undefined ? '' : output.trim() ? `\nits output (last lines):\n${output}` : '\nits output: (nothing)');
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

/** A line of an HTTP head (read as latin1) as the report shows it: quoted and escaped. */
const showLine = (line: string, max = 80) => showBytes(Buffer.from(line, 'latin1'), max);

/**
 * How a TCP exchange ended: the server closed (FIN) or reset (RST), said nothing more for the
 * step's timeout, or we had the whole reply; or we stopped it: more bytes than a reply can be
 * (too-much), still arriving when the exchange's time was up (too-slow); or no connection at all.
 */
export type TcpEnd = 'closed' | 'reset' | 'silent' | 'enough' | 'too-much' | 'too-slow' | 'refused';
export interface TcpOutcome { reply: Buffer; ended: TcpEnd; finSent?: boolean }

/** What a reply to an uppercase request looks like, compared with what the lab's transform gives. */
export type ReplyShape = 'exact' | 'empty' | 'cut-short' | 'str-upper' | 'swapcase' | 'lowercased' | 'unchanged' | 'replacement-chars' | 'longer' | 'prefixed' | 'different';

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
  if (reply.equals(lowerAscii(sent)) || (isText && reply.equals(Buffer.from(text.toLowerCase())))) return 'lowercased';
  if (reply.includes(Buffer.from('\ufffd')) && !sent.includes(Buffer.from('\ufffd'))) return 'replacement-chars';
  if (reply.length > expected.length && reply.subarray(0, expected.length).equals(expected)) return 'longer';
  if (reply.length > expected.length && reply.subarray(reply.length - expected.length).equals(expected)) return 'prefixed';
  return 'different';
}

/** Python's bytes.swapcase(): A-Z and a-z trade places, nothing else changes. */
function swapCaseAscii(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => (b >= 0x41 && b <= 0x5a ? b + 32 : b >= 0x61 && b <= 0x7a ? b - 32 : b)));
}

/** Python's bytes.lower(): A-Z become a-z. */
function lowerAscii(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => (b >= 0x41 && b <= 0x5a ? b + 32 : b)));
}

/** Python's str.swapcase(), near enough to recognise it. */
function swapCase(text: string): string {
  return [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}

/**
 * The rule a server's letters follow, as the sample and only-a-z checks showed it, when it is
 * one of the classic wrong ones. Later checks test their own property (a long message whole, two
 * segments, the reply after FIN) against what this server does to letters, so that one mistake
 * with letters is one FAIL, not one per check.
 */
export type LetterRule = 'unchanged' | 'lowercased' | 'swapcase' | 'str-upper';

/** The reply a server following `rule` gives for `sent` (the lab's transform when it has none). */
export function replyByRule(sent: Buffer, rule?: LetterRule): Buffer | undefined {
  switch (rule) {
    case undefined: return labUppercase(sent);
    case 'unchanged': return Buffer.from(sent);
    case 'lowercased': return lowerAscii(sent);
    case 'swapcase': return swapCaseAscii(sent);
    case 'str-upper': {
      const text = sent.toString('utf8');
      return Buffer.from(text).equals(sent) ? Buffer.from(text.toUpperCase()) : undefined;
    }
  }
}

/** The rule a wrong reply shows, if it is one of the classic ones (with or without a strip() of the ends). */
export function letterRuleOf(sent: Buffer, reply: Buffer): LetterRule | undefined {
  const shape = classifyReply(sent, reply);
  if (shape === 'unchanged' || shape === 'lowercased' || shape === 'swapcase' || shape === 'str-upper') return shape;
  return strippedBy(sent, reply)?.rule;
}

/** Python's bytes.strip(): the ASCII whitespace at both ends goes. */
function stripAscii(bytes: Buffer): Buffer {
  let start = 0;
  let end = bytes.length;
  const space = (b: number | undefined) => b === 0x20 || (b !== undefined && b >= 0x09 && b <= 0x0d);
  while (start < end && space(bytes[start])) start++;
  while (end > start && space(bytes[end - 1])) end--;
  return bytes.subarray(start, end);
}

/** The reply is what a rule gives, with the whitespace at its ends removed: strip() (from the Python docs' socketserver example). */
function strippedBy(sent: Buffer, reply: Buffer): { rule: LetterRule | undefined } | undefined {
  for (const rule of [undefined, 'swapcase', 'lowercased', 'unchanged', 'str-upper'] as const) {
    const whole = replyByRule(sent, rule);
    if (whole && !whole.equals(reply) && stripAscii(whole).equals(reply)) return { rule };
  }
  return undefined;
}

const RULE_WORDS: Record<LetterRule, string> = {
  unchanged: 'left the letters as they were', lowercased: 'lowercased the letters (lower())', swapcase: 'swapped the case of letters (swapcase())', 'str-upper': 'decoded and called str.upper()',
};

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

/** A recv() buffer size a student would write (the handout reads 1024). */
function looksLikeBufferSize(n: number): boolean {
  return [512, 1000, 1024, 2000, 2048, 4000, 4096, 8192].includes(n);
}

/** How an exchange ended, as the end of a "what it did" sentence. */
function howItEnded(ended: TcpEnd | undefined, t: number): string {
  switch (ended) {
    case 'closed': return 'then closed the connection';
    case 'reset': return 'then reset the connection (RST)';
    case 'silent': return `then sent nothing more for ${t} s and kept the connection open`;
    case 'too-slow': return 'and was still sending when the exchange\'s time was up';
    default: return 'and then nothing more';
  }
}

/** What went wrong with a reply, in a TA's words: what the server did, what to change, and the cause's key. */
interface Finding { did: string; change: string; cause: string; guess?: string }

/**
 * What the server did with a message, and what to change, for each shape of wrong reply. A cause
 * is named only when the bytes show it; where they cannot (no reply at all), the likely causes
 * are given as possibilities, and --run's traceback, when there is one, replaces them (Part 2).
 */
function explainReply(sent: Buffer, outcome: TcpOutcome | { reply: Buffer; ended?: undefined }, how: string, t: number, rule?: LetterRule): Finding {
  const { reply, ended } = outcome;
  const expected = replyByRule(sent, rule) ?? labUppercase(sent);
  if (ended === 'too-much') {
    return { did: `sent more than ${reply.length} bytes for ${how} (${sent.length} bytes), ${showBytes(reply.subarray(0, 24), 24)} first; lab-check stopped reading.`,
      change: 'send back one reply per piece received, exactly as long as that piece: nothing added, nothing sent twice, no loop that keeps sending.', cause: 'too-much' };
  }
  if (ended === 'too-slow' && !expected.subarray(0, reply.length).equals(reply)) {
    return { did: `was still sending after ${EXCHANGE_TIMEOUTS * t} s (${reply.length} bytes so far) for ${how}.`,
      change: 'send the whole reply at once with sendall(data.upper()), right after each recv().', cause: 'too-slow' };
  }
  if (ended === 'too-slow') {
    return { did: `sent only ${reply.length} of ${expected.length} bytes in ${EXCHANGE_TIMEOUTS * t} s for ${how}: it trickles its reply.`,
      change: 'send the whole reply at once with sendall(data.upper()), right after each recv().', cause: 'too-slow' };
  }
  if (reply.length === 0) {
    if (ended === 'silent') {
      return { did: `sent nothing back for ${how} in ${t} s, and kept the connection open.`,
        change: 'reply right after each recv(): the client waits for the reply before it closes its side.', cause: 'no-reply:silent',
        guess: 'Possible causes: it waits for more before it answers (e.g. it reads until recv() returns b\'\', which happens only when the client closes), or it is stuck elsewhere.' };
    }
    return { did: `${ended === 'reset' ? 'reset' : 'closed'} the connection without sending anything back for ${how}.`,
      change: 'send the reply before close().', cause: `no-reply:${ended ?? 'closed'}`,
      guess: 'Possible causes: an exception ended the handler before it sent (run the server in a terminal, or let lab-check start it with --run, to see the traceback), or it closes before sending.' };
  }
  const stripped = strippedBy(sent, reply);
  if (stripped) {
    return { did: `removed the whitespace at the ends (strip())${stripped.rule ? ` and ${RULE_WORDS[stripped.rule]}` : ''}: ${fromDifference(sent, reply)}.`,
      change: `do not strip(): send back every byte, spaces and line ends included${stripped.rule ? `; and ${stripped.rule === 'swapcase' || stripped.rule === 'lowercased' || stripped.rule === 'unchanged' ? 'use upper()' : 'call upper() on the bytes, without decode()'}` : ''}.`,
      cause: 'stripped' };
  }
  if (reply.length < expected.length && expected.subarray(0, reply.length).equals(reply)) {
    const loop = 'loop on recv() and send each piece back, until recv() returns b\'\' (the client closed its side); then close().';
    if (looksLikeBufferSize(reply.length)) {
      return { did: `sent back only the first ${reply.length} of ${expected.length} bytes for ${how}, ${howItEnded(ended, t)}. ${reply.length} is a recv() buffer size: ` +
        `it reads once with recv(${reply.length}) and answers only that.`, change: `one recv() returns at most its buffer size: ${loop}`, cause: 'cut-short' };
    }
    return { did: `sent back only the first ${reply.length} of ${expected.length} bytes for ${how}, ${howItEnded(ended, t)}.`,
      change: `send back every byte received: ${loop}`, cause: 'cut-short',
      guess: `Possible causes: one recv() returned only part of the message and it answered just that${ended === 'reset' ? ', or it closed abruptly (RST: SO_LINGER 0, or a close() with bytes still unread)' : ''}` +
        `${ended === 'silent' ? ', or it sends its reply slowly' : ''}, or an exception stopped it midway.` };
  }
  switch (classifyReply(sent, reply)) {
    case 'str-upper':
      return { did: `decodes the bytes and calls str.upper(), which changes more than a-z: ${fromDifference(sent, reply)}.`,
        change: 'call upper() on the bytes recv() returned, without decode(): bytes.upper() changes only a-z (handout Task 1 a).', cause: 'letters:str-upper' };
    case 'swapcase':
      return { did: `swaps the case of letters (swapcase()): ${fromDifference(sent, reply)}.`,
        change: 'use upper(): an upper-case letter must stay as it is (handout Task 1 b).', cause: 'letters:swapcase' };
    case 'unchanged':
      return { did: `echoed ${how} back without uppercasing it: the reply equals what was sent.`,
        change: 'call .upper() on what recv() returned before send().', cause: 'letters:unchanged' };
    case 'lowercased':
      return { did: `turned upper case into lower case: ${fromDifference(sent, reply)} (lower() instead of upper()?).`,
        change: 'call upper(), not lower(): a-z become A-Z, and A-Z stay (handout Task 1).', cause: 'letters:lowercased' };
    case 'replacement-chars':
      return { did: `replaced bytes that are not UTF-8 text with U+FFFD (EF BF BD): ${fromDifference(sent, reply)}.`,
        change: 'do not decode(): the service works on bytes, and bytes.upper() changes only a-z.', cause: 'replacement-chars' };
    case 'longer':
      return { did: `sent back ${reply.length - expected.length} bytes more than it got (${showBytes(reply.subarray(expected.length))} at the end).`,
        change: 'send back exactly the transformed bytes, nothing added (no newline, no prompt).', cause: 'longer' };
    case 'prefixed':
      return { did: `sent ${reply.length - expected.length} bytes before the right reply: ${showBytes(reply.subarray(0, reply.length - expected.length))}.`,
        change: 'send back exactly the transformed bytes, nothing added (no greeting, no prompt, no escape sequences).', cause: 'longer' };
    default: {
      const at = firstDifference(expected, reply);
      return { did: `sent back ${reply.length} bytes for ${expected.length}; from byte ${at} on, ${showBytes(reply.subarray(at), 24)} instead of ${showBytes(expected.subarray(at), 24)}.`,
        change: 'change only the bytes a-z (0x61-0x7a) to A-Z; send every other byte back as it came.', cause: 'different' };
    }
  }
}

/** The one sentence for a check whose message got nothing back at all, or else `otherwise`. */
function summaryOf(what: string, outcome: TcpOutcome | { reply: Buffer; ended?: undefined }, otherwise: string): string {
  if (outcome.ended === 'too-much') return `${what} got an endless or oversized reply.`;
  if (outcome.reply.length > 0) return otherwise;
  const ended = outcome.ended ?? 'silent';
  return `${what} got no reply${ended === 'reset' ? ': the server reset the connection' : ended === 'closed' ? ': the server closed the connection' : ''}.`;
}

/** A reply that is right by the server's own letter rule: the check's property holds, the letters are another check's. */
function byRule(sent: Buffer, reply: Buffer, rule: LetterRule | undefined): boolean {
  return rule !== undefined && replyByRule(sent, rule)?.equals(reply) === true;
}
const RULE_NOTE = (rule: LetterRule) => ` (its letters follow the same rule as before: ${rule === 'unchanged' ? 'unchanged' : rule === 'str-upper' ? 'str.upper()' : rule === 'lowercased' ? 'lower()' : 'swapcase()'})`;

type Reply = TcpOutcome | { reply: Buffer; ended?: undefined };

export function judgeSample(outcome: Reply, t = 2): Verdict {
  if (outcome.reply.equals(labUppercase(SAMPLE)) && outcome.ended !== 'too-much') return pass('"hello, welcome" came back as "HELLO, WELCOME".');
  const { did, change, cause, guess } = explainReply(SAMPLE, outcome, 'the handout\'s sample "hello, welcome"', t);
  return problem('fail', summaryOf('the handout\'s sample "hello, welcome"', outcome, `the handout's sample came back as ${showBytes(outcome.reply, 30)}, not "HELLO, WELCOME".`), did, change, cause, guess);
}

export function judgeOnlyAToZ(outcome: Reply, t = 2, rule?: LetterRule): Verdict {
  if (outcome.ended !== 'too-much') {
    if (outcome.reply.equals(labUppercase(MIXED))) return pass('only a-z changed: upper case, digits, &*!, é, ß and the line end came back byte for byte.');
    // An echo keeps every other byte as it is: that is this check's property; a-z is the sample's.
    if (rule === 'unchanged' && outcome.reply.equals(MIXED)) return pass('upper case, digits, &*!, é, ß and the line end came back byte for byte (a-z did not change either: see sample).');
  }
  const { did, change, cause, guess } = explainReply(MIXED, outcome, 'a message mixing upper case, digits, &*!, é, ß and a line end', t);
  return problem('fail', summaryOf('a message mixing upper case, digits, &*!, é, ß and a line end', outcome, 'a message mixing upper case, digits, &*!, é, ß and a line end came back with more than a-z changed.'), did, change, cause, guess);
}

export function judgeBinarySafe(outcome: Reply, t = 2, rule?: LetterRule): Verdict {
  if (outcome.ended !== 'too-much') {
    if (outcome.reply.equals(labUppercase(ALL_BYTES))) return pass('all 256 byte values came back with only a-z changed.');
    if (byRule(ALL_BYTES, outcome.reply, rule)) return pass(`all 256 byte values came back; every byte that is not a letter unchanged${RULE_NOTE(rule!)}.`);
  }
  const { did, change, cause, guess } = explainReply(ALL_BYTES, outcome, 'all 256 byte values', t, rule);
  if (outcome.reply.length === 0 && outcome.ended !== 'silent' && outcome.ended !== 'too-much') {
    // No traceback here (Part 2 adds it under --run): UnicodeDecodeError is the likely cause, not a fact.
    return problem('fail', 'a message holding all 256 byte values got no reply.', did,
      'do not decode(): call upper() on the bytes recv() returned (bytes.upper() changes only a-z).', cause,
      'A likely cause: bytes 0x80-0xff are not UTF-8, so a decode() of them raises UnicodeDecodeError (run the server in a terminal, or with --run, to see its traceback).');
  }
  return problem('fail', summaryOf('a message holding all 256 byte values', outcome, 'a message holding all 256 byte values came back changed.'), did, change, cause, guess);
}

export function judgeLongMessage(outcome: TcpOutcome, t = 2, rule?: LetterRule): Verdict {
  const expected = replyByRule(LONG_MESSAGE, rule) ?? labUppercase(LONG_MESSAGE);
  if (outcome.ended !== 'too-much' && outcome.reply.equals(expected)) {
    return pass(`a ${LONG_MESSAGE.length}-byte message came back whole${rule ? RULE_NOTE(rule) : ''}.`);
  }
  const got = outcome.reply.length;
  // The handout's TCPServer.py: one recv(1024), send, close, with the rest unread (so RST). The
  // cut at a buffer size is the evidence; any other cut is explained as what it is.
  if (got > 0 && got < expected.length && expected.subarray(0, got).equals(outcome.reply) && looksLikeBufferSize(got) && (outcome.ended === 'closed' || outcome.ended === 'reset')) {
    return problem('warn', `only ${got} of ${LONG_MESSAGE.length} bytes came back: the reply was cut short.`,
      `answered the first ${got} bytes and ${outcome.ended === 'reset' ? 'closed with bytes still unread, so the kernel sent RST (a reset)' : 'closed'}: ` +
      `it reads once, with recv(${got})${got === 1024 ? ', as the handout\'s TCPServer.py does' : '; the handout\'s TCPServer.py does the same with recv(1024)'}, which is why this is a warning.`,
      'loop: while True: data = recv(1024); if not data: break; send(data.upper()). Then close().', 'reads-once');
  }
  const { did, change, cause, guess } = explainReply(LONG_MESSAGE, outcome, `a ${LONG_MESSAGE.length}-byte message`, t, rule);
  return problem('fail', summaryOf(`a ${LONG_MESSAGE.length}-byte message`, outcome, `a ${LONG_MESSAGE.length}-byte message came back wrong.`), did, change, cause, guess);
}

/**
 * A message sent in two parts SPLIT_GAP_MS apart: the first part is `first` bytes of `sent`.
 * `added`: bytes the sample check saw added after its reply; added after each part here, they
 * are that check's mistake, not this one's.
 */
export function judgeSplitMessage(outcome: TcpOutcome, sent: Buffer, first: number, t = 2, rule?: LetterRule, added?: Buffer): Verdict {
  const expected = replyByRule(sent, rule) ?? labUppercase(sent);
  if (added && added.length >= 4 && outcome.reply.includes(added)) {
    const without = Buffer.from(outcome.reply.toString('latin1').split(added.toString('latin1')).join(''), 'latin1');
    if (without.equals(expected) || without.equals(expected.subarray(0, first))) {
      return problem('fail', 'the same bytes were added after each reply here too.', `sent ${showBytes(added, 24)} after each part's reply.`,
        'send back exactly the transformed bytes, nothing added.', 'longer');
    }
  }
  if (outcome.ended !== 'too-much' && outcome.reply.equals(expected)) {
    return pass(`a message sent in two segments ${SPLIT_GAP_MS} ms apart came back whole${rule ? RULE_NOTE(rule) : ''}.`);
  }
  // The first segment, whole or strip()ped of its trailing space: answered, the second not.
  const firstOnly = outcome.reply.equals(expected.subarray(0, first)) || (outcome.reply.length > 0 && outcome.reply.equals(stripAscii(expected.subarray(0, first))));
  if (firstOnly && outcome.ended !== 'too-much') {
    return problem('warn', `only the first of two segments (${SPLIT_GAP_MS} ms apart) came back.`,
      `answered ${showBytes(outcome.reply)} for the first segment and ${outcome.ended === 'silent' ? 'ignored' : 'closed before'} the second: ` +
      'it reads once with recv() (so does the handout\'s TCPServer.py). TCP is a byte stream: one send() may arrive as several recv()s.',
      'keep calling recv() until it returns b\'\', sending each piece back as it comes.', 'reads-once');
  }
  const { did, change, cause, guess } = explainReply(sent, outcome, `a message in two segments ${SPLIT_GAP_MS} ms apart`, t, rule);
  return problem('fail', summaryOf(`a message sent in two segments ${SPLIT_GAP_MS} ms apart`, outcome, `a message sent in two segments ${SPLIT_GAP_MS} ms apart came back wrong.`), did, change, cause, guess);
}

export function judgeHalfClose(outcome: TcpOutcome, t = 2, rule?: LetterRule): Verdict {
  const expected = replyByRule(SAMPLE, rule) ?? labUppercase(SAMPLE);
  if (outcome.reply.equals(expected) && outcome.finSent && outcome.ended === 'enough') {
    // The reply came, and after the client's FIN the server kept its side open: recv() returned b'' and nothing closed.
    return problem('fail', `the reply came, but the server never closed the connection after the client's FIN (waited ${t} s).`,
      'sent the reply and kept its side open after the client had sent FIN: its recv() returned b\'\' and it did not close(). A client that reads until the end ' +
      '(tcp-client, or recv() in a loop) waits for ever, and the server keeps one socket per client.',
      'when recv() returns b\'\' the client has finished: leave the loop and connectionSocket.close() (a with block does it).', 'never-closes');
  }
  if (outcome.ended !== 'too-much' && outcome.reply.equals(expected)) {
    return pass(outcome.finSent === false
      ? 'the reply came before the client\'s FIN (shutdown(SHUT_WR)) was due: this server does not wait for it.'
      : `after the client's FIN (shutdown(SHUT_WR)), the reply still came${rule ? RULE_NOTE(rule) : ''}.`);
  }
  const { did, change, cause, guess } = explainReply(SAMPLE, outcome, 'the sample sent with FIN right after it', t, rule);
  return problem('fail', summaryOf('the sample sent with FIN (shutdown(SHUT_WR)) right after it', outcome, 'the sample sent with FIN right after it came back wrong.'), did,
    `${change} A FIN only means "no more data from the client"; the client still reads the reply.`, cause, guess);
}

/**
 * What the concurrency check saw. A first client connects and stays silent; a second sends its
 * message; then the first sends its own. Each client's reply is kept whole, so that a reply that
 * went to the wrong connection (threads sharing one global socket) shows as such.
 */
export interface ConcurrentObservation {
  secondAnsweredWhileFirstWaits: boolean;
  secondAnswered: boolean;
  firstAnswered: boolean;
  /** The second client also received the first client's reply: it went to the wrong connection. */
  crossedReply: boolean;
  waitedMs: number;
  /** No second connection could be made (refused, or none accepted). */
  refused?: boolean;
}

export function judgeConcurrent(seen: ConcurrentObservation, what: 'message' | 'request'): Verdict {
  if (seen.secondAnsweredWhileFirstWaits && seen.firstAnswered) {
    return pass(`a second client was answered while a first one was connected and silent; the first was answered when it spoke.`);
  }
  if (seen.secondAnsweredWhileFirstWaits) {
    return problem('fail', `the first client got no answer once it sent its ${what}, after a second client had been answered.`,
      seen.crossedReply
        ? `sent the first client's reply on the second client's connection: the threads share one connection socket (e.g. a global connectionSocket that the next accept() replaces).`
        : `answered the second client, but not the first one once it spoke: a thread that serves one client does not answer it (possible causes: the threads share one connection socket, or the first connection was closed or dropped).`,
      'give each thread its own socket: threading.Thread(target=handle, args=(connectionSocket,)).start(), and in handle() use only that parameter, never a global.',
      seen.crossedReply ? 'shared-socket' : 'first-unanswered');
  }
  const waited = `${(seen.waitedMs / 1000).toFixed(1)} s`;
  if (!seen.secondAnswered && !seen.firstAnswered) {
    return problem('fail', `neither of two clients got an answer, one connected and silent, the other sending its ${what}; nor the first once it sent its own.`,
      'answered neither client.', 'reply to each client as its data arrives, each connection in its own thread.', 'no-reply:silent');
  }
  if (!seen.secondAnswered) {
    return problem('fail', `a second client got no answer, neither while a first one was connected and silent (${waited}) nor after the first had sent its ${what}.`,
      seen.firstAnswered ? 'answered the first client, and never the second.' : 'answered neither client.',
      'serve each connection in its own thread (threading.Thread(target=handle, args=(connectionSocket,)).start()), and go back to accept() after each client.',
      'second-unanswered');
  }
  return problem('warn', `a second client got no answer within ${waited} while a first one was connected and silent.`,
    `serves one connection at a time (accept, recv, send, close in one loop, like the handout's server); the second was answered only after the first had sent its ${what}.`,
    'serve each connection in its own thread (threading.Thread(target=handle, args=(connectionSocket,)).start()), ' +
    'or use socketserver.ThreadingTCPServer; then one slow client cannot hold up the others.', 'one-at-a-time');
}

/** After bad clients (named in `after`), did a normal client still get its answer? */
export function judgeSurvives(answered: boolean, after: string, fault?: string, proto: 'TCP' | 'UDP' = 'TCP'): Verdict {
  if (answered) return pass(`after ${after}, a normal client was still answered.`);
  return problem('fail', `after ${after}, a normal client was not answered.`,
    fault ?? 'stopped answering.',
    proto === 'TCP'
      ? 'one client must never stop the server: catch the exceptions of one connection (try/except around its handling) and go back to accept().'
      : 'one datagram must never stop the server: catch the exceptions of one datagram (try/except around its handling) and go back to recvfrom().',
    'does-not-survive');
}

// UDP ----------------------------------------------------------------------------------------

/** One datagram that came in, and where from. */
export interface Datagram { data: Buffer; from: { address: string; port: number } }

/** A probe sent as several copies: what came back, and whether the port closed meanwhile. */
export interface UdpOutcome {
  sent: number;
  replies: Buffer[];
  /** An ICMP "port unreachable" came back: nothing listens (any more) on the port. */
  refused: boolean;
}

/** How many copies got no reply, as a sentence; '' when none was lost. */
export function lossOf(outcome: UdpOutcome): string {
  const lost = outcome.sent - Math.min(outcome.replies.length, outcome.sent);
  if (lost <= 0) return '';
  return `${lost} of ${outcome.sent} datagrams got no reply (${Math.round((100 * lost) / outcome.sent)}% lost)`;
}

/** The reply most copies got (a server that answers copies differently is odd, and said so). */
function commonReply(outcome: UdpOutcome): Buffer | undefined {
  const counts = new Map<string, { reply: Buffer; n: number }>();
  for (const r of outcome.replies) {
    const key = r.toString('latin1');
    const entry = counts.get(key) ?? { reply: r, n: 0 };
    entry.n++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.n - a.n)[0]?.reply;
}

/**
 * `bound`: the server runs on this host and no ICMP "port unreachable" came back, so its port is
 * bound: the datagrams reached a socket (on loopback the kernel always reports a closed port).
 */
export function judgeUdpReply(outcome: UdpOutcome, t: number, bound = false): Verdict {
  const reply = commonReply(outcome);
  if (reply === undefined) {
    return problem('fail', `no reply to the sample datagram (${outcome.sent} copies sent, ${t} s of waiting).`,
      bound
        ? 'stayed silent, though its port is bound (no ICMP "port unreachable" came back): the datagrams reached it, and it did not answer them, or sent the replies elsewhere (to a fixed address or port?).'
        : 'stayed silent. UDP is connectionless (handout Q2): the client gets no error when nothing listens, the port is wrong, or the datagram is lost.',
      'answer each datagram to the address it came from: message, clientAddress = serverSocket.recvfrom(2048); serverSocket.sendto(reply, clientAddress).', 'no-reply:udp');
  }
  const verdict = inUdpWords(judgeSample({ reply }, t));
  const loss = lossOf(outcome);
  if (verdict.status !== 'pass' && loss && !outcome.refused && verdict.did && verdict.change) {
    return problem('fail', verdict.summary, `${verdict.did} Besides, ${loss}: the server drops datagrams itself (on loopback none is lost at this rate).`, verdict.change, verdict.cause, verdict.guess);
  }
  if (verdict.status !== 'pass' || !loss || outcome.refused) return verdict;
  // On loopback the kernel loses nothing at this rate: the server chose not to answer.
  return problem('warn', `the replies were right, but ${loss}.`,
    `answered ${outcome.replies.length} of the ${outcome.sent} copies of the sample, each right. Nothing is lost on loopback at this rate, so the server ` +
    'dropped the rest itself (as the pinger lab\'s server does on purpose, with random.randint(0, 10) < 4), or it was too busy to read them.',
    'answer every datagram: this lab\'s server has no reason to drop any (if it is the pinger lab\'s server, that is its job: check it against that lab instead).',
    'udp-drops');
}

/** A verdict written for TCP, in UDP's words: recvfrom() and sendto(), datagrams. */
function inUdpWords(verdict: Verdict): Verdict {
  const words = (text?: string) => text?.replace(/\brecv\(\)/g, 'recvfrom()').replace(/\bsend\(/g, 'sendto(');
  return { ...verdict, summary: words(verdict.summary)!, detail: words(verdict.detail)!, did: words(verdict.did), change: words(verdict.change), guess: words(verdict.guess) };
}

/** A UDP probe's verdict from its copies: the common reply judged as `judge` does; no reply at all said once. */
export function judgeUdpProbe(outcome: UdpOutcome, what: string, judge: (reply: { reply: Buffer }) => Verdict, t: number): Verdict {
  const reply = commonReply(outcome);
  if (reply === undefined) {
    return problem('fail', `${what} got no reply (${outcome.sent} ${outcome.sent === 1 ? 'copy' : 'copies'} sent).`,
      outcome.refused ? 'sent no reply, and its port closed (the next copy got ICMP "port unreachable").' : `sent no reply to any copy within ${t} s.`,
      'answer every datagram with serverSocket.sendto(reply, clientAddress).', 'no-reply:udp',
      'Run the server in a terminal (or with --run) to see whether an exception ended it.');
  }
  return inUdpWords(judge({ reply }));
}

export function judgeLargeDatagram(reply: Buffer | undefined, rule?: LetterRule): Verdict {
  const expected = replyByRule(LARGE_DATAGRAM, rule) ?? labUppercase(LARGE_DATAGRAM);
  if (reply?.equals(expected)) return pass(`a ${LARGE_DATAGRAM.length}-byte datagram came back whole${rule ? RULE_NOTE(rule) : ''}.`);
  if (reply === undefined) {
    return problem('fail', `a ${LARGE_DATAGRAM.length}-byte datagram got no reply.`, 'stayed silent.',
      'answer every datagram, whatever its size; one datagram carries up to 65507 bytes over IPv4.', 'no-reply:udp');
  }
  if (reply.length < expected.length && expected.subarray(0, reply.length).equals(reply)) {
    return problem('warn', `only ${reply.length} of ${LARGE_DATAGRAM.length} bytes came back: the datagram was cut.`,
      `reads with recvfrom(${reply.length}), and the kernel discards the rest of a longer datagram (the handout's UDPServer.py reads 2048).`,
      'read with a buffer as large as a datagram can be: recvfrom(65535).', 'datagram-cut');
  }
  const { did, change, cause, guess } = explainReply(LARGE_DATAGRAM, { reply }, `a ${LARGE_DATAGRAM.length}-byte datagram`, 0);
  return problem('fail', `a ${LARGE_DATAGRAM.length}-byte datagram came back wrong.`, did, change, cause, guess);
}

export function judgeEmptyDatagram(reply: Buffer | undefined): Verdict {
  if (reply === undefined) return pass('an empty datagram was ignored (no reply), and the server goes on.');
  if (reply.length === 0) return pass('an empty datagram was answered with an empty datagram.');
  return problem('warn', `an empty datagram was answered with ${reply.length} bytes.`, `answered ${showBytes(reply)}.`,
    'the uppercase of nothing is nothing: answer with an empty datagram, or not at all.', 'empty-answered');
}

/**
 * Clients on different ports (and, on loopback, a second local address) each sent their own
 * message; what each received, and from where. `witness` is a socket on 127.0.0.1 at the port of
 * the client on the other address: what reaches it was sent to a fixed 127.0.0.1.
 */
export interface ReplyToSenderObservation {
  server: { address: string; port: number };
  clients: { sent: Buffer; address: string; port: number; received: Datagram[] }[];
  witness?: { address: string; port: number; received: Datagram[] };
}

export function judgeReplyToSender(seen: ReplyToSenderObservation, rule?: LetterRule): Verdict {
  const fromServer = (d: Datagram) => d.from.port === seen.server.port;
  // Each client's own reply, by the letter rule the earlier checks showed (an echo is judged there).
  const replyTo = (sent: Buffer) => replyByRule(sent, rule) ?? labUppercase(sent);
  const problems: string[] = [];
  let wrongSource: Datagram | undefined;
  const name = (c: { address: string; port: number }) => `the client at ${formatEndpoint(c.address, c.port)}`;
  for (const client of seen.clients) {
    const own = client.received.find((d) => d.data.equals(replyTo(client.sent)));
    const others = seen.clients.filter((c) => c !== client).find((c) => client.received.some((d) => d.data.equals(replyTo(c.sent))));
    if (!own) problems.push(`${name(client)} got no reply to ${showBytes(client.sent)}`);
    else if (!fromServer(own)) wrongSource = own;
    if (others) problems.push(`${name(client)} also got the reply meant for ${name(others)}`);
  }
  const misdirected = seen.witness?.received.find((d) => seen.clients.some((c) => d.data.equals(replyTo(c.sent))));
  if (problems.length === 0 && !wrongSource) {
    return pass(`${seen.clients.length} clients (${seen.clients.map((c) => formatEndpoint(c.address, c.port)).join(', ')}) each got their own reply, at their own address and port.`);
  }
  if (problems.length === 0 && wrongSource) {
    return problem('fail', `the replies came from port ${wrongSource.from.port}, not from the server's port ${seen.server.port}.`,
      'sends its replies through another socket than the one it received on.',
      'reply with serverSocket.sendto(modifiedMessage, clientAddress), through the socket bound to the port: a client that ' +
      'connect()ed its UDP socket (as udp-client does) drops datagrams from any other port.', 'reply-source');
  }
  if (misdirected && seen.witness) {
    return problem('fail', `the reply to a client at another address went to ${seen.witness.address} instead.`,
      `${problems.join('; ')}: its reply reached ${formatEndpoint(seen.witness.address, seen.witness.port)}, the same port at ${seen.witness.address}. ` +
      `The server sends to a fixed address (${seen.witness.address}) with the client's port.`,
      'send each reply to the whole address recvfrom() returned: message, clientAddress = serverSocket.recvfrom(2048); ' +
      'serverSocket.sendto(reply, clientAddress). Never a fixed host or port.', 'reply-address');
  }
  const nobody = seen.clients.every((c) => c.received.length === 0) && !misdirected;
  return problem('fail', nobody ? 'no client got any reply.' : 'clients on different ports did not each get their own reply.', `${problems.join('; ')}.`,
    'send each reply to the address recvfrom() returned with that very datagram: message, clientAddress = ' +
    'serverSocket.recvfrom(2048); serverSocket.sendto(reply, clientAddress). Never a fixed port or a remembered address.', nobody ? 'no-reply:udp' : 'reply-address');
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
  /** How the exchange ended (too-much: lab-check stopped reading; too-slow: still arriving at the deadline). */
  ended: TcpEnd;
  raw: Buffer;
}

/** Splits a response into status line, header lines and body; never throws on a broken one. */
export function parseHttpResponse(raw: Buffer, closed: boolean, ended: TcpEnd = closed ? 'closed' : 'silent'): HttpResponse {
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
    // A head cut off by the byte limit, or by the server closing, is still a head.
    if (at === 0 && raw.length > 0 && raw.indexOf('\n') < 0) { head = raw.toString('latin1'); body = Buffer.alloc(0); }
  }
  const [statusLine = '', ...lines] = head.split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { statusLine, status: statusCodeOf(statusLine), headEnd, headers, body, closed, ended, raw };
}

/**
 * The status code of a status line, read as leniently as a browser does ("HTTP/1.1 200", with no
 * reason phrase, still says 200): the status-line check judges the line's form, the others only
 * need its code.
 */
export function statusCodeOf(statusLine: string): number | undefined {
  const code = /^(?:HTTP\S*[ \t]+)?(\d{3})(?:[ \t]|$)/i.exec(statusLine)?.[1];
  return code === undefined ? undefined : Number(code);
}

/** The body as the server meant it: cut at Content-Length when that is a number; chunks joined when chunked. */
export function bodyOf(response: HttpResponse): Buffer {
  if (/(^|,)\s*chunked\s*$/i.test(response.headers.get('transfer-encoding') ?? '')) return dechunk(response.body);
  const declared = response.headers.get('content-length');
  return declared !== undefined && /^\d+$/.test(declared) ? response.body.subarray(0, Number(declared)) : response.body;
}

/** A chunked body's data (RFC 9112 §7.1), as far as it is well-formed. */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1').split(';')[0].trim(), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A status line RFC 9112 §4 accepts: version, SP, three digits, SP, a reason of tabs, spaces, visible ASCII and obs-text (0x80-0xff). */
export function isValidStatusLine(line: string): boolean {
  return /^HTTP\/1\.[01] [1-5]\d\d [\t\x20-\x7e\x80-\xff]*$/.test(line);
}

/**
 * An answer that cannot be judged for its parts, because it never came whole: endless (lab-check
 * stopped reading), still trickling at the exchange's deadline, or cut by a reset. The check that
 * owns the broken part says so (`cause` makes the others' SKIP); undefined for a whole answer.
 */
export function answerCut(response: HttpResponse, path: string, t: number): Verdict | undefined {
  const last = showBytes(response.raw.subarray(-24), 24);
  if (response.ended === 'too-much') {
    return problem('fail', `the answer to GET ${path} never ended: lab-check stopped reading after ${response.raw.length} bytes.`,
      `sent ${response.headEnd === 'crlf' ? 'a head and then a body' : 'header lines'} without end (${last} last).`,
      'send one answer per request: a head that ends with an empty line, then exactly the Content-Length bytes of body.', 'too-much');
  }
  if (response.ended === 'too-slow') {
    return problem('fail', `the answer to GET ${path} was still arriving after ${EXCHANGE_TIMEOUTS * t} s (${response.raw.length} bytes so far).`,
      `sends its answer a little at a time (${last} last).`, 'send the whole answer at once: build the head and the body, then sendall() them.', 'too-slow');
  }
  if (response.ended === 'silent' && response.raw.length > 0 && response.headEnd !== 'crlf') {
    return problem('fail', `the answer to GET ${path} stopped after ${byteCount(response.raw.length)}, before its head was complete.`,
      `sent ${byteCount(response.raw.length)} (${last} last) and then nothing more for ${t} s, without closing the connection.`,
      'send the whole answer at once: the status line, the header lines, an empty line, the body; then close.', 'stalled');
  }
  if (response.ended === 'reset' && response.raw.length > 0 && !httpComplete(response.raw) && (response.headEnd !== 'crlf' || response.headers.has('content-length'))) {
    return problem('fail', `the answer to GET ${path} was cut by a reset after ${response.raw.length} bytes.`,
      `sent ${response.raw.length} bytes (${last} last) and then reset the connection (RST), before the ${response.headEnd === 'crlf' ? 'body' : 'head'} was complete.`,
      'send the whole answer, then close() normally.', 'reset-mid',
      'Possible causes: it closed with bytes of the request still unread (the kernel then sends RST), set SO_LINGER 0, or crashed midway.');
  }
  return undefined;
}

/** The head itself never came whole: its parts (headers, body) are the head's matter, not theirs. */
function headCut(response: HttpResponse): boolean {
  return response.headEnd !== 'crlf' && response.raw.length > 0 && ['too-much', 'too-slow', 'reset', 'silent'].includes(response.ended);
}
const NOT_JUDGED_HEAD = (): Verdict => skip('not judged: the head never came whole (see headers-end).');

function noAnswer(path: string, response: HttpResponse | undefined, t: number): string | undefined {
  if (!response || response.ended === 'refused') return `accepted no connection for GET ${path}`;
  if (response.raw.length === 0) {
    return response.closed ? `${response.ended === 'reset' ? 'reset' : 'closed'} the connection without answering GET ${path}` : `sent nothing for GET ${path} in ${t} s`;
  }
  return undefined;
}

/** The status line runs straight into the file (sent with no line end and no empty line): there is no head to judge. */
function statusIntoBody(response: HttpResponse, local: Buffer | undefined): boolean {
  if (!local || local.length < 8) return false;
  const start = local.subarray(0, 16).toString('latin1');
  return response.statusLine.includes(start.split('\n')[0]) && response.statusLine.length > start.split('\n')[0].length;
}
const NOT_JUDGED_STATUS = (): Verdict => skip('not judged: the status line runs into the body, so there is no head (see status-line).');

export function judgeStatusLine(path: string, response: HttpResponse, t: number, local?: Buffer): Verdict {
  const none = noAnswer(path, response, t);
  if (none) {
    return problem('fail', `no status line came back for GET ${path}.`, `${none}.`, 'send a status line first: "HTTP/1.1 200 OK\\r\\n".', none.includes('without') ? 'no-reply:closed' : 'no-reply:silent');
  }
  if (!response.raw.includes('\n')) {
    const cut = answerCut(response, path, t);
    if (cut) return { ...cut, summary: `the answer to GET ${path} stopped after ${response.raw.length} ${response.raw.length === 1 ? 'byte' : 'bytes'}, before its first line ended.` };
  }
  const line = response.statusLine;
  const endedByCrlf = response.raw.includes(Buffer.from(`${line}\r\n`, 'latin1'));
  if (statusIntoBody(response, local)) {
    const head = line.slice(0, line.indexOf(local!.subarray(0, 16).toString('latin1').split('\n')[0]));
    return problem('fail', `the status line runs straight into the file: no line end and no empty line after ${showLine(head)}.`,
      `sent ${showLine(head)} and then the file's bytes at once, so a client reads the first line of the file as part of the status line, and finds no end of the head.`,
      'end the status line with "\\r\\n" and the head with an empty line: send "HTTP/1.1 200 OK\\r\\n\\r\\n" before the file.', 'status-into-body');
  }
  if (isValidStatusLine(line) && endedByCrlf && response.status === 200) return pass(`GET ${path} was answered ${showLine(line)}.`);
  if (isValidStatusLine(line) && response.status === 200 && response.raw.includes(Buffer.from(`${line}\n`, 'latin1'))) {
    return problem('fail', `the status line ends with a bare LF, not CRLF: ${showLine(`${line}\n`)}.`,
      'ended the status line with "\\n" only. RFC 9112 asks for CRLF; browsers accept a bare LF, many other clients (and proxies) do not.',
      'end every line of the head with "\\r\\n": "HTTP/1.1 200 OK\\r\\n".', 'bare-lf');
  }
  if (response.status !== undefined && response.status !== 200) {
    return problem('fail', `GET ${path} was answered with status ${response.status}, not 200.`, `answered ${showLine(line)}.`,
      `check that the file exists where the server looks (filename[1:] is relative to the folder the server was started in).`, 'status-not-200');
  }
  if (response.status === 200 && /^HTTP\/1\.[01] 200$/.test(line) && endedByCrlf) {
    return problem('warn', `the status line ${showLine(line)} has no space and reason phrase after the code.`,
      'sent the version and the code only. RFC 9112 §4 asks for a space after the code even when the reason phrase is empty; browsers accept the line without it.',
      'send "HTTP/1.1 200 OK\\r\\n": version, space, code, space, reason phrase.', 'status-line-form');
  }
  if (response.ended === 'too-much' && !response.raw.includes('\n')) {
    return problem('fail', `the first line of the answer to GET ${path} never ended.`, `sent more than ${response.raw.length} bytes with no line end, ${showLine(line, 24)} first; lab-check stopped reading.`,
      'begin with exactly "HTTP/1.1 200 OK\\r\\n".', 'status-line-form');
  }
  return problem('fail', `the first line of the answer to GET ${path} is not a valid status line.`,
    `began with ${showLine(line)}${endedByCrlf ? '' : ' (not ended by CRLF)'}.`,
    'begin with exactly "HTTP/1.1 200 OK\\r\\n": version, space, status code, space, reason phrase, CR LF.', 'status-line-form');
}

export function judgeHeadersEnd(response: HttpResponse, path = '/', t = 2, local?: Buffer): Verdict {
  if (response.raw.length === 0 || !response.raw.includes('\n')) return skip('not judged: there was no whole status line (see status-line).');
  if (statusIntoBody(response, local)) return NOT_JUDGED_STATUS();
  if (response.headEnd === 'crlf') return pass('the header lines end with an empty line (CRLF CRLF).');
  if (headCut(response)) return answerCut(response, path, t) ?? NOT_JUDGED_HEAD();
  if (response.headEnd === 'lf') {
    return problem('fail', 'the header lines end with LF LF, not CRLF CRLF.', 'ends its lines with "\\n" only.',
      'end every header line with "\\r\\n", and the head with an empty line: "...\\r\\n\\r\\n".', 'bare-lf');
  }
  return problem('fail', 'no empty line ends the header lines: a browser reads the body as more header lines.',
    'sent the body straight after the header lines.', 'send "\\r\\n" once more after the last header line, so the head ends with "\\r\\n\\r\\n".', 'head-no-end');
}

export function judgeContentType(path: string, response: HttpResponse, local?: Buffer): Verdict {
  if (response.raw.length === 0) return skip('not judged: there was no answer (see status-line).');
  if (statusIntoBody(response, local)) return NOT_JUDGED_STATUS();
  if (headCut(response)) return NOT_JUDGED_HEAD();
  const type = response.headers.get('content-type');
  const expected = mimeLookup(path.split('?')[0]);
  if (type === undefined) {
    return problem('warn', 'no Content-Type header line: the browser has to guess what the file is.', 'sent no Content-Type.',
      `add "Content-Type: ${expected ?? 'text/html'}\\r\\n" (by the file's extension) to the header lines.`, 'no-content-type');
  }
  const media = type.split(';')[0].trim().toLowerCase();
  if (expected === undefined || media === expected) return pass(`Content-Type: ${showLine(type).slice(1, -1)}.`);
  return problem('fail', `Content-Type says ${showLine(media)} but ${path} is ${expected}.`, `sent "Content-Type: ${showLine(type).slice(1, -1)}".`,
    `choose the type from the file's extension (mimetypes.guess_type(filename)): ${expected} here.`, 'wrong-content-type');
}

export function judgeContentLength(response: HttpResponse, t = 2, local?: Buffer): Verdict {
  if (response.raw.length === 0) return skip('not judged: there was no answer (see status-line).');
  if (statusIntoBody(response, local)) return NOT_JUDGED_STATUS();
  if (headCut(response)) return NOT_JUDGED_HEAD();
  if (response.ended === 'too-much' || response.ended === 'too-slow') return skip('not judged: the body never came whole (see body).');
  const declared = response.headers.get('content-length');
  const chunked = /chunked/i.test(response.headers.get('transfer-encoding') ?? '');
  if (declared === undefined && chunked) return pass('no Content-Length, but a chunked body (Transfer-Encoding: chunked) marks its own end.');
  if (declared === undefined) {
    if (response.closed) {
      return problem('warn', 'no Content-Length header line; the body ends only because the server closes the connection.',
        'sent no Content-Length and closed after the body (so the client cannot tell a complete body from a cut one).',
        'add "Content-Length: N\\r\\n", N being the number of BYTES of the body: len(data) of the file read with open(name, "rb").', 'no-content-length');
    }
    return problem('fail', 'no Content-Length, and the connection was never closed: the client cannot tell where the body ends.',
      `sent the head and ${response.body.length} bytes of body, no Content-Length, and then kept the connection open${response.ended === 'silent' ? ` (silent for ${t} s)` : ''}, though the request said "Connection: close".`,
      'add "Content-Length: N\\r\\n" (the body\'s size in bytes), and close the connection after the body.', 'no-length-no-close');
  }
  if (!/^\d+$/.test(declared)) {
    return problem('fail', `Content-Length is ${showLine(declared)}, not a number.`, 'sent a Content-Length that is not a whole number.',
      'send the body\'s size in bytes, e.g. "Content-Length: 1234\\r\\n".', 'bad-content-length');
  }
  const length = Number(declared);
  if (response.body.length === length) return pass(`Content-Length: ${length} matches the ${length}-byte body.`);
  const chars = response.body.toString('utf8').length;
  const fileChars = local?.toString('utf8').length;
  if (local && fileChars === length && fileChars !== local.length && response.body.length !== length) {
    return problem('fail', `Content-Length says ${length}, the file's number of characters; the file has ${local.length} bytes, and the body ${response.body.length}.`,
      `counted characters (len() of a str), not bytes: letters like é take 2 bytes in UTF-8.`,
      'compute Content-Length from the bytes you send: read the file with open(name, "rb") and use len(data).', 'wrong-content-length');
  }
  const characters = chars === length && chars !== response.body.length;
  return problem('fail', `Content-Length says ${length} but the body ${response.closed || response.body.length > length ? 'has' : 'had, when the server went silent,'} ${response.body.length} bytes.`,
    characters ? `counted characters (len() of a str), not bytes: the body has ${chars} characters in ${response.body.length} bytes (letters like é take 2 bytes in UTF-8).`
      : `declared ${length} bytes and sent ${response.body.length}.`,
    'compute Content-Length from the bytes you send: read the file with open(name, "rb") and use len(data).', 'wrong-content-length');
}

/**
 * Whether the body holds exactly `file`'s bytes: as a client reads it (Content-Length), or as
 * sent (all of it up to the close) when only the Content-Length is wrong, which is the
 * content-length check's matter, not this one's.
 */
function bodyMatches(response: HttpResponse, file: Buffer): 'exact' | 'length-wrong' | undefined {
  if (bodyOf(response).equals(file)) return 'exact';
  if (response.body.equals(file) && response.closed) return 'length-wrong';
  return undefined;
}

/** A body that is some other known file (--local, --binary-local): the path is not what chose the file. */
function otherFile(body: Buffer, files: { name: string; bytes?: Buffer }[]): string | undefined {
  return files.find((f) => f.bytes !== undefined && f.bytes.length > 0 && body.equals(f.bytes))?.name;
}

export function judgeBody(response: HttpResponse, local: Buffer | undefined, localName?: string, path = '/', t = 2): Verdict {
  if (response.raw.length === 0) return skip('not judged: there was no answer (see status-line).');
  if (statusIntoBody(response, local)) return NOT_JUDGED_STATUS();
  if (headCut(response)) return NOT_JUDGED_HEAD();
  const cut = answerCut(response, path, t);
  if (cut) return cut;
  const body = bodyOf(response);
  const name = localName ?? 'the local file';
  if (local === undefined) {
    if (body.length > 0) return pass(`the body is ${body.length} bytes (give --local FILE to compare it byte for byte).`);
    return problem('fail', 'the body is empty.', 'sent no file content after the head.', 'send the file\'s bytes after the empty line that ends the head.', 'empty-body');
  }
  const match = bodyMatches(response, local);
  if (match === 'exact') return pass(`the body equals ${name} byte for byte (${local.length} bytes).`);
  if (match === 'length-wrong') return pass(`every byte of ${name} was sent (${local.length} bytes), under a wrong Content-Length: see content-length.`);
  return bodyDifference(sentBody(response), local, { what: 'the body', name, closed: response.closed });
}

/**
 * What the server sent as the body: up to its close when it closed (so that a wrong Content-Length
 * stays the content-length check's matter, and bytes past it are seen), else as Content-Length
 * or the chunks say.
 */
function sentBody(response: HttpResponse): Buffer {
  const chunked = /chunked/i.test(response.headers.get('transfer-encoding') ?? '');
  return response.closed && !chunked ? response.body : bodyOf(response);
}

/** How a body that is not the file differs from it, said as far as its bytes show: bytes added, line ends changed, a cut, or where it differs. */
function bodyDifference(body: Buffer, file: Buffer, { what, name, closed }: { what: string; name: string; closed: boolean }): Verdict {
  const binary = what !== 'the body';
  if (body.length > file.length && body.subarray(0, file.length).equals(file)) {
    const extra = body.subarray(file.length);
    return problem('fail', `${what} has ${extra.length} bytes more than ${name}: ${showBytes(extra, 24)} at the end.`,
      `sent the file and then ${showBytes(extra, 24)}${extra.equals(Buffer.from('\r\n')) ? ' (the book\'s skeleton ends with connectionSocket.send("\\r\\n".encode()), which adds exactly these)' : ''}.`,
      'send the file\'s bytes and nothing after them.', 'extra-bytes');
  }
  const inside = file.length >= 16 ? body.indexOf(file) : -1;
  if (inside >= 0) {
    const after = body.length - inside - file.length;
    return problem('fail', `${what} holds ${name} with ${inside} bytes before it and ${after} after it.`,
      `sent ${showBytes(body.subarray(0, inside), 24)}, then the file, then ${showBytes(body.subarray(inside + file.length), 24)}.`,
      'send the file\'s bytes and nothing around them.', 'extra-bytes');
  }
  const lineEnds = file.includes('\n') && body.equals(Buffer.from(file.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
  const textMode = lineEnds ? undefined : textModeDamage(file, body);
  if (lineEnds || textMode) {
    return problem('fail', `${what} came back changed: ${body.length} bytes for ${file.length}.`,
      lineEnds ? `turned every line end "\\n" into "\\r\\n": a replace("\\n", "\\r\\n") on the text, or a text-mode write on Windows.` : `read the file as text: ${textMode}.`,
      'read with open(name, "rb") and send the bytes unchanged: no str in between.', binary ? 'binary-corrupted' : 'body-changed');
  }
  if (body.length < file.length && file.subarray(0, body.length).equals(body)) {
    return problem('fail', `${what} is cut short: ${body.length} of ${file.length} bytes.`,
      body.length === 0 ? `sent no body, ${closed ? 'then closed' : 'then went silent'}.` : `sent only the first ${body.length} bytes, ${closed ? 'then closed' : 'then went silent'}.`,
      'send the whole file: connectionSocket.sendall(data).', 'body-cut',
      'Possible causes: send() sent only part (sendall() sends every byte), or the server stopped before the rest (an exception: run it in a terminal or with --run to see).');
  }
  const at = firstDifference(file, body);
  return problem('fail', `${what} differs from ${name} from byte ${at} on.`,
    `sent ${showBytes(body.subarray(at), 24)} where the file has ${showBytes(file.subarray(at), 24)} (${body.length} bytes for ${file.length}).` +
    (binary ? ' Reading in text mode and encoding the str again (or decode(errors=...)) does not give the same bytes back; nor does sending a str.' : ''),
    'send the file\'s bytes unchanged: open(name, "rb"), read(), sendall().', binary ? 'binary-corrupted' : 'body-differs');
}

/**
 * The binary file, judged for its bytes alone: a status line broken the same way as the plain
 * GET's is the status-line check's failure, not this one's.
 */
export function judgeBinaryBody(path: string, response: HttpResponse | undefined, local: Buffer | undefined, t: number, first?: HttpResponse, textFile?: { name: string; bytes?: Buffer }): Verdict {
  const none = noAnswer(path, response, t);
  if (none || !response) {
    return problem('fail', `a binary file (${path}) did not come back.`, `${none}.`,
      'read files in binary mode, open(name, "rb"), and send the bytes as they are (no decode, no encode).', none?.startsWith('sent nothing') ? 'no-reply:silent' : 'no-reply:closed',
      'Possible causes: reading a binary file in text mode (open(name) without "b") raises UnicodeDecodeError (run the server with --run to see its traceback).');
  }
  const cut = answerCut(response, path, t);
  if (cut) return cut;
  const sameStatusLine = first !== undefined && first.statusLine === response.statusLine;
  if (response.status === 200 || sameStatusLine) return judgeBinaryBytes(path, response, local, textFile);
  return problem('fail', `a binary file (${path}) was answered with status ${response.status ?? `(none: ${showLine(response.statusLine, 40)})`}.`,
    `answered ${showLine(response.statusLine)}, where the plain GET was answered ${first ? showLine(first.statusLine) : '(nothing)'}.`,
    response.status === 404 ? `check that ${path} exists where the server looks, and that --binary names it.` : 'serve every file, whatever its content: open(name, "rb").',
    'binary-status');
}

function judgeBinaryBytes(path: string, response: HttpResponse, local: Buffer | undefined, textFile?: { name: string; bytes?: Buffer }): Verdict {
  const body = bodyOf(response);
  if (local === undefined) {
    return body.length > 0
      ? pass(`a binary file came back (${body.length} bytes; give --binary-local FILE to compare it byte for byte).`)
      : problem('fail', `a binary file (${path}) came back empty.`, 'sent no body.', 'read the file with open(name, "rb") and send its bytes.', 'binary-empty');
  }
  const match = bodyMatches(response, local);
  if (match === 'exact') return pass(`a binary file (${path}) came back byte-exact (${local.length} bytes).`);
  if (match === 'length-wrong') return pass(`every byte of the binary file (${path}) was sent, under a wrong Content-Length: see content-length.`);
  const sent = sentBody(response);
  const other = textFile && otherFile(sent, [textFile]);
  if (other) {
    return problem('fail', `GET ${path} got the bytes of ${other}, not of the binary file.`,
      `sent ${other} (${sent.length} bytes) for ${path}: the file it sends does not depend on the path asked for.`,
      'take the file name from the request line (message.split()[1], without its leading "/"), and open that file.', 'same-file');
  }
  return bodyDifference(sent, local, { what: `a binary file (${path})`, name: path, closed: response.closed });
}

/**
 * What reading a binary file as text did to it, when the body shows exactly that: Python's
 * universal newlines (CR LF and a lone CR become LF), or a UTF-8 decode that dropped or replaced
 * every byte that is not UTF-8 (errors='ignore' / 'replace').
 */
export function textModeDamage(file: Buffer, body: Buffer): string | undefined {
  // Text mode (open(name) without "b") decodes and turns newlines into "\n"; each is tried alone and together.
  const newlines = (text: string) => text.replace(/\r\n?/g, '\n');
  const newlinesSaid = 'Python\'s universal newlines turned every "\\r\\n" (and every lone "\\r") into "\\n"';
  const decoded = file.toString('utf8');
  const ways: [string, string][] = [[newlines(file.toString('latin1')), newlinesSaid]];
  if (decoded.includes('\ufffd')) {
    const replaced = 'every byte that is not UTF-8 became U+FFFD (EF BF BD): errors="replace"';
    const dropped = 'every byte that is not UTF-8 was dropped: errors="ignore"';
    ways.push([decoded, replaced], [newlines(decoded), `${replaced}, and ${newlinesSaid}`],
      [decoded.replace(/\ufffd/g, ''), dropped], [newlines(decoded.replace(/\ufffd/g, '')), `${dropped}, and ${newlinesSaid}`]);
  }
  return ways.find(([text], i) => body.equals(Buffer.from(text, i === 0 ? 'latin1' : 'utf8')))?.[1];
}

export function judgeNotFound(path: string, response: HttpResponse | undefined, t: number, known?: { name: string; bytes?: Buffer }[]): Verdict {
  const none = noAnswer(path, response, t);
  if (none || !response) {
    return problem('fail', `a missing file (${path}) got no answer.`, `${none}.`,
      'when open() raises an IOError (FileNotFoundError), answer "HTTP/1.1 404 Not Found\\r\\n", header lines, an empty line, and a short page.',
      none?.startsWith('sent nothing') ? 'no-reply:silent' : 'no-reply:closed');
  }
  const cut = answerCut(response, path, t);
  if (cut) return cut;
  const body = bodyOf(response);
  const text = response.raw.toString('latin1');
  const firstLine = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  if (response.status === undefined && /^\r?\n/.test(text) && statusCodeOf(firstLine) !== undefined) {
    return problem('fail', `a missing file got an empty line first, then ${showLine(firstLine)}.`,
      `began its answer with a line end: a client reads that empty line as the status line, and the answer as broken (${showLine(text.slice(0, 40))} first).`,
      'begin the answer with the status line itself: "HTTP/1.1 404 Not Found\\r\\n", then the header lines, an empty line and a short page.', 'notfound-head');
  }
  if (response.status === 404 && !text.includes('\n')) {
    return problem('fail', `a missing file got ${showLine(firstLine)} with no line end: the head never ended.`,
      `sent ${showLine(text)} and closed: no "\\r\\n" after the status line, and no empty line.`,
      'send "HTTP/1.1 404 Not Found\\r\\n", the header lines, an empty line ("\\r\\n"), and a short page.', 'notfound-head');
  }
  if (response.status === 404 && body.length > 0) return pass(`a missing file (${path}) got ${showLine(response.statusLine)} with a ${body.length}-byte page.`);
  if (response.status === 404) {
    // A 404 with no body is valid HTTP: the browser shows its own page. A lesson, not a failure.
    return problem('warn', 'a missing file got status 404 but no page.', 'sent the status line and head, and no body: the browser shows its own (or a blank) page.',
      'send a short page after the head, e.g. <html><body><h1>404 Not Found</h1></body></html>.', 'notfound-no-page');
  }
  const other = known && otherFile(body, known);
  const saysNotFound = /not\s*found/i.test(body.toString('latin1'));
  return problem('fail', `a missing file (${path}) got status ${response.status ?? `(none: ${showLine(response.statusLine, 40)})`}, not 404${other ? `, with the contents of ${other}` : saysNotFound ? ', with a page that says "not found"' : ''}.`,
    `answered ${showLine(response.statusLine)}${other ? ` and sent ${other}: the file it sends does not depend on the path asked for` : ''}: browsers, caches and search engines believe the status code, not the page.`,
    'answer "HTTP/1.1 404 Not Found\\r\\n" when the file does not exist (the handout: return a "404 Not Found" error message).', other ? 'same-file' : 'notfound-status');
}

/** Whether two answers are the same: status line and body (a wrong answer given twice is one mistake). */
export function sameAnswer(a: HttpResponse | undefined, b: HttpResponse | undefined): boolean {
  return a !== undefined && b !== undefined && a.raw.length > 0 && a.statusLine === b.statusLine && bodyOf(a).equals(bodyOf(b));
}

/** What a normal request got, as the end of "The normal GET /x that followed ...". */
function whatItGot(response: HttpResponse, t: number): string {
  if (response.ended === 'refused') return 'was refused';
  if (response.raw.length === 0) return response.closed ? `got no answer (the connection was ${response.ended === 'reset' ? 'reset' : 'closed'})` : `got no answer in ${t} s`;
  return `was answered ${showLine(response.statusLine)} with a ${bodyOf(response).length}-byte body`;
}

function describeAnswer(response: HttpResponse | undefined, t: number): string {
  if (!response || response.ended === 'refused') return 'accepted no connection';
  if (response.raw.length === 0) return response.closed ? 'closed the connection without an answer' : `sent nothing in ${t} s`;
  return `answered ${showLine(response.statusLine)} with a ${bodyOf(response).length}-byte body`;
}

/** split-request and browser-request compare with the plain GET: without its answer there is nothing to compare. */
function noPlainAnswer(first: HttpResponse): Verdict | undefined {
  return first.raw.length === 0 ? { ...skip('not judged: the plain GET got no answer to compare with (see status-line).'), cause: 'no-reply:plain' } : undefined;
}

export function judgeSplitRequest(path: string, response: HttpResponse | undefined, first: HttpResponse, t = 2): Verdict {
  const unjudged = noPlainAnswer(first) ?? (response && answerCut(response, path, t));
  if (unjudged) return unjudged;
  if (sameAnswer(response, first)) return pass(`a request whose header lines came ${SPLIT_GAP_MS} ms after its request line got the same answer as the plain GET.`);
  return problem('warn', `a request whose header lines came ${SPLIT_GAP_MS} ms after its request line did not get the plain GET's answer.`,
    `${describeAnswer(response, t)}, where the same request sent at once got ${describeAnswer(first, t).replace(/^answered /, '')}.`,
    'read until the empty line that ends the head ("\\r\\n\\r\\n") has arrived: loop on recv() and add up the pieces.', 'split-request',
    'The likely cause: it judges the request by its first recv(), which returns only what has arrived (here the request line alone).');
}

export function judgeBrowserRequest(response: HttpResponse | undefined, first: HttpResponse, t: number, path = '/'): Verdict {
  const unjudged = noPlainAnswer(first) ?? (response && answerCut(response, path, t));
  if (unjudged) return unjudged;
  const ends = response !== undefined && (response.closed || response.headers.has('content-length') || /chunked/i.test(response.headers.get('transfer-encoding') ?? ''));
  if (sameAnswer(response, first) && (ends || !first.closed)) {
    return pass('a request shaped like Chromium\'s (keep-alive, Accept, User-Agent, a 600-byte head) got the same answer as the plain GET.');
  }
  const got = response && response.raw.length > 0 && sameAnswer(response, first) && !ends
    ? 'sent the answer and kept the connection open (the browser asked for keep-alive) with no Content-Length, so the browser cannot tell that the page has ended'
    : `${describeAnswer(response, t)}, where the plain GET got ${describeAnswer(first, t).replace(/^answered /, '')}`;
  return problem('fail', 'a request shaped like Chromium\'s (keep-alive, Accept, User-Agent, a 600-byte head) did not get a complete answer.',
    `${got}.`, 'read the whole head (up to "\\r\\n\\r\\n"), and either send Content-Length or close the connection after the body.', 'browser-request');
}

/** The first lines of /etc/passwd, wherever it is served from: "root:x:0:0:...". */
export function looksLikePasswd(body: Buffer): boolean {
  return /root:[^:\n]*:0:0:/.test(body.toString('latin1'));
}

/**
 * One traversal probe: the path asked for, and what proves a leak: the content of a file known to
 * lie outside the served folder (`secret`, named by `what`), or else the shape of /etc/passwd.
 */
export interface TraversalTry { path: string; response: HttpResponse | undefined; secret?: Buffer; what?: string }

function leaks(x: TraversalTry): boolean {
  if (!x.response || x.response.status === 404 || x.response.status === 403) return false;
  // The whole answer is searched: a status line that runs into the body carries the file's first line.
  if (!x.secret) return looksLikePasswd(x.response.raw);
  return x.secret.length >= 16 ? x.response.raw.includes(x.secret) : bodyOf(x.response).equals(x.secret);
}

export function judgeTraversal(tries: TraversalTry[]): Verdict {
  const leaked = tries.filter(leaks);
  if (leaked.length === 0 && !tries.some((x) => x.response && x.response.raw.length > 0)) {
    return { ...skip(`not judged: none of the ${tries.length} paths above the folder got an answer.`), cause: 'no-reply:traversal' };
  }
  const asked = tries.filter((x) => x.response && x.response.ended !== 'refused');
  if (leaked.length === 0) {
    if (asked.length < tries.length) {
      return skip(`not judged: only ${asked.length} of ${tries.length} paths above the folder could be asked (the server stopped answering).`);
    }
    const targets = [...new Set(tries.map((x) => (x.secret ? x.what ?? 'a file outside' : '/etc/passwd')))];
    return pass(`${tries.length} paths that climb out of the folder ("../" and "%2e%2e/", to ${targets.join('; to ')}) got nothing from outside it.`);
  }
  const first = leaked[0];
  const what = first.secret ? first.what ?? 'a file outside the served folder' : 'the contents of /etc/passwd';
  return problem('fail', `SECURITY: ${showLine(first.path, 120)} returned ${what}.`,
    `serves any file the server's user can read: "../" in the path climbs out of the folder${leaked.length > 1 ? ` (${leaked.length} of the ${tries.length} spellings tried got through)` : ''}.` +
    (leaked.some((x) => x.secret) && !leaked.some((x) => !x.secret) ? ' /etc/passwd itself was refused: a filter on its name does not stop the climb.' : ''),
    'decode %XX first, then refuse any path with a ".." segment (answer 404 or 403), or resolve it (os.path.realpath) and check it stays inside the served folder.',
    'traversal');
}

// ---------------------------------------------------------------------------------------------
// Part 2: what the server shows of itself, and how the checks' verdicts become the report.
// Pure: the server's output and exit, and each check's verdict, in; the report's verdicts out.

/** An uncaught exception, as the server's traceback shows it (Python's, or Java's). */
export interface ServerException {
  type: string;
  message: string;
  /** The student's own file and line where it was raised (the last frame outside the language's library). */
  file?: string;
  line?: number;
  code?: string;
  /** Raised in a thread (Python: "Exception in thread ..."): that client's handler died, the server went on. */
  thread?: string;
}

/** The last exception a server's output shows, or undefined when it shows none. */
export function lastException(output: string): ServerException | undefined {
  const lines = output.split(/\r?\n/);
  return lastPythonException(lines) ?? lastJavaException(lines);
}

function lastPythonException(lines: string[]): ServerException | undefined {
  let start = -1;
  for (let i = lines.length - 1; i >= 0 && start < 0; i--) if (lines[i].startsWith('Traceback (most recent call last):')) start = i;
  if (start < 0) return pythonSyntaxError(lines);
  let frame: { file: string; line: number; code?: string; own: boolean } | undefined;
  let own: typeof frame;
  let i = start + 1;
  for (; i < lines.length && /^\s/.test(lines[i]); i++) {
    const m = /^\s+File "(.+)", line (\d+)/.exec(lines[i]);
    if (m) {
      // The student's frame, not the standard library's (socket.py, threading.py).
      frame = { file: m[1], line: Number(m[2]), own: !/\/lib\/python\d|<frozen /.test(m[1]) };
      if (frame.own) own = frame;
    } else if (frame && frame.code === undefined && !/^\s*[\^~]+\s*$/.test(lines[i]) && lines[i].trim()) {
      frame.code = lines[i].trim();
    }
  }
  const last = /^([A-Za-z_][\w.]*)(?::\s?(.*))?$/.exec(lines[i] ?? '');
  if (!last) return undefined;
  const thread = /^Exception in thread (.+?):?$/.exec(lines[start - 1] ?? '')?.[1];
  const where = own ?? frame;
  return { type: last[1], message: last[2] ?? '', ...(where ? { file: where.file, line: where.line, code: where.code } : {}), ...(thread ? { thread } : {}) };
}

/** Python reports a program it cannot read without "Traceback": File "x.py", line N, the line, a caret, then SyntaxError (or IndentationError, TabError). */
function pythonSyntaxError(lines: string[]): ServerException | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(SyntaxError|IndentationError|TabError): (.*)$/.exec(lines[i]);
    if (!m) continue;
    for (let j = i - 1; j >= 0 && j >= i - 6; j--) {
      const f = /^\s+File "(.+)", line (\d+)/.exec(lines[j]);
      if (f) return { type: m[1], message: m[2], file: f[1], line: Number(f[2]), ...(lines[j + 1]?.trim() ? { code: lines[j + 1].trim() } : {}) };
    }
    return { type: m[1], message: m[2] };
  }
  return undefined;
}

function lastJavaException(lines: string[]): ServerException | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^Exception in thread "(.+?)" ([\w.$]+)(?::\s?(.*))?$/.exec(lines[i]);
    if (!m) continue;
    let where: { file: string; line: number } | undefined;
    for (let j = i + 1; j < lines.length && /^\s+at /.test(lines[j]) && !where; j++) {
      const f = /^\s+at (?!java\.|javax\.|sun\.|jdk\.)[\w.$<>]+\(([^:()]+):(\d+)\)/.exec(lines[j]);
      if (f) where = { file: f[1], line: Number(f[2]) };
    }
    return { type: m[2], message: m[3] ?? '', ...where, ...(m[1] !== 'main' ? { thread: m[1] } : {}) };
  }
  return undefined;
}

/** An exception as the report names it: type, message, and where, all escaped. */
export function nameException(ex: ServerException): string {
  const message = ex.message ? `: ${showText(Buffer.from(ex.message), 120)}` : '';
  const where = ex.line === undefined ? '' : ` at line ${ex.line}${ex.code ? ` (${showText(Buffer.from(ex.code), 80)})` : ''}`;
  return `${showText(Buffer.from(ex.type), 60)}${message}${where}`;
}

/**
 * What an exception means, when its type (and the line that raised it) says so; otherwise only
 * that it was raised, and where. Never more than the traceback shows.
 */
export function explainException(ex: ServerException, kind: Kind): { meaning: string; change: string } {
  const type = ex.type.split('.').pop() ?? ex.type;
  const code = ex.code ?? '';
  const catchOne = kind === 'udp'
    ? 'catch the exceptions of one datagram (try/except around its handling) and go back to recvfrom()'
    : 'catch the exceptions of one client (try/except around the handling of one connection) and go back to accept()';
  if (type === 'UnicodeDecodeError') {
    const file = kind === 'web' && !/recv/.test(code);
    return file
      ? { meaning: 'the file was read as text (open() without "b"), and its bytes are not UTF-8', change: 'read files in binary mode, open(name, "rb"), and send the bytes as they are (no decode, no encode).' }
      : { meaning: 'decode() met bytes that are not UTF-8 (0x80-0xff)', change: `do not decode(): call upper() on the bytes ${kind === 'udp' ? 'recvfrom()' : 'recv()'} returned (bytes.upper() changes only a-z).` };
  }
  if (type === 'TabError' || type === 'IndentationError' || type === 'SyntaxError') {
    return { meaning: `Python could not read the program at all${type === 'TabError' ? ': it mixes tabs and spaces for indentation, which Python 2 accepted and Python 3 refuses' : ''}`,
      change: type === 'SyntaxError' ? 'fix the line named (code written for Python 2, such as print "x", needs Python 3\'s print("x")), and start the server in a terminal until it runs.'
        : 'indent with spaces only (4 per level; your editor can convert tabs), and start the server in a terminal until it runs.' };
  }
  if (type === 'UnicodeEncodeError') return { meaning: 'encode() met a character its codec cannot hold', change: 'encode with UTF-8 (text.encode("utf-8")), or keep the bytes as bytes.' };
  if (type === 'TypeError' && /bytes-like object is required, not 'str'/.test(ex.message)) {
    return { meaning: 'a socket was given a str: in Python 3, send() and sendto() take bytes', change: 'send bytes: send(text.encode()), or keep the data as bytes from recv() to send().' };
  }
  if (type === 'TypeError' && /str.*bytes|bytes.*str/.test(ex.message)) {
    return { meaning: 'str and bytes were mixed in one expression', change: 'keep one type: the bytes recv() returns, with b"..." literals; encode() a str before joining it to bytes.' };
  }
  if (type === 'IndexError' && /split\(\s*\)\s*\[\s*1\s*\]/.test(code)) {
    return { meaning: 'split()[1] found no second word: the request was empty or shorter than a request line (a client that connects and sends nothing sends an empty one)',
      change: `check the request before using it (if len(words) < 2: answer 400 Bad Request and close), and ${catchOne}.` };
  }
  if (type === 'ConnectionResetError' || type === 'BrokenPipeError' || type === 'ConnectionAbortedError') {
    return { meaning: 'the client reset or closed its connection while the server still read or wrote, and nothing caught the error',
      change: `${catchOne}: try: ... except OSError: ..., then close() the connection.` };
  }
  if (type === 'FileNotFoundError' || type === 'IsADirectoryError' || type === 'NotADirectoryError' || type === 'PermissionError') {
    return { meaning: 'open() could not open the file asked for, and nothing caught it', change: 'answer 404 Not Found when open() fails: try: open(...) except OSError (IOError): send the 404.' };
  }
  if (type === 'TimeoutError' || type === 'timeout') {
    return { meaning: 'a socket call waited past the timeout set with settimeout()', change: `catch socket.timeout, or set no timeout on the connection; and ${catchOne}.` };
  }
  return { meaning: '', change: `fix the line the traceback names (run the server in a terminal to read it whole), and ${catchOne}, so that one client can never stop the server.` };
}

/** How a server ended, as the runner saw it: with --run its exit status, without it only that it stopped listening. */
export interface ServerEnd {
  how: 'exited' | 'killed' | 'stopped-listening' | 'stopped';
  code?: number | null;
  signal?: string | null;
  /** The traceback it printed as it ended. */
  exception?: ServerException;
  /** It ended during the first check it took part in: after its first client (or datagram). */
  firstClient: boolean;
  /** Its last output lines, escaped (--run only). */
  output?: string;
}

/** A crash shows a traceback or a fatal signal; any other exit is the program ending on its own. */
export function isCrash(end: ServerEnd): boolean {
  return end.exception !== undefined || end.how === 'killed';
}

/** "then it crashed: ...", "then it exited on its own (exit status 0, no traceback)": the second half of a sentence. */
export function describeEnd(end: ServerEnd, kind: Kind): string {
  if (end.exception) {
    const { meaning } = explainException(end.exception, kind);
    return `then it crashed: it raised ${nameException(end.exception)}${meaning ? `; ${meaning}` : ''}`;
  }
  switch (end.how) {
    case 'killed': return `then it was killed by ${end.signal} (a crash of the program itself)`;
    case 'exited': return `then it exited on its own (exit status ${end.code}, no traceback)`;
    case 'stopped-listening': return 'then it closed its listening socket (it still runs, but no client can connect)';
    case 'stopped': return `then it stopped ${kind === 'udp' ? 'answering (its port is closed: ICMP port unreachable)' : 'accepting connections'}`;
  }
}

/** What one check saw: its verdict on its own exchange, and what the server did meanwhile. */
export interface Observation {
  id: string;
  verdict: Verdict;
  /** The check did not run, and why (the server had stopped and --run was not given; the deadline). */
  notRun?: string;
  /** The server ended during this check. */
  end?: ServerEnd;
  /** An exception the server printed during this check while it went on (a thread's). */
  exception?: ServerException;
  /** This check judged the exchange of that earlier check (the sample, the first GET) instead of its own. */
  judges?: string;
}

/** The verdict for a server that answers one client and exits: the most common beginner's bug. */
export function oneClientVerdict(kind: Kind, where: string, end: ServerEnd): Verdict {
  const client = kind === 'udp' ? 'datagram' : kind === 'web' ? 'request' : 'client';
  const loop = kind === 'udp' ? 'recvfrom()' : 'accept()';
  const known = end.how !== 'stopped';
  const summary = known
    ? `your server exits after its first ${client}: put ${loop} inside a loop.`
    : `after answering its first ${client} right, the server stopped ${kind === 'udp' ? 'answering' : 'accepting connections'}: is ${loop} inside a loop?`;
  const did = known
    ? `answered the ${where} check's ${client} right, ${describeEnd(end, kind)}: no later ${client} can reach it.` +
      (end.how === 'exited' && kind === 'web' ? ' A missing loop, or a sys.exit() or break inside it, ends it so.' : '')
    : `answered the ${where} check's ${client} right, ${describeEnd(end, kind)}. Most likely it exits after its first ${client} (no loop around ${loop}, or a sys.exit() in it); ` +
      'it may also have crashed after replying: run it in a terminal, or let lab-check start it with --run, to see which.';
  const change = kind === 'udp'
    ? 'while True: message, clientAddress = serverSocket.recvfrom(2048); serverSocket.sendto(message.upper(), clientAddress)'
    : `while True: connectionSocket, addr = serverSocket.accept(); ${kind === 'web' ? 'answer the request' : 'serve that client'}; connectionSocket.close(). No sys.exit() or break inside the loop.`;
  return problem('fail', summary, did, change, 'one-client');
}

/**
 * Turns what each check saw into the report's verdicts, as a careful TA would:
 * - a death is blamed on the request that caused it: the first check whose judgement of that
 *   exchange went wrong gets it, with the traceback as the cause; a check whose own exchange was
 *   answered right stays right;
 * - a server that answers its first client right and then exits on its own (or, without --run,
 *   stops) is the one-client server: said once, as the concurrent and survives checks' FAIL;
 * - a crash after a right answer is the survives check's failure;
 * - an exception a thread printed is the evidence for that check's failure;
 * - one root cause, one FAIL: a later check that failed only because of a cause already failed
 *   (no reply at all, the same exception at the same line) says so, as SKIP.
 */
export function concludeChecks(kind: Kind, observations: Observation[]): { checks: CheckResult[]; notes: string[] } {
  const obs = observations.map((o) => ({ ...o, verdict: { ...o.verdict } }));
  const byId = (id: string) => obs.find((o) => o.id === id);
  // A server that never answered the first message cannot be judged on surviving: the same cause.
  const opening = byId(kind === 'tcp' ? 'sample' : kind === 'udp' ? 'reply' : 'status-line');
  const survives = byId('survives');
  if (survives?.verdict.cause === 'does-not-survive' && opening?.verdict.status === 'fail' && opening.verdict.cause?.startsWith('no-reply:') && !opening.end && !byId('connect')?.end) {
    survives.verdict = { ...survives.verdict, cause: opening.verdict.cause };
    survives.exception = undefined;
  }
  // Silent to the sample, yet answered after the client's FIN: it waits for the client to close.
  const halfClose = byId('half-close');
  if (opening?.verdict.cause === 'no-reply:silent' && halfClose?.verdict.status === 'pass' && halfClose.verdict.summary.startsWith('after the client')) {
    opening.verdict = problem('fail', opening.verdict.summary,
      `${opening.verdict.did} The half-close check shows why: once the client sent FIN, the reply came. It waits for the client to close its side ` +
      '(it reads until recv() returns b\'\') before it answers; the handout\'s client never closes first, so it waits for ever.',
      'answer each piece as it arrives: send(data.upper()) right after each recv(), inside the loop.', 'no-reply:silent');
  }
  // A death after an exchange that later checks judge belongs to the first of them that went wrong.
  for (const owner of obs) {
    if (!owner.end) continue;
    const judges = obs.filter((o) => o.judges === owner.id);
    // A WARN (an answer as the handout's) is an answer: the end stays with the exchange's own check.
    const blamed = judges.find((o) => o.verdict.status === 'fail');
    if (blamed) { blamed.end = owner.end; owner.end = undefined; }
  }
  // The one-client server: a right answer (or a check that needs several clients), then an end
  // that is no crash, during the first check it took part in.
  const answered = (o: Observation) => o.verdict.status === 'pass' || o.verdict.status === 'warn';
  const exitsAfterOne = (o: Observation) => o.end !== undefined && !isCrash(o.end) && o.end.firstClient && (answered(o) || SEVERAL_CLIENTS.has(o.id));
  const found = obs.find(exitsAfterOne);
  const oneClient = found && { id: found.id, end: found.end! };
  const afterRightAnswer: { id: string; end: ServerEnd }[] = [];
  for (const o of obs) {
    if (!o.end) {
      if (o.exception && (o.verdict.status === 'fail' || o.verdict.status === 'warn') && bytesDoNotTell(o.verdict.cause)) o.verdict = withException(o.verdict, o.exception, kind);
      continue;
    }
    if (oneClient && !isCrash(o.end) && o.end.firstClient) {
      // Its end is the one-client server's, said once (concurrent, survives); what it answered stands.
      if (o.id === 'reply-to-sender') o.notRun = `not judged on its own: the server exits after its first datagram, and this check needs several clients (see survives).`;
    } else if (answered(o)) afterRightAnswer.push({ id: o.id, end: o.end });
    else o.verdict = withEnd(o.verdict, o.end, kind);
  }
  if (oneClient) {
    for (const o of obs) {
      if (o.id !== 'concurrent' && o.id !== 'survives') continue;
      const verdict = oneClientVerdict(kind, oneClient.id, oneClient.end);
      // What else this check saw its server do (a crash on a bad client) is said too.
      if (o.end && isCrash(o.end)) verdict.detail = verdict.detail.replace('\nwhat to change:', ` In this check it also crashed on a bad client: ${describeEnd(o.end, kind).replace(/^then it crashed: /, '')}.\nwhat to change:`);
      o.verdict = verdict;
      o.notRun = undefined;
    }
  }
  if (survives && afterRightAnswer.length > 0 && survives.verdict.cause !== 'one-client') {
    const { id, end } = afterRightAnswer[0];
    const why = end.exception ? explainException(end.exception, kind) : undefined;
    const did = `answered the ${id} check's client right, ${describeEnd(end, kind)}.`;
    const change = why?.change ?? (kind === 'udp' ? 'keep serving: while True around recvfrom() and sendto(), with one datagram\'s errors caught.'
      : 'keep serving: while True around accept() and the handling of one connection, with that connection\'s errors caught.');
    survives.verdict = {
      ...problem('fail', `after answering the ${id} check right, the server ${isCrash(end) ? 'crashed' : 'ended'}: one client must never stop it.`,
        did, change, end.exception ? exceptionKey(end.exception) : 'ended-after-answer'),
      detail: renderDetail(did, change, undefined, end.output),
    };
    survives.notRun = undefined;
  }
  // One root cause, one FAIL.
  const failedBy = new Map<string, string>();
  const results: CheckResult[] = [];
  for (const o of obs) {
    let v: Verdict = o.notRun !== undefined ? skip(o.notRun) : o.verdict;
    // No reply is one cause however the connection ended (silent, closed, reset, or a datagram).
    const cause = v.cause?.startsWith('no-reply:') ? 'no-reply:' : v.cause === 'stalled' ? 'too-slow' : v.cause;
    if (v.status === 'fail' && cause !== undefined && cause !== 'one-client') {
      const earlier = failedBy.get(cause) ?? (cause.startsWith('exception:') ? [...failedBy].find(([c]) => c.startsWith('exception:') && sameException(c, cause))?.[1] : undefined);
      if (earlier !== undefined && isSameCause(cause)) v = skip(`not judged on its own: ${sameCauseAgain(cause, o.end?.exception ?? o.exception)} (see the ${earlier} check).`);
      else failedBy.set(cause, o.id);
    }
    results.push({ id: o.id, status: v.status, summary: v.summary, detail: v.status === 'warn' || v.status === 'fail' ? v.detail : '' });
  }
  return { checks: results, notes: [] };
}

/**
 * Failures whose bytes do not show their cause (nothing came, or it stopped midway): there, an
 * exception the server printed meanwhile is the evidence. Elsewhere the bytes tell, and a
 * traceback printed on the side (a thread dying after its answer) is not made the cause.
 */
function bytesDoNotTell(cause: string | undefined): boolean {
  return cause === undefined || cause.startsWith('no-reply:') || ['cut-short', 'body-cut', 'stalled', 'reset-mid', 'first-unanswered', 'second-unanswered', 'binary-none'].includes(cause);
}

/** The checks that need more than one client: a one-client server fails them by its one mistake. */
const SEVERAL_CLIENTS = new Set(['concurrent', 'survives', 'reply-to-sender']);

/** Causes that leave a later check nothing of its own to judge: no reply at all, or the same crash. */
function isSameCause(cause: string): boolean {
  return cause.startsWith('no-reply:') || cause.startsWith('exception:') ||
    ['too-much', 'too-slow', 'same-file', 'cut-short', 'longer', 'reset-mid', 'stalled', 'extra-bytes', 'bare-lf'].includes(cause);
}

/** What a check that failed for an already-failed cause saw again, in a few words. */
function sameCauseAgain(cause: string, ex?: ServerException): string {
  if (cause.startsWith('exception:')) {
    const type = cause.split(':')[1];
    return `the server ${ex?.thread ? 'printed' : 'crashed with'} the same ${showText(Buffer.from(type), 40)} here too${ex?.line !== undefined ? ` (at line ${ex.line})` : ''}`;
  }
  if (cause.startsWith('no-reply:')) return 'no reply here either';
  if (cause === 'too-much') return 'an endless or oversized reply here too';
  if (cause === 'too-slow') return 'the reply trickled here too, past the exchange\'s time';
  if (cause === 'cut-short') return 'the reply was cut short here too';
  if (cause === 'reset-mid') return 'the answer was cut by a reset here too';
  if (cause === 'stalled') return 'the answer stopped midway here too';
  if (cause === 'extra-bytes') return 'the same bytes came after the file here too';
  if (cause === 'bare-lf') return 'the lines end with a bare LF here too';
  if (cause === 'longer') return 'the same bytes were added to the reply here too';
  return 'the same file came back whatever the path asked for';
}

/** An exception as a cause: its type, line and message (see sameException). */
function exceptionKey(ex: ServerException): string {
  return `exception:${ex.type}:${ex.line ?? ''}:${ex.message}`;
}

/**
 * Two exceptions are one cause when they are of one type and come from one line (a decode() that
 * fails on two inputs, with two messages) or say the same thing (send(str) on two lines).
 */
function sameException(a: string, b: string): boolean {
  const [, typeA, lineA, ...messageA] = a.split(':');
  const [, typeB, lineB, ...messageB] = b.split(':');
  return typeA === typeB && ((lineA !== '' && lineA === lineB) || messageA.join(':') === messageB.join(':'));
}

/** A check that went wrong, and the server ended meanwhile: FAIL, with what its end shows. */
function withEnd(verdict: Verdict, end: ServerEnd, kind: Kind): Verdict {
  const did = verdict.did ?? verdict.summary;
  const why = end.exception ? explainException(end.exception, kind) : undefined;
  const crashed = isCrash(end);
  const change = why?.change
    ?? (crashed || end.how === 'stopped'
      ? `${verdict.change ?? ''} And ${kind === 'udp' ? 'catch the errors of one datagram' : 'catch the errors of one client (try/except around the handling of one connection)'}, so that one client can never stop the server.`.replace(/^ And c/, 'C')
      : verdict.change ?? '');
  // The traceback replaces the guesses; without one (no --run), they stay.
  const guess = end.exception ? undefined : end.how === 'stopped' ? (verdict.guess ?? 'Run the server in a terminal, or with --run, to see why it stopped.') : verdict.guess;
  const ending = describeEnd(end, kind);
  const summary = `${verdict.summary.replace(/\.$/, '')}; ${ending.replace(/:.*$/, '').replace(/ \(.*$/, '')}${end.exception ? ` (${showText(Buffer.from(end.exception.type), 40)})` : ''}.`;
  // The survives check's bad client came first, the normal client's failure after: the end goes first.
  const told = verdict.cause === 'does-not-survive' ? `${capitalize(ending.replace(/^then /, ''))}. ${did}` : `${did} ${capitalize(ending)}.`;
  return {
    status: 'fail', summary,
    detail: renderDetail(told, change, guess, end.output),
    did, change, guess,
    cause: end.exception ? exceptionKey(end.exception) : verdict.cause,
  };
}

/** A check that went wrong while the server printed an exception and went on (a thread's handler died). */
function withException(verdict: Verdict, ex: ServerException, kind: Kind): Verdict {
  const { meaning, change } = explainException(ex, kind);
  const did = `${verdict.did ?? verdict.summary} Meanwhile the server printed an exception${ex.thread ? ` in ${showText(Buffer.from(ex.thread), 40)}` : ''}: ${nameException(ex)}${meaning ? `; ${meaning}` : ''}.`;
  // An exception whose meaning is known is the cause; any other is evidence beside the check's own reading.
  if (!meaning) return { ...verdict, detail: renderDetail(did, verdict.change ?? change, verdict.guess), did };
  return { ...verdict, detail: renderDetail(did, change), did, change, guess: undefined, cause: exceptionKey(ex) };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Part 3: the wire and the process. Every exchange is bounded in time (EXCHANGE_TIMEOUTS per-step
// timeouts) and in bytes (a few times the right reply), every socket has an error listener from
// its first moment (a reset at any time ends its exchange, never lab-check), and -v traces it all.

interface Target {
  host: string; port: number; family: 0 | 4 | 6; timeoutMs: number; trace: Trace;
  /** The sockets open now: a check that runs out of time closes them, so that nothing waits on. */
  sockets: Set<{ destroy(): void } | dgram.Socket>;
}

function track<T extends net.Socket | dgram.Socket>(target: Target, socket: T): T {
  target.sockets.add(socket);
  socket.once('close', () => target.sockets.delete(socket));
  return socket;
}

/** Ends every socket a check left open (its time is up). */
function closeAll(target: Target): void {
  for (const socket of target.sockets) {
    if (socket instanceof dgram.Socket) { try { socket.close(); } catch { /* closed already */ } } else socket.destroy();
  }
  target.sockets.clear();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `done()` or `ms` have passed; true if done. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; !done(); await sleep(10)) if (Date.now() >= deadline) return done();
  return true;
}

/** Connects, or resolves with the socket error (ECONNREFUSED: nothing listens). */
function connectTcp(target: Target): Promise<net.Socket | { error: unknown }> {
  return new Promise((resolve) => {
    const socket = track(target, net.connect({ host: target.host, port: target.port, family: target.family, allowHalfOpen: true, noDelay: true }));
    let connected = false;
    const timer = setTimeout(() => { socket.destroy(); resolve({ error: Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }) }); }, target.timeoutMs);
    // Never removed: an error with no listener would end lab-check (a reset while we sleep between two parts).
    socket.on('error', (error) => {
      if (connected) return target.trace(`error: ${errorCode(error) ?? error.message}`);
      clearTimeout(timer);
      resolve({ error });
    });
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
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
  /** The most the reply may be: more, and the exchange stops reading (too-much). */
  maxBytes: number;
  /** An HTTP head must end (an empty line) within this many bytes. */
  maxHead?: number;
  /** Once the reply is complete, wait the step's timeout for the server's FIN (not a moment): its close is being checked. */
  awaitClose?: boolean;
}

/** One conversation: connect, send the parts, collect the reply until complete, closed, reset, silent, or over a bound. */
async function talkTcp(target: Target, plan: TcpPlan): Promise<TcpOutcome> {
  const socket = await connectTcp(target);
  if ('error' in socket) return { reply: Buffer.alloc(0), ended: resetWhileConnecting(socket.error) ? 'reset' : 'refused' };
  return converse(socket, target, plan);
}

/**
 * A server that resets a connection as soon as it accepts it can do so before the client has seen
 * the handshake complete: the connect then fails with ECONNRESET. Something listens all the same.
 */
function resetWhileConnecting(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ECONNRESET' || code === 'EPIPE';
}

function converse(socket: net.Socket, target: Target, plan: TcpPlan): Promise<TcpOutcome> {
  const { trace } = target;
  return new Promise((resolve) => {
    // One buffer grown by doubling, up to maxBytes: a long reply is copied O(n) times, not once per chunk.
    let buffer = Buffer.alloc(0);
    let kept = 0;
    let size = 0;
    let finished = false;
    let sending = true;
    let finSent = false;
    let idle: NodeJS.Timeout | undefined;
    const reply = () => buffer.subarray(0, kept);
    const keep = (chunk: Buffer) => {
      const part = chunk.subarray(0, Math.max(0, plan.maxBytes - kept));
      if (kept + part.length > buffer.length) {
        const grown = Buffer.alloc(Math.min(plan.maxBytes, Math.max(2 * buffer.length, kept + part.length, 4096)));
        buffer.copy(grown, 0, 0, kept);
        buffer = grown;
      }
      part.copy(buffer, kept);
      kept += part.length;
    };
    // However the server trickles, the exchange ends: a byte a second must not hold lab-check.
    const budget = EXCHANGE_TIMEOUTS * target.timeoutMs + SPLIT_GAP_MS * Math.max(0, plan.parts.length - 1) + (plan.fin ?? 0);
    const deadline = setTimeout(() => finish(plan.complete(reply()) ? 'enough' : size > 0 ? 'too-slow' : 'silent'), budget);
    const finish = (ended: TcpEnd) => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      clearTimeout(deadline);
      if (ended === 'too-much' || ended === 'too-slow') trace(`lab-check stops this exchange: ${ended === 'too-much' ? `over ${plan.maxBytes} bytes` : `still unfinished after ${budget} ms`}`);
      hangUp(socket, ended === 'too-much' || ended === 'too-slow');
      resolve({ reply: reply(), ended, finSent });
    };
    // Silence is judged from the last thing that happened: our last send, or their last byte.
    const waitForMore = (ms = target.timeoutMs) => {
      clearTimeout(idle);
      idle = setTimeout(() => (sending ? waitForMore() : finish(plan.complete(reply()) ? 'enough' : 'silent')), ms);
    };
    socket.on('data', (chunk: Buffer) => {
      if (finished) return;
      size += chunk.length;
      keep(chunk);
      if (isTracing(trace)) trace(`received ${chunk.length} bytes: ${showBytes(chunk, 4096)}`);
      if (size > plan.maxBytes) return finish('too-much');
      if (plan.maxHead !== undefined && size > plan.maxHead && size - chunk.length <= plan.maxHead && !/\r?\n\r?\n/.test(reply().subarray(0, plan.maxHead).toString('latin1'))) {
        return finish('too-much');
      }
      // A complete reply still gets a moment for anything extra (a newline, a second copy).
      waitForMore(plan.complete(reply()) && !sending && !plan.awaitClose ? Math.min(100, target.timeoutMs) : target.timeoutMs);
    });
    socket.on('end', () => { trace('the server closed its side (FIN)'); finish('closed'); });
    socket.on('error', (err) => finish(errorCode(err) === 'ECONNRESET' || errorCode(err) === 'EPIPE' ? 'reset' : 'closed'));
    socket.on('close', () => finish('closed'));
    waitForMore();
    void (async () => {
      for (const [i, part] of plan.parts.entries()) {
        if (i > 0) await sleep(SPLIT_GAP_MS);
        if (finished || socket.destroyed) return;
        socket.write(part);
        if (isTracing(trace)) trace(`sent ${part.length} bytes: ${showBytes(part, 4096)}`);
      }
      // A server that answers its one recv() and closes at once would cross FINs with ours, and a
      // simultaneous close leaves TIME_WAIT on its port for 60 s: a server without SO_REUSEADDR (the
      // handout's) could not bind it again. So the FIN waits a moment, and is not sent once the
      // server has closed: a reply that came without it came all the same.
      if (plan.fin !== undefined && plan.parts.length > 0) await sleep(plan.fin);
      if (plan.fin !== undefined && !finished && !socket.destroyed) {
        socket.end();
        finSent = true;
        trace('sent FIN (half-close: nothing more from the client)');
      }
      sending = false;
      if (!finished) waitForMore(plan.complete(reply()) && !plan.awaitClose ? Math.min(100, target.timeoutMs) : target.timeoutMs);
    })();
  });
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

/** The bounds of a reply to `sent`: a few times its length, for an uppercase server. */
function replyPlan(parts: Buffer[], fin?: number): TcpPlan {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return { parts, fin, complete: (reply) => reply.length >= length, maxBytes: REPLY_FACTOR * length + 1024 };
}

/** An HTTP exchange: the request in parts, the answer read until complete, closed, or over its bounds. */
async function talkHttp(target: Target, parts: Buffer[], maxBody = MAX_UNKNOWN_BODY): Promise<HttpResponse> {
  const result = await talkTcp(target, httpPlan(parts, maxBody));
  return parseHttpResponse(result.reply, result.ended === 'closed' || result.ended === 'reset', result.ended);
}

function httpPlan(parts: Buffer[], maxBody: number): TcpPlan {
  return { parts, complete: httpCompletion(), maxBytes: MAX_HEAD_BYTES + maxBody, maxHead: MAX_HEAD_BYTES };
}

/**
 * Whether a growing answer is complete: its head has ended and Content-Length bytes of body are
 * in, or its last chunk. It remembers where the head ended, so that each new piece of a long
 * body costs a comparison, not a search of everything received.
 */
function httpCompletion(): (reply: Buffer) => boolean {
  let headEnd = -1;
  let searched = 0;
  let length: number | undefined;
  let chunked = false;
  return (reply) => {
    if (headEnd < 0) {
      headEnd = reply.indexOf('\r\n\r\n', Math.max(0, searched - 3));
      searched = reply.length;
      if (headEnd < 0) return false;
      const head = reply.subarray(0, headEnd).toString('latin1');
      chunked = /\r\ntransfer-encoding:[^\r\n]*chunked/i.test(head);
      const declared = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)?.[1];
      length = declared === undefined ? undefined : Number(declared);
    }
    const body = reply.subarray(headEnd + 4);
    if (chunked) return body.subarray(0, 5).toString('latin1') === '0\r\n\r\n' || body.subarray(-7).toString('latin1') === '\r\n0\r\n\r\n';
    return length !== undefined && body.length >= length;
  };
}

/** Complete when the head has ended and Content-Length bytes of body are in, or the last chunk. */
export function httpComplete(reply: Buffer): boolean {
  return httpCompletion()(reply);
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

// UDP ----------------------------------------------------------------------------------------

/** A UDP socket, "connected" to the server (the kernel then reports its ICMP port-unreachable as ECONNREFUSED) or bound to `address`. */
async function udpSocket(target: Target, connected: boolean, address?: string): Promise<dgram.Socket> {
  const socket = track(target, dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4'));
  const failed = await new Promise<unknown>((resolve) => {
    socket.once('error', resolve);
    if (connected) socket.connect(target.port, target.host, () => resolve(undefined));
    else socket.bind(0, address ?? (net.isIPv6(target.host) ? '::' : '0.0.0.0'), () => resolve(undefined));
  });
  socket.removeAllListeners('error');
  // Never without a listener: an ICMP error on a connected socket would otherwise end lab-check.
  socket.on('error', (err) => target.trace(`error: ${errorCode(err) ?? err.message}`));
  if (failed) { socket.close(); throw failed; }
  return socket;
}

/**
 * Sends `copies` copies of one datagram and counts the replies. The first copy goes alone (a server
 * that exits after one datagram shows it cleanly), the rest 3 ms apart; then the replies get the
 * per-step timeout, or less once they stop coming (10 times the first one's round trip, at least
 * 500 ms: a busy machine can hold a server back that long), so that a server that drops copies on purpose costs a moment, not the whole timeout.
 */
async function askUdp(target: Target, message: Buffer, copies: number): Promise<UdpOutcome> {
  const socket = await udpSocket(target, true);
  const replies: Buffer[] = [];
  let refused = false;
  let sent = 0;
  let lastReplyAt = 0;
  socket.on('message', (reply) => {
    if (isTracing(target.trace)) target.trace(`received ${reply.length} bytes: ${showBytes(reply, 4096)}`);
    lastReplyAt = Date.now();
    if (replies.length < 4 * copies) replies.push(reply); // a flood is counted, not kept
  });
  socket.on('error', (err) => {
    if (errorCode(err) === 'ECONNREFUSED') { refused = true; target.trace('ICMP port unreachable: nothing listens there (any more)'); }
  });
  const send = () => {
    if (refused) return;
    try { socket.send(message); } catch { return; }
    sent++;
    if (isTracing(target.trace)) target.trace(`sent ${message.length} bytes (copy ${sent} of ${copies}): ${showBytes(message, 4096)}`);
  };
  try {
    const started = Date.now();
    send();
    await until(() => replies.length > 0 || refused, target.timeoutMs);
    const roundTrip = replies.length > 0 ? lastReplyAt - started : target.timeoutMs;
    for (let i = 1; i < copies && !refused; i++) { send(); await sleep(3); }
    // No reply to the first copy in the whole timeout: the others get a moment, not the timeout again.
    const quiet = replies.length > 0 ? Math.min(target.timeoutMs, Math.max(500, 10 * roundTrip)) : Math.min(target.timeoutMs, 500);
    const lastSend = Date.now();
    await until(() => replies.length >= sent || refused || Date.now() - Math.max(lastSend, lastReplyAt) >= quiet, target.timeoutMs);
    await sleep(Math.min(50, target.timeoutMs)); // an extra reply (a second copy, a reply to another) may still come
    return { sent, replies, refused };
  } finally {
    socket.close();
  }
}

/**
 * Clients on two ports, and (on IPv4 loopback) a third on a second local address, each send their
 * own message; whatever comes back is kept. A witness socket on 127.0.0.1 at the third client's
 * port catches a reply sent to a fixed 127.0.0.1.
 */
async function severalClients(target: Target, copies: number, rule?: LetterRule): Promise<ReplyToSenderObservation> {
  const loopback4 = net.isIPv4(target.host) && target.host.startsWith('127.');
  const messages = [Buffer.from('first client, port one'), Buffer.from('second client, port two')];
  const addresses: (string | undefined)[] = [undefined, undefined];
  if (loopback4) {
    messages.push(Buffer.from('third client, another address'));
    addresses.push(target.host === '127.0.0.2' ? '127.0.0.3' : '127.0.0.2');
  }
  const sockets: dgram.Socket[] = [];
  for (const address of addresses) {
    try { sockets.push(await udpSocket(target, false, address)); } catch { /* a second address may be missing: two clients still tell */ }
  }
  // A client bound to every address sends from the route's own address: a connected socket tells which.
  const route = await udpSocket(target, true);
  const source = route.address().address;
  route.close();
  const clients = sockets.map((socket, i) => ({ sent: messages[i], address: addresses[i] ?? source, port: socket.address().port, received: [] as Datagram[] }));
  let witness: ReplyToSenderObservation['witness'];
  let witnessSocket: dgram.Socket | undefined;
  if (clients.length === 3) {
    try {
      const socket = witnessSocket = track(target, dgram.createSocket('udp4'));
      socket.on('error', (err) => target.trace(`witness: ${errorCode(err) ?? err.message}`));
      await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(clients[2].port, '127.0.0.1', () => resolve()); });
      const seen = witness = { address: '127.0.0.1', port: clients[2].port, received: [] as Datagram[] };
      socket.on('message', (data, from) => {
        if (isTracing(target.trace)) target.trace(`witness at 127.0.0.1:${seen.port} received ${data.length} bytes from ${formatEndpoint(from.address, from.port)}: ${showBytes(data, 4096)}`);
        if (seen.received.length < 4 * copies) seen.received.push({ data, from: { address: from.address, port: from.port } });
      });
    } catch { witness = undefined; witnessSocket?.close(); witnessSocket = undefined; /* that port is taken on 127.0.0.1: no witness */ }
  }
  sockets.forEach((socket, i) => socket.on('message', (data, from) => {
    if (isTracing(target.trace)) target.trace(`client at ${formatEndpoint(clients[i].address, clients[i].port)} received ${data.length} bytes from ${formatEndpoint(from.address, from.port)}: ${showBytes(data, 4096)}`);
    if (clients[i].received.length < 4 * copies) clients[i].received.push({ data, from: { address: from.address, port: from.port } });
  }));
  for (let copy = 0; copy < copies; copy++) {
    for (const [i, socket] of sockets.entries()) {
      try { socket.send(messages[i], target.port, target.host); } catch { /* closed by a deadline */ }
      if (copy === 0) target.trace(`client at ${formatEndpoint(clients[i].address, clients[i].port)} sent ${copies} copies of ${showBytes(messages[i])}`);
      await sleep(3);
    }
  }
  const answered = (c: (typeof clients)[number]) => c.received.some((d) => d.data.equals(replyByRule(c.sent, rule) ?? labUppercase(c.sent)));
  await until(() => clients.every(answered), target.timeoutMs);
  await sleep(Math.min(100, target.timeoutMs)); // a reply to the wrong client may still be on its way
  for (const socket of sockets) socket.close();
  witnessSocket?.close();
  return { server: { address: target.host, port: target.port }, clients, witness };
}

// The student's server (--run) -----------------------------------------------------------------

/**
 * A server started from --run: its own process group, so that stopping it stops its children
 * too; and a token in its environment, which a daemon (fork, setsid, fork) carries out of the
 * group, so that lab-check can find it and stop it as well.
 */
interface StudentServer {
  child: ChildProcess;
  /** Its output (stdout and stderr), the last OUTPUT_KEPT characters. */
  output: string;
  /** How many characters it has printed in all (to find what it printed during one check). */
  printed: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** It put itself in the background: its first process exited, a child of it holds the port. */
  daemon?: boolean;
}

/** Whether a started server is there to talk to: its process runs (or, a daemon, its port is held) and its port is bound. */
function isServing(kind: Kind, port: number, server: StudentServer | undefined): boolean {
  return server !== undefined && (server.exit === undefined || server.daemon === true) && portInUse(kind, port);
}

const OUTPUT_KEPT = 20000;
const RUN_TOKEN = 'LAB_CHECK_RUN';

function startStudentServer(command: string, token: string, trace: Trace): StudentServer {
  // PYTHONUNBUFFERED: a Python server's prints would otherwise sit in its buffer when it dies.
  const child = spawn('/bin/sh', ['-c', command], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1', [RUN_TOKEN]: token },
  });
  const server: StudentServer = { child, output: '', printed: 0 };
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    server.printed += text.length;
    server.output = (server.output + text).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', () => {}); // spawn failures show as an exit
  child.on('exit', (code, signal) => {
    server.exit = { code, signal };
    trace(`--run: the server (PID ${child.pid}) exited (${signal ?? `code ${code}`})`);
  });
  trace(`--run: started "${escapeForPeople(command)}" as PID ${child.pid}, in its own process group`);
  return server;
}

/** What the server printed since `printedBefore` characters (as much of it as is kept). */
function printedSince(server: StudentServer, printedBefore: number): string {
  const count = server.printed - printedBefore;
  return count <= 0 ? '' : server.output.slice(-Math.min(count, server.output.length));
}

/** Ends the process group of a server we started, and only that one. */
async function stopStudentServer(server: StudentServer): Promise<void> {
  const pid = server.child.pid;
  if (pid === undefined) return;
  signalGroup(pid, 'SIGTERM');
  await until(() => server.exit !== undefined, 1000);
  signalGroup(pid, 'SIGKILL'); // children it left behind (the group outlives its leader)
  // SIGKILL is delivered, not waited for: on a busy machine a killed process can hold the port a
  // moment longer, and the next run (or a restart) would find it taken.
  await until(() => !groupExists(pid), 2000);
}

function groupExists(pid: number): boolean {
  try { process.kill(-pid, 0); return true; } catch (err) { return errorCode(err) === 'EPERM'; }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

/** A process left behind by --run: it carries the run's token, or holds the port and is ours. */
export interface Leftover { pid: number; command: string; holdsPort: boolean }

/**
 * Processes the run started that outlived its process group (a daemon: fork, setsid, fork): those
 * whose environment holds the run's token, and those that hold the checked port, run as this user
 * and began after lab-check did (a daemon that cleared its environment). Read from /proc.
 */
function findLeftovers(kind: Kind, port: number, token: string): Leftover[] {
  const holders = portHolders(kind, port);
  const found: Leftover[] = [];
  const self = process.pid;
  const myStart = startTicks(self);
  for (const name of safeReaddir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === self) continue;
    let carriesToken = false;
    try { carriesToken = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${RUN_TOKEN}=${token}`); } catch { continue; }
    const holdsPort = holders.has(pid);
    const oursByPort = holdsPort && safeStat(`/proc/${pid}`)?.uid === process.getuid?.() && (startTicks(pid) ?? 0) >= (myStart ?? Infinity);
    if (carriesToken || oursByPort) found.push({ pid, command: commandOf(pid), holdsPort });
  }
  return found;
}

/** The PIDs whose open files include a socket bound to `port` (TCP: listening), from /proc/net and /proc/PID/fd. */
function portHolders(kind: Kind, port: number): Set<number> {
  const inodes = new Set<string>();
  for (const line of readProcNet(kind).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${port.toString(16).toUpperCase().padStart(4, '0')}`) && (kind === 'udp' || f[3] === '0A') && f[9]) inodes.add(f[9]);
  }
  const pids = new Set<number>();
  if (inodes.size === 0) return pids;
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    for (const fd of safeReaddir(`/proc/${name}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${name}/fd/${fd}`));
        if (m && inodes.has(m[1])) pids.add(Number(name));
      } catch { /* gone, or not ours to read */ }
    }
  }
  return pids;
}

function safeReaddir(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

function safeStat(path: string): { uid: number } | undefined {
  try { return statSync(path); } catch { return undefined; }
}

/** When a process started, in clock ticks since boot (/proc/PID/stat field 22). */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch { return undefined; }
}

function commandOf(pid: number): string {
  try { return escapeForPeople(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ').slice(0, 80)); } catch { return '?'; }
}

/** Stops what a run left behind, and says what it was (for the report's notes). */
function stopLeftovers(kind: Kind, port: number, token: string): string[] {
  const left = findLeftovers(kind, port, token);
  for (const { pid } of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ } }
  return left.map(({ pid, command, holdsPort }) => `--run: PID ${pid} (${command}) still ran after the server's process group was stopped` +
    `${holdsPort ? ` and held ${kind === 'udp' ? 'UDP' : 'TCP'} port ${port}` : ''}: it had left the group (a daemon: fork, setsid, fork). lab-check stopped it.`);
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

/** Whether an address is this host's own (loopback or an interface's): then /proc/net shows its server's port. */
function isLocalAddress(host: string): boolean {
  if (host === '::1' || host.startsWith('127.') || host.startsWith('::ffff:127.')) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === host));
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

/**
 * Files of the served type in the folder above the served one (at most two, up to 1 MiB): the
 * served folder is where --local FILE lies, less PATH's own folders.
 */
function filesBesideRoot(path: string, localName: string | undefined): { name: string; bytes: Buffer }[] {
  if (localName === undefined) return [];
  try {
    const local = realpathSync(localName);
    let decoded = path.split('?')[0];
    try { decoded = decodeURIComponent(decoded); } catch { /* keep it as sent */ }
    const root = local.endsWith(decoded) ? local.slice(0, local.length - decoded.length) : dirname(local);
    const above = dirname(root);
    if (above === root) return [];
    const type = extname(decoded);
    return safeReaddir(above).filter((name) => extname(name) === type && join(above, name) !== root)
      .map((name) => ({ name, file: join(above, name) }))
      .filter(({ file }) => { try { const st = statSync(file); return st.isFile() && st.size > 0 && st.size <= 1024 * 1024; } catch { return false; } })
      .map(({ name, file }) => ({ name, bytes: readFileSync(file) }))
      // A server that clamps "/../x" to "/x" serves the served folder's own x: only a file that differs proves a leak.
      .filter(({ name, bytes }) => { try { return !readFileSync(join(root, name)).equals(bytes); } catch { return true; } })
      .slice(0, 2);
  } catch {
    return [];
  }
}

/** A file outside the served folder, of the served type, for the traversal check to ask for; removed at the end. */
interface Secret { path: string; content: Buffer; dir: string }

function plantSecret(servedPath: string): Secret | undefined {
  try {
    const dir = mkdtempSync(join(tmpdir(), 'lab-check-'));
    chmodSync(dir, 0o755); // mkdtemp makes it 0700: a server run by another user could not reach it
    const path = join(dir, `secret${extname(servedPath.split('?')[0]) || '.html'}`);
    const content = Buffer.from(`lab-check secret ${randomBytes(12).toString('hex')}\n`);
    writeFileSync(path, content, { mode: 0o644 });
    return { path, content, dir };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Part 4: running the checks in order, and the command line.

interface Session {
  kind: Kind;
  target: Target;
  run?: { command: string; token: string; server?: StudentServer; startMs: number };
  /**
   * How the runner tells that the server still listens: its port in /proc/net, for a server on
   * this host (no extra client: the skeleton WebServer.py dies of an empty one), or else a
   * normal request.
   */
  watch: 'port' | 'request';
  /** The checks this server (this start of it, under --run) has taken part in, the current one included. */
  checksServed: number;
  /** What the current check saw of the server: how it ended, and where its output stood when the check began. */
  seen: { ends: ServerEnd[]; printedBefore: number };
  /** Why the later checks cannot run: without --run, the server stopped; with it, it could not be started again. */
  cannotRun?: string;
  notes: string[];
  /** The check during which the server last ended (under --run). */
  lastEnd?: string;
  /** A normal request, for the 'request' watch. */
  isAlive: () => Promise<boolean>;
}

interface Check {
  body: CheckBody;
  /** Talks to the server (false: judges what an earlier check received). */
  touchesServer: boolean;
  /** The earlier check whose exchange this one judges. */
  judges?: string;
}
type CheckBody = () => Promise<Verdict> | Verdict;

const probe = (body: CheckBody): Check => ({ body, touchesServer: true });
const judged = (of: string, body: CheckBody): Check => ({ body, touchesServer: false, judges: of });

/** What stops the whole run: nothing listens (exit 69), with the explanation the clients give. */
class NothingListens extends Error {
  readonly explanation: ExplainedError;
  /** What to change, when the evidence says (a traceback before the server listened). */
  readonly change?: string;
  constructor(explanation: ExplainedError, change?: string) {
    super(explanation.message);
    this.explanation = explanation;
    this.change = change;
  }
}

/** A check may take this long (its exchanges are bounded one by one; this bounds their sum), plus a restart under --run. */
export function checkBudgetMs(timeoutMs: number, run: boolean): number {
  return 8 * timeoutMs + 2000 + (run ? 10000 : 0);
}

/** The whole run's deadline: the server's start under --run, and every check's budget. */
export function runBudgetMs(kind: Kind, timeoutMs: number, run: boolean): number {
  return (run ? 10000 : 0) + CHECK_IDS[kind].length * checkBudgetMs(timeoutMs, run);
}

async function runChecks(session: Session, checks: Record<string, Check>, ids: readonly string[], deadlineAt: number, done: Observation[]): Promise<void> {
  for (const id of ids) {
    const check = checks[id];
    if (Date.now() >= deadlineAt) {
      done.push({ id, verdict: skip(''), notRun: `not run: the run's deadline (${Math.round(runBudgetMs(session.kind, session.target.timeoutMs, !!session.run) / 1000)} s) had passed.` });
      continue;
    }
    if (!check.touchesServer) {
      done.push({ id, verdict: await check.body(), judges: check.judges });
      continue;
    }
    if (session.run && session.cannotRun === undefined) await ensureRunning(session);
    if (session.cannotRun !== undefined) {
      done.push({ id, verdict: skip(''), notRun: `not run: ${session.cannotRun}` });
      continue;
    }
    session.target.trace(`--- check ${id}`);
    session.checksServed++;
    session.seen = { ends: [], printedBefore: session.run?.server?.printed ?? 0 };
    const verdict = await withinBudget(session, check.body, Math.min(checkBudgetMs(session.target.timeoutMs, !!session.run), deadlineAt - Date.now()));
    const end = await observeServer(session);
    if (end) session.seen.ends.push(end);
    const [first] = session.seen.ends;
    const printed = session.run?.server ? printedSince(session.run.server, session.seen.printedBefore) : '';
    // A traceback printed while the server went on: a thread's handler died of this check's client.
    const exception = first ? undefined : lastException(printed);
    done.push({ id, verdict, ...(first ? { end: first } : {}), ...(exception ? { exception } : {}) });
    if (first && !session.run) session.cannotRun = `the server stopped during the ${id} check (start it again, or use --run).`;
    if (first && session.run) session.lastEnd = id;
  }
}

/** The check's verdict, or a FAIL when it overran its budget (its sockets are closed, so that nothing waits on). */
async function withinBudget(session: Session, body: CheckBody, ms: number): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const overran = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => {
      closeAll(session.target);
      resolve(problem('fail', `the check did not finish within ${(ms / 1000).toFixed(1)} s.`, 'kept lab-check waiting: its answers trickled or never ended.',
        'answer each request at once and completely, then close (or keep the connection open only with a Content-Length).', 'too-slow'));
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([Promise.resolve().then(body), overran]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether the server ended during the check just run: under --run its process exited (or its port
 * closed); otherwise its port is no longer bound (a local server) or a normal request is refused.
 * A crash closes the socket a moment before the process is gone: the settle time lets it go.
 */
async function observeServer(session: Session): Promise<ServerEnd | undefined> {
  const settle = Math.min(100, session.target.timeoutMs / 2);
  const firstClient = session.checksServed === 1;
  const server = session.run?.server;
  if (server?.daemon) {
    await sleep(settle);
    return portInUse(session.kind, session.target.port) ? undefined : { how: 'stopped', firstClient, output: lastLines(server.output) };
  }
  if (server) {
    await until(() => server.exit !== undefined, settle);
    if (server.exit === undefined && !portInUse(session.kind, session.target.port)) await until(() => server.exit !== undefined, 1000);
    if (server.exit === undefined) return portInUse(session.kind, session.target.port) ? undefined : { how: 'stopped-listening', firstClient };
    if (portInUse(session.kind, session.target.port)) {
      // Its first process exited, yet the port is held: it put itself in the background (a daemon).
      markDaemon(session, server);
      return undefined;
    }
    const printed = printedSince(server, session.seen.printedBefore);
    const exception = lastException(printed);
    return {
      how: server.exit.signal ? 'killed' : 'exited', code: server.exit.code, signal: server.exit.signal,
      ...(exception ? { exception } : {}), firstClient, output: lastLines(server.output),
    };
  }
  if (session.watch === 'port') {
    await sleep(settle);
    return portInUse(session.kind, session.target.port) ? undefined : { how: 'stopped', firstClient };
  }
  return (await session.isAlive()) ? undefined : { how: 'stopped', firstClient };
}

/** Under --run: a server that ended (its end already seen by a check) is started again, fresh; if it cannot be, the rest is not run. */
async function ensureRunning(session: Session): Promise<boolean> {
  if (isServing(session.kind, session.target.port, session.run?.server)) return true;
  try {
    await restart(session);
    return true;
  } catch (err) {
    if (!(err instanceof NothingListens)) throw err;
    session.cannotRun = `the server ended during the ${session.lastEnd ?? 'previous'} check, and --run could not start it again.`;
    session.notes.push(err.explanation.message);
    return false;
  }
}

/**
 * Within a check that asks several independent things (the traversal paths): under --run, a
 * server that ended after one of them is noted as this check's end and started again, so that
 * the next is asked too. Without --run, false once it has ended (the rest cannot be asked).
 */
async function stillServing(session: Session): Promise<boolean> {
  const end = await observeServer(session);
  if (!end) return true;
  session.seen.ends.push(end);
  if (!session.run || !(await ensureRunning(session))) return false;
  session.checksServed = 1;
  session.seen.printedBefore = 0;
  return true;
}

async function startAndWait(session: Session): Promise<void> {
  const run = session.run!;
  let server: StudentServer;
  for (let attempt = 1; ; attempt++) {
    server = run.server = startStudentServer(run.command, run.token, session.target.trace);
    if (await waitUntilListening(session, server, run.startMs)) break;
    // A connection of the dead server may still hold the port for a moment: try again, briefly.
    if (attempt === 5 || !/address already in use/i.test(server.output)) {
      const output = lastLines(server.output);
      await stopStudentServer(server);
      const what = server.exit ? 'exited before it listened' : `did not listen within ${run.startMs / 1000} s`;
      const crash = server.exit ? lastException(server.output) : undefined;
      const why = /address already in use/i.test(server.output)
        ? 'The port is still held: by another program, or by a connection of the server\'s last run that the kernel keeps ' +
          'for 60 s (TIME_WAIT); serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind() lets it bind anyway.'
        : crash
          ? `It crashed before it could listen: it raised ${nameException(crash)}${explainException(crash, session.kind).meaning ? `; ${explainException(crash, session.kind).meaning}` : ''}.`
          : 'Does it take that port from its command line?';
      throw new NothingListens(new ExplainedError(`--run: "${escapeForPeople(run.command)}" ${what} on ${session.kind === 'udp' ? 'UDP' : 'TCP'} ` +
        `port ${session.target.port}. ${why} Its output:\n${output || '  | (nothing)'}`, EXIT.unavailable), crash ? explainException(crash, session.kind).change : undefined);
    }
    await sleep(300);
  }
  session.checksServed = 0;
}

/**
 * Waits until the port is bound. A first process that exits with status 0 may have put the server
 * in the background (fork, setsid, fork): then the wait goes on while a process carries the run's
 * token, and the server is watched by its port from then on.
 */
async function waitUntilListening(session: Session, server: StudentServer, ms: number): Promise<boolean> {
  const { kind, target: { port } } = session;
  let orphans: boolean | undefined;
  const hopeless = () => {
    if (server.exit === undefined) return false;
    if (server.exit.code !== 0) return true;
    orphans ??= findLeftovers(kind, port, session.run!.token).length > 0;
    return !orphans;
  };
  await until(() => portInUse(kind, port) || hopeless(), ms);
  if (!portInUse(kind, port)) return false;
  if (server.exit !== undefined) markDaemon(session, server);
  return true;
}

function markDaemon(session: Session, server: StudentServer): void {
  server.daemon = true;
  if (!session.notes.some((n) => n.includes('put itself in the background'))) {
    session.notes.push('--run: the server put itself in the background (its first process exited, another holds the port): lab-check watched its port instead of its process, and cannot read its exit status.');
  }
}

async function restart(session: Session): Promise<void> {
  const run = session.run!;
  if (run.server) await stopStudentServer(run.server);
  session.notes.push(...stopLeftovers(session.kind, session.target.port, run.token));
  session.target.trace('--run: starting the server again for the remaining checks');
  await startAndWait(session);
}

// TCP checks ---------------------------------------------------------------------------------

function tcpChecks(session: Session): Record<string, Check> {
  const target = session.target;
  const t = target.timeoutMs / 1000;
  let first: TcpOutcome = { reply: Buffer.alloc(0), ended: 'silent' };
  // The rule the server's letters follow, once the sample and only-a-z checks have shown a wrong one.
  let rule: LetterRule | undefined;
  // Bytes the server adds after each reply, as the sample showed them.
  let added: Buffer | undefined;
  const ask = (parts: Buffer[], fin?: number) => talkTcp(target, replyPlan(parts, fin));
  const splitAt = 7; // "hello, " | "welcome"
  return {
    connect: probe(async () => {
      const socket = await connectTcp(target);
      if ('error' in socket && resetWhileConnecting(socket.error)) {
        first = { reply: Buffer.alloc(0), ended: 'reset' };
        return pass(`a connection to ${formatEndpoint(target.host, target.port)} was accepted, and reset at once.`);
      }
      if ('error' in socket) throw new NothingListens(explainNetworkError(socket.error, { proto: 'TCP', host: target.host, port: target.port, during: 'connect' }));
      // The connection's own exchange is the sample: its reply is judged by the sample check.
      first = await converse(socket, target, replyPlan([SAMPLE]));
      return pass(`a connection to ${formatEndpoint(target.host, target.port)} is accepted.`);
    }),
    sample: judged('connect', () => {
      rule = letterRuleOf(SAMPLE, first.reply);
      const expected = labUppercase(SAMPLE);
      if (first.reply.length > expected.length && first.reply.subarray(0, expected.length).equals(expected)) added = first.reply.subarray(expected.length);
      return judgeSample(first, t);
    }),
    'only-a-z': probe(async () => {
      const outcome = await ask([MIXED]);
      const verdict = judgeOnlyAToZ(outcome, t, rule);
      if (rule === undefined || rule === 'unchanged') rule = letterRuleOf(MIXED, outcome.reply) ?? rule;
      return verdict;
    }),
    'binary-safe': probe(async () => judgeBinarySafe(await ask([ALL_BYTES]), t, rule)),
    'long-message': probe(async () => judgeLongMessage(await ask([LONG_MESSAGE]), t, rule)),
    'split-message': probe(async () => judgeSplitMessage(await ask([SAMPLE.subarray(0, splitAt), SAMPLE.subarray(splitAt)]), SAMPLE, splitAt, t, rule, added)),
    'half-close': probe(async () => judgeHalfClose(await talkTcp(target, { ...replyPlan([SAMPLE], Math.min(100, target.timeoutMs)), awaitClose: true }), t, rule)),
    concurrent: probe(async () => {
      const expectFirst = replyByRule(FIRST_CLIENT_MESSAGE, rule) ?? labUppercase(FIRST_CLIENT_MESSAGE);
      return judgeConcurrent(await twoClientsAtOnce(target, { first: FIRST_CLIENT_MESSAGE, second: SAMPLE, crossed: (r) => r.includes(expectFirst) }), 'message');
    }),
    survives: probe(async () => {
      await badClients(target, [Buffer.from('hel')]);
      const outcome = await ask([SAMPLE]);
      const expected = replyByRule(SAMPLE, rule) ?? labUppercase(SAMPLE);
      // Surviving is answering as before the bad clients: a wrong answer given again is the sample's matter.
      const asBefore = first.reply.length > 0 && outcome.reply.equals(first.reply);
      return judgeSurvives(outcome.reply.equals(expected) || asBefore, 'a client that reset its connection and one that connected and sent nothing',
        `The normal client that followed ${outcome.ended === 'refused' ? 'was refused' : outcome.reply.length ? `got ${showBytes(outcome.reply, 30)}` : `got no reply (the connection ${outcome.ended === 'silent' ? 'stayed silent' : `was ${outcome.ended}`})`}.`);
    }),
  };
}

/** What each client of the concurrency check sends, and how to see that one got the other's reply. */
interface TwoClients { first: Buffer; second: Buffer; crossed: (secondsReply: Buffer) => boolean }

/**
 * A first client connects and says nothing; a second sends its message. Then the first sends its
 * own, and is owed a reply too: a server whose threads share one global socket sends it to the
 * second. "Answered" is the first byte of a reply: a slow server is not a one-at-a-time server.
 */
async function twoClientsAtOnce(target: Target, clients: TwoClients): Promise<ConcurrentObservation> {
  const none: ConcurrentObservation = { secondAnsweredWhileFirstWaits: false, secondAnswered: false, firstAnswered: false, crossedReply: false, waitedMs: 0, refused: true };
  const first = await connectTcp(target);
  if ('error' in first) return none;
  await sleep(50);
  const second = await connectTcp(target);
  if ('error' in second) { hangUp(first); return none; }
  const received = { first: [] as Buffer[], second: [] as Buffer[] };
  const started = Date.now();
  let secondAt: number | undefined;
  const cap = REPLY_FACTOR * (clients.first.length + clients.second.length) + MAX_HEAD_BYTES;
  for (const [name, socket] of [['first', first], ['second', second]] as const) {
    let size = 0;
    socket.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= cap) received[name].push(c);
      else hangUp(socket, true); // a flood: what came is enough to judge, and reading more only costs memory
      if (isTracing(target.trace)) target.trace(`${name} client received ${c.length} bytes: ${showBytes(c, 4096)}`);
      if (name === 'second') secondAt ??= Date.now();
    });
    socket.resume();
  }
  second.write(clients.second);
  target.trace(`second client sent ${clients.second.length} bytes while the first is connected and silent`);
  await until(() => secondAt !== undefined, target.timeoutMs);
  const whileWaiting = secondAt !== undefined;
  const waitedMs = (secondAt ?? Date.now()) - started;
  if (!first.destroyed) first.write(clients.first);
  target.trace(`first client now sends ${clients.first.length} bytes`);
  await until(() => received.first.length > 0 && secondAt !== undefined, 2 * target.timeoutMs);
  await sleep(Math.min(200, target.timeoutMs)); // a reply that went to the wrong connection may still be on its way
  await Promise.all([hangUpAfterServer(first, Math.min(200, target.timeoutMs)), hangUpAfterServer(second, Math.min(200, target.timeoutMs))]);
  return {
    secondAnsweredWhileFirstWaits: whileWaiting, secondAnswered: secondAt !== undefined, firstAnswered: received.first.length > 0,
    crossedReply: clients.crossed(Buffer.concat(received.second)), waitedMs,
  };
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
    await converse(silent, target, { parts: [], fin: 0, complete: () => false, maxBytes: 64 * 1024 });
  }
}

// UDP checks ---------------------------------------------------------------------------------

function udpChecks(session: Session): Record<string, Check> {
  const target = session.target;
  const t = target.timeoutMs / 1000;
  let rule: LetterRule | undefined;
  let sampleReply: Buffer | undefined;
  const ask = (message: Buffer) => askUdp(target, message, UDP_COPIES.probe);
  return {
    reply: probe(async () => {
      const outcome = await askUdp(target, SAMPLE, UDP_COPIES.reply);
      if (outcome.refused && outcome.replies.length === 0) {
        throw new NothingListens(explainNetworkError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), { proto: 'UDP', host: target.host, port: target.port, during: 'connect' }));
      }
      sampleReply = outcome.replies[0];
      if (sampleReply) rule = letterRuleOf(SAMPLE, sampleReply);
      return judgeUdpReply(outcome, t, session.watch === 'port' && !outcome.refused);
    }),
    'only-a-z': probe(async () => {
      const outcome = await ask(MIXED);
      const verdict = judgeUdpProbe(outcome, 'a message mixing upper case, digits, &*!, é, ß and a line end', (r) => judgeOnlyAToZ(r, t, rule), t);
      if ((rule === undefined || rule === 'unchanged') && outcome.replies[0]) rule = letterRuleOf(MIXED, outcome.replies[0]) ?? rule;
      return verdict;
    }),
    'binary-safe': probe(async () => judgeUdpProbe(await ask(ALL_BYTES), 'a datagram holding all 256 byte values', (r) => judgeBinarySafe(r, t, rule), t)),
    'reply-to-sender': probe(async () => judgeReplyToSender(await severalClients(target, UDP_COPIES.probe, rule), rule)),
    'large-datagram': probe(async () => {
      const outcome = await ask(LARGE_DATAGRAM);
      return inUdpWords(judgeLargeDatagram(outcome.replies.find((r) => r.equals(replyByRule(LARGE_DATAGRAM, rule) ?? labUppercase(LARGE_DATAGRAM))) ?? outcome.replies[0], rule));
    }),
    'empty-datagram': probe(async () => judgeEmptyDatagram((await ask(Buffer.alloc(0))).replies[0])),
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
      const outcome = await ask(SAMPLE);
      const expected = replyByRule(SAMPLE, rule) ?? labUppercase(SAMPLE);
      return judgeSurvives(outcome.replies.some((r) => r.equals(expected) || (sampleReply !== undefined && r.equals(sampleReply))), 'a garbage datagram and a client that vanished before its reply',
        outcome.refused ? 'Then its port was closed (ICMP port unreachable).' : `Then it stayed silent (${outcome.sent} copies of the sample got no reply).`, 'UDP');
    }),
  };
}

// Web checks ---------------------------------------------------------------------------------

interface WebOptions { path: string; local?: Buffer; localName?: string; binaryPath?: string; binaryLocal?: Buffer }

function webChecks(session: Session, options: WebOptions, secret: Secret | undefined): Record<string, Check> {
  const target = session.target;
  const { path } = options;
  const t = target.timeoutMs / 1000;
  let first: HttpResponse = parseHttpResponse(Buffer.alloc(0), false);
  const bodyCap = (file?: Buffer) => (file ? REPLY_FACTOR * file.length + 4096 : MAX_UNKNOWN_BODY);
  const get = (p: string, maxBody = 1024 * 1024) => talkHttp(target, [plainRequest(target, p)], maxBody);
  const textFile = { name: path, bytes: options.local };
  return {
    connect: probe(async () => {
      const socket = await connectTcp(target);
      if ('error' in socket && resetWhileConnecting(socket.error)) {
        first = parseHttpResponse(Buffer.alloc(0), true, 'reset');
        return pass(`a connection to ${formatEndpoint(target.host, target.port)} was accepted, and reset at once.`);
      }
      if ('error' in socket) throw new NothingListens(explainNetworkError(socket.error, { proto: 'TCP', host: target.host, port: target.port, during: 'connect' }));
      // The connection's own exchange is the plain GET: status-line ... body judge its answer.
      const result = await converse(socket, target, httpPlan([plainRequest(target, path)], bodyCap(options.local)));
      first = parseHttpResponse(result.reply, result.ended === 'closed' || result.ended === 'reset', result.ended);
      return pass(`a connection to ${formatEndpoint(target.host, target.port)} is accepted.`);
    }),
    'status-line': judged('connect', () => judgeStatusLine(path, first, t, options.local)),
    'headers-end': judged('connect', () => judgeHeadersEnd(first, path, t, options.local)),
    'content-type': judged('connect', () => judgeContentType(path, first, options.local)),
    'content-length': judged('connect', () => judgeContentLength(first, t, options.local)),
    body: judged('connect', () => judgeBody(first, options.local, options.localName, path, t)),
    'binary-body': options.binaryPath === undefined
      ? judged('connect', () => skip('not run: give --binary PATH (an image the server serves), and --binary-local FILE to compare it.'))
      : probe(async () => judgeBinaryBody(options.binaryPath!, await get(options.binaryPath!, bodyCap(options.binaryLocal)), options.binaryLocal, t, first, textFile)),
    'not-found': probe(async () => {
      const missing = `/lab-check-no-such-file-${process.pid}${extname(path.split('?')[0]) || '.html'}`;
      return judgeNotFound(missing, await get(missing), t, [textFile, { name: options.binaryPath ?? '', bytes: options.binaryLocal }]);
    }),
    'split-request': probe(async () => {
      const request = plainRequest(target, path);
      const cut = request.indexOf('\r\n') + 2;
      return judgeSplitRequest(path, await talkHttp(target, [request.subarray(0, cut), request.subarray(cut)], bodyCap(options.local)), first, t);
    }),
    'browser-request': probe(async () => judgeBrowserRequest(await talkHttp(target, [browserRequest(hostHeader(target), path)], bodyCap(options.local)), first, t, path)),
    traversal: probe(async () => {
      const climb = (dots: string, to: string) => `/${`${dots}/`.repeat(16)}${to}`;
      const planted = 'a file lab-check put outside the served folder';
      const paths: Omit<TraversalTry, 'response'>[] = [
        { path: climb('..', 'etc/passwd') }, { path: climb('%2e%2e', 'etc/passwd') },
        ...(secret ? [{ path: climb('..', secret.path.slice(1)), secret: secret.content, what: planted }, { path: climb('%2e%2e', secret.path.slice(1)), secret: secret.content, what: planted }] : []),
        // One level up, as a student's own test would: a file of the served type beside the served folder.
        ...filesBesideRoot(path, options.localName).flatMap((f) => [
          { path: `/../${encodeURIComponent(f.name)}`, secret: f.bytes, what: `../${f.name}, a file beside the served folder` },
          { path: `/%2e%2e/${encodeURIComponent(f.name)}`, secret: f.bytes, what: `../${f.name}, a file beside the served folder` },
        ]),
      ];
      const tries: TraversalTry[] = [];
      for (const [i, p] of paths.entries()) {
        // A server that died of a path without answering it dies of the next as well: one death is enough to tell.
        const died = i > 0 && !(await stillServing(session));
        if (died || (i > 0 && session.seen.ends.length > 0 && tries[i - 1].response?.raw.length === 0)) { tries.push({ ...p, response: undefined }); continue; }
        tries.push({ ...p, response: await get(p.path) });
      }
      return judgeTraversal(tries);
    }),
    concurrent: probe(async () => judgeConcurrent(await twoClientsAtOnce(target, {
      first: plainRequest(target, path), second: plainRequest(target, path),
      // Two answers on the second connection: the first client's went there too.
      crossed: (reply) => reply.toString('latin1').split(/^HTTP\/\d/m).length > 2,
    }), 'request')),
    survives: probe(async () => {
      const steps: [string, () => Promise<void>][] = [
        ['an empty request (connect, then close)', async () => {
          const s = await connectTcp(target);
          if (!('error' in s)) await converse(s, target, { parts: [], fin: 0, complete: () => false, maxBytes: 64 * 1024 });
        }],
        ['a garbage request line', async () => { await talkTcp(target, { parts: [Buffer.from('\x16\x03\x01 garbage\r\n\r\n')], complete: () => false, maxBytes: 64 * 1024 }); }],
        ['a client that reset its connection mid-request', () => badResetOnly(target, Buffer.from('GET / HT'))],
      ];
      for (const [what, step] of steps) {
        await step();
        const response = await get(path, bodyCap(options.local));
        const cut = answerCut(response, path, t);
        if (cut && !sameAnswer(response, first)) return cut;
        if (!sameAnswer(response, first)) {
          return judgeSurvives(false, what, `The normal GET ${path} that followed ${whatItGot(response, t)}; before, it was answered ${describeAnswer(first, t).replace(/^answered /, '')}.`);
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
    { name: 'json', help: 'print one JSON document on stdout (for autograders) instead of the report; also on errors' },
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
server would not". SKIP means the check could not run or judge anything of its own: without --run,
every check after the one during which the server stopped; a check that failed only because of
a cause an earlier check already failed for (one cause, one FAIL); binary-body without --binary.
Check ids (stable, for graders):
  tcp: ${CHECK_IDS.tcp.join(' ')}
  udp: ${CHECK_IDS.udp.join(' ')}
  web: ${CHECK_IDS.web.join(' ')}
--run runs COMMAND with /bin/sh in a process group of its own, waits (up to 10 s) until the port
is bound, and stops that group (SIGTERM, then SIGKILL) at the end, and any process it left behind
(a daemon is found by the port it holds and by a mark in its environment). Its output (a Python
traceback) is shown under the check that made it die, and it is started again for the rest.
Bounds, so that no server can hold or flood lab-check: each exchange ends ${EXCHANGE_TIMEOUTS} x SECONDS after
it began and reads at most ${REPLY_FACTOR} times the right reply (a web answer: a 64 KiB head and the body);
each check ends within 8 x SECONDS + 2 s (+ 10 s with --run); the whole run within
CHECKS x that (+ 10 s with --run): at the default 2 s, tcp ${runBudgetMs('tcp', 2000, false) / 1000} s, udp ${runBudgetMs('udp', 2000, false) / 1000} s, web ${runBudgetMs('web', 2000, false) / 1000} s.`,
  exitCodes: [
    [0, 'no check failed (warnings are lessons, not failures)'],
    [1, 'at least one check failed'],
    64, 68,
    [69, 'nothing listens at all (or the --run server never listened)'],
    70,
    [71, 'the port is already taken before --run starts the server'],
    [130, 'interrupted (Ctrl-C); 143: stopped by SIGTERM (--json still prints what was checked)'],
  ],
};

/** The report as text: one line per check, details indented, the notes, a summary line. */
export function formatReport(report: Report): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines = [`lab-check ${report.kind} ${report.target}`];
  for (const check of report.checks) {
    lines.push(`${check.status.toUpperCase().padEnd(4)} ${check.id.padEnd(width)}  ${check.summary}`);
    if (check.status === 'warn' || check.status === 'fail') for (const line of check.detail.split('\n')) lines.push(`       ${line}`);
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  const { pass: p, warn: w, fail: f, skip: s } = report.counts;
  lines.push(`${report.checks.length} checks: ${p} passed, ${w} warned, ${f} failed${s ? `, ${s} skipped` : ''}.${f ? '' : w ? ' No check failed; the warnings are lessons.' : s ? '' : ' Well done.'}`);
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
    timeoutMs: parseSeconds(flags, 'timeout', 2) * 1000, trace: createTrace(PROGRAM, Boolean(flags.verbose)), sockets: new Set(),
  };
  const web = kind === 'web' ? {
    path, local: readLocal(flags, 'local'), localName: typeof flags.local === 'string' ? flags.local : undefined,
    binaryPath: typeof flags.binary === 'string' ? flags.binary : undefined, binaryLocal: readLocal(flags, 'binary-local'),
  } : undefined;
  return { kind, target, web, run: typeof flags.run === 'string' ? flags.run : undefined, json: Boolean(flags.json) };
}

/**
 * What --json and the kind are, before the command line is checked as a whole: a grading loop
 * gets one JSON document even when the rest of its command line is wrong.
 */
export function earlyKind(argv: string[]): Kind | undefined {
  const takesValue = new Set(['--run', '--timeout', '-t', '--local', '--binary', '--binary-local']);
  for (let i = 0; i < argv.length; i++) {
    if (takesValue.has(argv[i])) { i++; continue; }
    if (argv[i] === 'tcp' || argv[i] === 'udp' || argv[i] === 'web') return argv[i] as Kind;
    if (!argv[i].startsWith('-')) return undefined;
  }
  return undefined;
}

/** HOST:PORT as given after the kind (escaped), for the JSON of a command line that failed: '' if not given. */
function earlyTarget(argv: string[], kind: Kind): string {
  const after = argv.slice(argv.indexOf(kind) + 1).filter((a) => !a.startsWith('-'));
  return after.length >= 2 ? escapeForPeople(`${after[0]}:${after[1]}`) : '';
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

/** A report with no check run: each one skipped with `why`; the error it ended on, for graders. */
function reportOfError(kind: Kind, target: string, why: string, exit: number): Report & { error: { exit: number; message: string } } {
  const checks = CHECK_IDS[kind].map((id) => ({ id, status: 'skip' as const, summary: `not run: ${why}`, detail: '' }));
  return { kind, target, checks, counts: countStatuses(checks), notes: [], error: { exit, message: why } };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  let invocation: Invocation;
  try {
    invocation = parseInvocation(argv);
    await resolveHost(invocation.target);
  } catch (err) {
    const kind = earlyKind(argv);
    if (!json || kind === undefined || err instanceof FinishedEarly || !(err instanceof UsageError || err instanceof ExplainedError)) throw err;
    const code = err instanceof ExplainedError ? err.exitCode : EXIT.usage;
    process.stdout.write(`${JSON.stringify(reportOfError(kind, earlyTarget(argv, kind), escapeForPeople(err.message), code))}\n`);
    throw err;
  }
  const { kind, target } = invocation;
  const targetName = formatEndpoint(target.host, target.port);
  const session: Session = {
    kind, target, watch: invocation.run !== undefined || (isLocalAddress(target.host) && portInUse(kind, target.port)) ? 'port' : 'request',
    checksServed: 0, seen: { ends: [], printedBefore: 0 }, notes: [], isAlive: async () => true,
  };
  session.isAlive = aliveProbe(kind, target, invocation.web?.path ?? '/');
  const observations: Observation[] = [];
  let exitCode: number = EXIT.ok;
  let error: { exit: number; message: string } | undefined;
  const secret = kind === 'web' && (invocation.run !== undefined || isLocalAddress(target.host)) ? plantSecret(invocation.web!.path) : undefined;
  let reported = false;
  const finish = (code: number) => {
    if (reported) return; // a signal's report, then main's: one document
    reported = true;
    if (secret) rmSync(secret.dir, { recursive: true, force: true });
    const { checks, notes } = concludeChecks(kind, fillSkipped(kind, observations, error?.message));
    const report: Report & { error?: typeof error } = { kind, target: targetName, checks, counts: countStatuses(checks), notes: [...notes, ...session.notes], ...(error ? { error } : {}) };
    process.stdout.write(invocation.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    if (code === EXIT.ok && report.counts.fail > 0) code = 1;
    exitWhenFlushed(code as ExitCode);
  };
  if (invocation.run !== undefined) {
    if (portInUse(kind, target.port)) {
      const message = `--run: ${kind === 'udp' ? 'UDP' : 'TCP'} port ${target.port} is already in use before your server starts: ` +
        'another server (maybe an earlier copy of yours) has it. Stop that one, or pick another port.';
      if (invocation.json) process.stdout.write(`${JSON.stringify({ ...reportOfError(kind, targetName, message, EXIT.osErr), target: targetName })}\n`);
      throw new ExplainedError(message, EXIT.osErr);
    }
    session.run = { command: invocation.run, token: randomBytes(9).toString('hex'), startMs: 10000 };
  }
  // Whatever ends lab-check ends the student's server too (Ctrl-C and kill run no 'exit' handlers),
  // and --json still prints what was checked.
  const stopEverything = () => {
    if (session.run?.server?.child.pid) signalGroup(session.run.server.child.pid, 'SIGKILL');
    if (session.run) session.notes.push(...stopLeftovers(kind, target.port, session.run.token));
  };
  process.on('exit', () => { if (session.run?.server?.child.pid) signalGroup(session.run.server.child.pid, 'SIGKILL'); });
  for (const [signal, code] of [['SIGINT', EXIT.interrupted], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      stopEverything();
      error = { exit: code, message: `lab-check was interrupted (${signal})` };
      finish(code);
    });
  }
  const deadlineAt = Date.now() + runBudgetMs(kind, target.timeoutMs, session.run !== undefined);
  try {
    if (session.run) await startAndWait(session);
    const checks = kind === 'tcp' ? tcpChecks(session) : kind === 'udp' ? udpChecks(session) : webChecks(session, invocation.web!, secret);
    await runChecks(session, checks, CHECK_IDS[kind], deadlineAt, observations);
  } catch (err) {
    if (!(err instanceof NothingListens)) throw err;
    // Nothing to check at all: the report says so (graders get their JSON), and so does the exit status.
    const firstId = CHECK_IDS[kind][0];
    observations.length = 0;
    observations.push({ id: firstId, verdict: problem('fail', `nothing answers at ${targetName}.`, err.explanation.message, err.change ?? (session.run
      ? 'make the --run command start the server on that port (try it by hand in a terminal first).'
      : 'start the server first, and give lab-check the port the server binds.')) });
    error = { exit: EXIT.unavailable, message: err.explanation.message };
    exitCode = EXIT.unavailable;
    // The text report says it under its first check; beside JSON, stderr is where a person looks.
    if (invocation.json) process.stderr.write(`${PROGRAM}: ${escapeForPeople(err.explanation.message)}\n`);
  } finally {
    if (session.run?.server) await stopStudentServer(session.run.server);
    if (session.run) {
      session.notes.push(...stopLeftovers(kind, target.port, session.run.token));
      const holders = portHolders(kind, target.port);
      if (holders.size > 0) session.notes.push(`${kind === 'udp' ? 'UDP' : 'TCP'} port ${target.port} is still held by PID ${[...holders].join(', ')}, which this run did not start: the next run on this port will find it taken.`);
    }
  }
  finish(exitCode);
}

/** The checks that got no observation (the run stopped early): skipped, with the reason. */
function fillSkipped(kind: Kind, observations: Observation[], why = 'lab-check stopped before this check'): Observation[] {
  const seen = new Set(observations.map((o) => o.id));
  const nothingAnswers = observations.length === 1 && observations[0].verdict.summary.startsWith('nothing answers');
  return [...observations, ...CHECK_IDS[kind].filter((id) => !seen.has(id)).map((id) => ({
    id, verdict: skip(''), notRun: nothingAnswers ? `not run: ${observations[0].verdict.summary}` : `not run: ${why}.`,
  }))];
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
  return async () => (await talkTcp(quiet, { ...replyPlan([request]), complete: kind === 'web' ? httpCompletion() : (r) => r.length >= SAMPLE.length })).ended !== 'refused';
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main);
