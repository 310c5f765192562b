// web-server: the handout's WebServer.py, grown up. Every request walks the handout's steps in
// order: parse the request → find the file under the root → answer with header lines + the file,
// or 404. node:http does the parsing (llhttp), keep-alive and header limits; everything about
// files, paths and status codes is written out here.
//
// The file reads in the order a request lives, in seven parts: (1) a connection's requests, one
// at a time, and what the parser refused; (2) one request: its checks, its file, folder or page,
// the one head writer and its log line; (3) finding the file under the root, safely, and the
// small files kept in memory; (4) the pure HTTP rules (targets, Host, ranges, preconditions,
// dates, the log's format), exported for the table tests; (5) what node:http keeps private, named
// once; (6) the process: stopping, the root folder, main; (7) --workers, apart.
//
// Three verbs, one meaning each: to serve is to find what a request names and send it (it may
// open files); to send is to write an answer whose status is already known (a page, bytes, a
// listing); to answer is to decide the status a request gets, then send it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { isSea } from 'node:sea';
import { extname, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { lookup as mimeLookup } from 'mrmime';
import { COMMON_OPTIONS, parseCommandLine, familyOf, parseCount, parseSeconds, type ProgramSpec } from '../lib/cli.ts';
import { ExplainedError, UsageError, exitWhenFlushed, onStopSignals, runProgram, stopCause } from '../lib/program.ts';
import { EXIT } from '../lib/exit-codes.ts';
import { errorCode } from '../lib/network-errors.ts';
import { keepServingOnAcceptErrors, listenAddressFromArgs, listenTcp, type ListenAddress, limitConnections } from '../lib/listen.ts';
import { indentHead, createTrace, formatAddress, formatEndpoint, type Trace } from '../lib/trace.ts';
import { createLineLog } from '../lib/log-lines.ts';
import { escapeForPeople } from '../lib/terminal-text.ts';

const PROGRAM = 'web-server';

const spec: ProgramSpec = {
  name: PROGRAM,
  summary: 'a static web server (the handout\'s WebServer.py): answers GET and HEAD with files from one ' +
    'folder, or 404 Not Found. Keep-alive, conditional GET (304), byte ranges (206), folder listings.',
  usage: ['[PORT] [-d DIR]', 'HOST PORT [-d DIR]'],
  exitCodes: [0, 64, 68, 70,
    [71, 'cannot bind (address in use or not on this host), or no /proc to check files against'],
    [75, 'with --workers: the workers kept dying (5 restarts a minute) and none is left'],
    [77, 'permission denied: a port below 1024 needs root, or this user may not enter DIR']],
  options: [
    { name: 'root', short: 'd', value: 'DIR', help: 'serve the files under DIR (default: the current folder)' },
    { name: 'no-listing', short: 'N', help: 'answer 404 for a folder without index.html instead of listing it' },
    { name: 'dotfiles', help: 'also serve files and folders whose name starts with a dot (hidden by default)' },
    { name: 'once', help: 'serve exactly one request, then exit 0 (the assignment\'s literal server)' },
    { name: 'keep-alive', value: 'SECONDS', help: 'close a persistent connection idle this long between requests (default 5)' },
    { name: 'headers-timeout', value: 'SECONDS', help: 'close a client that has not sent a whole request head by then (default 10)' },
    { name: 'request-timeout', value: 'SECONDS', help: 'close a client that has not sent a whole request by then (default 30)' },
    { name: 'send-timeout', value: 'SECONDS', help: 'close a client that takes none of its answer for this long (default 30)' },
    { name: 'max-connections', value: 'N', help: 'refuse connections beyond N open at once (default 1000)' },
    { name: 'grace', value: 'SECONDS', help: 'on Ctrl-C/SIGTERM, let responses in flight finish this long (default 10)' },
    { name: 'workers', value: 'N', help: 'answer from N processes sharing the port, one per core with "auto" (default 1)' },
    ...COMMON_OPTIONS,
  ],
  examples: [
    ['web-server', 'serve the current folder on port 6789, every IPv4 and IPv6 address, as the handout\'s server'],
    ['web-server -d ~/site 8080', 'serve ~/site on port 8080; open http://THIS-HOST:8080/ in a browser'],
    ['web-server --once 127.0.0.1 6789', 'answer one request on loopback only, then exit'],
    ['web-server -v', 'also print every request head and response head on stderr (compare with Wireshark)'],
    ['web-server --workers auto 8080', 'answer on every core: one process binds the port, one worker per core serves'],
  ],
  notes: `The access log (stdout) has one line per response in Common Log Format:
  CLIENT - - [TIME] "REQUEST LINE" STATUS BYTES
BYTES counts the body only ("-" for none). -q turns it off; -v adds the heads on stderr, and
each connection's accept and close (which side sent its FIN first). The kernel completes the
handshake and buffers the request before accept() and read() run: -v's times lag Wireshark's.
A browser also asks for /favicon.ico (a 404 without one); --once answers only the first request.
Files and folders whose name starts with a dot, and anything outside DIR (through "..",
%2e%2e, %2f, backslashes or symlinks), are never served.
With --workers N, the process you started binds the port and hands it to N worker processes
(their -v lines say "worker K"); signal that first process to stop them all. A worker that dies
is started again, up to 5 times a minute; when none is left, the server exits 75. --max-connections
is shared out among the workers. The default is one process: the log then comes in order.`,
};

/** How the server was started: fixed for its whole life (Deno's ServeDirOptions). */
interface ServeConfig {
  /** The served folder, symlinks resolved, so that a file's real path can be checked against it. */
  root: string;
  /** List a folder that has no index.html (else 404). */
  listing: boolean;
  /** Serve names starting with a dot. */
  dotfiles: boolean;
  /** Print the access log. */
  log: boolean;
  /** Print the heads (-v); checked first, so that a quiet server does not build them. */
  verbose: boolean;
}

/** The running server: what its requests share. */
interface ServerState {
  config: ServeConfig;
  trace: Trace;
  /** Stopping, --once, and what every answer tells them. */
  shutdown: Shutdown;
  /** Small files already served, revalidated by a stat of their path (one per path per turn). */
  cache: ReturnType<typeof smallFileCache>;
  stat: StatOncePerTurn;
  /** Says on stderr, once per rush, that the server ran out of file descriptors. */
  reportShortage: (why: string) => void;
  accessLog: AccessLog;
  /** Per connection: the answer in flight and the pipelined requests waiting behind it. */
  answerLines: WeakMap<net.Socket, AnswerLine>;
  /** Folder listings being made now (at most LISTINGS_AT_ONCE). */
  listingsInFlight: number;
}

/** One request and its answer, from the parsed head to the log line (darkhttpd's struct connection). */
interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  config: ServeConfig;
  server: ServerState;
  /** The client's address, for the log. */
  client: string | undefined;
  /** Whether its answer has begun (a pipelined request waits for the one before it). */
  begun: boolean;
  /** Body bytes gone out so far: the log's count for an answer cut short. */
  sent: number;
  /** The body's announced length (Content-Length): the log's count for a complete answer. */
  length: number;
}

// A request line longer than this gets 414. Node's limit for a whole request head is 16 KiB
// (maxHeaderSize); a longer head gets 431, or 414 when the request line alone is the culprit.
const MAX_URL_LENGTH = 8192;
const MAX_HEAD_SIZE = 16384;
const ALLOWED_METHODS = 'GET, HEAD';

// ---------------------------------------------------------------------------------------------
// Part 1: a connection's requests
// node:http's events; pipelined requests answered strictly one at a time; what the parser refused.

/** node:http's events, each to the function that answers it. */
function wireServer(server: http.Server, state: ServerState): void {
  const { trace } = state;
  // -v only: without it, a connection costs no listener, closure or string here.
  if (state.config.verbose) server.on('connection', (socket: net.Socket) => traceConnection(socket, trace));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // --once answers exactly one request. A browser often opens a second connection ahead of
    // time and sends /favicon.ico on it: closed unanswered, not served after "served one request".
    if (!state.shutdown.mayAnswer()) {
      trace(`${clientOf(req)}: closed unanswered (--once: one request is being served already)`);
      return void req.socket.destroy();
    }
    // The client's address now: once the connection is gone node:http may no longer know it.
    const ex: Exchange = { req, res, config: state.config, server: state, client: req.socket.remoteAddress, begun: false, sent: 0, length: 0 };
    answerInTurn(ex);
  });
  // Past --max-connections Node closes new connections at once, before any request.
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
    trace(`refused ${formatEndpoint(data?.remoteAddress, data?.remotePort)}: ${server.maxConnections} connections are open (the cap)`);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => refuseTunnel(req, socket, state));
  server.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, socket: net.Socket) => {
    answerUnparsableRequest(err, socket, state);
  });
}

/**
 * -v: a connection's accept and its close, saying which side closed first, as Wireshark shows
 * it (the FIN that came first), and what crossed it. The kernel completes the handshake and
 * buffers the request before accept() and read() run, so these times lag the wire's.
 */
function traceConnection(socket: net.Socket, trace: Trace): void {
  const client = formatEndpoint(socket.remoteAddress, socket.remotePort);
  trace(`accepted ${client} -> ${formatEndpoint(socket.localAddress, socket.localPort)}`);
  let how: string | undefined;
  socket.once('end', () => { how ??= 'the client closed first (its FIN came in)'; });
  socket.once('finish', () => { how ??= 'the server closed first (its FIN went out)'; });
  socket.once('error', (err) => { how ??= `${errorCode(err) ?? 'an error'} (${err.message})`; });
  // Neither side's FIN seen and no error: this server closed the socket (a timeout, --once, a
  // stop, a cut answer), which sends its FIN, or a RST if bytes it never read were waiting.
  socket.once('close', () => trace(`${client}: closed; ${how ?? 'the server closed it (its FIN, or a RST if it left bytes unread)'}; ` +
    `${socket.bytesRead} bytes in, ${socket.bytesWritten} bytes out`));
}

/**
 * --send-timeout, as nginx's send_timeout: a client that takes no byte of its answer for that
 * long is closed, so that clients that ask for a large file and never read cannot hold every
 * --max-connections slot (50 such clients held 50 slots for as long as they liked). node:http's
 * server.timeout is the socket's idle timer while a request is being answered (it is reset by
 * every write the kernel takes); between requests the --keep-alive timer replaces it. Both end
 * here: only the first says why, and the access log line shows the bytes that did go out.
 */
function closeClientsThatNeverRead(server: http.Server, sendTimeoutMs: number): void {
  server.timeout = sendTimeoutMs;
  server.on('timeout', (socket: net.Socket) => {
    if (answerInFlight(socket) && !socket.destroyed) {
      console.error(`${PROGRAM}: ${formatEndpoint(socket.remoteAddress, socket.remotePort)} took none of its answer ` +
        `for ${sendTimeoutMs / 1000} s: closed (--send-timeout)`);
    }
    socket.destroy();
  });
}

/**
 * Pipelined requests on one connection are answered strictly one at a time: the next one is not
 * even looked at (no file opened, no byte read) until the answer before it is complete, and the
 * connection is not read while an answer is in flight. node:http parses every pipelined request
 * at once and would let all of them run: 2,000 pipelined requests for a 1 MiB file held ~2 GiB
 * (each answer buffered behind the one before), and 1,500 for a larger file held 1,500
 * descriptors. Now one connection costs at most one answer's buffers and one file descriptor.
 * Answers written straight to the socket (a request the parser refused, CONNECT) wait for all of
 * them too, or they would cut them off: the fuzzer found "GET, GET, GET, garbage" answered with
 * one 200 and the 400, the other two lost.
 */
