// http-client against dist/web-server, Python's http.server and small Node servers written here
// for what those two never send (chunked bodies split anywhere, close-delimited bodies, 1xx,
// broken answers). Everything binds 127.0.0.1; every child is stopped by its PID.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { PYTHON3, bin, freePort, patternBytes, root, run, sleep, startProgram, testNeeding, waitForPort, whichCommand } from './helpers.mjs';
import { makeSite, startWebServer } from './web-helpers.mjs';

let site;
const FETCHED = ['/hello.txt', '/binary.bin', '/empty.txt', '/big.dat', '/name with spaces ü €.txt'];
let web;
let python;
let pythonPort;
const rawServers = [];
const pythonTest = testNeeding(test, PYTHON3);

test.before(async () => {
  site = makeSite();
  web = await startWebServer(['-d', site.www]);
  if (!whichCommand(PYTHON3[0])) return;
  pythonPort = await freePort();
  python = spawn(PYTHON3[0], ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', site.www, String(pythonPort)],
    { stdio: 'ignore' });
  await waitForPort(pythonPort);
});

test.after(async () => {
  await web?.stop();
  python?.kill('SIGTERM');
  for (const s of rawServers) s.close();
  site?.cleanup();
});

const client = (args, options) => run('http-client', args, options);

/** A raw TCP server on 127.0.0.1 that answers every connection with `respond(socket, request)`. */
async function rawServer(respond) {
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    socket.on('data', (c) => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) respond(socket, head);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  rawServers.push(server);
  return server.address().port;
}

test('against web-server: HOST PORT PATH and URL forms give every file byte-identical, status line on stderr', async () => {
  for (const path of FETCHED) {
    // The exercise's form, with the path as a person types it (spaces and UTF-8 unencoded).
    const r = await client(['127.0.0.1', String(web.port), path]);
    assert.is(r.code, 0, `${path}: ${r.stderr}`);
    assert.ok(r.stdout.equals(site.files[path]), `${path}: got ${r.stdout.length} bytes`);
    assert.is(r.stderr, 'HTTP/1.1 200 OK\n');
    const byUrl = await client([`${web.url}${path.split('/').map(encodeURIComponent).join('/')}`]);
    assert.ok(byUrl.stdout.equals(site.files[path]), `${path} by URL`);
  }
  const missing = await client(['127.0.0.1', String(web.port), '/no-such-file.txt']);
  assert.is(missing.code, 0, 'without -f, a 404 is an answer like any other');
  assert.is(missing.stderr, 'HTTP/1.1 404 Not Found\n');
  assert.match(missing.stdout.toString(), /<h1>404 Not Found<\/h1>/);
});

pythonTest('against Python http.server: bodies identical to the files', async () => {
  for (const path of FETCHED) {
    const r = await client(['127.0.0.1', String(pythonPort), path]);
    assert.is(r.code, 0, `${path}: ${r.stderr}`);
    assert.ok(r.stdout.equals(site.files[path]), `${path}: got ${r.stdout.length} bytes`);
    assert.match(r.stderr, /^HTTP\/1\.[01] 200 OK\n$/);
  }
});

test('-I sends HEAD and prints the head on stdout; -i prints the head before the body', async () => {
  const head = await client(['-I', `${web.url}/hello.txt`]);
  assert.is(head.code, 0);
  const text = head.stdout.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /\r\nContent-Length: 14\r\n/);
  assert.ok(text.endsWith('\r\n\r\n'), 'nothing after the head');
  assert.match(web.output.stdout, /"HEAD \/hello\.txt HTTP\/1\.1" 200 -/);
  const withHead = await client(['-i', `${web.url}/hello.txt`]);
  const out = withHead.stdout.toString('latin1');
  assert.match(out, /^HTTP\/1\.1 200 OK\r\n(.+\r\n)+\r\nHello, world!\n$/);
});

