// http-client: the textbook's optional exercise 2. Opens a TCP socket to the server, writes a GET
// request by hand, reads the response: the status line and headers up to the blank line, then a
// body framed by Content-Length, by chunked transfer coding, or by the server closing.
import net from 'node:net';
import {
  COMMON_OPTIONS, checkHost, familyOf, parseCommandLine, parseCount, parsePort, parseSeconds, type ProgramSpec,
} from '../lib/cli.ts';
import { ExplainedError, UsageError, runProgram } from '../lib/program.ts';
import { EXIT } from '../lib/exit-codes.ts';
import { explainNetworkError } from '../lib/network-errors.ts';
import { indentHead, createTrace, formatEndpoint, type Trace } from '../lib/trace.ts';
import { escapeForPeople } from '../lib/terminal-text.ts';

declare const SOCKLAB_VERSION: string; // set by build.mjs from package.json

const PROGRAM = 'http-client';
/** curl's exit code for --fail, so that scripts written for curl read it the same way. */
const EXIT_HTTP_ERROR = 22;
/** A response head larger than this is not one a web server would send. */
const MAX_HEAD_SIZE = 65536;
/**
 * Interim answers (1xx: 100 Continue, 103 Early Hints) read before the final one. A server sends
 * one or two; without a bound, one that sends 100 Continue forever kept the client for ever,
 * each head resetting the timeout.
 */
const MAX_INTERIM_ANSWERS = 10;

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'fetches one URL over HTTP/1.1 with a request written by hand (the textbook\'s optional ' +
    'exercise 2). The body goes to stdout, byte for byte; the status line to stderr.',
  usage: ['HOST PORT [PATH]    (PATH defaults to /)', 'URL'],
  options: [
    { name: 'include', short: 'i', help: 'print the response head (status line and headers) before the body' },
    { name: 'head', short: 'I', help: 'send HEAD instead of GET: the head only, printed to stdout' },
    { name: 'location', short: 'L', help: 'follow redirects (3xx with a Location header)' },
    { name: 'max-redirects', value: 'N', help: 'with -L, give up after N redirects (default 10)' },
    { name: 'fail', short: 'f', help: 'for a 4xx or 5xx status, print no body and exit 22 (as curl -f)' },
    { name: 'timeout', short: 't', value: 'SECONDS', help: 'give up when connecting or waiting for data takes this long (default 30)' },
    { name: 'max-time', value: 'SECONDS', help: 'give up when the whole transfer, redirects included, takes longer, as curl --max-time (default: no limit)' },
    ...COMMON_OPTIONS,
  ],
  exitCodes: [0, 22, 64, 68, 69, 70, 71, 74, 75, 76, 77],
  examples: [
    ['http-client 127.0.0.1 6789 /hello.txt', 'the exercise\'s form: GET /hello.txt from the web-server on port 6789'],
    ['http-client http://127.0.0.1:6789/photo.jpg > photo.jpg', 'save a binary file'],
    ['http-client -i http://example.org/', 'show the headers too'],
    ['http-client -v -L http://127.0.0.1:6789/folder', 'show the request and response heads, following the redirect to /folder/'],
  ],
  notes: `The request is the smallest a server accepts: the request line, Host, User-Agent, Accept
and "Connection: close", then a blank line. Plain http:// only (no TLS).
Interim answers (1xx, such as 100 Continue) are skipped, at most ${MAX_INTERIM_ANSWERS} of them (exit 76 past that).
Exit 0 for any answer (2xx, 3xx, and 4xx/5xx without -f); 22 for 4xx/5xx with -f.`,
};

export interface Target {
  host: string;
  port: number;
  /** The request target as sent: a path starting with "/", percent-encoded, with any query. */
  path: string;
}

interface FetchOptions {
  method: 'GET' | 'HEAD';
  family: 0 | 4 | 6;
  timeoutMs: number;
  /** --max-time: when (Date.now()) the whole run must be over, redirects included. */
  deadline?: number;
  /** Print the head to stdout (-i, -I). */
  include: boolean;
  quiet: boolean;
  trace: Trace;
}

export interface ResponseHead {
  /** As received, e.g. `HTTP/1.1 200 OK`. */
  statusLine: string;
  status: number;
  reason: string;
  /** Header lines in order, names as the server spelled them. */
  headers: [name: string, value: string][];
  /** The head exactly as received, up to and including the blank line. */
  raw: Buffer;
}


