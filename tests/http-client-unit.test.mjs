// http-client's pure pieces, in-process: the command line to a target, the request it sends,
// the response head it reads, and each way a body ends (RFC 9112 §6.3), fed byte by byte where
// a server could split it. What needs a socket is in http-client.test.mjs, against the binary.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importSource } from './helpers.mjs';

const client = await importSource(['scripts/http-client.ts', 'lib/program.ts']);
const B = (text) => Buffer.from(text, 'latin1');

const targets = suite('targetFromArgs: HOST PORT [PATH] or one URL');
for (const [args, expected] of [
  [['127.0.0.1', '6789', '/index.html'], { host: '127.0.0.1', port: 6789, path: '/index.html' }],
  [['127.0.0.1', '6789'], { host: '127.0.0.1', port: 6789, path: '/' }],
  [['localhost', '80', 'a b/ü.html?x=1'], { host: 'localhost', port: 80, path: '/a%20b/%C3%BC.html?x=1' }],
  [['h', '1', '/50%25'], { host: 'h', port: 1, path: '/50%25' }],
  [['h', '1', '/50%'], { host: 'h', port: 1, path: '/50%25' }],
  [['http://127.0.0.1:6789/x/../y'], { host: '127.0.0.1', port: 6789, path: '/y' }],
  [['127.0.0.1:6789/hello.txt'], { host: '127.0.0.1', port: 6789, path: '/hello.txt' }],
  [['http://[::1]:8080/'], { host: '::1', port: 8080, path: '/' }],
  [['http://example.com'], { host: 'example.com', port: 80, path: '/' }],
]) {
  targets(args.join(' '), () => assert.equal(client.targetFromArgs(args), expected));
}
for (const [args, message] of [
  [[], /give HOST PORT \[PATH\] or a URL/],
  [['https://example.com/'], /https:\/\/ needs TLS/],
  [['ftp://example.com/'], /only http:\/\/ URLs/],
  [['http://h:0/'], /bad port "0"/],
  [['a', 'b', 'c', 'd'], /got 4 arguments/],
]) {
  targets(`refused: ${args.join(' ') || '(nothing)'}`, () => {
    try {
      client.targetFromArgs(args);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, client.UsageError);
      assert.match(err.message, message);
    }
  });
}
targets.run();

const requests = suite('buildRequest: the request line and head as they go out');
requests('GET with Host (port only when not 80), Connection: close, CRLF line ends, a blank line', () => {
  const text = client.buildRequest('GET', { host: '::1', port: 6789, path: '/a' }).toString('latin1');
  assert.match(text, /^GET \/a HTTP\/1\.1\r\nHost: \[::1\]:6789\r\nUser-Agent: http-client\/test\r\nAccept: \*\/\*\r\nConnection: close\r\n\r\n$/);
  assert.match(client.buildRequest('HEAD', { host: 'h', port: 80, path: '/' }).toString('latin1'), /^HEAD \/ HTTP\/1\.1\r\nHost: h\r\n/);
});
requests.run();

const heads = suite('takeHead: the status line and header lines, or why not');
heads('a whole head, and the body bytes after it', () => {
  const { head, rest } = client.takeHead(B('HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A:  b \r\n\r\nabc'));
  assert.is(head.status, 404);
  assert.is(head.reason, 'Not Found');
  assert.equal(head.headers, [['Content-Length', '3'], ['X-A', 'b']]);
  assert.is(rest.toString(), 'abc');
});
heads('not yet complete: undefined; no reason phrase is fine', () => {
  assert.is(client.takeHead(B('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n')), undefined);
  assert.is(client.takeHead(B('HTTP/1.0 200\r\n\r\n')).head.reason, '');
});
for (const [raw, message] of [
  ['hello, welcome\r\n\r\n', /did not answer with an HTTP status line/],
  ['HTTP/1.1 2000 OK\r\n\r\n', /did not answer with an HTTP status line/],
  ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /bad header line/],
]) {
  heads(`refused: ${JSON.stringify(raw.slice(0, 20))}`, () => assert.throws(() => client.takeHead(B(raw)), (err) => message.test(err.message)));
}
heads.run();

const bodies = suite('bodyReader: how the body ends, fed in one piece and byte by byte');
const head = (status, ...headers) => ({ status, headers: headers.map((h) => h.split(': ')), statusLine: '', reason: '', raw: B('') });
/** Feeds `wire` to a fresh reader whole, then one byte at a time; both must give the same body. */
function read(makeReader, wire) {
  const results = [];
  const bytes = [...B(wire)].map((b) => Buffer.from([b]));
  for (const pieces of [[B(wire)], bytes.length > 0 ? bytes : [B('')]]) {
    const reader = makeReader();
    const out = [];
    let done = false;
    for (const piece of pieces) {
      if (done) break;
      const r = reader.push(piece);
      out.push(r.data);
      done = r.done;
    }
    results.push({ body: Buffer.concat(out).toString('latin1'), done, closeEnds: reader.closeEnds });
  }
  assert.equal(results[0], results[1], 'whole and byte by byte differ');
  return results[0];
}
bodies('Content-Length: exactly that many bytes, then done', () => {
  assert.equal(read(() => client.bodyReader('GET', head(200, 'Content-Length: 5')), 'hello, more'), { body: 'hello', done: true, closeEnds: false });
});
bodies('chunked: sizes in hex, extensions, trailers; the last chunk ends it', () => {
  const wire = '5\r\nhello\r\na;ext=1\r\n, welcome!\r\n0\r\nX-Trailer: t\r\n\r\nnext';
  assert.equal(read(() => client.bodyReader('GET', head(200, 'Transfer-Encoding: chunked')), wire), { body: 'hello, welcome!', done: true, closeEnds: false });
});
bodies('neither: the body ends when the server closes', () => {
  const r = read(() => client.bodyReader('GET', head(200)), 'all of it');
  assert.equal(r, { body: 'all of it', done: false, closeEnds: true });
});
bodies('HEAD, 204 and 304 have no body whatever the head says', () => {
  for (const [method, status] of [['HEAD', 200], ['GET', 204], ['GET', 304]]) {
    assert.is(read(() => client.bodyReader(method, head(status, 'Content-Length: 5')), '').body, '', `${method} ${status}`);
  }
});
bodies('Transfer-Encoding wins over Content-Length (RFC 9112 §6.3)', () => {
  assert.is(read(() => client.bodyReader('GET', head(200, 'Content-Length: 2', 'Transfer-Encoding: chunked')), '3\r\nabc\r\n0\r\n\r\n').body, 'abc');
});
for (const [what, headers, wire, message] of [
  ['two different Content-Lengths', ['Content-Length: 3, 4'], '', /bad Content-Length/],
  ['a Content-Length that is no number', ['Content-Length: abc'], '', /bad Content-Length/],
  ['a chunk size that is not hex', ['Transfer-Encoding: chunked'], 'xyz\r\n', /bad chunk size line/],
  ['a chunk longer than its size', ['Transfer-Encoding: chunked'], '2\r\nabc\r\n', /longer than its size/],
  ['a chunk-size line without end', ['Transfer-Encoding: chunked'], '1'.repeat(5000), /too long/],
]) {
  bodies(`refused: ${what}`, () => assert.throws(() => {
    const reader = client.bodyReader('GET', head(200, ...headers));
    reader.push(B(wire));
  }, (err) => message.test(err.message)));
}
bodies.run();
