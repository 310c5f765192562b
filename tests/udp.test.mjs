// udp-server and udp-client, the real binaries, over real loopback sockets; interop with Python
// peers that behave like the handout's UDPServer.py / UDPClient.py.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PYTHON3, bin, expectedUpper, withoutTerminalCodes, freePort, patternBytes, root, run, sleep, startProgram, testNeeding, udpExchange } from './helpers.mjs';

const PEERS = join(root, 'tests', 'peers');
const pythonTest = testNeeding(test, PYTHON3); // the handout's own programs as peers
let server;
let port;

test.before(async () => {
  port = await freePort('udp');
  server = await startProgram('udp-server', ['-v', '127.0.0.1', String(port)]);
});
test.after(async () => {
  await server?.stop();
});

test('the handout sample: hello, welcome -> HELLO, WELCOME', async () => {
  assert.ok(server.output.stdout.startsWith('The server is ready to receive\n'));
  const r = await run('udp-client', ['127.0.0.1', String(port), 'hello, welcome']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.toString(), 'HELLO, WELCOME\n');
});

test('the message is exactly what was typed: words after HOST PORT that look like options are sent', async () => {
  for (const [words, reply] of [[['5', '-', '3', '=', '2'], '5 - 3 = 2'], [['env', '-i'], 'ENV -I'], [['x', '--verbose'], 'X --VERBOSE']]) {
    const r = await run('udp-client', ['127.0.0.1', String(port), ...words]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.toString(), `${reply}\n`);
  }
});

test('piped stdin: one datagram per line, one reply line each', async () => {
  const r = await run('udp-client', ['127.0.0.1', String(port)], { input: 'one\ntwo & 3!\nstraße\n' });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.toString(), 'ONE\nTWO & 3!\nSTRAßE\n');
});

pythonTest('on a terminal, udp-client prompts like the handout and prints the reply', async () => {
  const r = await run('/usr/bin/python3', [join(PEERS, 'on_terminal.py'), 'hello, welcome', bin('udp-client'), '127.0.0.1', String(port)]);
  assert.is(r.code, 0, r.stdout.toString());
  const screen = withoutTerminalCodes(r.stdout.toString());
  assert.match(screen, 'Input lowercase sentence: hello, welcome\nHELLO, WELCOME\n');
});

test('every byte value in one datagram, and a 0-byte datagram, come back as the transform says', async () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.ok((await udpExchange(port, all)).equals(expectedUpper(all)));
  assert.is((await udpExchange(port, Buffer.alloc(0))).length, 0);
});

test('the largest IPv4 datagram (65507 bytes) comes back whole, through udp-client too', async () => {
  const big = patternBytes(65507, 3);
  assert.ok((await udpExchange(port, big)).equals(expectedUpper(big)));
  const text = 'q'.repeat(65507);
  const r = await run('udp-client', ['127.0.0.1', String(port), text]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.toString(), `${'Q'.repeat(65507)}\n`);
});

test('a 65508-byte message is refused before sending: exit 65, one line, nothing sent', async () => {
  const before = server.output.stderr.length;
  const r = await run('udp-client', ['127.0.0.1', String(port), 'q'.repeat(65508)]);
  assert.is(r.code, 65, r.stderr);
  assert.match(r.stderr, 'the message is 65508 bytes, but one UDP datagram carries at most 65507 bytes over IPv4');
  assert.is(r.stderr.trimEnd().split('\n').length, 1);
  await sleep(100);
  assert.not.match(server.output.stderr.slice(before), 'received 65508');
});

