// web-server's pure functions, in-process: tables of request targets, Range headers,
// preconditions, dates, Host values and log fields, in milliseconds. What needs a socket is in
// web-server.test.mjs, against the binary.
import { fstatSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importSource } from './helpers.mjs';
import { RANGE_CASES, TARGET_CASES } from './web-cases.mjs';

const web = await importSource('scripts/web-server.ts');

const target = suite('parseTarget: the request target -> segments under the root, or a refusal');
for (const [raw, expected] of TARGET_CASES) {
  target(JSON.stringify(raw), () => {
    const got = web.parseTarget(raw);
    if (typeof expected === 'number') {
      assert.is(got.status, expected, got.why);
      assert.type(got.why, 'string');
    } else {
      assert.equal(got.segments, expected.segments);
      assert.is(got.trailingSlash, expected.trailingSlash ?? false);
      if ('query' in expected) assert.is(got.query, expected.query);
    }
  });
}
for (const [cases, what] of [[TARGET_CASES, 'target'], [RANGE_CASES, 'Range']]) {
  target(`the shared ${what} table sends exactly one row of each class end to end`, () => {
    const classes = new Map();
    for (const [, , kind, marks] of cases) classes.set(kind, (classes.get(kind) ?? 0) + (marks?.e2e ? 1 : 0));
    for (const [kind, n] of classes) assert.is(n, 1, `${kind}: ${n} rows end to end`);
  });
}
// Plain targets take a short way (nothing to decode or cut off): with an empty query after them,
// the same targets go the whole way, and both must agree.
for (const raw of ['/', '/hello.txt', '/sub/deeper/data.json', '/sub/', '//etc/passwd', '/./hello.txt', '/sub/../hello.txt',
  '/../secret.txt', '/sub/../../secret.txt', '///../secret.txt', '/.', '/a/.', "/!$&'()*+,;=:@-._~"]) {
  target(`${JSON.stringify(raw)}: the short way for plain paths agrees with the whole way`, () => {
    const plain = web.parseTarget(raw);
    const whole = web.parseTarget(`${raw}?`);
    if ('status' in whole) return assert.equal(plain, whole);
    assert.equal({ ...plain, query: '?' }, whole);
  });
}
target.run();

