// Fuzz: over 100,000 mutated HTTP requests against web-server, from a seeded generator (the seed
// is printed; --seed N replays the run). Each connection carries a pipelined batch of requests
// that keep HTTP's framing (random paths, methods, versions, headers and ranges: each must be
// answered), then usually one that breaks it (random bytes, truncations, duplications, splices,
// byte flips, header floods, huge and zero lengths, bad chunking), then half-closes. A few do not
// half-close and must be cut by the server's timeouts. Separately, valid requests are split into
// two writes at every byte boundary. Nothing may crash the server, hang a connection past the
// timeouts, answer 500, or return a byte of the secret file just outside the root (or of
// /etc/passwd), or break its access log; afterwards the server still serves a normal request.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers.mjs';
import { SECRET, makeSite, rawRequest } from '../web-helpers.mjs';
import { RANGE_CASES, TARGET_CASES } from '../web-cases.mjs';
import { check, cpuSeconds, prng, sleep, startServerLoggingTo } from './lib.mjs';

const CASES = 110_000;
// Framing-breaking requests end their connection, so they cannot be pipelined: at least this many.
const BROKEN_CASES = 20_000;
const TIME_LIMIT_MS = 100_000;
const CONCURRENCY = 96;
const HEADERS_TIMEOUT_S = 2;
const REQUEST_TIMEOUT_S = 4;
const KEEP_ALIVE_S = 2;
// A half-closed connection must be finished this fast; one left open, within the timeouts plus Node's 1 s check.
const FIN_CLOSE_MS = 10_000;
const OPEN_CLOSE_MS = (REQUEST_TIMEOUT_S + 1) * 1000 + 8000;
const PASSWD = 'root:x:0:0:';
// `127.0.0.5 - - [24/Nov/2026:18:01:49 +0000] "GET /x HTTP/1.1" 404 233`: a quoted field with \" and \\ escaped, \n \r \t named.
const READY_LINES = /^(Ready to serve\.\.\.|Open http:\/\/\S+|Serving .*)$/;
const FIELD = '"(?:[^"\\\\\\x00-\\x1f\\x7f-\\xff]|\\\\["\\\\nrt]|\\\\x[0-9a-f]{2})*(?:\\.\\.\\.)?"';
// Combined Log Format's "referer" "user-agent" may follow: the exact format is accessLogLine's table.
const CLF_LINE = new RegExp(`^127\\.0\\.0\\.\\d+ - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\] ${FIELD} \\d{3} (?:\\d+|-)(?: ${FIELD} ${FIELD})?$`);

/**
 * The fuzzer's starting points: the request targets of tests/web-cases.mjs (paths inside the root
 * and the ways out of it), and the site's own files, folders, symlinks and FIFO. Only the targets
 * node:http's parser takes (a path or absolute-form, no raw control byte): a framed request must
 * keep its framing, and one the parser refuses ends the connection.
 */
const PATHS = [...new Set([...TARGET_CASES.map(([target]) => target).filter((t) => /^(\/|https?:\/\/)[^\x00-\x20]*$/i.test(t)), '/index.html', '/binary.bin', '/empty.txt', '/big.dat',
  '/sub', '/name%20with%20spaces%20%C3%BC%20%E2%82%AC.txt', '/sub/a%26b%20%3Cc%3E.txt', '/trap/', '/fifo', '/empty-folder/',
  '/secret-link.txt', '/etc-link/passwd', '/etc-link/', '/passwd-link', '/trap/index.html', '/.env', '/.git/config',
  '/sub/.hidden.txt', '/evil.example', '//evil.example'])];
const HEADER_NAMES = ['Accept', 'User-Agent', 'Range', 'If-None-Match', 'If-Modified-Since', 'If-Range', 'Cookie', 'Referer',
  'X-Forwarded-For', 'Accept-Encoding', 'Cache-Control', 'X-' + 'a'.repeat(100), 'Upgrade', 'Forwarded', 'Via'];
/** Header values, the Range rows of tests/web-cases.mjs among them (any header may get any value). */
const HEADER_VALUES = [...RANGE_CASES.map(([range]) => range), 'bytes=99999999999999999999-',
  '*/*', '"e-1"', '*', 'Thu, 01 Jan 1970 00:00:00 GMT', 'garbage', '', ' ', 'gzip, br', 'h2c', '../../secret.txt'];
