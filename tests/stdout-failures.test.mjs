// A server's stdout that cannot be written any more (a full disk: `> /dev/full`, ENOSPC; a terminal
// that is gone: EIO) costs the log, never the service: the server says so once on stderr, serves
// on, and stops with exit 0. A client that cannot write its reply says why and exits 74.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON3, bin, freePort, removeLater, removeTempDirs, root, run, sleep, tcpExchange, testNeeding, udpExchange, waitForPort, whichCommand } from './helpers.mjs';

test.after(removeTempDirs);
const withPython = testNeeding(test, PYTHON3);

/** Starts a server with stdout as `stdout` (a descriptor) or through `wrapper`; stderr is kept. */
function startServer(program, args, { stdout, wrapper = [] } = {}) {
  const [file, ...rest] = [...wrapper, bin(program), ...args];
  const child = spawn(file, rest, { stdio: ['ignore', stdout ?? 'ignore', 'pipe'] });
  const server = { child, stderr: '', exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))) };
  child.stderr.on('data', (c) => { server.stderr += c; });
  return server;
}

async function stop(server) {
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
  const result = await server.exit;
  clearTimeout(timer);
  return result;
}

/** The uppercase exchange twice (a log line each), or a GET for web-server; resolves once it worked. */
async function exchanges(program, port) {
  for (const word of ['hello', 'again']) {
    if (program === 'udp-server') {
      let reply;
      for (let i = 0; i < 50 && reply === undefined; i++) reply = await udpExchange(port, word, { timeoutMs: 200 }).catch(() => undefined);
      assert.is(reply?.toString(), word.toUpperCase());
    } else if (program === 'web-server') {
      await waitForPort(port);
      assert.match((await tcpExchange(port, `GET /${word}.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toString(), /^HTTP\/1\.1 200 OK/);
    } else {
      await waitForPort(port);
      assert.is((await tcpExchange(port, word)).toString(), word.toUpperCase());
    }
  }
}

/** A folder web-server can serve hello.txt and again.txt from. */
function site() {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-stdout-'));
  removeLater(dir);
  for (const f of ['hello.txt', 'again.txt']) writeFileSync(join(dir, f), 'hi\n');
  return dir;
}

// [as the test names it, program, protocol, its options]
const SERVERS = [
  ['tcp-server', 'tcp-server', 'tcp', () => []],
  ['udp-server', 'udp-server', 'udp', () => []],
  ['web-server', 'web-server', 'tcp', () => ['-d', site()]],
  ['web-server --workers 2', 'web-server', 'tcp', () => ['--workers', '2', '-d', site()]],
];

for (const [label, program, proto, options] of SERVERS) {
  test(`${label} > /dev/full: "no space left" once on stderr, the log dropped, still serving, exit 0 on SIGTERM`, async () => {
    const port = await freePort(proto);
    const full = openSync('/dev/full', 'w');
    const server = startServer(program, [...options(), '127.0.0.1', String(port)], { stdout: full });
    closeSync(full);
    try {
      await exchanges(program, port);
      await sleep(200);
      assert.is(server.child.exitCode, null, `exited: ${server.stderr}`);
    } finally {
      assert.equal(await stop(server), { code: 0, signal: null }, server.stderr);
    }
    const lines = server.stderr.trimEnd().split('\n');
    // With --workers each process writes to stdout, and says it once.
    for (const line of lines) assert.is(line, `${program}: cannot write to stdout (no space left on its device: ENOSPC); no more log lines, still serving`);
    if (!label.includes('--workers')) assert.is(lines.length, 1, server.stderr);
  });
}

withPython('tcp-server and udp-server whose terminal is gone (EIO on stdout): said once, still serving, exit 0 on SIGTERM', async () => {
  const python = whichCommand(PYTHON3[0]) ?? whichCommand(PYTHON3[1]);
  for (const [program, proto] of [['tcp-server', 'tcp'], ['udp-server', 'udp']]) {
    const port = await freePort(proto);
    const server = startServer(program, ['127.0.0.1', String(port)], { wrapper: [python, join(root, 'tests', 'peers', 'lost_terminal.py')] });
    try {
      await exchanges(program, port);
    } finally {
      assert.equal(await stop(server), { code: 0, signal: null }, server.stderr);
    }
    assert.is(server.stderr, `${program}: cannot write to stdout (input/output error: EIO; was its terminal closed?); no more log lines, still serving\n`);
  }
});

test('tcp-client > /dev/full: it says it cannot write the reply and exits 74 (no "internal error")', async () => {
  const port = await freePort();
  const server = startServer('tcp-server', ['-q', '127.0.0.1', String(port)]);
  try {
    await waitForPort(port);
    const r = await run('/bin/sh', ['-c', `exec "$0" 127.0.0.1 ${port} hello > /dev/full`, bin('tcp-client')]);
    assert.is(r.code, 74, r.stderr);
    assert.is(r.stderr, 'tcp-client: cannot write to stdout (no space left on its device: ENOSPC)\n');
  } finally {
    await stop(server);
  }
});

test.run();
