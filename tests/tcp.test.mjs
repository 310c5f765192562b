// tcp-server and tcp-client, the real binaries, over real loopback sockets; interop with Python
// peers that behave exactly like the handout's TCPServer.py / TCPClient.py.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PYTHON3, bin, expectedUpper, withoutTerminalCodes, freePort, patternBytes, removeLater, removeTempDirs, root, run, sleep, startProgram, tcpExchange, testNeeding } from './helpers.mjs';

const PEERS = join(root, 'tests', 'peers');
const pythonTest = testNeeding(test, PYTHON3); // the handout's own programs as peers
let server; // one tcp-server on 127.0.0.1 for most tests
let port;

test.before(async () => {
  port = await freePort();
  server = await startProgram('tcp-server', ['--idle-timeout', '30', '127.0.0.1', String(port)]);
});
test.after(async () => {
  await server?.stop();
  removeTempDirs();
});

test('the handout sample: hello, welcome -> HELLO, WELCOME (ready line as in the handout)', async () => {
  assert.ok(server.output.stdout.startsWith('The server is ready to receive\n'));
  assert.match(server.output.stdout, `Listening on TCP 127.0.0.1:${port}`);
  await sleep(100); // the line after the ready line
  assert.match(server.output.stdout, 'Only this host can connect (127.0.0.1 is a loopback address); leave HOST out to let other hosts in.');
  const r = await run('tcp-client', ['127.0.0.1', String(port), 'hello,', 'welcome']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.toString(), 'HELLO, WELCOME\n');
});

test('the message is exactly what was typed: words after HOST PORT that look like options are sent', async () => {
  for (const [words, reply] of [
    [['5', '-', '3', '=', '2'], '5 - 3 = 2'],
    [['a', '-', 'b'], 'A - B'],
    [['it', 'is', '-5', 'today'], 'IT IS -5 TODAY'],
    [['env', '-i'], 'ENV -I'],
    [['--', '-v', 'stays'], '-V STAYS'],
  ]) {
    const r = await run('tcp-client', ['127.0.0.1', String(port), ...words]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.toString(), `${reply}\n`);
  }
});

for (const size of [1, 1023, 1024, 1025, 64 * 1024, 10 * 1024 * 1024]) {
  test(`${size} bytes of every byte value through tcp-client (stdin) and back, byte-identical to the a-z transform`, async () => {
    const data = patternBytes(size, size);
    const r = await run('tcp-client', ['127.0.0.1', String(port)], { input: data });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.length, size);
    assert.ok(r.stdout.equals(expectedUpper(data)), 'reply bytes differ');
  });
}

test('a slow reader of tcp-client\'s stdout still gets every byte (nothing dropped at exit)', async () => {
  const data = patternBytes(8 * 1024 * 1024, 99);
  const child = spawn(bin('tcp-client'), ['127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks = [];
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  child.stdout.pause(); // the pipe fills, tcp-client must wait for us rather than exit early
  const exited = new Promise((r) => child.on('close', r));
  child.stdin.end(data);
  await sleep(1000);
  child.stdout.on('data', (c) => chunks.push(c));
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const code = await exited;
  clearTimeout(timer);
  assert.is(code, 0, stderr);
  const out = Buffer.concat(chunks);
  assert.is(out.length, data.length);
  assert.ok(out.equals(expectedUpper(data)));
});

test('a raw socket that never half-closes, like the handout client, gets its reply at once', async () => {
  const reply = await new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('no fin here'));
    s.once('data', (d) => { resolve(d.toString()); s.destroy(); });
    s.on('error', reject);
    setTimeout(() => reject(new Error('no reply without FIN')), 3000);
  });
  assert.is(reply, 'NO FIN HERE');
});

pythonTest('the handout\'s Python TCPClient against tcp-server', async () => {
  const r = await run('/usr/bin/python3', [join(PEERS, 'handout_tcp_client.py'), '127.0.0.1', String(port), 'hello, welcome']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.toString(), 'from Server: HELLO, WELCOME\n');
});