test('a reader that stops early (| head) ends the client quietly, not with an internal error', async () => {
  const r = await run('/bin/bash', ['-c', `${bin('http-client')} ${web.url}/big.dat | head -c 10 | wc -c; echo "status \${PIPESTATUS[0]}"`]);
  assert.is(r.stdout.toString(), '10\nstatus 74\n');
  assert.is(r.stderr, 'HTTP/1.1 200 OK\n');
});

test('-f: a 4xx or 5xx answer prints no body and exits 22; 2xx and 3xx exit 0', async () => {
  const missing = await client(['-f', `${web.url}/no-such-file.txt`]);
  assert.is(missing.code, 22);
  assert.is(missing.stdout.length, 0);
  assert.match(missing.stderr, /404 Not Found/);
  const forbidden = await client(['--fail', '127.0.0.1', String(web.port), '/../secret.txt']);
  assert.is(forbidden.code, 22);
  const redirect = await client(['-f', `${web.url}/sub`]);
  assert.is(redirect.code, 0);
  assert.is(redirect.stderr, 'HTTP/1.1 301 Moved Permanently\n');
});

test('-L follows redirects, keeping the query; a redirect loop stops at --max-redirects', async () => {
  const r = await client(['-L', `${web.url}/sub?x=1`]);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^HTTP\/1\.1 301 Moved Permanently -> \/sub\/\?x=1\nHTTP\/1\.1 200 OK\n$/);
  assert.match(r.stdout.toString(), /Index of \/sub\//);
  const loopPort = await rawServer((socket) => {
    socket.end('HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n');
  });
  const loop = await client(['-L', '--max-redirects', '3', `http://127.0.0.1:${loopPort}/`]);
  assert.is(loop.code, 76);
  assert.match(loop.stderr, /gave up after 3 redirects/);
  // A redirect to https:// cannot be followed: the 3xx is the answer, with a note why.
  const tlsPort = await rawServer((socket) => {
    socket.end('HTTP/1.1 301 Moved Permanently\r\nLocation: https://127.0.0.1/\r\nContent-Length: 5\r\n\r\nmoved');
  });
  const tls = await client(['-L', `http://127.0.0.1:${tlsPort}/`]);
  assert.is(tls.code, 0);
  assert.is(tls.stdout.toString(), 'moved');
  assert.match(tls.stderr, /^HTTP\/1\.1 301 Moved Permanently\nhttp-client: not following the redirect: .*TLS/);
});

test('-v shows the request and the response head as they crossed the wire', async () => {
  const r = await client(['-v', `${web.url}/hello.txt`]);
  assert.is(r.code, 0);
  assert.match(r.stderr, new RegExp(`> GET /hello\\.txt HTTP/1\\.1\\n\\s+> Host: 127\\.0\\.0\\.1:${web.port}\\n`));
  assert.match(r.stderr, /> Connection: close/);
  assert.match(r.stderr, /< HTTP\/1\.1 200 OK\n(.*\n)*\s+< Content-Length: 14/);
  assert.ok(r.stdout.equals(site.files['/hello.txt']));
  assert.is(r.stderr.split('HTTP/1.1 200 OK').length - 1, 1, `the status line once: ${r.stderr}`);
});