async function main(): Promise<void> {
  const { flags, positionals } = parseCommandLine(spec, process.argv.slice(2));
  let target = targetFromArgs(positionals);
  const options: FetchOptions = {
    method: flags.head ? 'HEAD' : 'GET',
    family: familyOf(flags),
    timeoutMs: parseSeconds(flags, 'timeout', 30) * 1000,
    deadline: flags['max-time'] === undefined ? undefined : Date.now() + parseSeconds(flags, 'max-time', 0) * 1000,
    include: Boolean(flags.include || flags.head),
    quiet: Boolean(flags.quiet),
    trace: createTrace(PROGRAM, Boolean(flags.verbose)),
  };
  const maxRedirects = parseCount(flags, 'max-redirects', 10, 0, 100);
  const fail = Boolean(flags.fail);

  for (let redirects = 0; ; redirects++) {
    // The body is printed only for the final answer, and with -f only for a successful one.
    const next: { target?: Target; location?: string } = {};
    const head = await fetchOnce(target, options, (h) => {
      const location = headerValue(h, 'location');
      let cannotFollow: string | undefined;
      if (flags.location && h.status >= 300 && h.status < 400 && location !== undefined) {
        const where = followRedirect(target, location);
        if (typeof where === 'string') cannotFollow = where;
        else Object.assign(next, { target: where, location });
      }
      // The status line as soon as it arrives, before a long body (with -v, the trace showed it).
      // Both come from the wire: escaped, so that a server cannot move the cursor or add lines.
      if (!options.quiet && !options.include && !flags.verbose) {
        process.stderr.write(`${escapeForPeople(h.statusLine)}${next.target ? ` -> ${escapeForPeople(location!)}` : ''}\n`);
      }
      if (cannotFollow) process.stderr.write(`${PROGRAM}: not following the redirect: ${escapeForPeople(cannotFollow)}\n`);
      return !next.target && !(fail && h.status >= 400);
    });
    if (next.target === undefined) {
      if (fail && head.status >= 400) {
        process.stderr.write(`${PROGRAM}: the server answered ${head.status} ${escapeForPeople(head.reason)} (--fail)\n`);
        process.exitCode = EXIT_HTTP_ERROR;
      }
      return;
    }
    if (redirects === maxRedirects) {
      throw new ExplainedError(`gave up after ${maxRedirects} redirects (the last one to ${next.location}); ` +
        'raise --max-redirects, or look for a redirect loop with -v', EXIT.protocol);
    }
    target = next.target;
  }
}

/** `HOST PORT PATH` (the exercise's form; PATH defaults to /) or one `http://host:port/path` URL. */
export function targetFromArgs(positionals: string[]): Target {
  if (positionals.length === 2 || positionals.length === 3) {
    const [host, port, path = '/'] = positionals;
    return { host: checkHost(host), port: parsePort(port), path: requestTarget(path) };
  }
  if (positionals.length === 1) {
    const text = positionals[0];
    const target = targetFromUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    // The URL parser accepts port 0 and any length of name; both are usage errors, as in HOST PORT PATH.
    if (target.port === 0) throw new UsageError(`bad port "0" in ${text}: a port is a whole number from 1 to 65535`);
    checkHost(target.host);
    return target;
  }
  throw new UsageError(positionals.length === 0
    ? 'give HOST PORT [PATH] or a URL; see http-client --help'
    : `expected HOST PORT [PATH] or one URL, got ${positionals.length} arguments; see http-client --help`);
}

export function targetFromUrl(text: string, base?: string): Target {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new UsageError(`bad URL "${text}": write it as http://HOST:PORT/PATH`);
  }
  if (url.protocol === 'https:') throw new UsageError(`${text}: https:// needs TLS, which this client does not speak; use http://`);
  if (url.protocol !== 'http:') throw new UsageError(`${text}: only http:// URLs can be fetched`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError(`bad URL "${text}": no host`);
  // The WHATWG parser has already percent-encoded the path and resolved "." and "..".
  return { host, port: url.port === '' ? 80 : Number(url.port), path: `${url.pathname}${url.search}` };
}

/**
 * A path from the command line as a request target: what is already legal in one (RFC 3986
 * pchar, "/", "?", and %XX escapes) stays; anything else — a space, a non-ASCII letter — is
 * percent-encoded as UTF-8, as a browser would.
 */
export function requestTarget(path: string): string {
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  try {
    return withSlash.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu, (c) => encodeURIComponent(c));
  } catch {
    throw new UsageError(`bad path "${path}": it is not valid text`);
  }
}