pythonTest('tcp-client against the handout\'s Python TCPServer: 1024 bytes fit; 1025 are noticed as cut short (exit 76)', async () => {
  const pyPort = await freePort();
  const py = await startProgram('/usr/bin/python3', [join(PEERS, 'handout_tcp_server.py'), '127.0.0.1', String(pyPort)]);
  try {
    const ok = await run('tcp-client', ['127.0.0.1', String(pyPort), 'hello, welcome']);
    assert.is(ok.stdout.toString(), 'HELLO, WELCOME\n');
    assert.is(ok.code, 0);
    const fits = 'x'.repeat(1024);
    const full = await run('tcp-client', ['127.0.0.1', String(pyPort), fits]);
    assert.is(full.code, 0, full.stderr);
    assert.is(full.stdout.toString(), `${'X'.repeat(1024)}\n`);
    const cut = await run('tcp-client', ['127.0.0.1', String(pyPort), 'y'.repeat(1025)]);
    assert.is(cut.code, 76, cut.stderr);
    assert.is(cut.stdout.toString(), `${'Y'.repeat(1024)}\n`, 'what came back is still printed');
    assert.match(cut.stderr, '1024 of the 1025 bytes');
    assert.is(cut.stderr.trimEnd().split('\n').length, 1);
  } finally {
    await py.stop();
  }
});

test('handout Q1: tcp-client with no server -> exit 69, one line, refused, start the server first; fast', async () => {
  const nobody = await freePort();
  const r = await run('tcp-client', ['127.0.0.1', String(nobody), 'hello']);
  assert.is(r.code, 69);
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0], `connection refused by 127.0.0.1 port ${nobody}`);
  assert.match(lines[0], 'Start the server first, or check the port number');
  assert.ok(r.ms < 1000, `took ${r.ms} ms`);
});

test('handout Q3: wrong port -> refused names the port; the server on the right port is unaffected', async () => {
  const wrong = await freePort();
  const r = await run('tcp-client', ['127.0.0.1', String(wrong), 'hi']);
  assert.is(r.code, 69);
  assert.match(r.stderr, `nothing listens on TCP port ${wrong} at 127.0.0.1`);
  assert.is((await tcpExchange(port, 'still here')).toString(), 'STILL HERE');
});

pythonTest('connect timeout: a host that drops the SYN (full accept queue) -> exit 75 after -t, one line', async () => {
  const silent = await startProgram('/usr/bin/python3', [join(PEERS, 'full_backlog_listener.py')]);
  try {
    const silentPort = /Listening on (\d+)/.exec(silent.output.stdout)[1];
    const r = await run('tcp-client', ['-t', '0.5', '127.0.0.1', silentPort, 'hi'], { timeoutMs: 5000 });
    assert.is(r.code, 75, r.stderr);
    assert.match(r.stderr, `timed out connecting to 127.0.0.1 port ${silentPort} after 0.5 s`);
    assert.is(r.stderr.trimEnd().split('\n').length, 1);
  } finally {
    await silent.stop();
  }
});

pythonTest('on a terminal, tcp-client prompts like the handout and prints "from Server: ..."', async () => {
  const r = await run('/usr/bin/python3', [join(PEERS, 'on_terminal.py'), 'hello, welcome to lab', bin('tcp-client'), '127.0.0.1', String(port)]);
  assert.is(r.code, 0, r.stdout.toString());
  const screen = withoutTerminalCodes(r.stdout.toString());
  assert.match(screen, 'Input lowercase sentence: hello, welcome to lab\n');
  assert.match(screen, 'from Server: HELLO, WELCOME TO LAB\n');
});