const paths = suite('pathUnderRoot and statOncePerTurn: where a request looks, and how often');
for (const [root, segments, expected] of [
  ['/srv/www', [], '/srv/www'],
  ['/srv/www', ['a.txt'], '/srv/www/a.txt'],
  ['/srv/www', ['sub', 'b c.txt'], '/srv/www/sub/b c.txt'],
  ['/', ['etc', 'hosts'], '/etc/hosts'],
  ['/', [], '/'],
]) {
  paths(`${root} + ${JSON.stringify(segments)}`, () => assert.is(web.pathUnderRoot(root, segments), expected));
}
paths('one stat per path per turn of the event loop; the next turn looks again', async () => {
  const asked = [];
  const answers = { '/a': { ino: 1 }, '/b': undefined };
  const look = web.statOncePerTurn((path) => {
    asked.push(path);
    if (path === '/denied') throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    return answers[path];
  });
  assert.equal(look('/a'), { ino: 1 });
  assert.equal(look('/a'), { ino: 1 });
  assert.is(look('/b'), 'missing');
  assert.is(look('/b'), 'missing');
  assert.is(look('/denied'), 'unknown');
  assert.equal(asked, ['/a', '/b', '/denied']);
  // A change made now is seen by the next turn's requests.
  answers['/a'] = { ino: 2 };
  assert.equal(look('/a'), { ino: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(look('/a'), { ino: 2 });
  assert.equal(asked, ['/a', '/b', '/denied', '/a']);
});
paths.run();

const ranges = suite('parseByteRanges: Range headers against a 100-byte file (in the spirit of Go\'s range_test)');
const R = (...pairs) => pairs.map(([start, end]) => ({ start, end }));
for (const [header, expected] of RANGE_CASES) {
  ranges(JSON.stringify(header.length > 40 ? `${header.slice(0, 40)}...` : header), () => {
    assert.equal(web.parseByteRanges(header, 100), expected);
  });
}
ranges('an empty file has no satisfiable range', () => {
  assert.is(web.parseByteRanges('bytes=0-', 0), 'unsatisfiable');
  assert.is(web.parseByteRanges('bytes=-5', 0), 'unsatisfiable');
});
ranges.run();

const merging = suite('mergeRanges and rangesToSend: sorted, merged, and the whole file when parts cost more');
merging('overlapping and adjacent ranges become one; the others stay, sorted', () => {
  assert.equal(web.mergeRanges(R([20, 29], [0, 9], [5, 14], [15, 15], [40, 49])), R([0, 15], [20, 29], [40, 49]));
  assert.equal(web.mergeRanges(R([0, 99], [10, 20])), R([0, 99]));
});
const facts = (size) => ({ size, mtimeMs: Date.UTC(2026, 0, 2, 3, 4, 5), etag: '"abc-123"', lastModified: 'Fri, 02 Jan 2026 03:04:05 GMT', contentType: 'text/plain' });
const req = (headers, method = 'GET') => ({ headers, method });
merging('two small ranges of a large file: multipart', () => {
  assert.equal(web.rangesToSend(req({ range: 'bytes=0-9,1000-1009' }), facts(100000)), R([0, 9], [1000, 1009]));
});
merging('two ranges that cost more than the file as parts: the whole file', () => {
  assert.is(web.rangesToSend(req({ range: 'bytes=0-9,20-29' }), facts(100)), undefined);
});
merging('parts come in the order asked for, unless some were merged (RFC 9110 §14.6)', () => {
  assert.equal(web.rangesToSend(req({ range: 'bytes=5000-5009,0-9' }), facts(100000)), R([5000, 5009], [0, 9]));
  assert.equal(web.rangesToSend(req({ range: 'bytes=5000-5009,0-9,5-14' }), facts(100000)), R([0, 14], [5000, 5009]));
});
merging('Range is for GET only: on HEAD it is ignored (RFC 9110 §14.2)', () => {
  assert.is(web.rangesToSend(req({ range: 'bytes=0-9' }, 'HEAD'), facts(1000)), undefined);
});
merging('a thousand copies of one range merge into one', () => {
  const header = `bytes=${Array.from({ length: 100 }, () => '0-').join(',')}`;
  assert.equal(web.rangesToSend(req({ range: header }), facts(5000)), R([0, 4999]));
});
merging('If-Range: the ETag (strong) or the exact date; anything else is the whole file', () => {
  const f = facts(1000);
  assert.equal(web.rangesToSend(req({ range: 'bytes=0-9', 'if-range': '"abc-123"' }), f), R([0, 9]));
  assert.equal(web.rangesToSend(req({ range: 'bytes=0-9', 'if-range': f.lastModified }), f), R([0, 9]));
  assert.is(web.rangesToSend(req({ range: 'bytes=0-9', 'if-range': 'W/"abc-123"' }), f), undefined);
  assert.is(web.rangesToSend(req({ range: 'bytes=0-9', 'if-range': '"other"' }), f), undefined);
  assert.is(web.rangesToSend(req({ range: 'bytes=0-9', 'if-range': 'Fri, 02 Jan 2026 03:04:06 GMT' }), f), undefined);
});
merging('multipartPlan: each part names its range; the closing delimiter ends the body', () => {
  const plan = web.multipartPlan(R([0, 9], [20, 29]), facts(100));
  assert.match(plan.parts[0].head.toString(), /^--socklab-abc-123\r\nContent-Type: text\/plain\r\nContent-Range: bytes 0-9\/100\r\n\r\n$/);
  assert.match(plan.parts[1].head.toString(), /^\r\n--socklab-abc-123\r\n/);
  assert.is(plan.tail.toString(), '\r\n--socklab-abc-123--\r\n');
});
merging.run();

const pre = suite('checkPreconditions: RFC 9110 §13.2.2, in its order');
const f = facts(1000);
const past = 'Thu, 01 Jan 1970 00:00:01 GMT';
const later = 'Sat, 03 Jan 2026 00:00:00 GMT';
for (const [headers, expected] of [
  [{}, 'proceed'],
  [{ 'if-match': '"abc-123"' }, 'proceed'],
  [{ 'if-match': '*' }, 'proceed'],
  [{ 'if-match': '"x", "abc-123"' }, 'proceed'],
  [{ 'if-match': '"x"' }, 412],
  [{ 'if-match': 'W/"abc-123"' }, 412],
  [{ 'if-unmodified-since': past }, 412],
  [{ 'if-unmodified-since': f.lastModified }, 'proceed'],
  [{ 'if-unmodified-since': 'garbage' }, 'proceed'],
  [{ 'if-match': '"abc-123"', 'if-unmodified-since': past }, 'proceed'],
  [{ 'if-none-match': '"abc-123"' }, 304],
  [{ 'if-none-match': 'W/"abc-123"' }, 304],
  [{ 'if-none-match': '*' }, 304],
  [{ 'if-none-match': '"x"' }, 'proceed'],
  [{ 'if-none-match': '"x"', 'if-modified-since': f.lastModified }, 'proceed'],
  [{ 'if-match': '"x"', 'if-none-match': '"abc-123"' }, 412],
  [{ 'if-modified-since': f.lastModified }, 304],
  [{ 'if-modified-since': later }, 304],
  [{ 'if-modified-since': past }, 'proceed'],
  [{ 'if-modified-since': 'Sat, 01 Jan 2100 00:00:00 GMT' }, 'proceed'],
  [{ 'if-modified-since': '3000' }, 'proceed'],
]) {
  pre(JSON.stringify(headers), () => assert.is(web.checkPreconditions(req(headers), f), expected));
}
pre.run();

const dates = suite('parseHttpDate: the three HTTP-date forms, nothing else');
for (const [text, expected] of [
  ['Sun, 06 Nov 1994 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
  ['Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
  ['Sun Nov  6 08:49:37 1994', Date.UTC(1994, 10, 6, 8, 49, 37)],
  ['Sun Nov 16 08:49:37 1994', Date.UTC(1994, 10, 16, 8, 49, 37)],
  ['Wed, 02 Dec 2026 00:00:00 GMT', Date.UTC(2026, 11, 2)],
  ['3000', undefined],
  ['2026-12-02', undefined],
  ['2026-12-02T00:00:00Z', undefined],
  ['Sun, 06 Nov 1994 08:49:37 UTC', undefined],
  ['Sun, 06 Nov 1994 08:49:37 +0000', undefined],
  ['Sun, 6 Nov 1994 08:49:37 GMT', undefined],
  ['Sun, 06 Foo 1994 08:49:37 GMT', undefined],
  ['Sun, 06 Nov 1994 25:49:37 GMT', undefined],
  ['', undefined],
  [undefined, undefined],
]) {
  dates(JSON.stringify(text), () => assert.is(web.parseHttpDate(text), expected));
}
dates.run();

const host = suite('isValidAuthority and hostHeaderProblem: RFC 9112 §3.2');
for (const [value, ok] of [
  ['example.com', true], ['example.com:8080', true], ['127.0.0.1:6789', true], ['[::1]', true], ['[::1]:8080', true],
  ['', true], ['localhost:', true], ['xn--bcher-kva.example', true], ['a%20b', true],
  ['[v1.fe:x]', true], ['[::ffff:127.0.0.1]', true],
  ['[ab..cd::ef98:0:7654:321]', false], ['[127.0.0.1]', false], ['[]', false],
  ['a b', false], ['a/b', false], ['user@host', false], ['[::1', false], ['host:70000', false], ['host:12a', false],
  ['host:80:80', false], ['[::1]x', false], ['a\tb', false],
]) {
  host(`${JSON.stringify(value)} is ${ok ? 'valid' : 'refused'}`, () => assert.is(web.isValidAuthority(value), ok));
}
const withHost = (version, ...lines) => ({ httpVersion: version, rawHeaders: lines.flatMap((l) => l.split(': ')) });
host('one Host line is needed on HTTP/1.1, not on 1.0; two are refused', () => {
  assert.is(web.hostHeaderProblem(withHost('1.1', 'Host: a')), undefined);
  assert.match(web.hostHeaderProblem(withHost('1.1')), 'must have a Host header');
  assert.is(web.hostHeaderProblem(withHost('1.0')), undefined);
  assert.match(web.hostHeaderProblem(withHost('1.1', 'Host: a', 'HOST: b')), 'more than one Host');
  assert.match(web.hostHeaderProblem(withHost('1.1', 'Host: a b')), 'not a valid host');
});
host.run();

const framing = suite('transferCodingProblem: RFC 9112 §6.3');
for (const [header, expected] of [
  [undefined, undefined], ['chunked', undefined], ['Chunked', undefined], [' chunked ', undefined],
  ['xchunked', 400], ['gzip', 400], ['chunked, gzip', 400], ['identity', 400], ['', 400],
  ['gzip, chunked', 501], ['chunked, chunked', 501],
]) {
  framing(JSON.stringify(header), () => assert.is(web.transferCodingProblem(header)?.status, expected));
}
framing.run();

const log = suite('the access log: Common Log Format, one line whatever the request holds');
log('escapeLogField: quotes, backslashes, control bytes and non-ASCII become escapes', () => {
  assert.is(web.escapeLogField('GET /a"b\\c HTTP/1.1'), 'GET /a\\"b\\\\c HTTP/1.1');
  assert.is(web.escapeLogField('a\nb\rc\0d\x1b[31m'), 'a\\nb\\rc\\x00d\\x1b[31m');
  // node:http hands the request line over as latin1, one character per byte received.
  assert.is(web.escapeLogField(Buffer.from('ü€').toString('latin1')), '\\xc3\\xbc\\xe2\\x82\\xac');
  assert.is(web.escapeLogField('\xff'), '\\xff');
  assert.is(web.escapeLogField('€'), '\\xe2\\x82\\xac');
});
const TIME = '24/Nov/2026:17:09:16 +0000';
for (const [what, entry, line] of [
  ['an answer', { client: '127.0.0.1', requestLine: 'GET / HTTP/1.1', status: 200, bytes: 14 }, '127.0.0.1 - - [TIME] "GET / HTTP/1.1" 200 14'],
  ['IPv4-mapped IPv6 as plain IPv4', { client: '::ffff:127.0.0.1', requestLine: 'GET / HTTP/1.1', status: 200, bytes: 14 }, '127.0.0.1 - - [TIME] "GET / HTTP/1.1" 200 14'],
  ['IPv6', { client: '::1', requestLine: 'HEAD / HTTP/1.1', status: 200, bytes: 0 }, '::1 - - [TIME] "HEAD / HTTP/1.1" 200 -'],
  ['no body: "-"', { client: '127.0.0.1', requestLine: 'GET /a HTTP/1.1', status: 304, bytes: 0 }, '127.0.0.1 - - [TIME] "GET /a HTTP/1.1" 304 -'],
  ['no address known', { client: undefined, requestLine: 'x', status: 400, bytes: 5 }, '- - - [TIME] "x" 400 5'],
  ['a request line the parser never found', { client: '127.0.0.1', requestLine: '-', status: 408, bytes: 196 }, '127.0.0.1 - - [TIME] "-" 408 196'],
  ['quotes, backslashes and controls escaped', { client: '127.0.0.1', requestLine: 'GET /a"b\\c\x1b HTTP/1.1', status: 400, bytes: 1 },
    '127.0.0.1 - - [TIME] "GET /a\\"b\\\\c\\x1b HTTP/1.1" 400 1'],
  ['a long request line shortened', { client: '1.2.3.4', requestLine: `GET /${'a'.repeat(5000)} HTTP/1.1`, status: 414, bytes: 10 },
    `1.2.3.4 - - [TIME] "GET /${'a'.repeat(1019)}..." 414 10`],
]) {
  log(`accessLogLine: ${what}`, () => assert.is(web.accessLogLine(entry, TIME), line.replace('TIME', TIME)));
}
log('accessLogLine: the time is now\'s when not given', () => {
  assert.match(web.accessLogLine({ client: '127.0.0.1', requestLine: 'GET / HTTP/1.1', status: 200, bytes: 1 }),
    /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/ HTTP\/1\.1" 200 1$/);
});
log('clfTime: day/Mon/year:hh:mm:ss and the offset of local time', () => {
  assert.match(web.clfTime(new Date(Date.UTC(2026, 10, 24, 17, 9, 16))), /^\d\d\/Nov\/2026:\d\d:09:16 [+-]\d{4}$/);
});
log.run();

const rows = suite('listingRow: a name as people may see it, a link only where it would be answered');
const entry = (name, more = {}) => ({ bytes: (Buffer.isBuffer(name) ? name : Buffer.from(name)).toString('latin1'), folder: false,
  size: 5, mtimeMs: Date.UTC(2026, 0, 2, 3, 4), ...more });
for (const [what, given, cell] of [
  ['a plain name', entry('a.txt'), '<a href="./a.txt"><bdi>a.txt</bdi></a>'],
  ['a folder, with its slash', entry('sub', { folder: true, size: undefined }), '<a href="./sub/"><bdi>sub</bdi>/</a>'],
  ['HTML in a name is text; the link is percent-encoded', entry('a&b <c>?#.txt'),
    '<a href="./a%26b%20%3Cc%3E%3F%23.txt"><bdi>a&#38;b &#60;c&#62;?#.txt</bdi></a>'],
  ['a right-to-left name is isolated, not escaped', entry('שלום.txt'), '<a href="./%D7%A9%D7%9C%D7%95%D7%9D.txt"><bdi>שלום.txt</bdi></a>'],
  ['a bidi override cannot make "exe.png" of "\u202egnp.exe"', entry('\u202egnp.exe'),
    '<a href="./%E2%80%AEgnp.exe"><bdi>\\u{202e}gnp.exe</bdi></a> <small>(shown escaped: the name holds characters that hide or reorder text)</small>'],
  ['a right-to-left isolate (U+2067) likewise', entry('a\u2067b'),
    '<a href="./a%E2%81%A7b"><bdi>a\\u{2067}b</bdi></a> <small>(shown escaped: the name holds characters that hide or reorder text)</small>'],
  ['a zero-width space cannot hide in a name', entry('a\u200bb'),
    '<a href="./a%E2%80%8Bb"><bdi>a\\u{200b}b</bdi></a> <small>(shown escaped: the name holds characters that hide or reorder text)</small>'],
  ['not UTF-8: escaped bytes, no link', entry(Buffer.from([0x6c, 0x61, 0x74, 0xe9]), { refused: 'not UTF-8' }),
    '<bdi>lat\\xe9</bdi> <small>(not served: not UTF-8)</small>'],
  ['a control character: escaped, no link', entry('tab\there', { refused: 'a control character or backslash' }),
    '<bdi>tab\\there</bdi> <small>(not served: a control character or backslash)</small>'],
]) {
  rows(what, () => {
    const row = web.listingRow(given);
    assert.is(/^<tr><td>(.*)<\/td><td>[^<]*<\/td><td>[^<]*<\/td><\/tr>\n$/.exec(row)?.[1], cell, row);
  });
}
rows('the time in UTC to the minute, the size in bytes ("-" for a folder)', () => {
  assert.match(web.listingRow(entry('a.txt')), '<td>2026-01-02 03:04</td><td>5</td>');
  assert.match(web.listingRow(entry('sub', { folder: true, size: undefined })), '<td>-</td>');
});
rows.run();

const types = suite('contentTypeFor: by extension, charset for text');
for (const [path, type] of [
  ['/a/index.html', 'text/html; charset=utf-8'], ['x.HTML', 'text/html; charset=utf-8'], ['s.css', 'text/css; charset=utf-8'],
  ['d.json', 'application/json; charset=utf-8'], ['p.png', 'image/png'], ['i.svg', 'image/svg+xml; charset=utf-8'],
  ['noext', 'application/octet-stream'], ['.env', 'application/octet-stream'], ['a.tar.gz', 'application/gzip'],
]) {
  types(path, () => assert.is(web.contentTypeFor(path), type));
}
types.run();

const refused = suite('statusForParseError: what the parser refused -> the status that says why');
for (const [code, line, status] of [
  ['HPE_INVALID_METHOD', 'FOO / HTTP/1.1', 501],
  ['HPE_INVALID_METHOD', 'get / HTTP/1.1', 501],
  ['HPE_INVALID_METHOD', ' / HTTP/1.1', 400],
  ['HPE_INVALID_METHOD', 'GET\t/ HTTP/1.1', 400],
  ['HPE_INVALID_METHOD', 'G@T / HTTP/1.1', 400],
  ['HPE_INVALID_VERSION', 'GET / HTTP/9.9', 505],
  ['HPE_INVALID_VERSION', 'GET / HTTP/1.1', 400],
  ['HPE_HEADER_OVERFLOW', `GET /${'a'.repeat(9000)} HTTP/1.1`, 414],
  ['HPE_HEADER_OVERFLOW', 'GET / HTTP/1.1', 431],
  ['ERR_HTTP_HEADERS_TIMEOUT', undefined, 408],
  ['ECONNRESET', undefined, undefined],
  ['HPE_INVALID_HEADER_TOKEN', 'GET / HTTP/1.1', 400],
]) {
  refused(`${code} ${JSON.stringify(line?.slice(0, 30))}`, () => assert.is(web.statusForParseError(code, line), status));
}
refused('a bare LF gets the nc -C advice; a bare CR does not', () => {
  assert.match(web.parseErrorSentence({ rawPacket: Buffer.from('GET / HTTP/1.1\nHost: x\n\n') }, 400), 'nc -C');
  assert.not.match(web.parseErrorSentence({ rawPacket: Buffer.from('GET / HTTP/1.1\rHost: x\r\n\r\n'), message: 'x' }, 400), 'nc -C');
  assert.is(web.firstLineOf(Buffer.from('GET / HTTP/1.1\r\nHost: x')), 'GET / HTTP/1.1');
  assert.is(web.firstLineOf(undefined), undefined);
});
refused.run();

// Each helper that reaches into node:http's private fields, tried against a real node:http server
// on this runtime (the one inside the binaries): a Node upgrade that changes one fails here, by name.
const privates = suite("node:http's private fields, one helper each");
/** A node:http server on 127.0.0.1 that hands each request to `handler`; resolves with it and its port. */
async function serverOn(handler, setUp = () => {}) {
  const server = http.createServer(handler);
  setUp(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}
/** Sends `data` (then FIN if asked) and resolves with all that comes back until the server closes. */
function exchange(port, data, { fin = false } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect(port, '127.0.0.1', () => (fin ? socket.end(data) : socket.write(data)));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    setTimeout(() => socket.destroy(), 3000).unref();
  });
}
const GET = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

privates('headAsWritten: the head node:http wrote (_header)', async () => {
  let head;
  const { port, close } = await serverOn((req, res) => {
    res.writeHead(200, { 'X-Probe': 'a' });
    head = web.headAsWritten(res);
    res.end('ok');
  });
  await exchange(port, GET);
  await close();
  assert.match(head, /^HTTP\/1\.1 200 OK\r\nX-Probe: a\r\n(.+\r\n)*\r\n$/);
});
privates('answerInFlight: true while an answer is written, false once it is done (_httpMessage)', async () => {
  const seen = [];
  const { server, port, close } = await serverOn((req, res) => {
    seen.push(web.answerInFlight(req.socket));
    res.on('finish', () => setImmediate(() => seen.push(web.answerInFlight(req.socket))));
    res.end('ok');
  });
  await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { fin: true });
  await close();
  assert.equal(seen, [true, false]);
  assert.type(server, 'object');
});
privates('stopReading and readAgain: the next request is not read, even when node:http resumes the socket (_paused, parser)', async () => {
  const order = [];
  const { port, close } = await serverOn((req, res) => {
    order.push(req.url);
    if (req.url !== '/1') return void res.end('2');
    web.stopReading(req.socket);
    req.resume(); // node:http's own resume: must leave the connection unread
    setTimeout(() => {
      order.push('readAgain');
      web.readAgain(req.socket);
      res.end('1');
    }, 300);
  });
  const answer = await new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
      // A later chunk, sent while /1 is being answered: node:http must not read it before readAgain.
      setTimeout(() => socket.write('GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 100);
    });
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
  await close();
  assert.equal(order, ['/1', 'readAgain', '/2']);
  assert.match(answer, /\r\n\r\n1[\s\S]*\r\n\r\n2$/);
});
privates('openConnections: the count of open connections (_connections)', async () => {
  const counts = [];
  const { server, port, close } = await serverOn((req, res) => {
    counts.push(web.openConnections(server));
    res.end('ok');
  });
  await exchange(port, GET);
  await new Promise((resolve) => setTimeout(resolve, 50));
  counts.push(web.openConnections(server));
  await close();
  assert.equal(counts, [1, 0]);
});
privates('listeningFd and listeningHandle: the listening socket\'s descriptor and handle (_handle)', async () => {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fd = web.listeningFd(server);
  assert.type(fd, 'number');
  assert.ok(fstatSync(fd).isSocket(), 'the descriptor is a socket');
  assert.is(web.listeningHandle(server).fd, fd);
  await new Promise((resolve) => server.close(resolve));
});
privates('answerAfterHalfClose: an answer that waits for the disk still goes out after the client\'s FIN (httpAllowHalfOpen)', async () => {
  const slow = (req, res) => setTimeout(() => res.end('late answer'), 100);
  const plain = await serverOn(slow);
  const without = await exchange(plain.port, 'GET / HTTP/1.0\r\n\r\n', { fin: true });
  await plain.close();
  const allowed = await serverOn(slow, web.answerAfterHalfClose);
  const withIt = await exchange(allowed.port, 'GET / HTTP/1.0\r\n\r\n', { fin: true });
  await allowed.close();
  assert.is(without, '', 'without it node:http drops the answer (else this helper is no longer needed)');
  assert.match(withIt, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nlate answer$/);
});
privates.run();