/** Where a Location header leads, or why this client cannot go there (e.g. https://). */
export function followRedirect(from: Target, location: string): Target | string {
  const host = from.host.includes(':') ? `[${from.host}]` : from.host;
  try {
    return targetFromUrl(location, `http://${host}:${from.port}${from.path}`);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
}

function headerValue(head: ResponseHead, name: string): string | undefined {
  const values = head.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length > 0 ? values.join(', ') : undefined;
}

/**
 * One request on one connection: connect, send the request, read the head, then the body.
 * `wantBody` sees the head and says whether the body goes to stdout. Resolves with the head when
 * the body is complete; rejects with an ExplainedError for anything that went wrong.
 */
function fetchOnce(target: Target, options: FetchOptions, wantBody: (head: ResponseHead) => boolean): Promise<ResponseHead> {
  const { method, trace, timeoutMs } = options;
  const where = formatEndpoint(target.host, target.port);
  const request = buildRequest(method, target);
  const explain = (err: unknown, during: 'connect' | 'transfer') =>
    explainNetworkError(err, { proto: 'TCP', host: target.host, port: target.port, during });

  return new Promise((resolve, reject) => {
    let connected = false;
    let settled = false;
    let buffered: Buffer = Buffer.alloc(0);
    let head: ResponseHead | undefined;
    let body: BodyReader | undefined;
    let printBody = false;
    let interimAnswers = 0;

    trace(`connecting to ${where}`);
    const socket = net.connect({ host: target.host, port: target.port, family: options.family || undefined });
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(head!);
    };

    if (options.deadline !== undefined) {
      // One timer for the whole run: a server that trickles a byte now and then is never idle.
      const overall = setTimeout(() => finish(new ExplainedError(`gave up after --max-time: ${where} was still sending ` +
        `(${body ? `${body.received} bytes of the body so far` : 'no complete head yet'}). Raise --max-time to wait longer.`, EXIT.tempFail)),
      Math.max(0, options.deadline - Date.now()));
      socket.once('close', () => clearTimeout(overall));
    }
    socket.setTimeout(timeoutMs, () => {
      const seconds = timeoutMs / 1000;
      finish(connected
        ? new ExplainedError(`timed out: ${where} sent nothing for ${seconds} s ${head ? 'in the middle of the body' : 'after the request'}`, EXIT.tempFail)
        : explain(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }), 'connect'));
    });
    socket.on('connect', () => {
      connected = true;
      trace(`connected ${formatEndpoint(socket.localAddress, socket.localPort)} -> ${formatEndpoint(socket.remoteAddress, socket.remotePort)}`);
      trace(`request head:\n${indentHead(request.toString('latin1'), '> ')}`);
      socket.write(request);
    });
    socket.on('error', (err) => finish(explain(err, connected ? 'transfer' : 'connect')));

    // Backpressure: when stdout (a pipe, a pager) is full, stop reading the socket. The silence
    // that follows is ours, not the server's, so the timeout waits too.
    const output = (data: Buffer) => {
      if (data.length > 0 && !process.stdout.write(data)) {
        socket.pause();
        socket.setTimeout(0);
        process.stdout.once('drain', () => {
          socket.setTimeout(timeoutMs);
          socket.resume();
        });
      }
    };

    socket.on('data', (chunk: Buffer) => {
      try {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        while (!head) {
          const parsed = takeHead(buffered);
          if (!parsed) {
            if (buffered.length > MAX_HEAD_SIZE) throw protocolError(`the response head from ${where} is larger than ${MAX_HEAD_SIZE} bytes`);
            return;
          }
          buffered = parsed.rest;
          trace(`response head:\n${indentHead(parsed.head.raw.toString('latin1'), '< ')}`);
          // 1xx (such as 103 Early Hints) is an interim answer: the real one follows.
          if (parsed.head.status >= 100 && parsed.head.status < 200) {
            if (++interimAnswers > MAX_INTERIM_ANSWERS) {
              throw protocolError(`${where} sent more than ${MAX_INTERIM_ANSWERS} interim answers (1xx, the last "${parsed.head.statusLine.slice(0, 60)}") ` +
                'and no final one: a server sends one or two (100 Continue, 103 Early Hints) before its answer');
            }
            continue;
          }
          head = parsed.head;
          body = bodyReader(method, head);
          printBody = wantBody(head);
          if (options.include) output(head.raw);
        }
        const { data, done } = body!.push(buffered);
        buffered = Buffer.alloc(0);
        if (printBody) output(data);
        if (done) {
          trace(`body complete (${body!.received} bytes); closing`);
          finish();
        }
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('end', () => {
      if (!head) {
        finish(protocolError(buffered.length === 0
          ? `${where} closed the connection without answering`
          : `${where} closed the connection in the middle of the response head`));
      } else if (body!.closeEnds) {
        trace(`server closed the connection: body complete (${body!.received} bytes)`);
        finish();
      } else {
        finish(new ExplainedError(`${where} closed the connection after ${body!.received} bytes of the body, ` +
          `before its end (${body!.expected}).`, EXIT.ioErr));
      }
    });
  });
}

export function buildRequest(method: string, target: Target): Buffer {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return Buffer.from([
    `${method} ${target.path} HTTP/1.1`,
    `Host: ${host}${target.port === 80 ? '' : `:${target.port}`}`,
    `User-Agent: ${PROGRAM}/${SOCKLAB_VERSION}`,
    'Accept: */*',
    // One request per connection: the server closes after answering, which also ends a body
    // that has neither Content-Length nor chunked coding.
    'Connection: close',
    '', '',
  ].join('\r\n'), 'latin1');
}

/** The head at the start of `data`, if its blank line has arrived. */
export function takeHead(data: Buffer): { head: ResponseHead; rest: Buffer } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const raw = data.subarray(0, end + 4);
  const [statusLine, ...lines] = raw.toString('latin1').slice(0, -4).split('\r\n');
  const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw protocolError(`the server did not answer with an HTTP status line (got "${statusLine.slice(0, 60)}")`);
  const headers: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw protocolError(`bad header line in the response: "${line.slice(0, 60)}"`);
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { head: { statusLine, status: Number(m[3]), reason: m[4] ?? '', headers, raw }, rest: data.subarray(end + 4) };
}

