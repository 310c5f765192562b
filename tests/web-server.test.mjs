// web-server against real clients: curl, wget, Python's http.client and raw sockets (headless
// Chromium: tests/system/chromium.test.mjs). One server serves a throwaway site for most tests; tests that need other flags start
// their own. Every server binds 127.0.0.1 and is stopped by its PID.
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CURL, PYTHON3, WGET, bin, freePort, run, sleep, startProgram, testNeeding, waitForPort } from './helpers.mjs';
import { SECRET, makeSite, parseResponse, rawRequest, startWebServer } from './web-helpers.mjs';
import { RANGE_CASES, TARGET_CASES } from './web-cases.mjs';

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
    // A listing is streamed (chunked); its HEAD does not make the rows, so it has no framing to
    // announce (RFC 9110 §9.3.2 lets a HEAD leave out what only making the content would tell).
    const without = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date' && k !== 'transfer-encoding'));
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

// The conditional headers' full tables are in-process (checkPreconditions, parseHttpDate); here,
// one request per outcome, through the server.
curlTest('conditional GET: 304 for a matching ETag and for If-Modified-Since; 200 otherwise', async () => {
  const first = await get('/hello.txt');
  const { etag } = first.headers;
  const lastModified = first.headers['last-modified'];
  for (const [headers, status] of [
    [`If-None-Match: ${etag}\r\n`, 304],
    ['If-None-Match: "other"\r\n', 200],
    [`If-Modified-Since: ${lastModified}\r\n`, 304],
  ]) {
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

// Every Range row is in-process (tests/web-cases.mjs, parseByteRanges and rangesToSend); here,
// one row per class through the server, its answer derived from the row's parse.
curlTest('Range: one row per class of tests/web-cases.mjs: 206 for one range, 416 unsatisfiable, 200 for one ignored', async () => {
  const file = site.files['/hundred.bin'];
  for (const [range, parsed] of RANGE_CASES.filter(([, , , marks]) => marks?.e2e === true)) {
    const r = await get('/hundred.bin', `Range: ${range}\r\n`);
    const shown = range.length > 40 ? `${range.slice(0, 40)}...` : range;
    if (parsed === 'unsatisfiable') {
      assert.is(r.status, 416, shown);
      assert.is(r.headers['content-range'], `bytes */${file.length}`);
    } else if (parsed === undefined) {
      assert.is(r.status, 200, shown);
      assert.ok(r.body.equals(file), shown);
    } else {
      const [{ start, end }] = parsed;
      assert.is(r.status, 206, shown);
      assert.ok(r.body.equals(file.subarray(start, end + 1)), shown);
      assert.is(r.headers['content-range'], `bytes ${start}-${end}/${file.length}`);
    }
  }
  // A 1 MiB file (read whole, from memory) and an empty one.
  const big = site.files['/big.dat'];
  const middle = await get('/big.dat', 'Range: bytes=500000-500999\r\n');
  assert.ok(middle.body.equals(big.subarray(500000, 501000)));
  assert.is((await get('/empty.txt', 'Range: bytes=0-\r\n')).status, 416);
  // If-Range reaches the decision (its table: rangesToSend in-process).
  const etag = (await get('/hello.txt')).headers.etag;
  assert.is((await get('/hello.txt', `Range: bytes=0-4\r\nIf-Range: ${etag}\r\n`)).status, 206);
  assert.is((await get('/hello.txt', 'Range: bytes=0-4\r\nIf-Range: "stale"\r\n')).status, 200);
  const curl = await run('/usr/bin/curl', ['-s', '-r', '0-4', `${server.url}/hello.txt`]);
  assert.is(curl.stdout.toString(), 'Hello');
});

/** The parts of a multipart/byteranges body: each one's Content-Range and bytes. */
function byterangeParts(response) {
  const boundary = /boundary=(\S+)/.exec(response.headers['content-type'])[1];
  const text = response.body.toString('latin1');
  const pieces = text.split(`--${boundary}`);
  assert.is(pieces[0], '', 'the body starts with the first delimiter');
  assert.is(pieces[pieces.length - 1], '--\r\n', 'the body ends with the closing delimiter');
  return pieces.slice(1, -1).map((piece) => {
    const end = piece.indexOf('\r\n\r\n');
    const head = piece.slice(2, end);
    return { head, range: /Content-Range: bytes (\d+)-(\d+)\/(\d+)/.exec(head).slice(1).map(Number),
      bytes: Buffer.from(piece.slice(end + 4).replace(/\r\n$/, ''), 'latin1') };
  });
}

curlTest('several ranges: 206 multipart/byteranges, in memory and streamed from disk, sorted and merged; too many: the whole file', async () => {
  const big = site.files['/big.dat']; // 1 MiB: read whole, from memory
  writeFileSync(join(site.www, 'three-mib.bin'), Buffer.concat([big, big, big])); // streamed
  const three = Buffer.concat([big, big, big]);
  for (const [path, file] of [['/big.dat', big], ['/three-mib.bin', three]]) {
    const r = await get(path, 'Range: bytes=500-599, 0-9 ,100-109,105-119,-5\r\n');
    assert.is(r.status, 206, path);
    assert.match(r.headers['content-type'], /^multipart\/byteranges; boundary=/);
    assert.is(Number(r.headers['content-length']), r.body.length);
    const parts = byterangeParts(r);
    assert.equal(parts.map((p) => p.range), [[0, 9, file.length], [100, 119, file.length], [500, 599, file.length],
      [file.length - 5, file.length - 1, file.length]], path);
    for (const { range: [start, end], bytes, head } of parts) {
      assert.ok(bytes.equals(file.subarray(start, end + 1)), `${path} ${start}-${end}`);
      assert.match(head, 'Content-Type: application/octet-stream');
    }
  }
  // curl asks for two ranges and receives both parts.
  const curl = await run('/usr/bin/curl', ['-s', '-i', '-r', '0-3,10-13', `${server.url}/big.dat`]);
  assert.match(curl.stdout.toString('latin1'), /multipart\/byteranges/);
  // Parts in the order asked for when none was merged.
  const unordered = byterangeParts(await get('/big.dat', 'Range: bytes=5000-5009,0-9\r\n'));
  assert.equal(unordered.map((p) => p.range[0]), [5000, 0]);
  // Range is for GET only: a HEAD gets the whole file's head (RFC 9110 §14.2), no body.
  const head = await rawRequest(server.port, 'HEAD /big.dat HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9,20-29\r\nConnection: close\r\n\r\n');
  assert.is(head.status, 200);
  assert.is(Number(head.headers['content-length']), big.length);
  assert.is(head.raw.length, head.raw.indexOf('\r\n\r\n') + 4);
  // More than 100 ranges: the whole file (the CVE-2011-3192 guard).
  const many = Array.from({ length: 101 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
  const whole = await get('/big.dat', `Range: bytes=${many}\r\n`);
  assert.is(whole.status, 200);
  assert.ok(whole.body.equals(big));
  // Thousands of overlapping ranges merge into one.
  const overlapping = Array.from({ length: 100 }, () => '0-').join(',');
  const merged = await get('/big.dat', `Range: bytes=${overlapping}\r\n`);
  assert.is(merged.status, 206);
  assert.is(merged.headers['content-range'], `bytes 0-${big.length - 1}/${big.length}`);
});

// Their order (RFC 9110 §13.2.2) is checkPreconditions' table, in-process; here, each outcome
// through the server, and the ones that meet Range.
test('preconditions: If-Match and If-Unmodified-Since give 412, before Range; a 304 with an ETag carries no Last-Modified', async () => {
  const first = await get('/hello.txt');
  const { etag } = first.headers;
  for (const [headers, status] of [
    [`If-Match: ${etag}\r\n`, 200],
    ['If-Match: "nope"\r\n', 412],
    ['If-Unmodified-Since: Mon, 01 Jan 1990 00:00:00 GMT\r\n', 412],
    ['If-Match: "nope"\r\nRange: bytes=0-4\r\n', 412], // a resumed download of another version
    [`If-Match: ${etag}\r\nRange: bytes=0-4\r\n`, 206],
    [`If-None-Match: ${etag}\r\nRange: bytes=0-4\r\n`, 304],
  ]) {
    const r = await get('/hello.txt', headers);
    assert.is(r.status, status, headers);
    if (status === 412) assert.match(r.body.toString(), '412 Precondition Failed');
    if (status === 304) {
      assert.is(r.headers.etag, etag);
      assert.not.ok('last-modified' in r.headers, 'a 304 with an ETag carries no Last-Modified (RFC 9110 §15.4.5)');
    }
  }
  // The streamed path (a file over 1 MiB) decides the same way.
  writeFileSync(join(site.www, 'guarded.bin'), Buffer.alloc(2 << 20, 7));
  assert.is((await get('/guarded.bin', 'If-Match: "nope"\r\nRange: bytes=0-4\r\n')).status, 412);
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
          const { used } = parsed;
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
  assert.ok(html.includes('<a href="./a%26b%20%3Cc%3E.txt"><bdi>a&#38;b &#60;c&#62;.txt</bdi></a>'), html);
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

test('listings: folders first with a slash, size and time; a name the server refuses, or a link out, is shown without a link', async () => {
  const odd = join(site.www, 'odd');
  mkdirSync(odd);
  mkdirSync(join(odd, 'zfolder'));
  writeFileSync(join(odd, 'afile.txt'), '12345');
  writeFileSync(Buffer.concat([Buffer.from(`${odd}/`), Buffer.from([0x6c, 0x61, 0x74, 0xe9])]), 'latin-1 name'); // "lat\xe9": not UTF-8
  writeFileSync(join(odd, 'tab\there.txt'), 'x');
  writeFileSync(join(odd, 'back\\slash.txt'), 'x');
  symlinkSync(join(site.base, 'secret.txt'), join(odd, 'out-link'));
  symlinkSync('afile.txt', join(odd, 'in-link'));
  // Names that pose as others: "\u202egnp.exe" reads "exe.png", a zero-width space hides in "a\u200bfile.txt".
  writeFileSync(join(odd, '\u202egnp.exe'), 'not a picture');
  writeFileSync(join(odd, 'a\u200bfile.txt'), 'not afile.txt');
  const listing = await get('/odd/');
  const html = listing.body.toString();
  // Every link in the page answers 200 (or 301 for a folder without its slash, never here).
  const links = [...html.matchAll(/href="\.\/([^"]*)"/g)].map((m) => m[1]);
  assert.equal(links.sort(), ['%E2%80%AEgnp.exe', 'a%E2%80%8Bfile.txt', 'afile.txt', 'in-link', 'zfolder/']);
  for (const shown of ['\\u{202e}gnp.exe', 'a\\u{200b}file.txt']) {
    assert.ok(html.includes(`<bdi>${shown}</bdi></a> <small>(shown escaped:`), `${shown}: ${html}`);
  }
  assert.not.match(html, /[\u200b\u202e]/, 'no bidi control or zero-width character reaches the page');
  for (const link of links) assert.is((await get(`/odd/${link}`)).status, 200, link);
  for (const [name, why] of [['lat\\xe9', 'not UTF-8'], ['tab\\there.txt', 'a control character or backslash'],
    ['back\\slash.txt', 'a control character or backslash'], ['out-link', 'a link out of this folder']]) {
    assert.ok(html.includes(`<bdi>${name}</bdi> <small>(not served: ${why})</small>`), `${name}: ${html}`);
  }
  // Folders first, with a slash; a file's size; a time for each.
  assert.ok(html.indexOf('zfolder</bdi>/') < html.indexOf('afile.txt'), 'folders come first');
  assert.match(html, /<a href="\.\/afile\.txt"><bdi>afile\.txt<\/bdi><\/a><\/td><td>\d{4}-\d\d-\d\d \d\d:\d\d<\/td><td>5<\/td>/);
  assert.not.ok(html.includes(SECRET));
  // A listing has no ETag: If-Match fails but for "*", If-None-Match: * is 304.
  assert.is((await get('/odd/', 'If-Match: "x"\r\n')).status, 412);
  assert.is((await get('/odd/', 'If-Match: *\r\n')).status, 200);
  assert.is((await get('/odd/', 'If-None-Match: *\r\n')).status, 304);
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
  // The exact format is accessLogLine's table (in-process); here, the fields that come from the
  // wire, on lines that stay Common (or Combined: "referer" "user-agent" after them) Log Format.
  const clf = /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "(.*?)" (\d{3}) (\d+|-)(?: "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*")?$/;
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
    // Who closed first, as Wireshark shows it: with Connection: close, the server's FIN.
    assert.match(stderr, /closed; the server closed first \(its FIN went out\); \d+ bytes in, \d+ bytes out/);
    // A keep-alive connection that the client ends: its FIN came first.
    await new Promise((resolve) => {
      const s = net.connect(verbose.port, '127.0.0.1', () => s.write('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.once('data', () => s.end());
      s.on('close', resolve);
    });
    await sleep(100);
    assert.match(verbose.output.stderr, /closed; the client closed first \(its FIN came in\)/);
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

test('--once with a second connection opened ahead (as Chromium does for /favicon.ico): only the first request is answered', async () => {
  const once = await startWebServer(['-d', site.www, '--once', '-v']);
  const open = (port) => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
  });
  const [first, second] = [await open(once.port), await open(once.port)];
  const answer = (socket, path) => new Promise((resolve) => {
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
  const page = answer(first, '/hello.txt');
  await sleep(50);
  const favicon = answer(second, '/favicon.ico');
  assert.match(await page, /^HTTP\/1\.1 200 OK/);
  assert.is(await favicon, '', 'the second connection got an answer');
  assert.equal(await within(once.exit, 5000, 'still running'), { code: 0, signal: null });
  assert.is(once.output.stdout.match(/"GET /g)?.length, 1, once.output.stdout);
  assert.match(once.output.stderr, /closed unanswered \(--once: one request is being served already\)/);
});

test('mistakes on the command line get the fix: a folder given where the port goes', async () => {
  const r = await run('web-server', [site.www]);
  assert.is(r.code, 64);
  assert.match(r.stderr, `is a folder, not a port or host: to serve it, use -d ${site.www}`);
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
  // Nothing was open: no promise of a wait.
  assert.match(interrupted.output.stdout, /Ctrl-C \(SIGINT\): no new connections; none is open, so stopping now/);
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
  // Timers count whole milliseconds: less is a usage error, never an internal error (70).
  for (const flag of ['--keep-alive', '--headers-timeout', '--send-timeout', '--grace']) {
    const tiny = await run('web-server', [flag, '0.0001', '127.0.0.1', String(server.port)]);
    assert.is(tiny.code, 64, `${flag} 0.0001: ${tiny.stderr}`);
    assert.match(tiny.stderr, `bad ${flag} "0.0001": give a number of seconds from 0.001 to 86400`);
  }
  const fastest = await startWebServer(['-d', site.www, '--headers-timeout', '0.001', '--request-timeout', '0.001', '--keep-alive', '0.001']);
  assert.ok(fastest.isRunning(), fastest.output.stderr);
  await fastest.stop();
  const busy = await run('web-server', ['127.0.0.1', String(server.port), '-d', site.www]);
  assert.is(busy.code, 71);
  assert.match(busy.stderr, /already in use/);
  // The long form of --no-listing works despite mri's --no-X rule.
  const noListing = await startWebServer(['-d', site.www, '--no-listing']);
  assert.is((await rawRequest(noListing.port, 'GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n')).status, 404);
  await noListing.stop();
});

test('-d a folder this user may not enter says "permission denied" (exit 77), not "no such folder"', async () => {
  // A parent folder without search permission. Root passes every permission check, so as root the
  // server runs as nobody (setpriv); as any other user the mode alone is enough.
  const base = join(site.base, 'locked-parent');
  mkdirSync(join(base, 'site'), { recursive: true });
  chmodSync(site.base, 0o755);
  chmodSync(base, 0o700);
  try {
    const asRoot = process.getuid() === 0;
    const command = asRoot ? ['/usr/bin/setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', bin('web-server')]]
      : [bin('web-server'), []];
    if (asRoot) assert.ok(existsSync('/usr/bin/setpriv'), 'setpriv (util-linux) is needed to run as nobody');
    if (!asRoot) chmodSync(base, 0o000);
    const denied = await run(command[0], [...command[1], '-d', join(base, 'site'), '127.0.0.1', String(await freePort())]);
    assert.is(denied.code, 77, denied.stderr);
    assert.match(denied.stderr, `web-server: cannot serve "${join(base, 'site')}": permission denied`);
    assert.not.match(denied.stderr, 'no such folder');
  } finally {
    chmodSync(base, 0o755);
  }
});

// ---- Hostile requests ----

const request = (target, { method = 'GET', version = 'HTTP/1.1', headers = 'Host: x\r\n' } = {}) =>
  `${method} ${target} ${version}\r\n${headers}Connection: close\r\n\r\n`;

/**
 * [what, raw request, expected status]: none may return a byte from outside the root. One row per
 * class: the full tables are in-process (parseTarget with tests/web-cases.mjs, hostHeaderProblem,
 * transferCodingProblem, statusForParseError); here each class goes through the real server once.
 */
const HOSTILE = [
  // Request targets, one per class of tests/web-cases.mjs.
  ...TARGET_CASES.filter(([, , , marks]) => marks?.e2e).map(([target, , kind, { e2e }]) => [`target: ${kind}`, request(target), e2e]),
  // What only the file system can say: symlinks, a FIFO, dot names.
  ['symlink to the secret', request('/secret-link.txt'), 403],
  ['symlink to /etc, then passwd', request('/etc-link/passwd'), 403],
  ['symlink to /etc, as a folder', request('/etc-link/'), 403],
  ['symlink that stays inside the root', request('/sub/hello-link.txt'), 200],
  ['a folder whose index.html is a symlink out of the root: listed, not served', request('/trap/'), 200],
  ['a FIFO is not a file', request('/fifo'), 403],
  ['.git/config', request('/.git/config'), 404],
  ['dotfile spelled %2e', request('/sub/%2ehidden.txt'), 404],
  ['CRLF in the query of a redirect stays encoded', request('/sub?%0d%0aSet-Cookie:%20owned=1'), 301],
  // What the parser refuses before any target is looked at.
  ['a raw NUL byte in the target', request('/a\0b'), 400],
  ['a space inside the target', 'GET /hello world.txt HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['a tab between method and target', 'GET\t/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['bare LF line ends', 'GET /hello.txt HTTP/1.1\nHost: x\n\n', 400],
  // Versions.
  ['HTTP/9.9', request('/', { version: 'HTTP/9.9' }), 505],
  ['FUBAR', request('/', { version: 'FUBAR' }), 400],
  ['HTTP/0.9 (no version)', 'GET /hello.txt\r\n\r\n', 400],
  // Sizes: a long target (the server's limit), a longer head (the parser's), a large header.
  ['a 10 KB request line', request(`/${'a'.repeat(10000)}`), 414],
  ['a 20 KB request line', request(`/${'a'.repeat(20000)}`), 414],
  ['a 20 KB header', request('/', { headers: `Host: x\r\nX-Big: ${'b'.repeat(20000)}\r\n` }), 431],
  // Methods.
  ['POST', request('/', { method: 'POST' }), 405],
  ['CONNECT to port 22', request('127.0.0.1:22', { method: 'CONNECT' }), 405],
  ['CONNECT with a path', request('/', { method: 'CONNECT' }), 400],
  ['an unknown method', request('/', { method: 'FOO' }), 501],
  ['HEAD with dot-dot', request('/../secret.txt', { method: 'HEAD' }), 403],
  // Framing.
  ['Content-Length and Transfer-Encoding together', request('/', { headers: 'Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n' }), 400],
  ['Transfer-Encoding: xchunked', request('/hello.txt', { headers: 'Host: x\r\nTransfer-Encoding: xchunked\r\n' }), 400],
  ['Transfer-Encoding: gzip, chunked (a coding not implemented)', request('/hello.txt', { headers: 'Host: x\r\nTransfer-Encoding: gzip, chunked\r\n' }), 501],
  // RFC 9112 §3.2: one Host line, a valid host[:port].
  ['HTTP/1.1 without Host', request('/hello.txt', { headers: '' }), 400],
  ['HTTP/1.0 without Host', request('/hello.txt', { headers: '', version: 'HTTP/1.0' }), 200],
  ['two Host lines', request('/hello.txt', { headers: 'Host: a.example\r\nHost: b.example\r\n' }), 400],
  ['a Host with userinfo', request('/hello.txt', { headers: 'Host: user@a.example\r\n' }), 400],
  ['an empty Host', request('/hello.txt', { headers: 'Host:\r\n' }), 200],
];

test(`hostile requests (${HOSTILE.length}): each gets its status, none leaks a byte from outside the root, the server keeps answering`, async () => {
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

test('a HEAD the parser refuses gets its 400 head and no body (the fuzz found the page sent after it)', async () => {
  const r = await rawRequest(server.port, 'HEAD etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.is(r.status, 400);
  assert.match(r.headers.connection, 'close');
  assert.ok(r.closed, 'closed after its head');
  assert.is(r.raw.length, r.raw.indexOf('\r\n\r\n') + 4, 'nothing after the head');
});

test('a hand-typed request with bare LF line ends (nc without -C) gets 400 that says how to send CR LF', async () => {
  const r = await rawRequest(server.port, 'GET /hello.txt HTTP/1.1\nHost: x\n\n');
  assert.is(r.status, 400);
  assert.match(r.body.toString(), 'must end in CR LF (\\r\\n), not a bare LF: use nc -C');
  // A bare CR is refused as well (it is no line end at all), without that advice.
  const cr = await rawRequest(server.port, 'GET /hello.txt HTTP/1.1\rHost: x\r\n\r\n');
  assert.is(cr.status, 400);
  assert.not.match(cr.body.toString(), 'nc -C');
});

test('a request whose framing is unknown (Transfer-Encoding: xchunked) is answered 400 with Connection: close, then closed', async () => {
  const r = await rawRequest(server.port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.is(r.status, 400);
  assert.is(r.headers.connection, 'close');
  // Only the one answer: what followed the unknown framing is not read as a request.
  const whole = await new Promise((resolve) => {
    const chunks = [];
    const s = net.connect(server.port, '127.0.0.1', () => s.write('GET /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('data', (c) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.setTimeout(3000, () => s.destroy());
  });
  assert.is(whole.match(/^HTTP\/1\.1 /gm)?.length, 1, whole);
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

test('--send-timeout: clients that never read their answer are closed and free their slots; a slow reader is not', async () => {
  writeFileSync(join(site.www, 'never-read.bin'), Buffer.alloc(32 << 20, 0x61));
  const server = await startWebServer(['-d', site.www, '--max-connections', '3', '--send-timeout', '1']);
  try {
    // Three clients ask for 32 MiB (far more than the kernel buffers) and read nothing.
    const askedAt = Date.now();
    const stalled = Array.from({ length: 3 }, () => {
      const s = net.connect({ host: '127.0.0.1', port: server.port }, () => s.write(request('/never-read.bin')));
      s.pause();
      s.on('error', () => {});
      let bytes = 0;
      s.on('data', (chunk) => { bytes += chunk.length; });
      return { s, got: new Promise((resolve) => s.on('close', () => resolve(bytes))) };
    });
    const closings = () => server.output.stderr.match(/took none of its answer/g)?.length ?? 0;
    while (closings() < 3 && Date.now() - askedAt < 5000) await sleep(50);
    const heldMs = Date.now() - askedAt;
    assert.is(closings(), 3, `after ${heldMs} ms: ${server.output.stderr}`);
    assert.ok(heldMs >= 900 && heldMs < 4000, `never-reading clients were held ${heldMs} ms`);
    // Closed: what was queued in the kernel reaches them, then the end, short of 32 MiB.
    for (const { s } of stalled) s.resume();
    for (const { got } of stalled) assert.ok(await got < 32 << 20, 'a closed client got the whole file');
    assert.is((await rawRequest(server.port, request('/hello.txt'))).status, 200);
    assert.match(server.output.stderr, /127\.0\.0\.1:\d+ took none of its answer for 1 s: closed \(--send-timeout\)/);
    // The access log shows each cut answer with the bytes that did go out, fewer than the file.
    const cut = [...server.output.stdout.matchAll(/"GET \/never-read\.bin HTTP\/1\.1" 200 (\d+)/g)].map((m) => Number(m[1]));
    assert.is(cut.length, 3);
    for (const bytes of cut) assert.ok(bytes < 32 << 20, `logged ${bytes} bytes for a cut answer`);

    // A client that reads in bursts (50 ms of reading, then 700 ms of none) keeps making
    // progress: it gets all 8 MiB.
    writeFileSync(join(site.www, 'slow-read.bin'), Buffer.alloc(8 << 20, 0x62));
    const received = await new Promise((resolve) => {
      let bytes = 0;
      const s = net.connect({ host: '127.0.0.1', port: server.port }, () => s.write(request('/slow-read.bin', { headers: 'Host: x\r\nConnection: close\r\n' })));
      const burst = () => {
        s.resume();
        setTimeout(() => { s.pause(); setTimeout(burst, 700); }, 50).unref();
      };
      s.once('data', () => setTimeout(() => { s.pause(); setTimeout(burst, 700); }, 50));
      s.on('data', (chunk) => { bytes += chunk.length; });
      s.on('error', () => resolve(bytes));
      s.on('close', () => resolve(bytes));
    });
    assert.ok(received > 8 << 20, `the slow reader got ${received} bytes`);
  } finally {
    await server.stop();
  }
});

test('a file cut short while it is sent closes the connection at once: the next pipelined answer never lands inside the body', async () => {
  const path = join(site.www, 'shrinking.bin');
  writeFileSync(path, Buffer.alloc(64 << 20, 0x63));
  const server = await startWebServer(['-d', site.www]);
  try {
    const chunks = [];
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(request('/shrinking.bin') + request('/hello.txt'));
    await new Promise((resolve) => socket.once('data', (chunk) => { chunks.push(chunk); socket.pause(); resolve(); }));
    truncateSync(path, 1 << 20);
    const cutAt = Date.now();
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.resume();
    await within(closed, 5000, 'the connection was not closed after the file shrank');
    assert.ok(Date.now() - cutAt < 3000, `closed ${Date.now() - cutAt} ms after the cut`);
    const bytes = Buffer.concat(chunks);
    assert.ok(bytes.length < 64 << 20, 'the whole original length arrived');
    assert.is(bytes.indexOf('HTTP/1.1', 10), -1, 'a second answer arrived inside the cut body');
    assert.match(server.output.stderr, /shrinking\.bin shrank while it was sent: \d+ of 67108864 bytes; connection closed/);
    // A file that grows while it is sent: only the length announced goes out.
    writeFileSync(path, Buffer.alloc(8 << 20, 0x64));
    const grown = [];
    const growing = net.connect({ host: '127.0.0.1', port: server.port });
    const done = new Promise((resolve) => growing.on('close', resolve));
    growing.write(request('/shrinking.bin', { headers: 'Host: x\r\nConnection: close\r\n' }));
    await new Promise((resolve) => growing.once('data', (chunk) => { grown.push(chunk); growing.pause(); resolve(); }));
    appendFileSync(path, Buffer.alloc(4 << 20, 0x65));
    growing.on('data', (chunk) => grown.push(chunk));
    growing.resume();
    await within(done, 10000, 'the growing download did not end');
    const answer = parseResponse(Buffer.concat(grown));
    assert.is(answer.headers['content-length'], String(8 << 20));
    assert.is(answer.raw.length - answer.raw.indexOf('\r\n\r\n') - 4, 8 << 20, 'more bytes than announced');
  } finally {
    await server.stop();
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