test('a stdin line longer than one datagram (< /dev/zero, no newline ever) is refused at once: exit 65, one line', async () => {
  const zero = openSync('/dev/zero', 'r');
  try {
    const child = spawn(bin('udp-client'), ['127.0.0.1', String(port)], { stdio: [zero, 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    const code = await new Promise((r) => child.on('close', r));
    clearTimeout(killer);
    assert.is(code, 65, stderr);
    assert.is(stderr.trimEnd().split('\n').length, 1, stderr);
    assert.match(stderr, 'one UDP datagram carries at most 65507 bytes over IPv4');
  } finally {
    closeSync(zero);
  }
  // A long line that does end is refused by its length too, and the lines before it were answered.
  const r = await run('udp-client', ['127.0.0.1', String(port)], { input: Buffer.concat([Buffer.from('ok\r\n'), Buffer.alloc(70000, 0x61), Buffer.from('\n')]) });
  assert.is(r.code, 65, r.stderr);
  assert.is(r.stdout.toString(), 'OK\n');
});

test('IPv6: the largest IPv6 datagram (65527 bytes) comes back whole; 65528 is refused', async () => {
  const p = await freePort('udp', '::1');
  const six = await startProgram('udp-server', ['-6', String(p)]);
  try {
    const big = patternBytes(65527, 5);
    assert.ok((await udpExchange(p, big, { host: '::1' })).equals(expectedUpper(big)));
    const r = await run('udp-client', ['::1', String(p), 'z'.repeat(65528)]);
    assert.is(r.code, 65);
    assert.match(r.stderr, 'at most 65527 bytes over IPv6');
  } finally {
    await six.stop();
  }
});

pythonTest('the handout\'s Python UDPClient against udp-server', async () => {
  const r = await run('/usr/bin/python3', [join(PEERS, 'handout_udp_client.py'), '127.0.0.1', String(port), 'hello, welcome']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.toString(), 'HELLO, WELCOME\n');
});

pythonTest('udp-client against the handout\'s Python UDPServer', async () => {
  const pyPort = await freePort('udp');
  const py = await startProgram('/usr/bin/python3', [join(PEERS, 'handout_udp_server.py'), '127.0.0.1', String(pyPort)]);
  try {
    const r = await run('udp-client', ['127.0.0.1', String(pyPort), 'hello, welcome']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.toString(), 'HELLO, WELCOME\n');
  } finally {
    await py.stop();
  }
});

test('handout Q2: udp-client with no server -> the ICMP port-unreachable is reported; exit 69, one line, fast', async () => {
  const nobody = await freePort('udp');
  const r = await run('udp-client', ['127.0.0.1', String(nobody), 'hello']);
  assert.is(r.code, 69, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1);
  assert.match(lines[0], `nothing listens on UDP port ${nobody} at 127.0.0.1`);
  assert.match(lines[0], 'ICMP');
  assert.ok(r.ms < 1000, `took ${r.ms} ms`);
});

test('a silent peer (port open, never answers): 1 + 2 retries, then "no reply after 3 tries", exit 75', async () => {
  const silent = dgram.createSocket('udp4');
  const received = [];
  silent.on('message', (m) => received.push(m.toString()));
  await new Promise((r) => silent.bind(0, '127.0.0.1', r));
  try {
    const r = await run('udp-client', ['-t', '0.2', '-r', '2', '127.0.0.1', String(silent.address().port), 'anyone?']);
    assert.is(r.code, 75, r.stderr);
    assert.match(r.stderr, `no reply from 127.0.0.1 port ${silent.address().port} after 3 tries of 0.2 s each`);
    assert.match(r.stderr, 'UDP is connectionless');
    assert.equal(received, ['anyone?', 'anyone?', 'anyone?']);
  } finally {
    silent.close();
  }
});

test('a late reply to an earlier try is not taken for the next message\'s answer', async () => {
  // A server that answers each datagram 450 ms late: every message is sent twice (timeout 0.3 s),
  // so a reply to the first copy arrives while the client waits for the next line's.
  const slow = dgram.createSocket('udp4');
  let open = true;
  slow.on('message', (m, r) => setTimeout(() => open && slow.send(expectedUpper(m), r.port, r.address), 450));
  await new Promise((r) => slow.bind(0, '127.0.0.1', r));
  try {
    const r = await run('udp-client', ['-t', '0.3', '-r', '3', '127.0.0.1', String(slow.address().port)], { input: 'one\ntwo\nthree\n' });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.toString(), 'ONE\nTWO\nTHREE\n');
  } finally {
    open = false;
    slow.close();
  }
});

test('a client that vanishes before its reply (ICMP back to the server) does not stop the server', async () => {
  for (let i = 0; i < 20; i++) {
    const gone = dgram.createSocket('udp4');
    await new Promise((r) => gone.bind(0, '127.0.0.1', r));
    gone.send(`bye ${i}`, port, '127.0.0.1');
    gone.close();
  }
  await sleep(200);
  assert.ok(server.isRunning());
  assert.is((await udpExchange(port, 'still there')).toString(), 'STILL THERE');
});

test('-v traces each datagram with the sender as address:port', async () => {
  await udpExchange(port, 'abc');
  await sleep(50);
  assert.match(server.output.stderr, /^\d\d:\d\d:\d\d\.\d{6} udp-server: received 3 bytes from 127\.0\.0\.1:\d+$/m);
  assert.match(server.output.stderr, /udp-server: sent 3 bytes to 127\.0\.0\.1:\d+$/m);
});

test('udp-server logs each datagram (client address:port, bytes in and out), like tcp-server a connection; -q hides it', async () => {
  const r = await run('udp-client', ['127.0.0.1', String(port), 'x']);
  assert.is(r.code, 0, r.stderr);
  await sleep(100);
  assert.match(server.output.stdout, /^127\.0\.0\.1:\d+: 1 byte in, 1 byte out$/m);
  assert.match(server.output.stdout, 'Only this host can connect (127.0.0.1 is a loopback address)');
  const quietPort = await freePort('udp');
  const quiet = await startProgram('udp-server', ['-q', '127.0.0.1', String(quietPort)], { ready: /^Only this host/m });
  try {
    assert.is(String(await udpExchange(quietPort, 'shh')), 'SHH');
  } finally {
    await quiet.stop();
  }
  assert.not.match(quiet.output.stdout, 'bytes in');
});

test('a second server on the same UDP port is refused (no SO_REUSEADDR): exit 71', async () => {
  const r = await run('udp-server', ['127.0.0.1', String(port)]);
  assert.is(r.code, 71, r.stderr);
  assert.match(r.stderr, 'address is already in use');
});

test('SIGTERM stops udp-server with exit 0', async () => {
  const p = await freePort('udp');
  const s = await startProgram('udp-server', ['127.0.0.1', String(p)]);
  const { code } = await s.stop();
  assert.is(code, 0);
});

test.run();