test('chunked: from a Node http server, and hand-written chunks split at every awkward byte', async () => {
  const body = patternBytes(100000, 3);
  const nodeServer = http.createServer((req, res) => {
    // No Content-Length: node:http sends these writes as chunks.
    for (let i = 0; i < body.length; i += 7000) res.write(body.subarray(i, i + 7000));
    res.end();
  });
  await new Promise((resolve) => nodeServer.listen(0, '127.0.0.1', resolve));
  rawServers.push(nodeServer);
  const fromNode = await client(['-i', `http://127.0.0.1:${nodeServer.address().port}/`]);
  assert.match(fromNode.stdout.toString('latin1'), /Transfer-Encoding: chunked/i);
  const viaNode = await client([`http://127.0.0.1:${nodeServer.address().port}/`]);
  assert.ok(viaNode.stdout.equals(body), `got ${viaNode.stdout.length} bytes`);

  // Upper- and lower-case hex, a chunk extension, a trailer, each piece in its own TCP segment.
  const sizes = [1, 15, 16, 255, 4096, 3000];
  const pieces = ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'];
  let offset = 0;
  for (const [i, size] of sizes.entries()) {
    const hex = i % 2 ? size.toString(16).toUpperCase() : size.toString(16);
    pieces.push(`${hex}${i === 2 ? ';name=value' : ''}\r\n`, body.subarray(offset, offset + size), '\r\n');
    offset += size;
  }
  pieces.push('0\r\nX-Trailer: yes\r\n\r\n');
  const port = await rawServer(async (socket) => {
    for (const piece of pieces) {
      // The size lines byte by byte: a decoder must keep its place mid-line.
      const parts = typeof piece === 'string' && piece.length < 20 ? [...piece] : [piece];
      for (const part of parts) {
        socket.write(part);
        await sleep(2);
      }
    }
    // Keep the connection open: the last chunk, not the close, must end the body.
  });
  const r = await client(['-t', '5', `http://127.0.0.1:${port}/`]);
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.stdout.equals(body.subarray(0, offset)), `got ${r.stdout.length} of ${offset} bytes`);
});

test('a body that ends when the server closes (no length, no chunks); 1xx interim answers are skipped', async () => {
  const body = patternBytes(30000, 5);
  const port = await rawServer((socket) => {
    socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    socket.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
    socket.end(body);
  });
  const r = await client([`http://127.0.0.1:${port}/`]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, 'HTTP/1.0 200 OK\n');
  assert.ok(r.stdout.equals(body));
});

test('a server that answers 100 Continue for ever: given up after 10 interim answers, exit 76, one line', async () => {
  const port = await rawServer((socket) => {
    // Bounded: 10 s at most, and not a moment after the client has gone.
    const timer = setInterval(() => socket.write('HTTP/1.1 100 Continue\r\n\r\n'), 5);
    const stop = setTimeout(() => socket.destroy(), 10000);
    socket.on('close', () => { clearInterval(timer); clearTimeout(stop); });
  });
  const started = Date.now();
  const r = await client([`http://127.0.0.1:${port}/`], { timeoutMs: 15000 });
  assert.is(r.code, 76, r.stderr);
  assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, 'sent more than 10 interim answers (1xx, the last "HTTP/1.1 100 Continue") and no final one');
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});

test('broken answers: a body cut short exits 74, garbage exits 76, silence with -t exits 75', async () => {
  const cut = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b'));
  const short = await client([`http://127.0.0.1:${cut}/`]);
  assert.is(short.code, 74);
  assert.match(short.stderr, /after 10 bytes of the body/);
  const garbage = await rawServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
  const notHttp = await client([`http://127.0.0.1:${garbage}/`]);
  assert.is(notHttp.code, 76);
  assert.match(notHttp.stderr, /did not answer with an HTTP status line/);
  const silent = await rawServer(() => {});
  const started = Date.now();
  const timedOut = await client(['-t', '1', `http://127.0.0.1:${silent}/`]);
  assert.is(timedOut.code, 75);
  assert.match(timedOut.stderr, /timed out/);
  assert.ok(Date.now() - started < 5000);
});

test('HOST PORT with no PATH fetches /', async () => {
  const r = await client(['127.0.0.1', String(web.port)]);
  assert.is(r.code, 0, r.stderr);
  assert.match(web.output.stdout, /"GET \/ HTTP\/1\.1" 200/);
});

/** A hostile server from tests/peers/hostile_server.py; resolves with its port and stop(). */
async function hostile(mode) {
  const peer = await startProgram('/usr/bin/python3', [join(root, 'tests', 'peers', 'hostile_server.py'), mode]);
  return { port: Number(/Listening on (\d+)/.exec(peer.output.stdout)[1]), stop: () => peer.stop() };
}