pythonTest('tcp-client notices a server that closes before stdin has ended (the rest was never sent): exit 76', async () => {
  const pyPort = await freePort();
  const py = await startProgram('/usr/bin/python3', [join(PEERS, 'handout_tcp_server.py'), '127.0.0.1', String(pyPort)]);
  try {
    const child = spawn(bin('tcp-client'), ['127.0.0.1', String(pyPort)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.stdin.on('error', () => {});
    const exited = new Promise((r) => child.on('close', r));
    child.stdin.write('hello\n');
    await sleep(700); // the handout server has answered its one recv() and closed by now
    child.stdin.end('world\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    const code = await exited;
    clearTimeout(timer);
    assert.is(out, 'HELLO\n');
    assert.is(code, 76, err);
    assert.match(err, 'before the input ended');
    assert.match(err, 'the rest was never sent');
  } finally {
    await py.stop();
  }
});

pythonTest('1,000,001 bytes into the handout\'s TCPServer (a file, then a pipe): what came back of the whole input, the rest never sent; no buffer sizes', async () => {
  const pyPort = await freePort();
  const py = await startProgram('/usr/bin/python3', [join(PEERS, 'handout_tcp_server.py'), '127.0.0.1', String(pyPort)]);
  const folder = mkdtempSync(join(tmpdir(), 'socklab-1m-'));
  removeLater(folder);
  const input = Buffer.alloc(1_000_001, 'a');
  writeFileSync(join(folder, 'input.txt'), input);
  try {
    // `tcp-client HOST PORT < input.txt`: stdin is the file, whose size is known from the start.
    const fromFile = await run('/bin/sh', ['-c', `exec "$0" 127.0.0.1 ${pyPort} < "$1"`, bin('tcp-client'), join(folder, 'input.txt')]);
    // `cat input.txt | tcp-client HOST PORT`: a pipe, whose size is known only once it has ended.
    const fromPipe = await run('tcp-client', ['127.0.0.1', String(pyPort)], { input });
    for (const [how, r] of [['file', fromFile], ['pipe', fromPipe]]) {
      assert.is(r.code, 76, `${how}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.is(lines.length, 1, `${how}: ${r.stderr}`);
      const shown = r.stdout.length;
      assert.ok([0, 1024].includes(shown), `${how}: ${shown} bytes on stdout`);
      // The whole input's size, or none; what came back is what was printed; never a buffer's figure.
      assert.match(lines[0], new RegExp(`(after|sending back) ${shown}( of the 1000001)? bytes`), `${how}: ${lines[0]}`);
      for (const figure of lines[0].match(/\d{4,}/g)) assert.ok(['1024', '1000001', String(pyPort)].includes(figure), `${how}: ${figure} in ${lines[0]}`);
      assert.match(lines[0], /reads only the first 1024 bytes|the rest was never sent/, `${how}: ${lines[0]}`);
    }
    assert.match(fromFile.stderr, 'of the 1000001 bytes');
  } finally {
    await py.stop();
  }
});

test('an empty message: nothing on stdout, exit 0, and one line saying nothing was sent and nothing came back', async () => {
  for (const [args, input, said] of [[['127.0.0.1', String(port), ''], undefined, 'the message was empty'], [['127.0.0.1', String(port)], '', 'stdin was empty']]) {
    const r = await run('tcp-client', args, { input });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.length, 0);
    assert.is(r.stderr, `tcp-client: ${said}: nothing was sent (only the FIN that closes the connection), and nothing came back.\n`);
  }
});

pythonTest('on a terminal, an empty line at the prompt says so instead of printing nothing', async () => {
  const r = await run('/usr/bin/python3', [join(PEERS, 'on_terminal.py'), '', bin('tcp-client'), '127.0.0.1', String(port)]);
  assert.is(r.code, 0, r.stdout.toString());
  assert.match(withoutTerminalCodes(r.stdout.toString()), 'tcp-client: the sentence was an empty line: nothing was sent');
});

test('tcp-client gives up on a server that accepts, reads and never answers: --idle-timeout, exit 75', async () => {
  const silent = net.createServer({ allowHalfOpen: true }, (s) => s.on('data', () => {}));
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const r = await run('tcp-client', ['--idle-timeout', '0.3', '127.0.0.1', String(silent.address().port), 'hello?'], { timeoutMs: 5000 });
    assert.is(r.code, 75, r.stderr);
    assert.match(r.stderr, 'sent nothing for 0.3 s after our last byte');
    assert.is(r.stderr.trimEnd().split('\n').length, 1);
  } finally {
    silent.close();
  }
});

test('a reader that closes tcp-client\'s stdout early (| head) ends it quietly with 74, not an internal error', async () => {
  const child = spawn(bin('tcp-client'), ['127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => { err += c; });
  child.stdin.on('error', () => {});
  const exited = new Promise((r) => child.on('close', r));
  child.stdout.once('data', () => child.stdout.destroy());
  child.stdin.end(patternBytes(20 * 1024 * 1024, 5));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  const code = await exited;
  clearTimeout(timer);
  assert.is(code, 74, err);
  assert.not.match(err, 'internal error');
});

test('an unknown host name -> exit 68, one line', async () => {
  const r = await run('tcp-client', ['no-such-host.invalid', '12000', 'hi']);
  assert.is(r.code, 68, r.stderr);
  assert.match(r.stderr, /^tcp-client: unknown host "no-such-host.invalid"/);
});

test('an idle client does not block a second one', async () => {
  const idle = net.connect(port, '127.0.0.1');
  await new Promise((r) => idle.once('connect', r));
  try {
    const r = await run('tcp-client', ['127.0.0.1', String(port), 'second'], { timeoutMs: 3000 });
    assert.is(r.stdout.toString(), 'SECOND\n');
  } finally {
    idle.destroy();
  }
});

test('200 concurrent clients, 1 MiB each, every byte checked', async () => {
  const clients = Array.from({ length: 200 }, (_, i) => {
    const data = patternBytes(1024 * 1024, i + 1);
    return tcpExchange(port, data, { timeoutMs: 60000 }).then((reply) => reply.equals(expectedUpper(data)));
  });
  const results = await Promise.all(clients);
  assert.is(results.filter(Boolean).length, 200);
});

test('a client that resets mid-transfer (RST) leaves the server serving others', async () => {
  await new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(patternBytes(512 * 1024, 7));
      s.once('data', () => { s.resetAndDestroy(); resolve(); });
    });
    s.on('error', reject);
  });
  await sleep(100);
  assert.ok(server.isRunning());
  assert.is((await tcpExchange(port, 'after the reset')).toString(), 'AFTER THE RESET');
});

test('backpressure: a client that sends 100 MiB but reads nothing cannot grow the server', async () => {
  const rssBefore = rssKiB(server.child.pid);
  let written = 0;
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  s.pause(); // read nothing: the server's replies pile up in the kernel, then in the server
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  const deadline = Date.now() + 3000;
  while (written < 100 * 1024 * 1024 && Date.now() < deadline) {
    if (s.write(chunk)) { written += chunk.length; continue; }
    written += chunk.length;
    // Wait for drain, or give up waiting: a stalled write is exactly what backpressure looks like.
    await Promise.race([new Promise((r) => s.once('drain', r)), sleep(300)]);
    if (s.writableLength > 16 * 1024 * 1024) break;
  }
  await sleep(300);
  const rssAfter = rssKiB(server.child.pid);
  s.destroy();
  assert.ok(written < 100 * 1024 * 1024, `the sender was never slowed (${written} bytes accepted)`);
  assert.ok(rssAfter - rssBefore < 64 * 1024, `server RSS grew by ${rssAfter - rssBefore} KiB`);
  assert.is((await tcpExchange(port, 'ok')).toString(), 'OK');
});

test('IPv6 loopback and the dual-stack default: an IPv4 client is logged as plain IPv4', async () => {
  const p = await freePort('tcp', '::1');
  const dual = await startProgram('tcp-server', [String(p)]);
  try {
    assert.match(dual.output.stdout, `Listening on TCP [::]:${p} (all IPv6 and IPv4 addresses)`);
    const v6 = await run('tcp-client', ['::1', String(p), 'six']);
    assert.is(v6.stdout.toString(), 'SIX\n');
    const v4 = await run('tcp-client', ['-4', 'localhost', String(p), 'four']);
    assert.is(v4.stdout.toString(), 'FOUR\n');
    await sleep(100);
    assert.match(dual.output.stdout, /^\[::1\]:\d+: closed by client; 3 bytes in, 3 bytes out$/m);
    assert.match(dual.output.stdout, /^127\.0\.0\.1:\d+: closed by client; 4 bytes in, 4 bytes out$/m);
    assert.not.match(dual.output.stdout, '::ffff:');
  } finally {
    await dual.stop();
  }
});

test('-v traces the socket lifecycle with addresses, byte counts and who closed', async () => {
  const p = await freePort();
  const traced = await startProgram('tcp-server', ['-v', '127.0.0.1', String(p)]);
  try {
    const r = await run('tcp-client', ['-v', '127.0.0.1', String(p), 'trace me']);
    assert.is(r.stdout.toString(), 'TRACE ME\n');
    const stamp = /^\d\d:\d\d:\d\d\.\d{6} /m;
    assert.match(r.stderr, stamp);
    assert.match(r.stderr, new RegExp(`connected 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${p}`));
    assert.match(r.stderr, 'sent 8 bytes, then FIN');
    assert.match(r.stderr, 'closed: 8 bytes out, 8 bytes in');
    await sleep(100);
    assert.match(traced.output.stderr, new RegExp(`accepted 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${p}`));
    assert.match(traced.output.stderr, 'FIN received (the client sends no more)');
    assert.match(traced.output.stdout, 'closed by client; 8 bytes in, 8 bytes out');
  } finally {
    await traced.stop();
  }
});

test('one byte is "1 byte" in the log, not "1 bytes"', async () => {
  const r = await run('tcp-client', ['127.0.0.1', String(port), 'x']);
  assert.is(r.stdout.toString(), 'X\n', r.stderr);
  await sleep(100);
  assert.match(server.output.stdout, /closed by client; 1 byte in, 1 byte out$/m);
});

for (const proto of ['tcp', 'udp']) {
  pythonTest(`${proto}-server at a terminal: Ctrl-C's line starts on a fresh line, says Ctrl-C, no wait when nothing is open`, async () => {
    const p = await freePort(proto);
    const r = await run('/usr/bin/python3', [join(PEERS, 'on_terminal.py'), '--after', 'to let other hosts in', '^C', bin(`${proto}-server`), '127.0.0.1', String(p)]);
    const screen = withoutTerminalCodes(r.stdout.toString());
    assert.is(r.code, 0, screen);
    assert.match(screen, proto === 'tcp' ? '^C\nCtrl-C (SIGINT): no connections open; stopping\n' : '^C\nCtrl-C (SIGINT): stopping\n');
  });
}

test('--idle-timeout closes a silent connection; the log says the server closed it', async () => {
  const p = await freePort();
  const short = await startProgram('tcp-server', ['--idle-timeout', '0.3', '127.0.0.1', String(p)]);
  try {
    const closedAfter = await new Promise((resolve, reject) => {
      const started = Date.now();
      const s = net.connect(p, '127.0.0.1');
      s.on('close', () => resolve(Date.now() - started));
      s.on('error', () => {});
      setTimeout(() => { s.destroy(); reject(new Error('not closed by the idle timeout')); }, 5000);
    });
    assert.ok(closedAfter >= 250, `closed after ${closedAfter} ms`);
    await sleep(100);
    assert.match(short.output.stdout, 'closed by server (idle for 0.3 s)');
  } finally {
    await short.stop();
  }
});

test('--idle-timeout keeps a client that sends a little at a time, each pause shorter than the timeout', async () => {
  const p = await freePort();
  const short = await startProgram('tcp-server', ['--idle-timeout', '0.5', '127.0.0.1', String(p)]);
  try {
    const s = net.connect(p, '127.0.0.1');
    await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
    let replies = '';
    let closed = false;
    s.on('data', (c) => { replies += c; });
    s.on('close', () => { closed = true; });
    // 1.6 s in all, three times the timeout, one letter every 0.2 s.
    for (const letter of 'abcdefgh') {
      s.write(letter);
      await sleep(200);
      assert.not.ok(closed, `closed after "${replies}": an active connection was taken for idle`);
    }
    assert.is(replies, 'ABCDEFGH');
    s.destroy();
  } finally {
    await short.stop();
  }
});

test('a reader that closes tcp-server\'s stdout (| head) does not stop it: it says so once and serves on', async () => {
  const p = await freePort();
  const child = spawn(bin('tcp-server'), ['127.0.0.1', String(p)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => { err += c; });
  try {
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    for (let i = 0; i < 5; i++) assert.is((await tcpExchange(p, `n${i}`)).toString(), `N${i}`);
    await sleep(100);
    assert.is(child.exitCode, null, `exited: ${err}`);
    assert.match(err, 'stdout was closed; no more log lines, still serving');
    assert.is(err.trimEnd().split('\n').length, 1, err);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.on('exit', r) : r()));
  }
});

test('a second server on the same port is refused: exit 71, one line', async () => {
  const r = await run('tcp-server', ['127.0.0.1', String(port)]);
  assert.is(r.code, 71, r.stderr);
  assert.match(r.stderr, 'address is already in use');
  assert.is(r.stderr.trimEnd().split('\n').length, 1);
});

test('SIGTERM: no new connections, an open transfer finishes, then exit 0', async () => {
  const p = await freePort();
  const s1 = await startProgram('tcp-server', ['--grace', '5', '127.0.0.1', String(p)]);
  const socket = net.connect(p, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const chunks = [];
  socket.on('data', (c) => chunks.push(c));
  socket.write('before ');
  await sleep(100);
  s1.child.kill('SIGTERM');
  await sleep(200);
  const refused = await run('tcp-client', ['127.0.0.1', String(p), 'new']);
  assert.is(refused.code, 69, 'no new connections while stopping');
  socket.end('after');
  await new Promise((r) => socket.once('close', r));
  assert.is(Buffer.concat(chunks).toString(), 'BEFORE AFTER');
  const { code } = await s1.exit;
  assert.is(code, 0);
});

test('under ulimit -n 64, 150 clients at once: the excess is refused and said once on stderr; all served once they go', async () => {
  const limitedPort = await freePort();
  const limited = await startProgram('/usr/bin/prlimit', ['--nofile=64:64', bin('tcp-server'), '-q', '127.0.0.1', String(limitedPort)]);
  try {
    // Each client sends a line and keeps its connection open: an answer, or a close without one.
    const ask = (text) => new Promise((resolve) => {
      const s = net.connect(limitedPort, '127.0.0.1', () => s.write(text));
      s.on('data', (d) => resolve({ s, reply: d.toString() }));
      s.on('error', () => resolve({ s, reply: null }));
      s.on('close', () => resolve({ s, reply: null }));
    });
    const rush = await Promise.all(Array.from({ length: 150 }, (_, i) => ask(`client ${i}`)));
    const served = rush.filter((r, i) => r.reply === `CLIENT ${i}`).length;
    const refused = rush.filter((r) => r.reply === null).length;
    assert.ok(served > 0 && refused > 0 && served + refused === 150, `${served} served, ${refused} refused`);
    for (const r of rush) r.s.destroy();
    await sleep(500);
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => tcpExchange(limitedPort, `again ${i}`)));
    again.forEach((reply, i) => assert.is(reply.toString(), `AGAIN ${i}`));
    // Before the fix: not a word (libuv closed the excess silently when accept() failed with EMFILE).
    const lines = limited.output.stderr.trimEnd().split('\n');
    assert.is(lines.length, 1, limited.output.stderr);
    assert.match(lines[0], /connections open, the most that the file-descriptor limit \(ulimit -n 64\) leaves room for/);
  } finally {
    await limited.stop();
  }
});

function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

test.run();