interface AnswerLine {
  /** Answers begun or waiting, not yet complete. */
  open: number;
  /** Requests parsed but not yet begun, oldest first. */
  waiting: Exchange[];
  /** What to do once no answer is open (a raw answer and close). */
  then: (() => void)[];
}
function answerInTurn(ex: Exchange): void {
  const { server, res, req: { socket } } = ex;
  let line = server.answerLines.get(socket);
  if (!line) {
    server.answerLines.set(socket, (line = { open: 0, waiting: [], then: [] }));
    // A connection gone: the requests still waiting on it are never begun (node:http closes
    // their answers one by one, which must not start them: each would open its file for nobody).
    socket.once('close', () => { line!.waiting.length = 0; });
  }
  const current = line;
  current.open += 1;
  // Everything that follows an answer hangs on this one listener (close comes once: on(), not
  // once()). An emitter with two listeners runs them from a copied array: a 404 went from 0.78
  // to 0.87 of the node:http floor without the second one (wrk -t1 -c50, interleaved runs).
  res.on('close', () => {
    if (ex.begun) logExchange(ex);
    current.open -= 1;
    if (socket.destroyed) current.waiting.length = 0;
    const next = current.waiting.shift();
    if (next) return beginExchange(next);
    readAgain(socket);
    if (current.open === 0) for (const action of current.then.splice(0)) action();
  });
  if (current.open === 1) return beginExchange(ex);
  current.waiting.push(ex);
  stopReading(socket);
}

/** Starts answering one request; a bug or an I/O error becomes a 500 (answerInternalError). */
function beginExchange(ex: Exchange): void {
  ex.begun = true;
  try {
    handleRequest(ex)?.catch((err: unknown) => answerInternalError(ex, err));
  } catch (err) {
    answerInternalError(ex, err);
  }
}

/** A bug or an I/O error after the checks: answer 500 if nothing was sent yet, else cut. */
function answerInternalError(ex: Exchange, err: unknown): void {
  ex.server.trace(`internal error: ${(err as Error)?.stack ?? err}`);
  if (!ex.res.headersSent) sendError(ex, 500, 'The server failed while answering this request.');
  else ex.res.destroy();
}

function afterAnswersInFlight(server: ServerState, socket: net.Socket, action: () => void): void {
  const line = server.answerLines.get(socket);
  if (!line || line.open === 0) return action();
  // Not writable: the connection died, or node:http is closing it after its last answer (the
  // client half-closed). Nothing more to say then; destroying it would cut answers still flushing.
  line.then.push(() => { if (socket.writable) action(); });
}

/**
 * llhttp refused the request (or the client was too slow): answer with the status that says
 * why, log it like any other request, and close, since the connection's framing is now unknown.
 */
function answerUnparsableRequest(err: Error & { code?: string; rawPacket?: Buffer }, socket: net.Socket, server: ServerState): void {
  const firstLine = firstLineOf(err.rawPacket);
  const status = statusForParseError(err.code, firstLine);
  server.trace(`${formatEndpoint(socket.remoteAddress, socket.remotePort)}: request refused by the parser (${err.code}): ${err.message}`);
  // The client said "Connection: close" and sent more anyway: those bytes are ignored, and the
  // answer in flight closes the connection when it is done (cutting it would lose that answer).
  if (err.code === 'HPE_CLOSED_CONNECTION') return;
  // Already answered and closing: the parser reports every further chunk of a broken request
  // too (a header flood arrives in many). Destroying here cut the answer being flushed.
  if (!socket.writable) return;
  if (status === undefined) {
    socket.destroy();
    return;
  }
  // A broken request pipelined behind good ones: their answers go out first.
  afterAnswersInFlight(server, socket, () => sendRawAndClose(server, socket, status, parseErrorSentence(err, status), firstLine ?? '-', ''));
}

