// web-server --workers N: one process binds the port and hands it to N worker processes. These
// tests look at the processes themselves (/proc), the bytes served, the shared access log, and
// every way of stopping them. Every server binds 127.0.0.1 and is stopped by its PID.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bin, freePort, isRunning, run, sleep, startProgram } from './helpers.mjs';
import { makeSite, parseResponse, rawRequest, startWebServer } from './web-helpers.mjs';

let site;

test.before(() => {
  site = makeSite();
});

test.after(() => {
  site?.cleanup();
});

const CLF = /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/hello\.txt HTTP\/1\.1" 200 \d+$/;

/** PIDs of the processes whose parent is `pid`, from /proc. */
function childrenOf(pid) {
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in field 2 may hold spaces; the parent PID is the 2nd field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

async function waitUntil(what, ok, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** `count` GETs at once, each on its own connection; resolves with their statuses and bodies. */
function getMany(port, path, count) {
  return Promise.all(Array.from({ length: count }, () => new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(10000, () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
  })));
}

test('--workers 2: two worker processes under the one started; both answer; every log line whole', async () => {
  const server = await startWebServer(['-d', site.www, '--workers', '2', '-v']);
  try {
    assert.match(server.output.stdout, /Serving .* \(this address only; 2 worker processes\)\. Stop with Ctrl-C\./);
    const workers = childrenOf(server.child.pid);
    assert.is(workers.length, 2, `children: ${workers}`);
    // The kernel hands each connection to whichever worker accepts first: over a few rounds of
    // 100 at once, both take some. Bounded: at most 5 rounds.
    let sent = 0;
    for (let round = 0; round < 5; round++) {
      const answers = await getMany(server.port, '/hello.txt', 100);
      sent += answers.length;
      for (const a of answers) {
        assert.is(a.status, 200);
        assert.ok(a.body.equals(site.files['/hello.txt']));
      }
      if (/worker 1: accepted/.test(server.output.stderr) && /worker 2: accepted/.test(server.output.stderr)) break;
    }
    assert.match(server.output.stderr, /web-server worker 1: accepted 127\.0\.0\.1:\d+/);
    assert.match(server.output.stderr, /web-server worker 2: accepted 127\.0\.0\.1:\d+/);
    await waitUntil(`${sent} log lines`, () => server.output.stdout.split('\n').filter((l) => l.startsWith('127.')).length >= sent);
    const logLines = server.output.stdout.split('\n').filter((l) => l.startsWith('127.'));
    assert.is(logLines.length, sent);
    for (const line of logLines) assert.match(line, CLF);
  } finally {
    await server.stop();
  }
});

test('--workers 2: a second server on the port is refused once (exit 71); a missing root is said once (exit 64)', async () => {
  const server = await startWebServer(['-d', site.www, '--workers', '2']);
  try {
    const second = await run(bin('web-server'), ['--workers', '2', '127.0.0.1', String(server.port)]);
    assert.is(second.code, 71);
    const lines = second.stderr.toString().trim().split('\n');
    assert.is(lines.length, 1, second.stderr.toString());
    assert.match(lines[0], /address is already in use/);
    const missing = await run(bin('web-server'), ['--workers', '2', '-d', '/nonexistent/folder', '127.0.0.1', String(await freePort())]);
    assert.is(missing.code, 64);
    assert.is(missing.stderr.toString().trim().split('\n').length, 1, missing.stderr.toString());
    // The first server did not notice any of it.
    assert.is((await rawRequest(server.port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200);
  } finally {
    await server.stop();
  }
});

test('--workers: 0, 65, many, 1.5 and --once with 2 are usage errors; auto starts one worker per core', async () => {
  for (const value of ['0', '65', 'many', '1.5']) {
    const r = await run(bin('web-server'), ['--workers', value, '127.0.0.1', '1']);
    assert.is(r.code, 64, value);
    assert.match(r.stderr.toString(), /^web-server: bad --workers ".*": give a whole number from 1 to 64, or auto for one per core\n$/);
  }
  const once = await run(bin('web-server'), ['--once', '--workers', '2', '127.0.0.1', '1']);
  assert.is(once.code, 64);
  assert.match(once.stderr.toString(), /--once serves one request, from one process: drop --workers/);
  const cores = availableParallelism();
  const auto = await startWebServer(['-d', site.www, '--workers', 'auto']);
  try {
    if (cores > 1) assert.match(auto.output.stdout, new RegExp(`; ${cores} worker processes\\)`));
    assert.is(childrenOf(auto.child.pid).length, cores > 1 ? cores : 0);
  } finally {
    await auto.stop();
  }
});

test('--workers 2, SIGTERM: a download in flight finishes, then the workers and the server exit 0', async () => {
  // Larger than loopback's socket buffers, so that the answer is still in flight while we do not read.
  const huge = Buffer.alloc(32 << 20, 0x61);
  writeFileSync(join(site.www, 'huge.txt'), huge);
  const server = await startWebServer(['-d', site.www, '--workers', '2']);
  const workers = childrenOf(server.child.pid);
  const socket = net.connect({ host: '127.0.0.1', port: server.port });
  socket.on('error', () => {});
  const chunks = [];
  socket.on('data', (c) => chunks.push(c));
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.write('GET /huge.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitUntil('the download starts', () => chunks.length > 0);
  socket.pause();
  server.child.kill('SIGTERM');
  await sleep(300);
  assert.ok(server.isRunning(), 'the server quit with a response in flight');
  socket.resume();
  await closed;
  const body = parseResponse(Buffer.concat(chunks)).body;
  assert.is(body.length, huge.length);
  assert.ok(body.equals(huge));
  assert.equal(await server.exit, { code: 0, signal: null });
  assert.is(server.output.stdout.match(/SIGTERM: no new connections/g)?.length, 1, server.output.stdout);
  for (const pid of workers) assert.not.ok(isRunning(pid), `worker ${pid} outlived the server`);
});

test('--workers 2, Ctrl-C (SIGINT to the whole process group): one stop line, exit 0, no worker left', async () => {
  const port = await freePort();
  // Its own process group, as a shell gives a command it runs: the group is what Ctrl-C signals.
  const child = spawn(bin('web-server'), ['-d', site.www, '--workers', '2', '127.0.0.1', String(port)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (c) => { stdout += c; });
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    await waitUntil('the server is ready', () => /Serving /.test(stdout));
    const workers = childrenOf(child.pid);
    assert.is(workers.length, 2);
    process.kill(-child.pid, 'SIGINT');
    assert.equal(await exit, { code: 0, signal: null });
    assert.is(stdout.match(/Ctrl-C \(SIGINT\): no new connections/g)?.length, 1, stdout);
    for (const pid of workers) assert.not.ok(isRunning(pid), `worker ${pid} outlived the server`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('--workers 2: a worker killed is started again, up to 5 times a minute; then the rest serve on, and with none left exit 75', async () => {
  const server = await startWebServer(['-d', site.www, '--workers', '2']);
  try {
    const [first] = childrenOf(server.child.pid);
    process.kill(first, 'SIGKILL');
    await waitUntil('the restart is reported', () => /worker \d \(pid \d+\) was killed by SIGKILL; started it again as pid \d+/.test(server.output.stderr));
    await waitUntil('two workers again', () => childrenOf(server.child.pid).length === 2);
    // The replacement accepts too: with the other worker stopped, it alone answers.
    const [a, b] = childrenOf(server.child.pid);
    process.kill(a, 'SIGSTOP');
    try {
      for (const r of await getMany(server.port, '/hello.txt', 5)) assert.is(r.status, 200);
    } finally {
      process.kill(a, 'SIGCONT');
    }
    process.kill(b, 'SIGSTOP');
    try {
      for (const r of await getMany(server.port, '/hello.txt', 5)) assert.is(r.status, 200);
    } finally {
      process.kill(b, 'SIGCONT');
    }
    // Four more deaths are restarted (five in all), the sixth is not, the last one ends it.
    for (let kill = 2; kill <= 7; kill++) {
      const [victim] = childrenOf(server.child.pid);
      process.kill(victim, 'SIGKILL');
      await waitUntil(`death ${kill} is reported`, () => server.output.stderr.includes(`(pid ${victim}) was killed`));
      if (kill === 6) for (const r of await getMany(server.port, '/hello.txt', 5)) assert.is(r.status, 200);
      if (kill < 6) await waitUntil('two workers again', () => childrenOf(server.child.pid).length === 2);
    }
    assert.match(server.output.stderr, /1 still serving \(not restarted: 5 restarts in the last minute already\)/);
    assert.match(server.output.stderr, /no worker process is left to serve; stopping/);
    assert.equal(await server.exit, { code: 75, signal: null });
  } finally {
    await server.stop();
  }
});

test('--workers 2: the server killed, the workers stop by themselves', async () => {
  const server = await startWebServer(['-d', site.www, '--workers', '2']);
  try {
    const [, second] = childrenOf(server.child.pid);
    server.child.kill('SIGKILL');
    await server.exit;
    await waitUntil(`worker ${second} stops without its supervisor`, () => !isRunning(second), 5000);
  } finally {
    await server.stop();
  }
});

test('socklab web-server --workers 2 (the every-program binary) starts its workers as web-server', async () => {
  const port = await freePort();
  const server = await startProgram('socklab', ['web-server', '-d', site.www, '--workers', '2', '127.0.0.1', String(port)], { ready: /Serving / });
  try {
    assert.is(childrenOf(server.child.pid).length, 2);
    for (const a of await getMany(port, '/hello.txt', 20)) assert.ok(a.body.equals(site.files['/hello.txt']));
    server.child.kill('SIGTERM');
    assert.equal(await server.exit, { code: 0, signal: null });
  } finally {
    await server.stop();
  }
});

test.run();