pythonTest('control characters from the wire (status line, Location) are escaped: no escape sequence, one line each', async () => {
  const peer = await hostile('http-escapes');
  try {
    for (const args of [[], ['-L', '--max-redirects', '0'], ['-v']]) {
      const r = await client([...args, '127.0.0.1', String(peer.port), '/']);
      assert.not.match(r.stderr, /[\x1b\x07\x9b]/, `a raw control character reached the terminal: ${JSON.stringify(r.stderr)}`);
      assert.match(r.stderr, 'HTTP/1.1 302 Moved\\x1b[31mRED\\x1b]0;pwned\\x07\\x9b2J');
      if (args[0] === '-L') {
        assert.is(r.code, 76, r.stderr);
        const lines = r.stderr.trimEnd().split('\n');
        assert.is(lines.length, 2, `status line and one error line: ${JSON.stringify(r.stderr)}`);
        assert.match(lines[1], '/next\\nFAKE LINE\\x1b[2J');
      }
    }
  } finally {
    await peer.stop();
  }
});

pythonTest('--max-time ends a trickled body (never idle for -t) and an endless one: exit 75 in time', async () => {
  for (const mode of ['http-trickle', 'http-endless']) {
    const peer = await hostile(mode);
    try {
      const r = await client(['--max-time', '1.5', '-t', '5', '127.0.0.1', String(peer.port), '/'], { timeoutMs: 15000 });
      assert.is(r.code, 75, `${mode}: ${r.stderr}`);
      assert.match(r.stderr, 'gave up after --max-time');
      assert.ok(r.ms < 5000, `${mode} took ${r.ms} ms`);
    } finally {
      await peer.stop();
    }
  }
});

test('IPv6: web-server on ::1, fetched by [::1] URL and by HOST PORT PATH', async () => {
  const port = await freePort('tcp', '::1').catch(() => undefined);
  if (port === undefined) return console.log('  (no IPv6 loopback here: skipped)');
  const v6 = await startProgram('web-server', ['::1', String(port), '-d', site.www], { ready: /Serving / });
  try {
    const byUrl = await client(['-v', `http://[::1]:${port}/hello.txt`]);
    assert.is(byUrl.code, 0, byUrl.stderr);
    assert.ok(byUrl.stdout.equals(site.files['/hello.txt']));
    assert.match(byUrl.stderr, new RegExp(`> Host: \\[::1\\]:${port}\\n`));
    const byArgs = await client(['::1', String(port), '/binary.bin']);
    assert.ok(byArgs.stdout.equals(site.files['/binary.bin']));
    assert.match(v6.output.stdout, /^::1 - - \[/m);
  } finally {
    await v6.stop();
  }
});

test('network errors: refused exits 69, unknown host exits 68', async () => {
  const port = await freePort();
  const refused = await client(['127.0.0.1', String(port), '/']);
  assert.is(refused.code, 69);
  assert.match(refused.stderr, /connection refused/);
  const unknown = await client(['http://no-such-host.invalid/']);
  assert.is(unknown.code, 68, unknown.stderr);
  assert.match(unknown.stderr, /unknown host "no-such-host\.invalid"/);
});

test('command line: --help, --version, no arguments, https://, a bad port', async () => {
  const help = await client(['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout.toString(), /http-client HOST PORT \[PATH\]/);
  assert.match((await client(['--version'])).stdout.toString(), /^http-client \d+\.\d+\.\d+/);
  assert.is((await client([])).code, 64);
  const tls = await client(['https://127.0.0.1/']);
  assert.is(tls.code, 64);
  assert.match(tls.stderr, /TLS/);
  assert.is((await client(['127.0.0.1', '99999', '/'])).code, 64);
  // Found by the stress suite: port 0 in a URL was dialled (exit 69), a 300-character name got a raw EINVAL.
  const zero = await client(['http://127.0.0.1:0/']);
  assert.is(zero.code, 64, zero.stderr);
  assert.match(zero.stderr, /^http-client: bad port "0"/);
  const long = await client([`http://${'x'.repeat(300)}/`]);
  assert.is(long.code, 64, long.stderr);
  assert.match(long.stderr, /a host name has at most 253/);
});

test.run();