/** CONNECT asks for a tunnel, a proxy's job; node:http hands it here rather than to 'request'. */
function refuseTunnel(req: http.IncomingMessage, socket: net.Socket, server: ServerState): void {
  const requestLine = requestLineOf(req);
  // RFC 9112 §3.2.3: CONNECT's target is host:port and nothing else; any other is malformed.
  if (!/^[^/?#@\s]*:\d+$/.test(req.url ?? '') || !isValidAuthority(req.url ?? '')) {
    return afterAnswersInFlight(server, socket, () => sendRawAndClose(server, socket, 400, 'CONNECT needs a host:port target.', requestLine, ''));
  }
  afterAnswersInFlight(server, socket, () => sendRawAndClose(server, socket, 405, `CONNECT is for proxies; this server only answers ${ALLOWED_METHODS}.`,
    requestLine, `Allow: ${ALLOWED_METHODS}\r\n`));
}

/**
 * A whole response written straight to the socket (no ServerResponse exists here), traced and
 * logged like every other answer, then close.
 */
function sendRawAndClose(server: ServerState, socket: net.Socket, status: number, why: string, requestLine: string,
  extraHeaders: string): void {
  const reason = http.STATUS_CODES[status] ?? 'Error';
  const body = Buffer.from(errorPage(status, why));
  const head = `HTTP/1.1 ${status} ${reason}\r\nDate: ${new Date().toUTCString()}\r\n${extraHeaders}` +
    `Content-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  traceResponseHead(server, formatEndpoint(socket.remoteAddress, socket.remotePort), head);
  // RFC 9110 §9.3.2: an answer to HEAD has no content, even when the rest of its line was refused.
  // (requestLine is the first line of the chunk the parser refused: the refused request's own
  // when it came alone, as typed into nc, not always when it came pipelined behind others.)
  const content = requestLine.startsWith('HEAD ') ? Buffer.alloc(0) : body;
  if (server.config.log) server.accessLog.add({ client: socket.remoteAddress, requestLine, status, bytes: content.length });
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), content]));
  // end() waits for the client to read; a client that never does must not hold the socket. But
  // one that reads slowly must get it all (a RST makes its kernel drop what it has not read
  // yet, answers before this one included): so 2 s without progress, not 2 s in all.
  socket.setTimeout(2000, () => socket.destroy());
  server.shutdown.answered();
}

// ---------------------------------------------------------------------------------------------
// Part 2: one request
// The handout's steps for one parsed request: its checks, then its file, folder or page; every
// head through writeHead, every log line from its LogEntry.

// Synchronous until a file must be opened: an answer from memory (a cached file, a 404, an
// error page) costs no promise and no microtask. Returns the promise of the rest when there is one.
function handleRequest(ex: Exchange): Promise<void> | void {
  const { req, res, config, server } = ex;
  // A body sent with a GET is read and dropped as it comes, so that the connection can carry the
  // next request and a client writing a large body before it reads cannot block its own answer.
  // (Without one, node:http drops what is left when the answer ends; resume() cost ~1 µs.)
  if (mayHaveBody(req)) req.resume();
  if (config.verbose) server.trace(`${clientOf(req)} -> request head:\n${indentHead(requestHead(req), '> ')}`);
  if (server.shutdown.closing) res.setHeader('Connection', 'close');

  // Step 1: parse the request.
  if (req.httpVersion === '0.9') {
    // llhttp reads a request line without a version as HTTP/0.9, which had no headers and no
    // status line; nothing sends it any more, but a student typing into nc forgets the version.
    res.setHeader('Connection', 'close');
    return sendError(ex, 400, 'The request line has no HTTP version: end it with HTTP/1.1, as in "GET /index.html HTTP/1.1".');
  }
  if (req.httpVersion !== '1.1' && req.httpVersion !== '1.0') {
    return sendError(ex, 505, `HTTP/${req.httpVersion} is not spoken here; use HTTP/1.1 or HTTP/1.0.`);
  }
  const framing = transferCodingProblem(req.headers['transfer-encoding']);
  if (framing) {
    // The body's end is unknown, so nothing after it on this connection can be trusted.
    res.setHeader('Connection', 'close');
    return sendError(ex, framing.status, framing.why);
  }
  const hostProblem = hostHeaderProblem(req);
  if (hostProblem) return sendError(ex, 400, hostProblem);
  const target = req.url ?? '';
  if (target.length > MAX_URL_LENGTH) {
    return sendError(ex, 414, `The request target is ${target.length} bytes long; the limit is ${MAX_URL_LENGTH}.`);
  }
  // What the method asks for (darkhttpd's process_request): GET and HEAD are answered with a
  // file; any other method llhttp knows gets 405 (an unknown one never gets here: 501).
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return serveTarget(ex, target);
    default:
      res.setHeader('Allow', ALLOWED_METHODS);
      return sendError(ex, 405, `${req.method} is not supported: this server only answers ${ALLOWED_METHODS}.`);
  }
}

/** RFC 9112 §6.3: a request has a body only if it says so, with Content-Length or Transfer-Encoding. */
function mayHaveBody(req: http.IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

/** GET and HEAD: steps 2 and 3 of the handout, find the file under the root and answer with it. */
function serveTarget(ex: Exchange, target: string): Promise<void> | void {
  const { config, server } = ex;
  const parsed = parseTarget(target);
  if ('status' in parsed) return sendError(ex, parsed.status, parsed.why);
  const { segments, trailingSlash, shown } = parsed;

  // Step 2: find the file under the root.
  if (!config.dotfiles && segments.some((s) => s.startsWith('.'))) return sendNotFound(ex, shown);
  const cached = trailingSlash ? undefined : server.cache.fresh(server.stat, config.root, segments);
  if (cached) return serveBytes(ex, cached, cached.body);
  if (certainlyMissing(server.stat, config.root, segments)) return sendNotFound(ex, shown);
  return serveFromDisk(ex, parsed);
}

/** Step 2 by the kernel's own answer (openUnderRoot), then step 3 from the open file or folder. */
async function serveFromDisk(ex: Exchange, parsed: Target): Promise<void> {
  const { config } = ex;
  const { segments, trailingSlash, shown } = parsed;
  const found = await openUnderRoot(config.root, segments, config.dotfiles);
  if (found === 'missing') return sendNotFound(ex, shown);
  if (found === 'forbidden') return sendError(ex, 403, `You may not read ${shown}.`);
  if (found === 'busy') return sendBusy(ex);

  // Step 3: answer with header lines and the file (or the folder's index.html, or its listing).
  if (found.stats.isDirectory()) {
    try {
      return await serveFolder(ex, found, parsed);
    } finally {
      await found.file.close();
    }
  }
  if (trailingSlash || !found.stats.isFile()) {
    await found.file.close();
    if (trailingSlash) return sendNotFound(ex, shown);
    return sendError(ex, 403, `${shown} is not a regular file.`);
  }
  return serveFile(ex, found, segments);
}

/** A folder: /dir -> /dir/, then its index.html, else its listing (or 404 with --no-listing). */
async function serveFolder(ex: Exchange, folder: OpenFile, { segments, trailingSlash, query, shown }: Target): Promise<void> {
  const { req, res, config } = ex;
  if (!trailingSlash) return sendFolderRedirect(ex, segments, query);
  // index.html passes the same checks: it too may be a symlink pointing out of the root.
  const index = await openUnderRoot(config.root, [...segments, 'index.html'], config.dotfiles);
  if (typeof index === 'object' && index.stats.isFile()) return serveFile(ex, index, undefined);
  if (typeof index === 'object') await index.file.close();
  if (index === 'busy') return sendBusy(ex);
  if (!config.listing) return sendNotFound(ex, shown);
  // A listing has no ETag and no date worth comparing (its sizes and times change with files
  // inside), so of the preconditions only "*" can match it (RFC 9110 §13.1.1, §13.1.2).
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && ifMatch.trim() !== '*') {
    return sendError(ex, 412, 'A folder listing has no entity tag for If-Match to match.');
  }
  if (req.headers['if-none-match']?.trim() === '*') {
    writeHead(ex, 304, {});
    return void res.end();
  }
  return sendListing(ex, folder, shown, segments.length === 0);
}

/**
 * Files up to this size are read in one call, sent with res.end() and kept in memory (see
 * smallFileCache). wrk -c50 on loopback: a 1 KiB file ~8,800 req/s instead of ~6,100 through a
 * read stream, before caching; a 1 MiB file ~1,800 instead of ~650 (nginx: ~1,400 in that run).
 */
const SMALL_FILE = 1024 * 1024;

/**
 * 200 with the whole file, 206 with part of it, 304 when the client's copy is current, 416.
 * Closes the file. A small file read whole is remembered (under `segments`) for the next request.
 */
async function serveFile(ex: Exchange, { path, file, stats }: OpenFile, segments: string[] | undefined): Promise<void> {
  let streaming = false;
  try {
    const facts = factsOf(path, stats);
    if (facts.size <= SMALL_FILE) {
      const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(facts.size), 0, facts.size, 0);
      // The file shrank since fstat: the header lines would promise bytes that are gone.
      if (bytesRead < facts.size) return sendError(ex, 503, 'The file changed while it was being read; try again.');
      if (segments) ex.server.cache.remember(segments, stats, { ...facts, body: buffer });
      return serveBytes(ex, facts, buffer);
    }
    const plan = answerHead(ex, facts);
    if (plan === undefined) return;
    streaming = true;
    await sendFromFile(ex, file, path, plan);
  } finally {
    if (!streaming) await file.close();
  }
}

/**
 * Sends the planned parts from the open file, each read only up to the length announced (a file
 * that grows sends no more), and closes the file. A file that shrinks while it is sent leaves the
 * body short of its Content-Length, so the client would read whatever comes next (the next
 * pipelined answer) as the rest of it: the connection is closed at once, the only way to tell it
 * the body was cut.
 */
async function sendFromFile(ex: Exchange, file: fs.promises.FileHandle, path: string, plan: BodyPlan): Promise<void> {
  const { res } = ex;
  try {
    for (const part of plan.parts) {
      if (part.head.length > 0) res.write(part.head);
      ex.sent += part.head.length;
      const wanted = part.end - part.start + 1;
      let got = 0;
      const body = file.createReadStream({ start: part.start, end: part.end, autoClose: false });
      // Counted as it goes: the log of an answer cut short says how much did go out.
      body.on('data', (chunk: string | Buffer) => { got += chunk.length; ex.sent += chunk.length; });
      // pipeline ends the read when the client goes away mid-transfer; that is not our error.
      const sent = await pipeline(body, res, { end: false }).then(() => true, () => false);
      if (!sent) return void res.destroy();
      if (got < wanted) {
        console.error(`${PROGRAM}: ${escapeForPeople(path)} shrank while it was sent: ${got} of ${wanted} bytes; connection closed`);
        return void res.destroy();
      }
    }
    ex.sent += plan.tail.length;
    res.end(plan.tail.length > 0 ? plan.tail : undefined);
  } finally {
    await file.close();
  }
}

/** The same answers as serveFile, for a file whose bytes are in memory. */
function serveBytes(ex: Exchange, facts: FileFacts, body: Buffer): void {
  const { res } = ex;
  const plan = answerHead(ex, facts);
  if (plan === undefined) return;
  const [first] = plan.parts;
  if (plan.parts.length === 1 && first.start === 0 && first.end === body.length - 1) {
    ex.sent = body.length;
    return void res.end(body);
  }
  const pieces = plan.parts.flatMap((part) => [part.head, body.subarray(part.start, part.end + 1)]);
  const whole = Buffer.concat([...pieces, plan.tail]);
  ex.sent = whole.length;
  res.end(whole);
}

/**
 * Decides the status from the request's preconditions and ranges, and writes the head. Returns
 * what the body is to hold, or undefined when the answer is complete (304, 412, 416, HEAD, empty).
 */
function answerHead(ex: Exchange, facts: FileFacts): BodyPlan | undefined {
  const { req, res } = ex;
  const verdict = checkPreconditions(req, facts);
  if (verdict === 304) {
    // RFC 9110 §15.4.5: a 304 repeats the ETag; Last-Modified, the weaker validator, only without one.
    writeHead(ex, 304, { ETag: facts.etag });
    res.end();
    return undefined;
  }
  if (verdict === 412) {
    sendError(ex, 412, 'The file is not the version this request is conditional on (If-Match or If-Unmodified-Since).');
    return undefined;
  }
  const ranges = rangesToSend(req, facts);
  if (ranges === 'unsatisfiable') {
    sendError(ex, 416, `The file has ${facts.size} bytes; the range asked for is outside it.`,
      { 'Content-Range': `bytes */${facts.size}` });
    return undefined;
  }
  let plan: BodyPlan;
  if (ranges === undefined) {
    plan = { parts: [{ head: EMPTY, start: 0, end: facts.size - 1 }], tail: EMPTY };
    writeHead(ex, 200, facts.wholeHead ?? wholeFileHead(facts));
  } else if (ranges.length === 1) {
    const [{ start, end }] = ranges;
    plan = { parts: [{ head: EMPTY, start, end }], tail: EMPTY };
    writeHead(ex, 206, {
      'Content-Type': facts.contentType, 'Content-Length': end - start + 1, ...validatorsOf(facts),
      'Content-Range': `bytes ${start}-${end}/${facts.size}`,
    });
  } else {
    plan = multipartPlan(ranges, facts);
    const length = plan.parts.reduce((sum, p) => sum + p.head.length + p.end - p.start + 1, plan.tail.length);
    writeHead(ex, 206, {
      'Content-Type': `multipart/byteranges; boundary=${plan.tail.toString('latin1').slice(4, -4)}`,
      'Content-Length': length, ...validatorsOf(facts),
    });
  }
  if (req.method === 'HEAD' || facts.size === 0) {
    res.end();
    return undefined;
  }
  return plan;
}

/** `/dir` → `/dir/`, keeping the query. Built from the decoded segments, so it starts with one "/" only. */
function sendFolderRedirect(ex: Exchange, segments: string[], query: string): void {
  const { res } = ex;
  // Each segment then "/": the root itself (reached as "/." or "/sub/..") is "/", never "//",
  // which a browser would read as another host.
  const location = `/${segments.map((segment) => `${encodeURIComponent(segment)}/`).join('')}${query}`;
  res.setHeader('Location', location);
  sendHtml(ex, 301, page('301 Moved Permanently', `<p>This folder is at <a href="${escapeHtml(location)}">${escapeHtml(location)}</a>.</p>`));
}

/**
 * At most this many listings are made at once (per process); another gets 503 with Retry-After.
 * 40 listings of a 20,000-entry folder at once, unbounded, took the server from 47 MiB to 2.2 GiB
 * and held a 6-byte file's answer 20 s behind 800,000 lstat calls queued for libuv's 4 threads.
 * A big listing's memory is mostly the young generation V8 grows for its garbage (~2 KiB a row),
 * so it follows how many are made, not how many wait: in tests/stress/web-listings.mjs peak RSS
 * rose 52-63 MiB above idle with 4 at once, up to 103 with 8, 91 with 4 and 4 more waiting, and
 * 149 with 4 and 32 waiting.
 */
const LISTINGS_AT_ONCE = 4;
/**
 * Entries looked at (lstat, synchronously: ~5 µs each through /proc) per turn of the event loop,
 * then their rows are sent and other requests get their turn. Through the thread pool, with 8
 * lstat calls in flight per listing, 8 such listings took 3.2 s and the heap grew by 240 MiB of
 * promises and Stats objects; a slice per turn keeps a turn near a third of a millisecond per listing.
 */
const LISTING_SLICE = 16;

/**
 * A folder's listing, streamed: its names are read and sorted (folders first), then rows are
 * written a slice at a time, never faster than the client reads. No whole page is ever held, and
 * no Content-Length is known: HTTP/1.1 gets it chunked, HTTP/1.0 until the connection closes.
 */
async function sendListing(ex: Exchange, folder: OpenFile, shown: string, atRoot: boolean): Promise<void> {
  const { server } = ex;
  if (server.listingsInFlight >= LISTINGS_AT_ONCE) {
    return sendError(ex, 503, `The server is making ${LISTINGS_AT_ONCE} folder listings already; try again in a moment.`,
      { 'Retry-After': '1' });
  }
  server.listingsInFlight += 1;
  try {
    await streamListing(ex, folder, shown, atRoot);
  } finally {
    server.listingsInFlight -= 1;
  }
}

async function streamListing(ex: Exchange, folder: OpenFile, shown: string, atRoot: boolean): Promise<void> {
  const { req, res, config } = ex;
  // Through the open descriptor, not by name: the folder checked is the folder listed.
  const here = `/proc/self/fd/${folder.file.fd}/`;
  const folders: string[] = [];
  const files: string[] = [];
  try {
    // In batches through the thread pool: readdir of 20,000 names made 20,000 objects in one turn
    // (15 ms). As latin1, one character per byte: a name that is not UTF-8 must be recognised as
    // such, not silently mended (and a string costs less memory than a Buffer per name).
    for await (const entry of await fs.promises.opendir(here, { encoding: 'latin1', bufferSize: 256 })) {
      if (config.dotfiles || !entry.name.startsWith('.')) (entry.isDirectory() ? folders : files).push(entry.name);
    }
  } catch (err) {
    const code = errorCode(err);
    if (code === 'EMFILE' || code === 'ENFILE') return sendBusy(ex);
    return sendError(ex, 403, `You may not list ${shown}.`);
  }
  // Folders first, by the entry's own type: a symlink to a folder is listed among the files (with
  // its slash), as sorting by what it leads to would need every lstat before the first row.
  // Sorted as latin1 strings: byte order, which for UTF-8 is the order of the code points.
  const listed = [...folders.sort(), ...files.sort()];
  writeHead(ex, 200, { 'Content-Type': 'text/html; charset=utf-8' });
  if (req.method === 'HEAD') return void res.end();
  let piece = listingTop(shown, atRoot);
  for (let i = 0; i < listed.length;) {
    for (const end = Math.min(i + LISTING_SLICE, listed.length); i < end; i++) {
      piece += listingRow(describeEntry(here, listed[i], config));
    }
    if (res.destroyed) return;
    ex.sent += Buffer.byteLength(piece);
    const more = res.write(piece);
    piece = '';
    await (more ? new Promise(setImmediate) : drainedOrClosed(res));
  }
  piece += `</table>\n${PAGE_BOTTOM}`;
  ex.sent += Buffer.byteLength(piece);
  ex.length = ex.sent;
  res.end(piece);
}

function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function listingTop(shown: string, atRoot: boolean): string {
  return pageTop(`Index of ${shown}`) +
    '<style>th { text-align: left; } td, th { padding-right: 2em; } td:last-child { text-align: right; }</style>\n' +
    '<table>\n<tr><th>Name</th><th>Last modified (UTC)</th><th>Size (bytes)</th></tr>\n' +
    (atRoot ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n');
}

export interface ListingEntry {
  /** The name's bytes as on disk, one character each (latin1), as node:http hands over a request line. */
  bytes: string;
  folder: boolean;
  /** Why there is no link: the server would refuse the name, or what it leads to. */
  refused?: string;
  size?: number;
  mtimeMs?: number;
}

/** Printable ASCII without a backslash: a name that needs no decoding, checking or escaping (most of them). */
const PLAIN_NAME = /^[\x20-\x5b\x5d-\x7e]*$/;

/** The name as UTF-8 text, or undefined if its bytes are not UTF-8. */
function utf8Name(bytes: string): string | undefined {
  if (PLAIN_NAME.test(bytes)) return bytes;
  const raw = Buffer.from(bytes, 'latin1');
  const name = raw.toString('utf8');
  return Buffer.from(name, 'utf8').equals(raw) ? name : undefined;
}

/**
 * One entry of a listing, with a link only where following it would be answered: a name this
 * server refuses in a path (not UTF-8, control characters, a backslash) or a symlink out of the
 * root gets none, rather than a link that answers 400, 403 or 404.
 */
function describeEntry(here: string, bytes: string, config: ServeConfig): ListingEntry {
  const name = utf8Name(bytes);
  if (name === undefined) return { bytes, folder: false, refused: 'not UTF-8' };
  if (/[\x00-\x1f\x7f\\]/.test(name)) return { bytes, folder: false, refused: 'a control character or backslash' };
  const path = here + name;
  try {
    const link = fs.lstatSync(path);
    if (link.isSymbolicLink()) {
      const real = fs.realpathSync(path);
      if (!isUnderRoot(real, config.root) || (!config.dotfiles && isUnderDotName(real, config.root))) {
        return { bytes, folder: false, refused: 'a link out of this folder' };
      }
    }
    const stats = link.isSymbolicLink() ? fs.statSync(path) : link;
    return { bytes, folder: stats.isDirectory(), size: stats.isDirectory() ? undefined : stats.size, mtimeMs: stats.mtimeMs };
  } catch {
    return { bytes, folder: false, refused: 'cannot be read' };
  }
}

/**
 * A listing's row. The name is shown by lib/terminal-text's rule, so that a bidi override or a
 * zero-width character cannot make it pose as another name ("\u{202e}gnp.exe" would read
 * "exe.png"), and is marked when that changed it; <bdi> keeps a right-to-left name from
 * reordering its cell. The link is the real name, percent-encoded (it may hold "#", "?" or spaces).
 */
export function listingRow({ bytes, folder, refused, size, mtimeMs }: ListingEntry): string {
  const slash = folder ? '/' : '';
  const plain = PLAIN_NAME.test(bytes);
  const shown = plain ? bytes : escapeForPeople(Buffer.from(bytes, 'latin1'));
  const text = `<bdi>${escapeHtml(shown)}</bdi>${slash}`;
  const name = plain ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
  const cell = refused ? `${text} <small>(not served: ${refused})</small>`
    : `<a href="./${encodeURIComponent(name)}${slash}">${text}</a>` +
      (shown === name ? '' : ' <small>(shown escaped: the name holds characters that hide or reorder text)</small>');
  return `<tr><td>${cell}</td><td>${mtimeMs === undefined ? '' : listingTime(mtimeMs)}</td><td>${size === undefined ? '-' : size}</td></tr>\n`;
}

/**
 * "2026-01-02 03:04" (UTC), remembered for the last minute asked: the files of one folder mostly
 * share a few minutes, and a Date and three strings per row were a third of a row's garbage
 * (the young generation's growth is most of a big listing's memory).
 */
const lastListingTime = { minute: NaN, text: '' };
function listingTime(mtimeMs: number): string {
  const minute = Math.floor(mtimeMs / 60_000);
  if (minute !== lastListingTime.minute) {
    lastListingTime.minute = minute;
    lastListingTime.text = new Date(minute * 60_000).toISOString().slice(0, 16).replace('T', ' ');
  }
  return lastListingTime.text;
}

/** Out of file descriptors for now: the client may try again in a moment. */
function sendBusy(ex: Exchange): void {
  ex.server.reportShortage('answering 503 until some close');
  sendError(ex, 503, 'The server has too many files open right now; try again in a moment.', { 'Retry-After': '1' });
}

function sendNotFound(ex: Exchange, shown: string): void {
  sendError(ex, 404, `The requested path ${shown} was not found on this server.`);
}

function sendError(ex: Exchange, status: number, why: string, headers?: http.OutgoingHttpHeaders): void {
  sendHtml(ex, status, errorPage(status, why), headers);
}

function sendHtml(ex: Exchange, status: number, html: string, headers?: http.OutgoingHttpHeaders): void {
  const { req, res } = ex;
  const body = Buffer.from(html);
  const content = { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length };
  writeHead(ex, status, headers ? { ...headers, ...content } : content);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * "404 Not Found" and its sentence as a page. The page around the sentence is made once per
 * status: building it whole for every answer cost 0.40 µs instead of 0.16 (in-process loop),
 * and more in the server, where its garbage adds to every request's.
 */
const errorPageEnds = new Map<number, [string, string]>();

function errorPage(status: number, why: string): string {
  let ends = errorPageEnds.get(status);
  if (ends === undefined) {
    const [before, after] = page(`${status} ${http.STATUS_CODES[status] ?? 'Error'}`, '<p>\0</p>').split('\0');
    errorPageEnds.set(status, (ends = [before, after]));
  }
  return ends[0] + escapeHtml(why) + ends[1];
}

function page(title: string, body: string): string {
  return `${pageTop(title)}${body}\n${PAGE_BOTTOM}`;
}

function pageTop(title: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n` +
    `<body><h1>${escapeHtml(title)}</h1>\n`;
}

const PAGE_BOTTOM = `<hr><address>${PROGRAM}</address></body></html>\n`;

function escapeHtml(text: string): string {
  // Most text has nothing to escape: a test is cheaper than a replace that calls back.
  return /[&<>"']/.test(text) ? text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`) : text;
}

/**
 * Every head of an answer to a parsed request goes out through here (the parser-refused ones
 * through sendRawAndClose), so that -v shows it exactly as Node wrote it.
 */
function writeHead(ex: Exchange, status: number, headers: http.OutgoingHttpHeaders): void {
  const { req, res } = ex;
  // Straight to node:http, which checks each line as it writes it and merges any set before
  // (Connection, Allow); setHeader one by one first cost ~5% of a cached GET's time (perf).
  ex.length = Number(headers['Content-Length'] ?? 0);
  res.writeHead(status, headers);
  if (ex.config.verbose) {
    traceResponseHead(ex.server, clientOf(req), headAsWritten(res) ?? `HTTP/1.1 ${status}`);
  }
}

/** -v: a response head exactly as it went out, whichever way it was written. */
function traceResponseHead(server: ServerState, client: string, head: string): void {
  if (server.config.verbose) server.trace(`${client} <- response head:\n${indentHead(head, '< ')}`);
}

function requestHead(req: http.IncomingMessage): string {
  const lines = [requestLineOf(req)];
  for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  return lines.join('\r\n');
}


function clientOf(req: http.IncomingMessage): string {
  return formatEndpoint(req.socket.remoteAddress, req.socket.remotePort);
}

/** Once an answer is complete (or cut): its log line, and --once told about it. */
function logExchange(ex: Exchange): void {
  const { server } = ex;
  if (server.config.log) server.accessLog.add(logEntryOf(ex));
  server.shutdown.answered();
}

/**
 * What the access log says of one answer (darkhttpd's log_connection takes its connection, not
 * its fields): made from an exchange (logEntryOf), or by sendRawAndClose for what the parser refused.
 */
export interface LogEntry {
  /** The client's address, read when the request came (node:http may forget it once the connection is gone). */
  client: string | undefined;
  /** The request line as received; "-" when the parser found none. */
  requestLine: string;
  status: number;
  /** Body bytes: Content-Length when it all went out, else what went out before the cut; 0 shows as "-". */
  bytes: number;
  /** The request's header lines, when node:http parsed them (for a User-Agent or Referer field). */
  headers?: http.IncomingHttpHeaders;
}

function logEntryOf(ex: Exchange): LogEntry {
  const { req, res } = ex;
  const complete = res.writableFinished && req.method !== 'HEAD';
  return { client: ex.client, requestLine: requestLineOf(req), status: res.statusCode, bytes: complete ? ex.length : ex.sent, headers: req.headers };
}

/** The request line as the parser read it: for the log, -v and CONNECT's refusal alike. */
function requestLineOf(req: http.IncomingMessage): string {
  return `${req.method} ${req.url} HTTP/${req.httpVersion}`;
}

/** The access log: a line per answer, gathered per turn of the event loop (lib/log-lines.ts). */
interface AccessLog {
  add(entry: LogEntry): void;
  flush(): void;
}

function createAccessLog(): AccessLog {
  const lines = createLineLog();
  // The log's time, formatted once per second rather than once per request.
  const clock = { second: -1, text: '' };
  const now = () => {
    const second = Math.floor(Date.now() / 1000);
    if (second !== clock.second) {
      clock.second = second;
      clock.text = clfTime(new Date(second * 1000));
    }
    return clock.text;
  };
  return {
    add: (entry) => lines.add(accessLogLine(entry, now())),
    flush: lines.flush,
  };
}

// ---------------------------------------------------------------------------------------------
// Part 3: finding the file
// Step 2 of the handout: the path under the root, one stat per path per turn, the file opened and
// checked through its descriptor, and the small files kept in memory.

/**
 * Nothing at that path, by one synchronous look: a 404 then needs no trip through the thread
 * pool (wrk -c50 on loopback: ~14,700 -> ~23,000 404s per second). Anything else, even an error like
 * EACCES, goes through openUnderRoot's full checks.
 */
function certainlyMissing(stat: StatOncePerTurn, root: string, segments: string[]): boolean {
  return stat(pathUnderRoot(root, segments)) === 'missing';
}

/**
 * The file name of checked segments (no "", ".", ".." or "/" in any: parseTarget), joined
 * without path.join's normalising, which has nothing to do here (2.6% of a cached GET, perf).
 */
export function pathUnderRoot(root: string, segments: string[]): string {
  if (segments.length === 0) return root;
  return root.endsWith(sep) ? root + segments.join(sep) : root + sep + segments.join(sep);
}

/** What a path names right now: its stat, nothing, or something stat could not say (EACCES...). */
export type PathStat = fs.Stats | 'missing' | 'unknown';
export type StatOncePerTurn = (path: string) => PathStat;

/**
 * stat(2) of a path, taken at most once per turn of the event loop: the requests read in one turn
 * share one look, and every request read in a later turn looks again. So a file changed while a
 * turn runs may be answered as it was until that turn ends (milliseconds under load: libuv reads
 * each ready socket after epoll_wait, and polls again without blocking when 1024 were ready);
 * a request sent after a change and read in a later turn always sees it. Under load a turn holds
 * tens of requests; a stat per request was ~25% of web-server's busy time for a cached 1 KiB GET
 * and for a 404 (--cpu-prof, wrk -t1 -c50 on loopback).
 */
export function statOncePerTurn(stat: (path: string) => fs.Stats | undefined = statOrUndefined): StatOncePerTurn {
  let looked = new Map<string, PathStat>();
  const nextTurn = () => { looked = new Map(); };
  return (path) => {
    let found = looked.get(path);
    if (found === undefined) {
      if (looked.size === 0) setImmediate(nextTurn);
      try {
        found = stat(path) ?? 'missing';
      } catch {
        found = 'unknown';
      }
      looked.set(path, found);
    }
    return found;
  };
}

function statOrUndefined(path: string): fs.Stats | undefined {
  return fs.statSync(path, { throwIfNoEntry: false });
}

interface OpenFile {
  /** Where the file is, as the kernel names the very inode that was opened. */
  path: string;
  file: fs.promises.FileHandle;
  stats: fs.Stats;
}

// 'busy': out of file descriptors (EMFILE/ENFILE), which says nothing about the file: 503, not 404.
type Found = OpenFile | 'missing' | 'forbidden' | 'busy';

/** Linux's O_PATH (010000000 on x86-64 and arm64 alike; Node's fs.constants does not list it). */
const O_PATH = 0o10000000;

/**
 * Opens what the segments name, but only if what was opened lies under the root, and not under
 * a dot-name unless --dotfiles. The caller closes the file; its size and type come from fstat on
 * the open file, so they describe the very bytes that will be sent.
 *
 * Race-free against anyone who can write in the served folder and swaps a file or a folder for a
 * symlink out of it. Node has no openat()/O_NOFOLLOW walk, so the name is resolved exactly once,
 * by the kernel, into an O_PATH descriptor (which opens nothing for I/O: no device or FIFO out
 * of the root is ever opened). The kernel then names what that descriptor holds
 * (/proc/self/fd/N), that name is checked, and the file is read only through a reopen of the
 * same descriptor (the magic link /proc/self/fd/N leads to its inode, whatever its path is now).
 * A swap after the first open cannot change which inode is checked and read. The old way,
 * realpath() and then open() by name, followed symlinks twice: during a 4 s swap loop 6,677 of
 * 19,824 answers carried the file outside the root (tests/stress/web-race.mjs).
 */
async function openUnderRoot(root: string, segments: string[], dotfiles: boolean): Promise<Found> {
  let where: fs.promises.FileHandle;
  try {
    where = await fs.promises.open(pathUnderRoot(root, segments), O_PATH);
  } catch (err) {
    return whyNotOpened(err);
  }
  try {
    const place = placeOf(where.fd, root, dotfiles);
    if (typeof place !== 'string') return place.refused;
    // O_NONBLOCK: opening a FIFO must not wait for a writer (fstat then shows it is no file).
    const file = await fs.promises.open(`/proc/self/fd/${where.fd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      return { path: place, file, stats: await file.stat() };
    } catch (err) {
      await file.close();
      return whyNotOpened(err);
    }
  } catch (err) {
    return whyNotOpened(err);
  } finally {
    await where.close();
  }
}

function whyNotOpened(err: unknown): 'forbidden' | 'busy' | 'missing' {
  const code = errorCode(err);
  return code === 'EACCES' ? 'forbidden' : code === 'EMFILE' || code === 'ENFILE' ? 'busy' : 'missing';
}

/**
 * Where the kernel says descriptor `fd` is: its path if under the root and allowed, else why not.
 * Synchronous on purpose: /proc answers from memory, faster than a trip to the thread pool.
 */
function placeOf(fd: number, root: string, dotfiles: boolean): string | { refused: 'forbidden' | 'missing' } {
  const real = fs.readlinkSync(`/proc/self/fd/${fd}`);
  if (!isUnderRoot(real, root)) return { refused: 'forbidden' };
  // Removed since it was opened: the kernel's name then ends in " (deleted)"; the file is gone.
  if (fs.fstatSync(fd).nlink === 0) return { refused: 'missing' };
  if (!dotfiles && isUnderDotName(real, root)) return { refused: 'missing' };
  return real;
}

/** `real` (a path with symlinks resolved) is the root or below it. */
function isUnderRoot(real: string, root: string): boolean {
  // With -d / the root already ends in a separator.
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Some part of `real` below the root starts with a dot (hidden unless --dotfiles). */
function isUnderDotName(real: string, root: string): boolean {
  return relative(root, real).split(sep).some((part) => part.startsWith('.'));
}

interface CachedFile extends FileFacts {
  body: Buffer;
  dev: number;
  ino: number;
  ctimeMs: number;
}

/**
 * Small files (up to SMALL_FILE) already served, with their header facts, so that the next request for one costs a
 * single stat instead of realpath + open + fstat + read + close (five trips through libuv's
 * thread pool: a 1 KiB GET went from about 6,700 to 33,000 requests/s with -q, wrk -t1 -c50 on
 * loopback, where a plain node:http server made 10,000 in the same run). The stat follows the path
 * as the request names it; only the very same inode, unchanged (size, mtime, and ctime, which
 * chmod, rename and link also change), is served from memory: a file replaced, removed, made
 * unreadable or a symlink turned elsewhere is looked up and checked again from scratch.
 * Only bytes that openUnderRoot verified through their descriptor are ever remembered, so a
 * name swapped for a symlink can match an entry only if it leads to that same unchanged inode:
 * the bytes served are still the ones checked to be under the root.
 */
export function smallFileCache(maxFiles: number, maxBytes: number) {
  const files = new Map<string, CachedFile>();
  let bytes = 0;
  const forget = (key: string) => {
    const old = files.get(key);
    if (old) bytes -= old.body.length;
    files.delete(key);
  };
  return {
    fresh(stat: StatOncePerTurn, root: string, segments: string[]): CachedFile | undefined {
      const key = segments.join('/');
      const file = files.get(key);
      if (!file) return undefined;
      // EACCES and the like ('unknown'): forget the file; the full lookup gives the answer.
      const now = stat(pathUnderRoot(root, segments));
      const same = typeof now !== 'string' && now.isFile() && now.ino === file.ino && now.dev === file.dev &&
        now.size === file.size && now.mtimeMs === file.mtimeMs && now.ctimeMs === file.ctimeMs;
      if (!same) forget(key);
      return same ? file : undefined;
    },
    remember(segments: string[], stats: fs.Stats, entry: FileFacts & { body: Buffer }): void {
      const key = segments.join('/');
      forget(key);
      // Oldest first out: a Map iterates in insertion order.
      for (const [oldest] of files) {
        if (files.size < maxFiles && bytes + entry.body.length <= maxBytes) break;
        forget(oldest);
      }
      files.set(key, { ...entry, dev: stats.dev, ino: stats.ino, ctimeMs: stats.ctimeMs });
      bytes += entry.body.length;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Part 4: the pure HTTP rules
// No socket, no file: request targets, Host, framing, a file's validators, preconditions, ranges,
// dates, content types, the parser's refusals and the access log's format. Exported for the tables.

export interface Target { segments: string[]; trailingSlash: boolean; query: string; shown: string }

type ParsedTarget = Target | { status: 400 | 403; why: string };

/**
 * The request target → the path's segments under the root. Decodes percent-escapes exactly once
 * (so %252e stays the name "%2e"), refuses what no file name here should contain, and resolves
 * "." and ".." itself, refusing any ".." that would climb above the root.
 */
export function parseTarget(target: string): ParsedTarget {
  // Most targets are a plain path: nothing to decode, split off or refuse (229 -> 52 ns, in-process).
  if (PLAIN_PATH.test(target)) return segmentsOf(target, '');
  // Absolute-form (RFC 9112 §3.2.2), as sent to proxies: an origin server uses only its path.
  const absolute = /^https?:\/\/([^/?#]*)/i.exec(target);
  if (absolute && !isValidAuthority(absolute[1])) return { status: 400, why: 'The host in the request target is not a valid host[:port].' };
  const rest = absolute ? target.slice(absolute[0].length) || '/' : target;
  if (!rest.startsWith('/')) return { status: 400, why: 'The request target must be a path starting with "/".' };
  const queryAt = rest.search(/[?#]/);
  const rawPath = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 || rest[queryAt] === '#' ? '' : rest.slice(queryAt).replace(/#.*$/s, '');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { status: 400, why: 'The path has a bad percent-encoding (% must be followed by two hex digits of UTF-8).' };
  }
  // NUL ends a name for the kernel; other control characters would reach the log and headers.
  if (/[\x00-\x1f\x7f]/.test(path)) return { status: 400, why: 'The path contains a control character (such as NUL or a line break).' };
  // Windows and some proxies read "\" as "/", so "..\" could climb out of the root for them.
  if (path.includes('\\')) return { status: 400, why: 'The path contains a backslash.' };
  return segmentsOf(path, query);
}

/** "/" then RFC 3986 pchars and "/", without "%": a path that reads as it is written. */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/** A decoded path's segments, "." and ".." resolved; a ".." above the root is refused. */
function segmentsOf(path: string, query: string): ParsedTarget {
  const segments: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) return { status: 403, why: 'The path climbs above the served folder.' };
      segments.pop();
    } else {
      segments.push(part);
    }
  }
  return { segments, trailingSlash: path.endsWith('/'), query, shown: path };
}

/**
 * RFC 9112 §3.2: exactly one Host line on HTTP/1.1 (at most one on 1.0), whose value is a valid
 * `host[:port]` (possibly empty). A server that picks one of two Host lines, or reads a host with
 * "@" or "/" in it, may disagree with a proxy in front about which site was asked for.
 */
export function hostHeaderProblem(req: http.IncomingMessage): string | undefined {
  let count = 0;
  let value = '';
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].length === 4 && req.rawHeaders[i].toLowerCase() === 'host') {
      count += 1;
      value = req.rawHeaders[i + 1];
    }
  }
  if (count > 1) return 'The request has more than one Host header line.';
  if (count === 0) return req.httpVersion === '1.1' ? 'An HTTP/1.1 request must have a Host header.' : undefined;
  return isValidAuthority(value) ? undefined : 'The Host header is not a valid host[:port].';
}

/**
 * `uri-host [ ":" port ]` (RFC 3986 §3.2.2): an [IPv6] literal or a reg-name of unreserved,
 * sub-delims and %-escapes (which covers IPv4), then an optional port up to 65535. No userinfo
 * ("@"), no "/", no spaces.
 */
export function isValidAuthority(authority: string): boolean {
  const m = /^(?:\[([^\]]*)\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::(\d*))?$/.exec(authority);
  if (m === null || (m[2] !== undefined && m[2] !== '' && Number(m[2]) > 65535)) return false;
  // An IP-literal is an IPv6 address or an IPvFuture ("v1.x"), nothing else: [ab..cd::1] is not.
  return m[1] === undefined || net.isIPv6(m[1]) || /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/.test(m[1]);
}

/**
 * RFC 9112 §6.3: a request body with Transfer-Encoding is framed only if "chunked" is its final
 * coding; any other is a framing the server cannot follow (400, then close: llhttp would read
 * "xchunked" as no body and answer with keep-alive on a connection it then dropped). A coding
 * before the final chunked (gzip, chunked) is one this server does not implement: 501 (§6.1).
 */
export function transferCodingProblem(header: string | undefined): { status: 400 | 501; why: string } | undefined {
  if (header === undefined) return undefined;
  const codings = header.split(',').map((c) => c.trim().toLowerCase());
  if (codings[codings.length - 1] !== 'chunked') {
    return { status: 400, why: 'Transfer-Encoding must end with "chunked" (RFC 9112 section 6.3); this one does not.' };
  }
  if (codings.length > 1) return { status: 501, why: 'Only the "chunked" transfer coding is understood here.' };
  return undefined;
}

/** What the header lines say about a file; kept with its bytes when the file is cached. */
export interface FileFacts {
  size: number;
  mtimeMs: number;
  etag: string;
  lastModified: string;
  contentType: string;
  /** The head of a 200 with the whole file, made once per version of the file (see wholeFileHead). */
  wholeHead?: http.OutgoingHttpHeaders;
}

export function factsOf(path: string, stats: fs.Stats): FileFacts {
  const facts: FileFacts = {
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    etag: `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
    lastModified: new Date(stats.mtime).toUTCString(),
    contentType: contentTypeFor(path),
  };
  facts.wholeHead = wholeFileHead(facts);
  return facts;
}

/**
 * A 200's header lines. Kept with a cached file, so that its answers make no head of their own;
 * node:http reads the object and does not change it.
 */
function wholeFileHead(facts: FileFacts): http.OutgoingHttpHeaders {
  return { 'Content-Type': facts.contentType, 'Content-Length': facts.size, ...validatorsOf(facts) };
}

/** What every 200 and 206 says about the file's version, and that ranges may be asked for. */
function validatorsOf(facts: FileFacts): http.OutgoingHttpHeaders {
  return { ETag: facts.etag, 'Last-Modified': facts.lastModified, 'Accept-Ranges': 'bytes' };
}

/**
 * RFC 9110 §13.2.2, in its order: If-Match (strong comparison), else If-Unmodified-Since, fail
 * with 412; then If-None-Match (weak comparison), else If-Modified-Since, give 304 for GET and
 * HEAD. If-Range is weighed with the range. Without If-Match, a download manager that guards a
 * resumed download with it got 200 or 206 for another version and stitched a corrupt file.
 */
export function checkPreconditions(req: http.IncomingMessage, facts: FileFacts): 'proceed' | 304 | 412 {
  const { 'if-match': ifMatch, 'if-none-match': ifNoneMatch } = req.headers;
  // HTTP dates have whole seconds; the file's time has milliseconds.
  const modified = Math.floor(facts.mtimeMs / 1000) * 1000;
  if (ifMatch !== undefined) {
    if (!matchesEntityTag(ifMatch, facts.etag, 'strong')) return 412;
  } else {
    // A date that is no HTTP-date is ignored (§13.1.4).
    const since = parseHttpDate(req.headers['if-unmodified-since']);
    if (since !== undefined && modified > since) return 412;
  }
  if (ifNoneMatch !== undefined) return matchesEntityTag(ifNoneMatch, facts.etag, 'weak') ? 304 : 'proceed';
  // §13.1.3: a date that is no HTTP-date, or one later than now, is ignored (a 304 for "3000",
  // or for a clock ahead of ours, would pin a stale copy).
  const since = parseHttpDate(req.headers['if-modified-since']);
  return since !== undefined && since <= Date.now() && modified <= since ? 304 : 'proceed';
}

/**
 * Whether a list of entity tags (or "*") names this file's ETag. Strong comparison (If-Match,
 * If-Range) never matches a weak tag W/"..."; weak comparison (If-None-Match) ignores the W/.
 */
export function matchesEntityTag(list: string, etag: string, how: 'strong' | 'weak'): boolean {
  if (list.trim() === '*') return true;
  return (list.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => (how === 'weak' ? tag.replace(/^W\//, '') : tag) === etag);
}

export interface ByteRange { start: number; end: number }

/** Apache's MaxRanges default is 200; no client asks for more than a few. */
const MAX_RANGES = 100;

/**
 * The ranges to send, sorted and merged, or undefined for the whole file (no Range, an If-Range
 * for another version, a Range that is not valid syntax, more than MAX_RANGES ranges, or ranges
 * that would cost more than the file), or 'unsatisfiable' (416) when none overlaps the file.
 * RFC 9110 §14.2 lets a server ignore a Range it will not honour; an invalid one (bytes=20-10,
 * bytes=alpha, lines=1-2) is ignored rather than refused, as nginx and Apache do. Overlapping and
 * adjacent ranges are merged, the guard Apache needed after CVE-2011-3192 (one request asking for
 * thousands of overlapping ranges of one file).
 */
export function rangesToSend(req: http.IncomingMessage, facts: FileFacts): ByteRange[] | 'unsatisfiable' | undefined {
  const header = req.headers.range;
  // §14.2: range handling is defined for GET only; on HEAD (or anything else) Range is ignored.
  if (header === undefined || req.method !== 'GET') return undefined;
  const ifRange = req.headers['if-range'] as string | undefined;
  // §13.1.5: an entity tag compares strongly; a date must be exactly the file's Last-Modified.
  if (ifRange !== undefined && !(ifRange.startsWith('"') || ifRange.startsWith('W/')
    ? matchesEntityTag(ifRange, facts.etag, 'strong') : ifRange === facts.lastModified)) return undefined;
  const ranges = parseByteRanges(header, facts.size);
  if (ranges === undefined || ranges === 'unsatisfiable') return ranges;
  const merged = mergeRanges(ranges);
  // Part heads cost about 100 bytes each: several ranges that cover nearly all of the file are
  // cheaper as the file itself.
  const cost = merged.reduce((sum, r) => sum + r.end - r.start + 1 + (merged.length > 1 ? 100 : 0), 0);
  if (merged.length > 1 && cost >= facts.size) return undefined;
  // §14.6: parts in the order asked for, unless some were coalesced (then in file order).
  return merged.length === ranges.length ? ranges : merged;
}

/**
 * `bytes=a-b, a-, -n, ...` (RFC 9110 §14.1.2; the unit is case-insensitive) clipped to a file of
 * `size` bytes: the satisfiable ranges in the order given, 'unsatisfiable' if none is, undefined
 * if the header is not valid syntax or asks for more than MAX_RANGES ranges.
 */
export function parseByteRanges(header: string, size: number): ByteRange[] | 'unsatisfiable' | undefined {
  const m = /^bytes=(.*)$/i.exec(header.trim());
  if (!m) return undefined;
  const specs = m[1].split(',').map((spec) => spec.trim()).filter((spec) => spec !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return undefined;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return undefined;
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(r[1]);
    if (r[2] !== '' && Number(r[2]) < start) return undefined;
    if (start < size) ranges.push({ start, end: r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1) });
  }
  return ranges.length > 0 ? ranges : 'unsatisfiable';
}

/** Sorted by start; overlapping or adjacent ranges become one. */
export function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [{ ...sorted[0] }];
  for (const r of sorted.slice(1)) {
    const last = merged[merged.length - 1];
    if (r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

/** What a 200 or 206 body is made of: byte ranges of the file, each after its own part head. */
export interface BodyPlan {
  parts: { head: Buffer; start: number; end: number }[];
  /** The multipart body's closing delimiter; empty for one range. */
  tail: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * RFC 9110 §14.6 / Appendix A: each range as its own part, with its Content-Type and
 * Content-Range. The boundary is derived from the ETag, so it is the same for every request of
 * one version of the file, and cannot occur in a part head.
 */
export function multipartPlan(ranges: ByteRange[], facts: FileFacts): BodyPlan {
  const boundary = `socklab-${facts.etag.replace(/"/g, '')}`;
  const parts = ranges.map(({ start, end }, i) => ({
    head: Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${facts.contentType}\r\n` +
      `Content-Range: bytes ${start}-${end}/${facts.size}\r\n\r\n`, 'latin1'),
    start,
    end,
  }));
  return { parts, tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1') };
}

const HTTP_DATE_FORMS = [
  // IMF-fixdate, the one to send: Sun, 06 Nov 1994 08:49:37 GMT
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/,
  // RFC 850, obsolete but still to be read: Sunday, 06-Nov-94 08:49:37 GMT
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d\d)-(\w{3})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/,
];
// asctime: Sun Nov  6 08:49:37 1994 (month before day, year last).
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\w{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

/**
 * An HTTP-date (RFC 9110 §5.6.7, its three forms) in ms since the epoch, or undefined for
 * anything else: Date.parse also takes "3000", "2026-12-01" and other strings no client sends.
 */
export function parseHttpDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let parts: [day: string, month: string, year: string, h: string, m: string, s: string] | undefined;
  const a = ASCTIME.exec(text);
  if (a) parts = [a[2].trim(), a[1], a[6], a[3], a[4], a[5]];
  for (const form of HTTP_DATE_FORMS) {
    const m = form.exec(text);
    if (m) parts = [m[1], m[2], m[3], m[4], m[5], m[6]];
  }
  if (!parts) return undefined;
  const month = MONTHS.indexOf(parts[1]);
  let year = Number(parts[2]);
  // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
  if (parts[2].length === 2) year += year + 2000 > new Date().getUTCFullYear() + 50 ? 1900 : 2000;
  const [day, h, m, s] = [parts[0], parts[3], parts[4], parts[5]].map(Number);
  if (month === -1 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  return Date.UTC(year, month, day, h, m, Math.min(s, 59));
}

export function contentTypeFor(path: string): string {
  const type = mimeLookup(extname(path).slice(1).toLowerCase()) ?? 'application/octet-stream';
  const isText = type.startsWith('text/') || type === 'application/json' || type.endsWith('+xml');
  return isText ? `${type}; charset=utf-8` : type;
}

export function statusForParseError(code: string | undefined, firstLine: string | undefined): number | undefined {
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return 408;
    case 'HPE_HEADER_OVERFLOW':
      // Node counts the request line and the headers together; blame the part that is too long.
      return firstLine === undefined || firstLine.length > MAX_URL_LENGTH ? 414 : 431;
    case 'HPE_INVALID_METHOD':
      // 501 is for a method this server does not know; a request line that is not
      // "METHOD SP target SP HTTP/x.y" (an empty method, tabs, a "@" in it) is malformed: 400.
      return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ +\S+ +HTTP\/\d\.\d$/.test(firstLine ?? '') ? 501 : 400;
    case 'HPE_INVALID_VERSION':
      // A well-formed version we do not speak (HTTP/9.9) is 505; HTTP/1.1 itself failing here
      // means the line is malformed (a bare LF instead of CRLF), which is 400.
      return /HTTP\/\d\.\d$/.test(firstLine ?? '') && !/HTTP\/1\.[01]$/.test(firstLine ?? '') ? 505 : 400;
    default:
      return 400;
  }
}

export function parseErrorSentence(err: Error & { code?: string; rawPacket?: Buffer }, status: number): string {
  // What a student typing into nc sends. Accepting it would take llhttp's lenient flags, and the
  // one that takes a bare LF at the end of the request line also takes a bare CR there
  // (measured on llhttp 9.4: kLenientOptionalCRBeforeLF alone still refuses "GET / HTTP/1.1\n"),
  // which is a request-smuggling vector. So it stays 400, with the fix in the sentence.
  if (status === 400 && err.rawPacket && /(^|[^\r])\n/.test(err.rawPacket.toString('latin1'))) {
    return 'Each line of the request must end in CR LF (\\r\\n), not a bare LF: use nc -C, or write \\r\\n with printf.';
  }
  switch (status) {
    case 408: return 'The request did not arrive in time.';
    case 414: return `The request line is longer than ${MAX_URL_LENGTH} bytes.`;
    case 431: return `The request head is larger than ${MAX_HEAD_SIZE} bytes.`;
    case 501: return `This server does not know that method; it answers ${ALLOWED_METHODS}.`;
    case 505: return 'This server speaks HTTP/1.1 and HTTP/1.0 only.';
    default: return `The request is not valid HTTP/1.1 (${err.message || err.code}).`;
  }
}

/** The request line as received (no line ending), or undefined if it never ended. */
export function firstLineOf(raw: Buffer | undefined): string | undefined {
  if (!raw || raw.length === 0) return undefined;
  const text = raw.toString('latin1');
  const end = text.indexOf('\n');
  return (end === -1 ? text : text.slice(0, end)).replace(/\r$/, '');
}

/** One line of the Common Log Format: `host ident user [time] "request" status bytes`. */
export function accessLogLine({ client, requestLine, status, bytes }: LogEntry, time = clfTime(new Date())): string {
  const host = client === undefined ? '-' : formatAddress(client);
  const shown = requestLine.length > 1024 ? `${requestLine.slice(0, 1024)}...` : requestLine;
  return `${host} - - [${time}] "${escapeLogField(shown)}" ${status} ${bytes > 0 ? bytes : '-'}`;
}

/**
 * The request line in the log: shown by lib/terminal-text's rule, ASCII only, with Apache's quote
 * rule on top (`\"` and `\\`), so that one request is always one line and its field ends at its quote.
 */
export function escapeLogField(text: string): string {
  return escapeForPeople(text, { ascii: true, quoted: true });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `24/Nov/2026:17:09:16 +0000`: local time with its offset from UTC. */
export function clfTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const zone = `${offset >= 0 ? '+' : '-'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  return `${two(date.getDate())}/${MONTHS[date.getMonth()]}/${date.getFullYear()}:` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${zone}`;
}

// ---------------------------------------------------------------------------------------------
// Part 5: what node:http keeps private, named once
// The public API has no way to say these. Each helper has a test under its own name in
// tests/web-server-unit.test.mjs ("node:http's private fields"), so that a Node upgrade that
// changes one fails there, by name, rather than somewhere in a stress run.

/** The response head exactly as node:http wrote it (`_header`): -v shows it as it went out. */
export function headAsWritten(res: http.ServerResponse): string | undefined {
  const head = (res as unknown as { _header?: unknown })._header;
  return typeof head === 'string' ? head : undefined;
}

/** Whether an answer is being written on this connection (`_httpMessage`), as opposed to idle between requests. */
export function answerInFlight(socket: net.Socket): boolean {
  return Boolean((socket as net.Socket & { _httpMessage?: unknown })._httpMessage);
}

/**
 * node:http's own switch for "stop reading this connection" (`_paused`, which it flips when a
 * client does not read its answers): with it set, node:http's own resume calls (as when a request
 * body is drained) leave the socket paused, and it pauses the parser after the chunk in hand.
 */
type PausableSocket = net.Socket & { _paused?: boolean; parser?: { pause(): void; resume(): void } | null };

export function stopReading(socket: net.Socket): void {
  const s = socket as PausableSocket;
  if (s._paused) return;
  s._paused = true;
  s.pause();
}

/** Undoes stopReading: the switch, the parser (`parser`) and the socket. */
export function readAgain(socket: net.Socket): void {
  const s = socket as PausableSocket;
  if (!s._paused || s.destroyed) return;
  s._paused = false;
  s.parser?.resume();
  s.resume();
}

/** How many connections a server has open (`_connections`; getConnections() only answers in a callback). */
export function openConnections(server: net.Server): number {
  return (server as unknown as { _connections: number })._connections;
}

/** The listening socket's descriptor (`_handle.fd`): --workers hands it to each worker by number. */
export function listeningFd(server: net.Server): number {
  return (server as unknown as { _handle: { fd: number } })._handle.fd;
}

/** The listening socket's handle (`_handle`), which a worker sends back over its IPC channel to lend it. */
export function listeningHandle(server: net.Server): net.Server {
  return (server as unknown as { _handle: net.Server })._handle;
}

/**
 * A client may half-close (send FIN) right after its request, as `printf 'GET / HTTP/1.0\r\n\r\n'
 * | nc -N` does. By default node:http then drops every answer not yet written, i.e. any file
 * that needs a trip to the disk; with `httpAllowHalfOpen` (undocumented) it sends them, then closes.
 */
export function answerAfterHalfClose(server: http.Server): void {
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}

// ---------------------------------------------------------------------------------------------
// Part 6: the process
// Stopping (one shutdown, made in main), the root folder and /proc checked at start, the ready
// lines, and main.

/** The stop lines, the same from one process or from the supervisor of several. */
function sayStopping(why: string, graceMs: number, open = true): void {
  console.log(`${stopCause(why)}: no new connections` +
    (open ? `; letting responses in flight finish (up to ${graceMs / 1000} s)` : '; none is open, so stopping now'));
}
function sayGraceOver(): void {
  console.log('grace period over: closing the connections still open');
}

/**
 * The one shutdown of a process (darkhttpd's `running`): made in main, for the server (or a
 * worker) around its http.Server, for the supervisor of --workers around its workers. Ctrl-C,
 * SIGTERM, the supervisor or --once's answer call stop(why): no new connections, idle keep-alive
 * connections closed, answers in flight finish for up to --grace seconds, then exit 0.
 */
interface Shutdown {
  /** stop() was called. */
  readonly stopping: boolean;
  /** Every answer closes its connection: stopping, or --once (its one answer is the last). */
  readonly closing: boolean;
  /** Starts stopping; once stopping, a second call changes nothing. */
  stop(why: string): void;
  /** Exits at once, with what was written flushed (a second Ctrl-C). */
  now(): void;
  /** Whether a request may be answered: with --once, only the first. */
  mayAnswer(): boolean;
  /** An answer is complete: --once's one stops the server; when stopping, its idle connection is closed. */
  answered(): void;
}

/** What a shutdown stops: one server's connections, or the worker processes of --workers. */
interface Stoppable {
  /** Connections (or workers) are still open: the stop line then says it lets them finish. */
  busy(): boolean;
  /** Stops accepting; calls `done` once everything has closed. */
  close(done: () => void): void;
  /** Closes what is idle now (keep-alive connections between two requests). */
  closeIdle(): void;
  /** The grace period is over: closes (or kills) what is still open. */
  closeAll(): void;
}

function createShutdown(target: Stoppable, { graceMs, announce, once = false, beforeStop }: {
  graceMs: number;
  /** Says the stop lines (not with -q, nor in a worker: its supervisor says them once for all). */
  announce: boolean;
  once?: boolean;
  /** Called first: the access log of what was served comes before the line saying we stop. */
  beforeStop?: () => void;
}): Shutdown {
  let stopping = false;
  let begun = 0;
  let answers = 0;
  const shutdown: Shutdown = {
    get stopping() { return stopping; },
    get closing() { return stopping || once; },
    stop(why) {
      if (stopping) return;
      stopping = true;
      beforeStop?.();
      if (announce) sayStopping(why, graceMs, target.busy());
      target.close(() => exitWhenFlushed(EXIT.ok));
      target.closeIdle();
      setTimeout(() => {
        if (announce && target.busy()) sayGraceOver();
        target.closeAll();
      }, graceMs).unref();
    },
    now: () => exitWhenFlushed(EXIT.ok),
    mayAnswer: () => !once || begun++ === 0,
    answered() {
      answers += 1;
      if (once && answers === 1) shutdown.stop('served one request (--once)');
      // A keep-alive connection whose last answer just went out is idle now: close it.
      else if (stopping) setImmediate(target.closeIdle);
    },
  };
  return shutdown;
}

/** An http.Server as a shutdown stops it: its connections, then the process. */
function stoppableServer(server: http.Server, trace: Trace): Stoppable {
  return {
    busy: () => openConnections(server) > 0,
    close: (done) => server.close(() => {
      trace('all connections closed');
      done();
    }),
    closeIdle: () => server.closeIdleConnections(),
    closeAll: () => {
      server.closeAllConnections();
      exitWhenFlushed(EXIT.ok);
    },
  };
}

/**
 * openUnderRoot asks /proc where each opened file really is; without /proc (a bare chroot) every
 * file would look missing. Said at start, once, rather than as a 404 for every request.
 */
function requireProcFs(): void {
  try {
    fs.readlinkSync('/proc/self/fd/0');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT' || fs.existsSync('/proc/self/fd')) return; // fd 0 closed: /proc is there
    throw new ExplainedError('/proc is not mounted, and it is needed to check that each file opened is inside the ' +
      'served folder: mount it (mount -t proc proc /proc) or run outside this chroot', EXIT.osErr);
  }
}

function isFolder(path: string): boolean {
  try {
    return fs.statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The root folder with symlinks resolved, or an error that says what is wrong with it. */
function realFolder(dir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
    if (!fs.statSync(real).isDirectory()) throw new UsageError(`cannot serve "${dir}": it is a file, not a folder`);
    // Without search (x) permission on the folder itself nothing in it could be opened.
    fs.accessSync(real, fs.constants.X_OK);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = errorCode(err);
    if (code === 'EACCES') {
      throw new ExplainedError(`cannot serve "${dir}": permission denied (this user may not enter it, or a folder above it: ` +
        'ls -ld shows their permissions)', EXIT.noPerm);
    }
    if (code === 'ENOTDIR') throw new UsageError(`cannot serve "${dir}": a part of its path is a file, not a folder`);
    if (code === 'ENOENT') throw new UsageError(`cannot serve "${dir}": no such folder`);
    throw new UsageError(`cannot serve "${dir}": ${(err as Error).message}`);
  }
  return real;
}

/** The URLs to open: this host's own, and for a wildcard address the ones other hosts can use. */
function urlLines(bound: ListenAddress, port: number): string[] {
  const url = (host: string) => `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  if (bound.host !== '::' && bound.host !== '0.0.0.0') return [`Open ${url(bound.host)}`];
  const wanted = (family: string) => (bound.host === '0.0.0.0' ? family === 'IPv4' : !bound.ipv6Only || family === 'IPv6');
  const others = Object.values(os.networkInterfaces()).flat()
    // Link-local IPv6 addresses (fe80::) need a zone to be usable in a URL: leave them out.
    .filter((a) => a !== undefined && !a.internal && wanted(a.family) && !a.address.startsWith('fe80'))
    .map((a) => url(a!.address)).slice(0, 4);
  return [
    `Open ${url(bound.host === '::' && bound.ipv6Only ? '::1' : 'localhost')} on this host`,
    ...(others.length > 0 ? [`or from another host: ${others.join('  ')}`] : []),
  ];
}

async function main(): Promise<void> {
  // mri reads any --no-X as "X = false", which the shared parser refuses as an unknown option;
  // -N is --no-listing's alias, so the long form is passed on as the short one.
  const argv = process.argv.slice(2).map((arg) => (arg === '--no-listing' ? '-N' : arg));
  const { flags, positionals } = parseCommandLine(spec, argv);
  const folderGiven = positionals.find((arg) => !/^\d+$/.test(arg) && isFolder(arg));
  if (folderGiven !== undefined) {
    throw new UsageError(`"${folderGiven}" is a folder, not a port or host: to serve it, use -d ${folderGiven}`);
  }
  const address = listenAddressFromArgs(positionals, 6789, familyOf(flags));
  const rootArg = typeof flags.root === 'string' ? flags.root : '.';
  const root = realFolder(rootArg);
  requireProcFs();
  const keepAliveMs = Math.round(parseSeconds(flags, 'keep-alive', 5) * 1000);
  const headersTimeoutMs = Math.round(parseSeconds(flags, 'headers-timeout', 10) * 1000);
  const requestTimeoutMs = Math.round(parseSeconds(flags, 'request-timeout', 30) * 1000);
  const graceMs = Math.round(parseSeconds(flags, 'grace', 10) * 1000);
  const sendTimeoutMs = Math.round(parseSeconds(flags, 'send-timeout', 30) * 1000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new UsageError('--headers-timeout cannot be longer than --request-timeout (the head is part of the request)');
  }
  const quiet = Boolean(flags.quiet);
  const workers = flags.workers === 'auto' ? os.availableParallelism() : parseCount(flags, 'workers', 1, 1, 64, 'auto for one per core');
  if (workers > 1 && flags.once) throw new UsageError('--once serves one request, from one process: drop --workers');
  // Set only in the processes that superviseWorkers starts: their number, 1 to N.
  const worker = Number(process.env[WORKER_ENV] ?? 0);
  const trace = createTrace(worker > 0 ? `${PROGRAM} worker ${worker}` : PROGRAM, Boolean(flags.verbose));
  if (workers > 1 && worker === 0) {
    return superviseWorkers(address, workers, root, trace, (pool) => createShutdown(pool, { graceMs, announce: !quiet }));
  }

  const server = http.createServer({
    keepAliveTimeout: keepAliveMs,
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // How often Node looks for clients past those timeouts (its default, 30 s, would let a
    // slowloris client hold a connection far longer than --headers-timeout says).
    connectionsCheckingInterval: Math.max(1, Math.min(1000, Math.floor(headersTimeoutMs / 2))),
    maxHeaderSize: MAX_HEAD_SIZE,
    // Node answers a missing Host with a bare 400 that never reaches our handler (nor the log).
    requireHostHeader: false,
  });
  closeClientsThatNeverRead(server, sendTimeoutMs);
  answerAfterHalfClose(server);
  // --max-connections, or fewer if ulimit -n leaves room for fewer: each may need a file open too.
  const reportShortage = limitConnections(server, PROGRAM, {
    wanted: Math.ceil(parseCount(flags, 'max-connections', 1000, 1, 100000) / workers), perConnection: 2, spare: 8,
  });

  const accessLog = createAccessLog();
  // A worker's stop is announced by the process that started it, once for all of them.
  const shutdown = createShutdown(stoppableServer(server, trace),
    { graceMs, announce: !quiet && worker === 0, once: Boolean(flags.once), beforeStop: accessLog.flush });
  const config: ServeConfig = {
    root,
    listing: !flags['no-listing'],
    dotfiles: Boolean(flags.dotfiles),
    log: !quiet,
    verbose: Boolean(flags.verbose),
  };
  const state: ServerState = {
    config,
    trace,
    shutdown,
    cache: smallFileCache(1000, 64 * 1024 * 1024),
    stat: statOncePerTurn(),
    reportShortage,
    accessLog,
    answerLines: new WeakMap(),
    listingsInFlight: 0,
  };
  wireServer(server, state);

  if (worker > 0) return serveAsWorker(server, shutdown);
  const bound = await listenTcp(server, address, PROGRAM);
  // Handlers before the ready line: whoever waits for that line may signal us right after it.
  // A signal while --once is already stopping exits at once, as a second one does.
  onStopSignals((signal) => (shutdown.stopping ? shutdown.now() : shutdown.stop(signal)));
  // The ready line even with -q: it says where to connect, and scripts wait for it.
  console.log('Ready to serve...');
  for (const line of urlLines(bound, (server.address() as net.AddressInfo).port)) console.log(line);
  console.log(`Serving ${root} (${bound.description}). Stop with Ctrl-C.`);
}

// ---------------------------------------------------------------------------------------------
// Part 7: --workers
// Apart, and last: one process binds the port and supervises; N copies of this program answer.
// Nothing above depends on it but main's one call, and serveAsWorker.

/** In a worker's environment: its number. */
const WORKER_ENV = 'SOCKLAB_WEB_WORKER';
/** Where a worker finds the listening socket: after stdin, stdout, stderr and the channel to its supervisor. */
const WORKER_LISTEN_FD = 4;

/**
 * --workers N: this process binds the port itself, so that a bind error is said once and a
 * second server on the port is refused as ever (no SO_REUSEPORT), then starts N copies of itself
 * that inherit the listening socket and all accept from it; it only supervises them. Node runs
 * JavaScript on one core per process: on 2 cores, 2 workers took a 1 KiB GET from ~32,000 to
 * 50,000-59,000 requests/s (wrk -t1 -c50 on the same machine; 0.43 -> 0.79x nginx in the bench).
 */
async function superviseWorkers(address: ListenAddress, count: number, root: string, trace: Trace,
  makeShutdown: (workers: Stoppable) => Shutdown): Promise<void> {
  const listener = net.createServer();
  const bound = await listenTcp(listener, address, PROGRAM);
  const port = (listener.address() as net.AddressInfo).port;
  // The workers inherit the listening socket by its number.
  const fd = listeningFd(listener);
  const workers = new Map<ChildProcess, number>();
  for (let n = 1; n <= count; n++) workers.set(startWorker(n, fd, trace), n);
  // The workers hold the socket now. Closed before this process ever returns to its event loop,
  // so it never accepts a connection of its own.
  listener.close();

  let allExited = () => {};
  const shutdown = makeShutdown({
    busy: () => workers.size > 0,
    close: (done) => {
      allExited = done;
      tellWorkers(workers.keys(), 'stop');
    },
    closeIdle: () => {},
    // Each worker has its own grace period; one stuck past it is not waited for forever.
    closeAll: () => setTimeout(() => { for (const child of workers.keys()) child.kill('SIGKILL'); }, 5000).unref(),
  });
  let ready = false;
  let spare: SpareSocket | undefined;
  const restarts: number[] = [];
  const watch = (child: ChildProcess) => child.once('exit', (code, signal) => {
    const n = workers.get(child)!;
    workers.delete(child);
    if (shutdown.stopping) {
      if (workers.size === 0) allExited();
      return;
    }
    if (!ready) return; // workerListening says it
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const now = Date.now();
    while (restarts.length > 0 && restarts[0] < now - 60_000) restarts.shift();
    if (spare && restarts.length < MAX_RESTARTS_PER_MINUTE) {
      restarts.push(now);
      const replacement = startWorker(n, spare.fd, trace);
      workers.set(replacement, n);
      watch(replacement);
      console.error(`${PROGRAM}: worker ${n} (pid ${child.pid}) ${how}; started it again as pid ${replacement.pid}`);
      return;
    }
    console.error(`${PROGRAM}: worker ${n} (pid ${child.pid}) ${how}; ${workers.size} still serving` +
      (spare ? ` (not restarted: ${MAX_RESTARTS_PER_MINUTE} restarts in the last minute already)` : ''));
    if (workers.size > 0) return;
    console.error(`${PROGRAM}: no worker process is left to serve; stopping`);
    exitWhenFlushed(EXIT.tempFail);
  });
  for (const child of workers.keys()) watch(child);
  // A second Ctrl-C: the workers exit at once, as a single server would.
  onStopSignals((signal) => shutdown.stop(signal), { again: () => tellWorkers(workers.keys(), 'stop-now') });
  await Promise.all([...workers.keys()].map((child) => workerListening(child, () => shutdown.stopping)));
  if (shutdown.stopping) return;
  ready = true;
  spare = await borrowSocket(workers.keys().next().value!, trace);
  console.log('Ready to serve...');
  for (const line of urlLines(bound, port)) console.log(line);
  console.log(`Serving ${root} (${bound.description}; ${count} worker processes). Stop with Ctrl-C.`);
}

/** Past this many restarts in 60 s, a worker that dies stays dead (it would only die again). */
const MAX_RESTARTS_PER_MINUTE = 5;

/** The listening socket, held but never listened on here: libuv polls only a socket it listens on. */
interface SpareSocket {
  fd: number;
  /** Kept referenced: a handle collected as garbage closes its descriptor. */
  handle: unknown;
}

/**
 * A copy of the listening socket for replacement workers, sent back by a worker over the IPC
 * channel (SCM_RIGHTS) as a raw handle, which node opens without listening on it: this process
 * can then hand it to a new worker and still never accept a connection itself (closing its own
 * listener was the only other way not to, and left nothing to restart a worker with).
 */
function borrowSocket(worker: ChildProcess, trace: Trace): Promise<SpareSocket | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { worker.off('message', got); resolve(undefined); }, 5000);
    const got = (message: unknown, handle: unknown) => {
      if (message !== 'socket') return;
      clearTimeout(timer);
      worker.off('message', got);
      const fd = (handle as { fd?: number } | undefined)?.fd;
      if (typeof fd !== 'number' || fd < 0) trace('no spare listening socket: workers that die will not be restarted');
      resolve(typeof fd === 'number' && fd >= 0 ? { fd, handle } : undefined);
    };
    worker.on('message', got);
    if (worker.connected) worker.send('lend-socket', () => {});
  });
}

/** A copy of this program, started as worker N, with the listening socket as its descriptor 4. */
function startWorker(n: number, listenFd: number, trace: Trace): ChildProcess {
  // Built, the program is its own executable; from source, Node runs the script again.
  const args = isSea() ? process.argv.slice(2) : process.argv.slice(1);
  const child = spawn(process.execPath, args, {
    argv0: PROGRAM, // socklab, the every-program binary, picks its program by this name
    env: { ...process.env, [WORKER_ENV]: String(n) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', listenFd],
  });
  trace(`started worker ${n} (pid ${child.pid})`);
  return child;
}

/** Resolves when the worker says it listens; rejects if it ends first, unless we are stopping anyway. */
function workerListening(child: ChildProcess, stopping: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = () => {
      if (stopping()) return resolve();
      reject(new ExplainedError(`worker process ${child.pid} ended before it could serve`, EXIT.software));
    };
    child.once('exit', failed);
    child.once('message', () => { child.off('exit', failed); resolve(); });
  });
}

function tellWorkers(workers: Iterable<ChildProcess>, what: 'stop' | 'stop-now'): void {
  // A worker exiting at this very moment cannot hear it, and needs not: the callback takes the
  // error that would otherwise be thrown here as an uncaught 'error' event.
  for (const child of workers) if (child.connected) child.send(what, () => {});
}

/**
 * A worker: serves on the socket its supervisor bound, and stops gracefully on the first of its
 * supervisor's 'stop', a signal of its own (Ctrl-C reaches every process of the terminal's
 * group), or the loss of its supervisor; a second request to stop changes nothing (the
 * supervisor, which got the second Ctrl-C too, says 'stop-now').
 */
async function serveAsWorker(server: http.Server, shutdown: Shutdown): Promise<void> {
  onStopSignals((signal) => shutdown.stop(signal), { again: () => {} });
  process.on('disconnect', () => shutdown.stop('supervisor gone'));
  process.on('message', (message) => {
    if (message === 'stop') shutdown.stop('told to stop');
    if (message === 'stop-now') shutdown.now();
    // The supervisor keeps a copy of the listening socket to restart workers with.
    if (message === 'lend-socket') process.send?.('socket', listeningHandle(server));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd: WORKER_LISTEN_FD }, () => { server.off('error', reject); resolve(); });
  });
  keepServingOnAcceptErrors(server, PROGRAM);
  process.send?.('listening');
}

// The command line runs only when this file is the program, not when a test imports it.
if (import.meta.main) runProgram(PROGRAM, main, { server: true });