export interface BodyReader {
  /** Takes the next bytes from the socket; gives back the body bytes in them and whether the body is over. */
  push(data: Buffer): { data: Buffer; done: boolean };
  /** Whether the server closing the connection is the normal end of this body. */
  closeEnds: boolean;
  received: number;
  /** For an error message: how long the body should have been. */
  expected: string;
}

/** How the body's end is found (RFC 9112 §6.3), in that order of precedence. */
export function bodyReader(method: string, head: ResponseHead): BodyReader {
  if (method === 'HEAD' || head.status === 204 || head.status === 304) return lengthReader(0);
  const codings = headerValue(head, 'transfer-encoding');
  if (codings !== undefined) {
    if (/(^|,)\s*chunked\s*$/i.test(codings)) return chunkedReader();
    return closeReader();
  }
  const lengths = headerValue(head, 'content-length');
  if (lengths !== undefined) {
    const distinct = [...new Set(lengths.split(',').map((v) => v.trim()))];
    if (distinct.length !== 1 || !/^\d+$/.test(distinct[0])) throw protocolError(`bad Content-Length "${lengths}" in the response`);
    return lengthReader(Number(distinct[0]));
  }
  return closeReader();
}

export function lengthReader(length: number): BodyReader {
  const reader: BodyReader = {
    closeEnds: length === 0,
    received: 0,
    expected: `Content-Length: ${length}`,
    push(data) {
      const take = data.subarray(0, length - reader.received);
      reader.received += take.length;
      return { data: take, done: reader.received === length };
    },
  };
  return reader;
}

export function closeReader(): BodyReader {
  const reader: BodyReader = {
    closeEnds: true,
    received: 0,
    expected: 'the server closing',
    push(data) {
      reader.received += data.length;
      return { data, done: false };
    },
  };
  return reader;
}

/**
 * Chunked transfer coding (RFC 9112 §7.1): `SIZE-IN-HEX[;ext]CRLF DATA CRLF`, repeated, then a
 * zero-size chunk, optional trailer lines and a blank line. Chunks may be split anywhere across
 * TCP segments, so the reader keeps its place between calls.
 */
export function chunkedReader(): BodyReader {
  let pending: Buffer = Buffer.alloc(0);
  let state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  let left = 0;
  const reader: BodyReader = {
    closeEnds: false,
    received: 0,
    expected: 'the last chunk',
    push(data) {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      const out: Buffer[] = [];
      while (state !== 'done') {
        if (state === 'data') {
          const take = pending.subarray(0, left);
          if (take.length === 0) break;
          out.push(take);
          reader.received += take.length;
          left -= take.length;
          pending = pending.subarray(take.length);
          if (left === 0) state = 'data-end';
          continue;
        }
        const eol = pending.indexOf('\r\n');
        if (eol === -1) {
          if (pending.length > 4096) throw protocolError('a chunk-size or trailer line in the response is too long');
          break;
        }
        const line = pending.subarray(0, eol).toString('latin1');
        pending = pending.subarray(eol + 2);
        if (state === 'size') {
          const m = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
          if (!m) throw protocolError(`bad chunk size line "${line.slice(0, 40)}" in the response`);
          left = parseInt(m[1], 16);
          state = left === 0 ? 'trailer' : 'data';
        } else if (state === 'data-end') {
          if (line !== '') throw protocolError('a chunk in the response is longer than its size says');
          state = 'size';
        } else if (line === '') {
          state = 'done';
        }
      }
      return { data: out.length === 1 ? out[0] : Buffer.concat(out), done: state === 'done' };
    },
  };
  return reader;
}

function protocolError(what: string): ExplainedError {
  return new ExplainedError(`${what}.`, EXIT.protocol);
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main);
