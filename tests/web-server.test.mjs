// web-server against real clients: curl, wget, Python's http.client and raw sockets (headless
// Chromium: tests/system/chromium.test.mjs). One server serves a throwaway site for most tests; tests that need other flags start
// their own. Every server binds 127.0.0.1 and is stopped by its PID.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CURL, PYTHON3, WGET, bin, freePort, run, sleep, startProgram, testNeeding, waitForPort } from './helpers.mjs';
import { SECRET, makeSite, parseResponse, rawRequest, startWebServer } from './web-helpers.mjs';

let site;
let server;
const curlTest = testNeeding(test, CURL);
const wgetTest = testNeeding(test, WGET);
const pythonTest = testNeeding(test, PYTHON3);

test.before(async () => {
  site = makeSite();
  server = await startWebServer(['-d', site.www]);
});

test.after(async () => {
  await server?.stop();
  site?.cleanup();
});

const encodePath = (path) => path.split('/').map(encodeURIComponent).join('/');
const get = (path, headers = '') =>
  rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);
const FETCHED = ['/hello.txt', '/binary.bin', '/empty.txt', '/big.dat', '/name with spaces ü €.txt'];

curlTest('curl fetches text, binary, empty, 1 MiB and a UTF-8 name with spaces byte-identical; 404 for a missing one', async () => {
  for (const path of FETCHED) {
    const r = await run('/usr/bin/curl', ['-sS', '--fail', `${server.url}${encodePath(path)}`]);
    assert.is(r.code, 0, `curl ${path}: ${r.stderr}`);
    assert.ok(r.stdout.equals(site.files[path]), `curl ${path}: body differs (${r.stdout.length} bytes)`);
  }
  const missing = await run('/usr/bin/curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${server.url}/no-such-file.txt`]);
  assert.is(missing.stdout.toString(), '404');
});

wgetTest('wget fetches the same files byte-identical; exit 8 (server error response) for a missing one', async () => {
  for (const path of FETCHED) {
    const r = await run('/usr/bin/wget', ['-q', '-O', '-', `${server.url}${encodePath(path)}`]);
    assert.is(r.code, 0, `wget ${path}: ${r.stderr}`);
    assert.ok(r.stdout.equals(site.files[path]), `wget ${path}: body differs`);
  }
  const missing = await run('/usr/bin/wget', ['-q', '-O', '-', `${server.url}/no-such-file.txt`]);
  assert.is(missing.code, 8);
});

pythonTest('Python http.client fetches them byte-identical over one keep-alive connection; 404 for a missing one', async () => {
  const script = `
import http.client, sys, json
paths = json.loads(sys.argv[2])
conn = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)
out = []
for p in paths:
    conn.request('GET', p)
    r = conn.getresponse()
    out.append([r.status, r.read().hex()])
json.dump(out, sys.stdout)`;
  const paths = [...FETCHED.map(encodePath), '/no-such-file.txt'];
  const r = await run('/usr/bin/python3', ['-c', script, String(server.port), JSON.stringify(paths)]);
  assert.is(r.code, 0, r.stderr);
  const results = JSON.parse(r.stdout.toString());
  FETCHED.forEach((path, i) => {
    assert.is(results[i][0], 200, path);
    assert.ok(Buffer.from(results[i][1], 'hex').equals(site.files[path]), `python ${path}: body differs`);
  });
  assert.is(results[FETCHED.length][0], 404);
});

test('headers: Content-Type with charset for text, Content-Length, Date, Last-Modified, ETag, Accept-Ranges', async () => {
  const types = {
    '/hello.txt': 'text/plain; charset=utf-8',
    '/index.html': 'text/html; charset=utf-8',
    '/style.css': 'text/css; charset=utf-8',
    '/picture.png': 'image/png',
    '/sub/deeper/data.json': 'application/json; charset=utf-8',
    '/binary.bin': 'application/octet-stream',
    '/big.dat': 'application/octet-stream',
  };
  for (const [path, type] of Object.entries(types)) {
    const r = await get(path);
    assert.is(r.status, 200, path);
    assert.is(r.headers['content-type'], type, path);
    assert.is(Number(r.headers['content-length']), site.files[path].length, path);
    assert.ok(Date.parse(r.headers.date) > 0, 'Date');
    const mtime = Math.floor(statSync(join(site.www, ...path.split('/'))).mtimeMs / 1000) * 1000;
    assert.is(Date.parse(r.headers['last-modified']), mtime, 'Last-Modified');
    assert.match(r.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.is(r.headers['accept-ranges'], 'bytes');
  }
});

test('HEAD answers the same head as GET, with no body', async () => {
  for (const path of ['/hello.txt', '/big.dat', '/empty.txt', '/sub/', '/no-such-file.txt', '/sub']) {
    const getResponse = await get(path);
    const head = await rawRequest(server.port, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.is(head.status, getResponse.status, path);
    const without = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
    assert.equal(without(head.headers), without(getResponse.headers), path);
    // Nothing after the blank line: the raw bytes end with the head.
    assert.ok(head.raw.toString('latin1').endsWith('\r\n\r\n'), `${path}: HEAD sent a body`);
  }
});

test('404 page is HTML naming the path, HTML-escaped', async () => {
  const r = await get('/missing-%3Cscript%3Ealert(1)%3C/script%3E.html');
  assert.is(r.status, 404);
  assert.is(r.headers['content-type'], 'text/html; charset=utf-8');
  const html = r.body.toString();
  assert.ok(html.includes('/missing-&#60;script&#62;alert(1)&#60;/script&#62;.html'), html);
  assert.not.ok(html.includes('<script>'));
});

curlTest('conditional GET: 304 for a matching ETag and for If-Modified-Since; 200 otherwise', async () => {
  const first = await get('/hello.txt');
  const { etag } = first.headers;
  const lastModified = first.headers['last-modified'];
  const cases = [
    [`If-None-Match: ${etag}\r\n`, 304],
    [`If-None-Match: "other", W/${etag}\r\n`, 304],
    ['If-None-Match: *\r\n', 304],
    ['If-None-Match: "other"\r\n', 200],
    [`If-Modified-Since: ${lastModified}\r\n`, 304],
    [`If-Modified-Since: ${new Date(Date.now() + 3600e3).toUTCString()}\r\n`, 304],
    ['If-Modified-Since: Mon, 01 Jan 1990 00:00:00 GMT\r\n', 200],
    ['If-Modified-Since: not a date\r\n', 200],
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    [`If-None-Match: "other"\r\nIf-Modified-Since: ${lastModified}\r\n`, 200],
  ];
  for (const [headers, status] of cases) {
    const r = await get('/hello.txt', headers);
    assert.is(r.status, status, headers);
    if (status === 304) {
      assert.is(r.body.length, 0);
      assert.is(r.headers.etag, etag);
      assert.not.ok('content-length' in r.headers && r.headers['content-length'] !== '0');
    } else {
      assert.ok(r.body.equals(site.files['/hello.txt']));
    }
  }
  const curl = await run('/usr/bin/curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, `${server.url}/hello.txt`]);
  assert.is(curl.stdout.toString(), '304');
});

curlTest('Range: 206 for bytes=a-b, a- and -n; 416 when unsatisfiable; 200 for several ranges or garbage', async () => {
  const file = site.files['/hello.txt']; // "Hello, world!\n", 14 bytes
  const cases = [
    ['bytes=0-4', 206, 0, 4],
    ['bytes=7-', 206, 7, 13],
    ['bytes=-6', 206, 8, 13],
    ['bytes=5-100', 206, 5, 13],
    ['bytes=-100', 206, 0, 13],
    ['bytes=13-13', 206, 13, 13],
    ['bytes=14-', 416],
    ['bytes=100-200', 416],
    ['bytes=-0', 416],
    ['bytes=0-1,3-4', 200],
    ['bytes=5-2', 200],
    ['lines=1-2', 200],
    ['bytes=abc', 200],
  ];
  for (const [range, status, start, end] of cases) {
    const r = await get('/hello.txt', `Range: ${range}\r\n`);
    assert.is(r.status, status, range);
    if (status === 206) {
      assert.ok(r.body.equals(file.subarray(start, end + 1)), range);
      assert.is(r.headers['content-range'], `bytes ${start}-${end}/${file.length}`);
    } else if (status === 416) {
      assert.is(r.headers['content-range'], `bytes */${file.length}`);
    } else {
      assert.ok(r.body.equals(file), range);
    }
  }
  const big = site.files['/big.dat'];
  const middle = await get('/big.dat', 'Range: bytes=500000-500999\r\n');
  assert.ok(middle.body.equals(big.subarray(500000, 501000)));
  assert.is((await get('/empty.txt', 'Range: bytes=0-\r\n')).status, 416);
  // If-Range with another version's ETag: the whole file.
  const stale = await get('/hello.txt', 'Range: bytes=0-4\r\nIf-Range: "stale"\r\n');
  assert.is(stale.status, 200);
  const etag = (await get('/hello.txt')).headers.etag;
  assert.is((await get('/hello.txt', `Range: bytes=0-4\r\nIf-Range: ${etag}\r\n`)).status, 206);
  const curl = await run('/usr/bin/curl', ['-s', '-r', '0-4', `${server.url}/hello.txt`]);
  assert.is(curl.stdout.toString(), 'Hello');
});

/** Requests on one socket, each answer read to its Content-Length before the next is sent. */
async function oneConnection(port, requests) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let buffered = Buffer.alloc(0);
  let closed = false;
  socket.on('close', () => { closed = true; });
  const answers = [];
  try {
    for (const request of requests) {
      socket.write(request);
      const deadline = Date.now() + 5000;
      for (;;) {
        const parsed = parseResponse(buffered);
        if (parsed.complete) {
          const used = parsed.raw.indexOf('\r\n\r\n') + 4 + parsed.body.length;
          answers.push(parsed);
          buffered = buffered.subarray(used);
          break;
        }
        if (closed || Date.now() > deadline) throw new Error(`no complete answer to request ${answers.length + 1}`);
        const chunk = await new Promise((resolve) => {
          const onData = (c) => { socket.off('close', onClose); resolve(c); };
          const onClose = () => { socket.off('data', onData); resolve(Buffer.alloc(0)); };
          socket.once('data', onData);
          socket.once('close', onClose);
          setTimeout(() => resolve(Buffer.alloc(0)), 200);
        });
        buffered = Buffer.concat([buffered, chunk]);
      }
    }
    return { answers, closedAfter: closed };
  } finally {
    socket.destroy();
  }
}

test('keep-alive: several requests, one after another and pipelined, on one connection', async () => {
  const request = (path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const { answers, closedAfter } = await oneConnection(server.port,
    ['/hello.txt', '/binary.bin', '/no-such', '/sub/deeper/data.json', '/empty.txt'].map(request));
  assert.equal(answers.map((a) => a.status), [200, 200, 404, 200, 200]);
  assert.ok(answers[1].body.equals(site.files['/binary.bin']));
  assert.not.ok(closedAfter);
  assert.is(answers[0].headers.connection, 'keep-alive');
  // Three pipelined in one write: three answers, in order.
  const pipelined = await oneConnection(server.port, [request('/hello.txt') + request('/style.css') + request('/index.html')]);
  assert.ok(pipelined.answers[0].body.equals(site.files['/hello.txt']));
  const rest = await oneConnection(server.port, [request('/hello.txt')]);
  assert.is(rest.answers.length, 1);
  // Bytes after a "Connection: close" request are ignored; the answer still goes out whole.
  const afterClose = await rawRequest(server.port,
    'GET /big.dat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(afterClose.body.equals(site.files['/big.dat']), `got ${afterClose.body.length} bytes`);
  // A broken request pipelined behind a good one: the good answer first, then 501, then close.
  const broken = await oneConnection(server.port, ['GET /binary.bin HTTP/1.1\r\nHost: x\r\n\r\nFOO / HTTP/1.1\r\n\r\n', '']);
  assert.ok(broken.answers[0].body.equals(site.files['/binary.bin']));
  assert.is(broken.answers[1].status, 501);
  // HTTP/1.0 without keep-alive: the server closes after the answer.
  const old = await rawRequest(server.port, 'GET /hello.txt HTTP/1.0\r\n\r\n');
  assert.is(old.status, 200);
  assert.ok(old.body.equals(site.files['/hello.txt']));
});

test('a client that half-closes right after its requests (nc -N) still gets every answer, then the close', async () => {
  // Found by the stress suite's fuzzer: node:http dropped every answer not yet written when the
  // FIN arrived, i.e. anything that needed the disk (a file not yet cached, a folder, HEAD of a big file).
  writeFileSync(join(site.www, 'fresh.txt'), 'never served before\n');
  const requests = ['HEAD /big.dat', 'GET /sub', 'GET /fresh.txt', 'GET /no-such']
    .map((line) => `${line} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
  const reply = await new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect(server.port, '127.0.0.1', () => s.end(requests));
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    setTimeout(() => { s.destroy(); reject(new Error('no close after 5 s')); }, 5000);
  });
  const statuses = [...reply.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
  assert.equal(statuses, [200, 301, 200, 404], reply.slice(0, 300));
  assert.ok(reply.includes('never served before\n'));
  rmSync(join(site.www, 'fresh.txt'));
});

test('a broken request pipelined behind several good ones: every good answer first, in order, then the 400', async () => {
  // Found by the stress suite's fuzzer: only the first answer in flight was waited for; the
  // others, still being looked up on disk, were cut off by the 400 and its close.
  writeFileSync(join(site.www, 'fresh-a.txt'), 'fresh a\n');
  const good = ['/sub', '/fresh-a.txt', '/sub/deeper/data.json'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
  const reply = await readUntilClose(server.port, `${good}GET /a space HTTP/1.1\r\nHost: x\r\n\r\n`, { fin: false });
  const statuses = [...reply.toString('latin1').matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
  assert.equal(statuses, [301, 200, 200, 400]);
  rmSync(join(site.www, 'fresh-a.txt'));
});

/** Writes `data` (then FIN if asked), starts reading after `readAfterMs`, resolves with everything until the server closes. */
function readUntilClose(port, data, { fin, readAfterMs = 0 }) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect(port, '127.0.0.1', () => (fin ? s.end(data) : s.write(data)));
    s.pause();
    setTimeout(() => s.resume(), readAfterMs);
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    setTimeout(() => { s.destroy(); reject(new Error('no close after 10 s')); }, 10000);
  });
}

test('folders: index.html, listing with escaped names and encoded links, /dir -> 301 /dir/ keeping the query', async () => {
  const home = await get('/');
  assert.ok(home.body.equals(site.files['/index.html']));
  const listing = await get('/sub/');
  assert.is(listing.status, 200);
  const html = listing.body.toString();
  assert.ok(html.includes('<a href="./a%26b%20%3Cc%3E.txt">a&#38;b &#60;c&#62;.txt</a>'), html);
  assert.ok(html.includes('href="./50%25.txt"'), html);
  assert.ok(html.includes('href="./q%3F%23.txt"'), html);
  assert.ok(html.includes('href="./deeper/"'), html);
  assert.ok(html.includes('href="../"'));
  assert.not.ok(html.includes('hidden'), 'dotfiles are not listed');
  // Each link, followed, gives the file.
  for (const name of ['a&b <c>.txt', '50%.txt', 'q?#.txt']) {
    const r = await get(`/sub/${encodeURIComponent(name)}`);
    assert.ok(r.body.equals(site.files[`/sub/${name}`]), name);
  }
  const redirect = await get('/sub?x=1&y=%20');
  assert.is(redirect.status, 301);
  assert.is(redirect.headers.location, '/sub/?x=1&y=%20');
  const nested = await get('/sub/deeper');
  assert.is(nested.headers.location, '/sub/deeper/');
  // A folder name that looks like a host: the Location must not start with "//" (an open redirect).
  const sneaky = await get('//evil.example');
  assert.is(sneaky.status, 301);
  assert.is(sneaky.headers.location, '/evil.example/');
  assert.is((await get('/hello.txt/')).status, 404, 'a file with a trailing slash');
  const empty = await get('/empty-folder/');
  assert.ok(empty.body.toString().includes('Index of /empty-folder/'));
});

test('--no-listing answers 404 for a folder without index.html; --dotfiles serves dotfiles', async () => {
  const quiet = await startWebServer(['-d', site.www, '--no-listing', '-q']);
  try {
    const req = (path) => rawRequest(quiet.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.is((await req('/sub/')).status, 404);
    assert.is((await req('/')).status, 200, 'index.html still served');
    await sleep(100);
    // -q keeps the ready line (scripts wait for it) and drops the access log.
    assert.match(quiet.output.stdout, /^Ready to serve\.\.\.\n/);
    assert.not.match(quiet.output.stdout, /"GET /);
  } finally {
    await quiet.stop();
  }
  const dotty = await startWebServer(['-d', site.www, '--dotfiles']);
  try {
    const req = (path) => rawRequest(dotty.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.is((await req('/.env')).status, 200);
    assert.is((await req('/sub/.hidden.txt')).status, 200);
    assert.ok((await req('/sub/')).body.toString().includes('.hidden.txt'));
  } finally {
    await dotty.stop();
  }
});

/** The promise's value, or `fallback` after ms (without keeping the test process alive). */
function within(promise, ms, fallback) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms, fallback).unref())]);
}

test('access log: one Common Log Format line per response, quotes and control characters escaped', async () => {
  const before = server.output.stdout.length;
  await get('/hello.txt');
  await get('/no-such-file.txt');
  await rawRequest(server.port, 'GET /a"b\x01c HTTP/1.1\r\nHost: x\r\n\r\n');
  await rawRequest(server.port, Buffer.from('GET /caf\u00e9\\ HTTP/1.1\r\nHost: x\r\n\r\n'));
  await sleep(100);
  const lines = server.output.stdout.slice(before).trimEnd().split('\n');
  const clf = /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "(.*)" (\d{3}) (\d+|-)$/;
  assert.is(lines.length, 4, lines.join('\n'));
  const [ok, missing, hostile, utf8] = lines.map((l) => clf.exec(l));
  assert.equal([ok[1], ok[2], ok[3]], ['GET /hello.txt HTTP/1.1', '200', '14']);
  assert.equal([missing[1], missing[2]], ['GET /no-such-file.txt HTTP/1.1', '404']);
  assert.is(hostile[2], '400');
  assert.is(hostile[1], 'GET /a\\"b\\x01c HTTP/1.1');
  // Bytes outside printable ASCII as \xHH (é is c3 a9 in UTF-8), the backslash doubled.
  assert.is(utf8[1], 'GET /caf\\xc3\\xa9\\\\ HTTP/1.1');
});

test('-v prints each request head and response head on stderr', async () => {
  const verbose = await startWebServer(['-d', site.www, '-v']);
  try {
    await rawRequest(verbose.port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Probe: 42\r\nConnection: close\r\n\r\n');
    await sleep(100);
    const { stderr } = verbose.output;
    assert.match(stderr, /> GET \/hello\.txt HTTP\/1\.1\n.*> X-Probe: 42/s);
    assert.match(stderr, /< HTTP\/1\.1 200 OK\n(.*\n)*\s+< Content-Length: 14/);
    assert.match(stderr, /accepted 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/);
  } finally {
    await verbose.stop();
  }
});

curlTest('--once serves exactly one request, then exits 0', async () => {
  const once = await startWebServer(['-d', site.www, '--once']);
  const r = await run('/usr/bin/curl', ['-sS', `${once.url}/hello.txt`]);
  assert.ok(r.stdout.equals(site.files['/hello.txt']));
  const exit = await within(once.exit, 5000, 'still running');
  assert.equal(exit, { code: 0, signal: null });
});

test('SIGTERM lets a download in flight finish on a keep-alive connection, then closes it and exits 0', async () => {
  // Larger than loopback's socket buffers, so that the answer is still in flight while we do not read.
  const huge = Buffer.alloc(32 << 20, 0x61);
  writeFileSync(join(site.www, 'huge.txt'), huge);
  const other = await startWebServer(['-d', site.www]);
  const socket = net.connect({ host: '127.0.0.1', port: other.port });
  socket.on('error', () => {});
  let chunks = [];
  let length = 0;
  socket.on('data', (c) => { chunks.push(c); length += c.length; });
  const closed = new Promise((resolve) => socket.on('close', resolve));
  const waitFor = async (what, ok) => {
    const deadline = Date.now() + 5000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  };
  socket.write('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the first answer', () => parseResponse(Buffer.concat(chunks)).complete);
  chunks = [];
  length = 0;
  socket.write('GET /huge.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the download to start', () => length > 0);
  socket.pause();
  other.child.kill('SIGTERM');
  await sleep(300);
  assert.ok(other.isRunning(), 'the server quit with a response in flight');
  socket.resume();
  await within(closed, 8000);
  const r = parseResponse(Buffer.concat(chunks));
  assert.is(r.body.length, huge.length);
  assert.ok(r.body.equals(huge));
  // It closed the kept-alive connection itself and exited well before the 10 s grace period.
  assert.equal(await within(other.exit, 3000, 'still running'), { code: 0, signal: null });
});

test('a client that stops reading cannot hold the server past --grace; Ctrl-C (SIGINT) exits 0 too', async () => {
  writeFileSync(join(site.www, 'huge.txt'), Buffer.alloc(32 << 20, 0x62));
  const other = await startWebServer(['-d', site.www, '--grace', '1']);
  const socket = net.connect({ host: '127.0.0.1', port: other.port });
  socket.on('error', () => {});
  const started = new Promise((resolve) => socket.once('data', resolve));
  socket.write('GET /huge.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  await started;
  socket.pause(); // and never read again
  const stoppedAt = Date.now();
  other.child.kill('SIGTERM');
  assert.equal(await within(other.exit, 5000, 'still running'), { code: 0, signal: null });
  assert.ok(Date.now() - stoppedAt < 4000, `took ${Date.now() - stoppedAt} ms with --grace 1`);
  assert.match(other.output.stdout, /grace period over/);
  socket.destroy();

  const interrupted = await startWebServer(['-d', site.www]);
  interrupted.child.kill('SIGINT');
  assert.equal(await within(interrupted.exit, 5000, 'still running'), { code: 0, signal: null });
  assert.match(interrupted.output.stdout, /SIGINT: no new connections/);
});

test('403 for a file the server may not read', async () => {
  const locked = join(site.www, 'locked.txt');
  writeFileSync(locked, 'locked\n');
  chmodSync(locked, 0o000);
  try {
    // root reads anything, so as root run the server as nobody (65534), from a copy of the
    // binary in the site's folder: the checkout's own folders may be closed to nobody.
    const asRoot = process.getuid?.() === 0;
    let program = bin('web-server');
    if (asRoot) {
      for (const dir of [site.base, site.www]) chmodSync(dir, 0o755);
      program = join(site.base, 'web-server');
      copyFileSync(bin('web-server'), program);
      chmodSync(program, 0o755);
    }
    const port = await freePort();
    const child = spawn(program, ['127.0.0.1', String(port), '-d', site.www, '-q'],
      { stdio: 'ignore', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    const exited = new Promise((resolve) => { child.on('error', resolve); child.on('exit', resolve); });
    try {
      await waitForPort(port);
      const r = await rawRequest(port, 'GET /locked.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.is(r.status, 403);
      assert.not.ok(r.body.toString().includes('locked\n'));
      assert.is((await rawRequest(port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200);
    } finally {
      child.kill('SIGTERM');
      await within(exited, 5000);
    }
  } finally {
    chmodSync(locked, 0o644);
  }
});

test('command line: --help, --version, a missing root, a port in use', async () => {
  const help = await run('web-server', ['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout.toString(), /Usage:\n\s+web-server \[PORT\]/);
  assert.match(help.stdout.toString(), /--no-listing/);
  assert.match((await run('web-server', ['--version'])).stdout.toString(), /^web-server \d+\.\d+\.\d+/);
  const noRoot = await run('web-server', ['-d', join(site.base, 'nope')]);
  assert.is(noRoot.code, 64);
  assert.match(noRoot.stderr, /no such folder/);
  const bad = await run('web-server', ['--headers-timeout', '20', '--request-timeout', '10']);
  assert.is(bad.code, 64);
  const busy = await run('web-server', ['127.0.0.1', String(server.port), '-d', site.www]);
  assert.is(busy.code, 71);
  assert.match(busy.stderr, /already in use/);
  // The long form of --no-listing works despite mri's --no-X rule.
  const noListing = await startWebServer(['-d', site.www, '--no-listing']);
  assert.is((await rawRequest(noListing.port, 'GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n')).status, 404);
  await noListing.stop();
});

// ---- Hostile requests ----

const request = (target, { method = 'GET', version = 'HTTP/1.1', headers = 'Host: x\r\n' } = {}) =>
  `${method} ${target} ${version}\r\n${headers}Connection: close\r\n\r\n`;

/** [what, raw request, expected status]: none may return a byte from outside the root. */
const HOSTILE = [
  // Path traversal, in every spelling.
  ['dot-dot', request('/../secret.txt'), 403],
  ['many dot-dots to /etc/passwd', request('/../../../../../../etc/passwd'), 403],
  ['dot-dot after a folder', request('/sub/../../secret.txt'), 403],
  ['%2e%2e', request('/%2e%2e/secret.txt'), 403],
  ['%2E%2E upper case', request('/%2E%2E/%2E%2E/etc/passwd'), 403],
  ['.%2e mixed', request('/.%2e/secret.txt'), 403],
  ['%2f as the separator', request('/..%2fsecret.txt'), 403],
  ['%2f inside a folder name', request('/sub%2f..%2f..%2fsecret.txt'), 403],
  ['%2F upper case with %2e', request('/%2e%2e%2F%2e%2e%2Fetc%2Fpasswd'), 403],
  ['double encoding is decoded once: a missing folder', request('/%252e%252e/secret.txt'), 404],
  ['double encoding is decoded once: the file named %2e%2e', request('/%252e%252e'), 200],
  ['backslash', request('/..\\secret.txt'), 400],
  ['encoded backslash', request('/%5c..%5csecret.txt'), 400],
  ['backslashes after a folder', request('/sub\\..\\..\\secret.txt'), 400],
  ['//etc/passwd stays under the root', request('//etc/passwd'), 404],
  ['///../ ', request('///../secret.txt'), 403],
  ['absolute-form with dot-dot', request('http://evil.example/../secret.txt'), 403],
  ['absolute-form with %2e%2e', request('http://127.0.0.1/%2e%2e/%2e%2e/etc/passwd'), 403],
  ['absolute-form to a file under the root', request('http://anything.example/hello.txt'), 200],
  ['file: URI', request('file:///etc/passwd'), 400],
  ['asterisk-form for GET', request('*'), 400],
  ['a target without a leading slash', request('etc/passwd'), 400],
  // Symlinks.
  ['symlink to the secret', request('/secret-link.txt'), 403],
  ['symlink to /etc, then passwd', request('/etc-link/passwd'), 403],
  ['symlink to /etc, as a folder', request('/etc-link/'), 403],
  ['symlink to /etc/passwd', request('/passwd-link'), 403],
  ['symlink that stays inside the root', request('/sub/hello-link.txt'), 200],
  ['a folder whose index.html is a symlink out of the root: listed, not served', request('/trap/'), 200],
  ['a FIFO is not a file', request('/fifo'), 403],
  // NUL, control characters and bad percent-encoding.
  ['%00 before an extension', request('/hello.txt%00.png'), 400],
  ['%00 alone', request('/%00'), 400],
  ['a raw NUL byte', request('/a\0b'), 400],
  ['%zz', request('/%zz'), 400],
  ['a lone %', request('/%'), 400],
  ['invalid UTF-8 (%c3%28)', request('/%c3%28'), 400],
  ['header injection via %0d%0a in the path', request('/%0d%0aSet-Cookie:%20owned=1'), 400],
  ['Location injection via a folder redirect', request('/sub%0d%0aLocation:%20http://evil.example/'), 400],
  ['CRLF in the query of a redirect stays encoded', request('/sub?%0d%0aSet-Cookie:%20owned=1'), 301],
  ['a query never reaches the file system', request('/hello.txt?../../secret.txt'), 200],
  // Dotfiles.
  ['.env', request('/.env'), 404],
  ['.git/config', request('/.git/config'), 404],
  ['dotfile in a folder', request('/sub/.hidden.txt'), 404],
  ['dotfile spelled %2e', request('/sub/%2ehidden.txt'), 404],
  // Versions.
  ['HTTP/9.9', request('/', { version: 'HTTP/9.9' }), 505],
  ['HTTP/2.0 over plain HTTP/1 framing', request('/', { version: 'HTTP/2.0' }), 505],
  ['HTTP/1.2', request('/', { version: 'HTTP/1.2' }), 505],
  ['FUBAR', request('/', { version: 'FUBAR' }), 400],
  ['HTTP/0.9 (no version)', 'GET /hello.txt\r\n\r\n', 505],
  // Sizes.
  ['a 10 KB request line', request(`/${'a'.repeat(10000)}`), 414],
  ['a 20 KB request line', request(`/${'a'.repeat(20000)}`), 414],
  ['a 20 KB header', request('/', { headers: `Host: x\r\nX-Big: ${'b'.repeat(20000)}\r\n` }), 431],
  ['200 headers', request('/', { headers: `Host: x\r\n${Array.from({ length: 200 }, (_, i) => `X-H${i}: ${'v'.repeat(90)}\r\n`).join('')}` }), 431],
  // Methods.
  ['POST', request('/', { method: 'POST' }), 405],
  ['PUT', request('/hello.txt', { method: 'PUT' }), 405],
  ['DELETE', request('/hello.txt', { method: 'DELETE' }), 405],
  ['TRACE', request('/', { method: 'TRACE' }), 405],
  ['OPTIONS *', request('*', { method: 'OPTIONS' }), 405],
  ['CONNECT to port 22', request('127.0.0.1:22', { method: 'CONNECT' }), 405],
  ['an unknown method', request('/', { method: 'FOO' }), 501],
  ['a lower-case method', request('/', { method: 'get' }), 501],
  ['HEAD with dot-dot', request('/../secret.txt', { method: 'HEAD' }), 403],
  // Framing.
  ['Content-Length and Transfer-Encoding together', request('/', { headers: 'Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n' }), 400],
  ['Content-Length that is not a number', request('/', { headers: 'Host: x\r\nContent-Length: abc\r\n' }), 400],
  ['HTTP/1.1 without Host', request('/hello.txt', { headers: '' }), 400],
  ['bare LF line ends', 'GET /hello.txt HTTP/1.1\nHost: x\n\n', 400],
  ['a space inside the target', 'GET /hello world.txt HTTP/1.1\r\nHost: x\r\n\r\n', 400],
];

test(`hostile requests (${HOSTILE.length}): each gets its status, none leaks a byte from outside the root, the server keeps answering`, async () => {
  assert.ok(HOSTILE.length >= 40);
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n')[0];
  for (const [what, raw, status] of HOSTILE) {
    const r = await rawRequest(server.port, raw);
    assert.is(r.status, status, `${what}: ${JSON.stringify(raw.slice(0, 80))} got ${r.statusLine}`);
    const text = r.raw.toString('latin1');
    assert.not.ok(text.includes(SECRET), `${what}: leaked the secret`);
    assert.not.ok(text.includes(passwd), `${what}: leaked /etc/passwd`);
    assert.not.ok(/^set-cookie:/im.test(text), `${what}: a header was injected`);
    if (r.headers.location) assert.not.match(r.headers.location, /^(\/\/|\/\\)|[\r\n]/, `${what}: Location ${r.headers.location}`);
    if (status === 405) assert.is(r.headers.allow, 'GET, HEAD', what);
    // The server still answers, on a fresh connection.
    const health = await get('/hello.txt');
    assert.ok(health.body.equals(site.files['/hello.txt']), `after ${what}: the server stopped answering`);
  }
  // All of them at once, three times over: the same answers, and still no leak.
  const all = HOSTILE.flatMap((entry) => [entry, entry, entry]);
  const answers = await Promise.all(all.map(([, raw]) => rawRequest(server.port, raw, { timeoutMs: 10000 })));
  answers.forEach((r, i) => {
    assert.is(r.status, all[i][2], `concurrently: ${all[i][0]}`);
    assert.not.ok(r.raw.toString('latin1').includes(SECRET));
  });
  assert.is((await get('/hello.txt')).status, 200);
});

// ---- Slow and silent clients ----

/** A client that sends a request line, then one header byte every intervalMs, never finishing the head. */
function slowClient(port, intervalMs) {
  const socket = net.connect({ host: '127.0.0.1', port });
  const received = [];
  let timer;
  const connected = new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const closed = new Promise((resolve) => socket.once('close', () => { clearInterval(timer); resolve(Buffer.concat(received)); }));
  socket.on('data', (c) => received.push(c));
  socket.on('error', () => {});
  socket.once('connect', () => {
    socket.write('GET /hello.txt HTTP/1.1\r\nHost: x\r\n');
    timer = setInterval(() => socket.write('X'), intervalMs);
  });
  return { connected, closed, destroy: () => { clearInterval(timer); socket.destroy(); } };
}

test('slowloris: 200 connections trickling header bytes cannot starve others; --headers-timeout closes them', async () => {
  const guarded = await startWebServer(['-d', site.www, '--headers-timeout', '2', '--request-timeout', '4', '--keep-alive', '1']);
  const slow = Array.from({ length: 200 }, () => slowClient(guarded.port, 700));
  try {
    await Promise.all(slow.map((c) => c.connected));
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const r = await rawRequest(guarded.port, request('/hello.txt'), { timeoutMs: 3000 });
      assert.ok(r.body.equals(site.files['/hello.txt']), `normal request ${i} while 200 slow clients trickle`);
      assert.ok(Date.now() - started < 2000, `normal request ${i} took ${Date.now() - started} ms`);
      await sleep(100);
    }
    // Each slow client is cut at --headers-timeout (2 s) plus Node's check interval: 10 s is generous.
    const answers = await within(Promise.all(slow.map((c) => c.closed)), 10000, 'still open');
    assert.ok(Array.isArray(answers), 'some slow clients were still connected after 10 s');
    const timedOut = answers.filter((a) => a.toString().startsWith('HTTP/1.1 408 ')).length;
    assert.is(timedOut, 200, `${timedOut} of 200 got 408 Request Timeout`);
    assert.is((await get('/hello.txt')).status, 200);
  } finally {
    for (const c of slow) c.destroy();
    await guarded.stop();
  }
});

test('idle connections are closed: silent from the start (--headers-timeout), and between requests (--keep-alive)', async () => {
  const guarded = await startWebServer(['-d', site.www, '--headers-timeout', '1', '--request-timeout', '2', '--keep-alive', '1']);
  try {
    const silentClosed = new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: guarded.port });
      s.on('error', () => {});
      s.on('close', () => resolve('closed'));
      s.resume();
    });
    const kept = net.connect({ host: '127.0.0.1', port: guarded.port });
    kept.on('error', () => {});
    let answered = false;
    kept.on('data', () => { answered = true; });
    const keptClosed = new Promise((resolve) => kept.on('close', () => resolve('closed')));
    kept.write('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.is(await within(silentClosed, 6000, 'open'), 'closed', 'a silent connection stayed open');
    assert.is(await within(keptClosed, 6000, 'open'), 'closed', 'an idle keep-alive connection stayed open');
    assert.ok(answered);
  } finally {
    await guarded.stop();
  }
});

test('--max-connections: a connection beyond the cap is closed at once; the next one after a close is served', async () => {
  const capped = await startWebServer(['-d', site.www, '--max-connections', '3']);
  const open = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = net.connect({ host: '127.0.0.1', port: capped.port });
      s.on('error', () => {});
      await new Promise((resolve) => s.once('connect', resolve));
      open.push(s);
    }
    await sleep(100);
    const extra = await rawRequest(capped.port, request('/hello.txt'), { timeoutMs: 3000 });
    assert.ok(extra.closed);
    assert.is(extra.status, 0, 'the fourth connection got an answer');
    open.pop().destroy();
    await sleep(100);
    const next = await rawRequest(capped.port, request('/hello.txt'), { timeoutMs: 3000 });
    assert.is(next.status, 200);
  } finally {
    for (const s of open) s.destroy();
    await capped.stop();
  }
});

test('under ulimit -n 64, 150 clients at once for 150 files: 200 or 503 (never 404 for a file that exists), refusal said once', async () => {
  const many = join(site.www, 'many');
  mkdirSync(many);
  for (let i = 0; i < 150; i++) writeFileSync(join(many, `f${i}.txt`), `file ${i}\n`);
  const port = await freePort();
  const limited = await startProgram('/usr/bin/prlimit', ['--nofile=64:64', bin('web-server'), '-q', '127.0.0.1', String(port), '-d', site.www],
    { ready: /Serving / });
  try {
    const ask = (i) => new Promise((resolve) => {
      const chunks = [];
      const s = net.connect(port, '127.0.0.1', () => s.write(request(`/many/f${i}.txt`)));
      const done = () => resolve({ s, ...parseResponse(Buffer.concat(chunks)) });
      s.on('data', (d) => { chunks.push(d); if (parseResponse(Buffer.concat(chunks)).complete) done(); });
      s.on('error', done);
      s.on('close', done);
    });
    const rush = await Promise.all(Array.from({ length: 150 }, (_, i) => ask(i)));
    for (const r of rush) r.s.destroy();
    // Before the fix: open() failing with EMFILE was taken for a missing file, and answered 404.
    const statuses = new Set(rush.map((r) => r.status));
    for (const status of statuses) assert.ok([0, 200, 503].includes(status), `status ${status} under the limit`);
    rush.forEach((r, i) => r.status === 200 && assert.is(r.body.toString(), `file ${i}\n`));
    await sleep(500);
    for (let i = 0; i < 150; i += 10) assert.is((await rawRequest(port, request(`/many/f${i}.txt`))).status, 200);
    // Whoever was turned away (refused: status 0, or 503) must have been said, once, naming the limit.
    const turnedAway = rush.filter((r) => r.status !== 200).length;
    const lines = limited.output.stderr.split('\n').filter(Boolean);
    assert.is(lines.length, turnedAway > 0 ? 1 : 0, `${turnedAway} turned away; stderr: ${JSON.stringify(limited.output.stderr)}`);
    if (turnedAway > 0) assert.match(lines[0], /the file-descriptor limit \(ulimit -n 64\)/);
  } finally {
    await limited.stop();
    rmSync(many, { recursive: true, force: true });
  }
});

test('a small file served once and then changed, removed, or swapped for a symlink out of the root is looked up again', async () => {
  const path = join(site.www, 'changing.txt');
  writeFileSync(path, 'first version\n');
  const first = await get('/changing.txt');
  assert.is(first.status, 200);
  assert.is(first.body.toString(), 'first version\n');
  // Same size, new bytes; the mtime is set to a later second so that even a coarse clock sees it.
  writeFileSync(path, 'other version\n');
  utimesSync(path, new Date(), new Date(Date.now() + 2000));
  assert.is((await get('/changing.txt')).body.toString(), 'other version\n');
  // Replaced by a symlink to the secret outside the root: refused, never the cached bytes or the secret.
  rmSync(path);
  symlinkSync(join(site.www, '..', 'secret.txt'), path);
  const swapped = await get('/changing.txt');
  assert.is(swapped.status, 403);
  assert.not.match(swapped.body.toString(), 'version');
  assert.not.match(swapped.body.toString(), SECRET);
  rmSync(path);
  assert.is((await get('/changing.txt')).status, 404);
});

test('the root reached without its slash (/., /sub/.., /%2e) redirects to "/", never to "//"', async () => {
  for (const [target, location] of [['/.', '/'], ['/sub/..', '/'], ['/%2e', '/'], ['/.?x=1', '/?x=1'], ['/sub/deeper/..', '/sub/']]) {
    const r = await get(target);
    assert.is(r.status, 301, target);
    assert.is(r.headers.location, location, target);
  }
});

test('-d / serves files by their full path (the root "/" ends in a separator already)', async () => {
  const whole = await startWebServer(['-d', '/']);
  try {
    const r = await rawRequest(whole.port, `GET ${encodePath(join(site.www, 'hello.txt'))} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.is(r.status, 200);
    assert.ok(r.body.equals(site.files['/hello.txt']));
  } finally {
    await whole.stop();
  }
});

test('a reader that closes the access log (| head) does not stop the server: it says so once and serves on', async () => {
  const port = await freePort();
  const child = spawn(bin('web-server'), ['127.0.0.1', String(port), '-d', site.www], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => { err += c; });
  try {
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy(); // the reader goes away
    for (let i = 0; i < 5; i++) {
      const r = await rawRequest(port, `GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.is(r.status, 200);
      await sleep(50);
    }
    assert.is(child.exitCode, null, `exited: ${err}`);
    assert.match(err, 'stdout was closed; no more log lines, still serving');
    assert.not.match(err, 'internal error');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.on('exit', r) : r()));
  }
});

test.run();