/** Escapes and characters that path parsing must survive. */
const PATH_BITS = ['..', '.', '/', '//', '%2e', '%2E', '%2f', '%5c', '%00', '%0d%0a', '%', '%zz', '%c3%28', '%ff', '~', '?', '#',
  ';', '%20', 'hello.txt', 'sub', 'secret.txt', 'etc', 'passwd', '.env', 'index.html', '€', 'ü', '%E2%82%AC', '*', '@', ':'];

export default [{
  name: `web-server: fuzz, over ${CASES.toLocaleString('en')} mutated HTTP requests (${BROKEN_CASES.toLocaleString('en')}+ breaking the framing), every split point of valid ones`,
  timeoutMs: TIME_LIMIT_MS + 40_000,
  async run({ log, seed }) {
    const site = makeSite();
    try {
      const port = await freePort();
      // The access log goes to a file: every line of it must stay one Common Log Format line, whatever was sent.
      const accessLog = join(site.base, 'access.log');
      const server = await startServerLoggingTo(accessLog, 'web-server', ['127.0.0.1', String(port), '-d', site.www,
        '--headers-timeout', String(HEADERS_TIMEOUT_S), '--request-timeout', String(REQUEST_TIMEOUT_S), '--keep-alive', String(KEEP_ALIVE_S)],
      /^Serving /m);
      const cpuBefore = cpuSeconds(server.pid);
      const stats = { cases: 0, connections: 0, responses: 0, open: 0, byKind: { framed: 0, split: 0 }, statuses: {}, failures: [] };
      const began = performance.now();
      const splits = await splitEveryByte(port, stats);
      let nextConnection = 0;
      const lane = async (laneNumber) => {
        const enough = () => stats.cases >= CASES && stats.cases - stats.byKind.framed - stats.byKind.split >= BROKEN_CASES;
        while (!enough() && performance.now() - began < TIME_LIMIT_MS && stats.failures.length < 20) {
          const batch = connectionCase(seed, nextConnection++);
          await runBatch(port, `127.0.0.${2 + (laneNumber % 16)}`, batch, stats);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => lane(i)));
      const seconds = (performance.now() - began) / 1000;
      const cpu = cpuSeconds(server.pid) - cpuBefore;

      log(`${stats.cases} requests: ${stats.byKind.framed} pipelined with valid framing, ${stats.cases - stats.byKind.framed - splits} breaking it, ` +
        `${splits} split in two at every byte of ${SPLIT_TEMPLATES.length} valid requests; ` +
        `over ${stats.connections} connections in ${seconds.toFixed(0)} s, ${stats.open} left open for the server's timeouts; ` +
        `${stats.responses} responses; server CPU ${cpu.toFixed(0)} s`);
      log(`cases by kind: ${Object.entries(stats.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}`);
      log(`statuses: ${Object.entries(stats.statuses).sort().map(([s, n]) => `${s} x${n}`).join(', ')}`);
      for (const f of stats.failures.slice(0, 8)) log(`failure: ${f}`);
      check(stats.failures.length === 0, `${stats.failures.length} fuzz failures; first: ${stats.failures[0]} (replay: --seed ${seed})`);
      check(stats.cases >= 100_000, `only ${stats.cases} cases in ${TIME_LIMIT_MS / 1000} s`);
      check(stats.cases - stats.byKind.framed - stats.byKind.split >= BROKEN_CASES, `only ${stats.cases - stats.byKind.framed - stats.byKind.split} framing-breaking cases`);
      check(server.isRunning(), 'the server died');
      const after = await rawRequest(port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
      check(after.status === 200 && after.body.equals(site.files['/hello.txt']), `after the fuzz a normal request got ${after.status}`);
      await sleep(1000);
      const idle = cpuSeconds(server.pid);
      await sleep(2000);
      const spin = cpuSeconds(server.pid) - idle;
      log(`afterwards: GET /hello.txt -> 200, byte for byte; ${spin.toFixed(2)} s of CPU in 2 idle seconds`);
      check(spin < 0.2, `the server used ${spin.toFixed(2)} s of CPU in 2 idle seconds`);
      const lines = readFileSync(accessLog, 'latin1').split('\n').filter((l) => l !== '' && !READY_LINES.test(l));
      const broken = lines.filter((l) => !CLF_LINE.test(l));
      log(`access log: ${lines.length} lines, ${broken.length} not in Common Log Format${broken.length ? `, e.g. ${JSON.stringify(broken[0].slice(0, 120))}` : ''}`);
      check(lines.length >= stats.responses / 2 && broken.length === 0, 'the access log lost lines or broke one request into several');
    } finally {
      site.cleanup();
    }
  },
}];

// ---- The generator: connection n of a run is a function of (seed, n) alone ----

/**
 * One connection's bytes: 0-15 requests that keep the framing (each must be answered, unless an
 * answer says Connection: close), then
 * usually one mutated request, then FIN (1 connection in 300: no FIN). Returns the pieces to
 * write, the methods of the framed requests (a HEAD answer has no body), and the kinds.
 */
export function connectionCase(seed, n) {
  const random = prng((seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0);
  const framed = Array.from({ length: random.int(16) }, () => framedRequest(random));
  const kinds = framed.map(() => 'framed');
  let tail = Buffer.alloc(0);
  if (framed.length === 0 || random.next() < 0.85) {
    const [kind, bytes] = mutatedRequest(random);
    kinds.push(kind);
    tail = bytes;
  }
  return {
    n,
    bytes: Buffer.concat([...framed.map((f) => f.bytes), tail]),
    methods: framed.map((f) => f.method),
    kinds,
    fin: random.next() > 1 / 300,
  };
}

/** A request that HTTP/1.1 can frame: random method, target, version and harmless headers. No body. */
function framedRequest(random) {
  const method = random.pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PATCH']);
  const target = random.next() < 0.5 ? random.pick(PATHS) : fuzzedPath(random);
  const version = random.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0']);
  const headers = [`Host: ${random.pick(['x', '127.0.0.1', 'evil.example', ''])}`];
  if (version === 'HTTP/1.0') headers.push('Connection: keep-alive');
  for (let i = random.int(4); i > 0; i--) headers.push(`${random.pick(HEADER_NAMES)}: ${random.pick(HEADER_VALUES)}`);
  return { method, bytes: Buffer.from(`${method} ${target} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1') };
}

/** A path of random pieces: dot-dots, escapes, names, separators; anything outside printable ASCII percent-encoded. */
function fuzzedPath(random) {
  let path = '/';
  for (let i = 1 + random.int(8); i > 0; i--) path += random.pick(PATH_BITS) + (random.next() < 0.5 ? '/' : '');
  return path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}

/** A valid request, then broken in one of many ways. Returns [kind, bytes]. */
function mutatedRequest(random) {
  const valid = () => framedRequest(random).bytes;
  const base = valid();
  switch (random.int(12)) {
    case 0: return ['random-bytes', random.bytes(random.int(2000))];
    case 1: return ['truncated', base.subarray(0, random.int(base.length))];
    case 2: return ['duplicated', Buffer.concat(Array.from({ length: 2 + random.int(30) }, () => base)).subarray(0, random.int(base.length * 32))];
    case 3: {
      const other = valid();
      return ['spliced', Buffer.concat([base.subarray(0, random.int(base.length)), other.subarray(random.int(other.length))])];
    }
    case 4: {
      const bytes = Buffer.from(base);
      for (let i = 1 + random.int(4); i > 0; i--) bytes[random.int(bytes.length)] = random.int(256);
      return ['byte-flips', bytes];
    }
    case 5: {
      // Insert or delete a stretch somewhere: a CR, LF, colon, space, NUL or random bytes.
      const at = random.int(base.length);
      const insert = random.next() < 0.5 ? Buffer.from(random.pick(['\r', '\n', ':', ' ', '\0', '\r\n\r\n', '\t', ' \r\n '])) : random.bytes(random.int(8));
      return ['insert-delete', Buffer.concat([base.subarray(0, at), insert, base.subarray(at + random.int(6))])];
    }
    case 6: {
      const count = random.pick([50, 101, 500, 2000, 5000]);
      const headers = Array.from({ length: count }, (_, i) => `X-Flood-${i}: ${'v'.repeat(random.int(40))}\r\n`).join('');
      return ['header-flood', Buffer.from(`GET /hello.txt HTTP/1.1\r\nHost: x\r\n${headers}\r\n`)];
    }
    case 7: {
      const size = random.pick([8190, 8193, 16384, 20000, 70000]);
      return ['huge-line', Buffer.from(random.next() < 0.5
        ? `GET /${'a'.repeat(size)} HTTP/1.1\r\nHost: x\r\n\r\n`
        : `GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(size)}\r\n\r\n`)];
    }
    case 8: {
      const length = random.pick(['0', '1', '-1', '99999999999999999999', '18446744073709551616', '1e3', '0x10', ' 5', '5, 5',
        '5\r\nContent-Length: 6', 'abc', '00000000000000000000000000001', '']);
      const body = random.bytes(random.int(64));
      return ['content-length', Buffer.concat([Buffer.from(`${random.pick(['GET', 'POST', 'HEAD'])} /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`), body])];
    }
    case 9: {
      const chunk = random.pick(['0', 'ffffffffffffffffff', '-1', '1;ext=1', 'zz', '10', '00000001', '1 ', '']);
      return ['chunked', Buffer.from(`POST /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${random.pick(['chunked', 'gzip, chunked', 'chunked, gzip', 'CHUNKED', 'identity'])}\r\n` +
        `${random.next() < 0.3 ? 'Content-Length: 3\r\n' : ''}\r\n${chunk}\r\nabc\r\n0\r\n\r\n`)];
    }
    case 10: {
      const line = random.pick(['GET / HTTP/9.9', 'GET / HTTP/2.0', 'GET /', 'GET', '', ' GET / HTTP/1.1', 'GET  / HTTP/1.1', 'GET / FUBAR',
        'GET / HTTP/1.1 extra', 'GET /\0 HTTP/1.1', 'GET * HTTP/1.1', 'GET etc/passwd HTTP/1.1', 'GET ../secret.txt HTTP/1.1', 'PRI * HTTP/2.0\r\n\r\nSM', 'CONNECT 127.0.0.1:22 HTTP/1.1', 'GET http://[::1 HTTP/1.1']);
      return ['request-line', Buffer.from(`${line}\r\nHost: x\r\n\r\n`)];
    }
    default: {
      const lineEnd = random.pick(['\n', '\r', '\r\r\n', '\n\r']);
      return ['line-ends', Buffer.from(base.toString('latin1').replaceAll('\r\n', lineEnd), 'latin1')];
    }
  }
}

// ---- Running and checking a connection ----

/** Sends one connection's batch, reads until the server closes, and checks what came back. */
function runBatch(port, localAddress, batch, stats) {
  return new Promise((resolve) => {
    const chunks = [];
    const began = performance.now();
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      if (batch.fin) socket.end(batch.bytes);
      else socket.write(batch.bytes);
    });
    const limit = batch.fin ? FIN_CLOSE_MS : OPEN_CLOSE_MS;
    const timer = setTimeout(() => {
      fail(`connection ${batch.n} (${batch.kinds.join(',') || 'empty'}${batch.fin ? '' : ', no FIN'}) still open after ${limit} ms`);
      socket.destroy();
    }, limit);
    const fail = (why) => stats.failures.push(why);
    let localPort;
    socket.once('connect', () => { localPort = socket.localPort; });
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {}); // a reset after a refused request is an answer too
    socket.on('close', () => {
      clearTimeout(timer);
      stats.connections += 1;
      stats.cases += batch.kinds.length;
      if (!batch.fin) stats.open += 1;
      for (const kind of batch.kinds) stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
      checkReplies(Buffer.concat(chunks), batch, stats, (why) => fail(`${why} [from local port ${localPort}]`), performance.now() - began);
      resolve();
    });
  });
}

/** Every framed request answered in order (or the server said Connection: close first); no 500; no secret. */
function checkReplies(reply, batch, stats, fail, ms) {
  const what = `connection ${batch.n} (${batch.kinds.join(',')})`;
  const text = reply.toString('latin1');
  if (text.includes(SECRET) || text.includes(PASSWD)) fail(`${what}: bytes from outside the root came back`);
  const responses = splitResponses(reply, batch.methods);
  for (const r of responses) {
    stats.responses += 1;
    stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
    // 503 with Retry-After says "busy, try again": here, 96 lanes asking for more folder listings
    // than the server makes at once. Any other 5xx but 501 and 505 is a failure.
    const busy = r.status === 503 && /\r\nretry-after: 1\r\n/i.test(r.head);
    if (r.status >= 500 && r.status !== 501 && r.status !== 505 && !busy) fail(`${what}: status ${r.status} after ${ms.toFixed(0)} ms`);
    if (r.status === 0) fail(`${what}: not an HTTP response: ${JSON.stringify(text.slice(r.at, r.at + 80))}`);
  }
  const answered = responses.length;
  if (answered < batch.methods.length) {
    const last = responses[answered - 1];
    if (!last || !/\r\nconnection: close\r\n/i.test(last.head)) {
      fail(`${what}: ${batch.methods.length} framed requests, ${answered} answered, and no "Connection: close" to say why`);
    }
  }
}

/**
 * Cuts a stream of responses apart (Content-Length or chunked framing, or to the close for a
 * listing to HTTP/1.0; no body for HEAD, 1xx, 204, 304): the answers to the framed requests, and
 * the first one after them (to the mutated request, whose method, and so whose framing, is
 * unknown: what follows it is not parsed).
 */
function splitResponses(bytes, methods) {
  const responses = [];
  let at = 0;
  while (at < bytes.length && responses.length <= methods.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end === -1) {
      responses.push({ status: 0, head: '', at });
      break;
    }
    const head = bytes.subarray(at, end + 2).toString('latin1');
    const status = /^HTTP\/1\.[01] (\d{3}) /.exec(head)?.[1];
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const method = methods[responses.length] ?? 'GET';
    const bodyless = method === 'HEAD' || /^(1\d\d|204|304)$/.test(status ?? '');
    responses.push({ status: Number(status ?? 0), head, at });
    if (bodyless) at = end + 4;
    else if (/\r\ntransfer-encoding: *chunked\r\n/i.test(head)) at = afterChunks(bytes, end + 4);
    else if (!/\r\ncontent-length:/i.test(head) && /\r\nconnection: *close\r\n/i.test(head)) at = bytes.length;
    else at = end + 4 + length;
  }
  return responses;
}

/** Where a chunked body that starts at `at` ends (RFC 9112 §7.1; no trailers here), or the end of what came. */
function afterChunks(bytes, at) {
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) return bytes.length;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size >= 0)) return bytes.length;
    if (size === 0) return Math.min(bytes.length, lineEnd + 4);
    at = lineEnd + 2 + size + 2;
  }
}

// ---- Every split point ----

/** Valid requests to split in two at every byte: each half must wait for the other, then get 200 (or 206). */
const SPLIT_TEMPLATES = [
  'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n',
  'HEAD /sub/deeper/data.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n',
  'GET /binary.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nUser-Agent: fuzz\r\n\r\n',
  'GET /name%20with%20spaces%20%C3%BC%20%E2%82%AC.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'GET http://x/hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: "nope"\r\n\r\n',
];

/** For each template, one keep-alive connection: first part, a pause, second part, the answer; at every split point. */
async function splitEveryByte(port, stats) {
  let count = 0;
  await Promise.all(SPLIT_TEMPLATES.map(async (template) => {
    const bytes = Buffer.from(template, 'latin1');
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise((r) => socket.once('connect', r));
    let pending = Buffer.alloc(0);
    let waiting;
    socket.on('data', (c) => { pending = Buffer.concat([pending, c]); waiting?.(); });
    socket.on('error', () => {});
    const method = template.slice(0, template.indexOf(' '));
    for (let k = 1; k < bytes.length; k++) {
      socket.write(bytes.subarray(0, k));
      await sleep(1);
      if (pending.length > 0) stats.failures.push(`split at ${k} of ${JSON.stringify(template)}: answered before the request was complete`);
      socket.write(bytes.subarray(k));
      // Wait for the whole answer (at most 3 s).
      const started = Date.now();
      let response;
      while (!(response = completeResponse(pending, method)) && Date.now() - started < 3000) {
        await new Promise((r) => { waiting = r; setTimeout(r, 100); });
      }
      if (!response || ![200, 206].includes(response.status)) {
        stats.failures.push(`split at ${k} of ${JSON.stringify(template)}: ${response ? `status ${response.status}` : 'no answer in 3 s'}`);
        break;
      }
      pending = pending.subarray(response.length);
      count += 1;
      stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
    }
    socket.destroy();
  }));
  stats.cases += count;
  stats.byKind.split = count;
  return count;
}

/** The first response in `bytes` if it is complete: its status and length in bytes. */
function completeResponse(bytes, method) {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = bytes.subarray(0, end).toString('latin1');
  const length = method === 'HEAD' ? 0 : Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (bytes.length < end + 4 + length) return undefined;
  return { status: Number(head.split(' ')[1]), length: end + 4 + length };
}
