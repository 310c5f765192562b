// lab-check, the real binary, against real servers on loopback: the handout's own programs
// (tests/peers), a corpus of student servers with one classic mistake each (tests/students), and
// socklab's own servers. Each row says what lab-check --json must answer, check by check.
// The runs go four at a time with -t 1; lab-check starts and stops each server itself (--run).
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bin, freePort, isRunning, removeLater, removeTempDirs, root, run, startProgram } from './helpers.mjs';

const TIMEOUT = '1';
// The served folder is made in test.before, not when this file is imported: uvu imports every
// test file first, and an earlier file's test.after (removeTempDirs) would delete it.
let site = '';
// Two letters beyond a-z (é, ß: 2 bytes each in UTF-8), so characters and bytes differ.
const page = Buffer.from('<html><body><h1>Hello, café</h1><p>straße</p></body></html>\n');
// A PNG signature and bytes that are not UTF-8: what text-mode reads break.
const image = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 151 + 7) & 0xff))]);
function makeSite() {
  site = removeLater(mkdtempSync(join(tmpdir(), 'lab-check-site-')));
  writeFileSync(join(site, 'hello.html'), page);
  writeFileSync(join(site, 'cat.png'), image);
}
const webArgs = () => ['/hello.html', '--local', join(site, 'hello.html'), '--binary', '/cat.png', '--binary-local', join(site, 'cat.png')];

const python = (file) => (port) => `python3 '${join(root, 'tests', file)}' ${file.startsWith('peers/') ? '127.0.0.1 ' : ''}${port} '${site}'`;
const socklab = (name, ...extra) => (port) => `'${bin(name)}' 127.0.0.1 ${port} ${extra.join(' ')}`;

/** Each server, and the checks lab-check must not PASS (every other check must PASS). */
const CORPUS = [
  { name: 'handout TCPServer.py', kind: 'tcp', command: python('peers/handout_tcp_server.py'), warn: ['long-message', 'split-message', 'concurrent'] },
  { name: 'correct TCP server', kind: 'tcp', command: python('students/tcp_correct.py') },
  { name: 'TCP decode().upper()', kind: 'tcp', command: python('students/tcp_str_upper.py'), fail: ['only-a-z', 'binary-safe'], died: ['binary-safe'], warn: ['long-message', 'split-message', 'concurrent'] },
  { name: 'TCP swapcase()', kind: 'tcp', command: python('students/tcp_swapcase.py'), fail: ['only-a-z', 'binary-safe'], warn: ['long-message', 'split-message', 'concurrent'] },
  { name: 'TCP decode, then crash on binary', kind: 'tcp', command: python('students/tcp_decode_crash.py'), fail: ['binary-safe'], died: ['binary-safe'], warn: ['long-message', 'split-message', 'concurrent'] },
  { name: 'socklab tcp-server', kind: 'tcp', command: socklab('tcp-server') },
  { name: 'handout UDPServer.py', kind: 'udp', command: python('peers/handout_udp_server.py'), warn: ['large-datagram'] },
  { name: 'correct UDP server', kind: 'udp', command: python('students/udp_correct.py') },
  { name: 'UDP replies to a fixed port', kind: 'udp', command: python('students/udp_fixed_port.py'), fail: ['reply', 'only-a-z', 'binary-safe', 'reply-to-sender', 'large-datagram', 'survives'] },
  { name: 'UDP decode().upper()', kind: 'udp', command: python('students/udp_str_upper.py'), fail: ['only-a-z', 'binary-safe', 'survives'], died: ['binary-safe', 'survives'], warn: ['large-datagram'] },
  { name: 'socklab udp-server', kind: 'udp', command: socklab('udp-server') },
  { name: 'handout WebServer.py (the skeleton, completed)', kind: 'web', command: python('students/web_handout.py'),
    warn: ['content-type', 'content-length', 'concurrent'], fail: ['body', 'binary-body', 'traversal', 'survives'], died: ['binary-body', 'survives'] },
  { name: 'correct web server', kind: 'web', command: python('students/web_correct.py') },
  { name: 'web: no empty line after the headers', kind: 'web', command: python('students/web_no_blank_line.py'), fail: ['headers-end'] },
  { name: 'web: 200 for a missing file', kind: 'web', command: python('students/web_200_missing.py'), fail: ['not-found'] },
  { name: 'web: Content-Length in characters', kind: 'web', command: python('students/web_length_chars.py'), fail: ['content-length', 'body', 'binary-body'] },
  { name: 'web: text-mode file reads', kind: 'web', command: python('students/web_text_mode.py'), fail: ['binary-body'] },
  { name: 'web: serves ../', kind: 'web', command: python('students/web_serves_dotdot.py'), fail: ['traversal'] },
  { name: 'socklab web-server', kind: 'web', command: (port) => `${socklab('web-server')(port)} -d '${site}'` },
];
const IDS = {
  tcp: ['connect', 'sample', 'only-a-z', 'binary-safe', 'long-message', 'split-message', 'half-close', 'concurrent', 'survives'],
  udp: ['reply', 'only-a-z', 'binary-safe', 'reply-to-sender', 'large-datagram', 'empty-datagram', 'survives'],
  web: ['connect', 'status-line', 'headers-end', 'content-type', 'content-length', 'body', 'binary-body', 'not-found',
    'split-request', 'browser-request', 'traversal', 'concurrent', 'survives'],
};

/** lab-check --run on a free port; resolves with exit code, parsed JSON (or text) and stderr. */
async function check(kind, command, { json = true, extra = [] } = {}) {
  const port = await freePort(kind === 'udp' ? 'udp' : 'tcp');
  const args = [...(json ? ['--json'] : []), '-t', TIMEOUT, kind, '127.0.0.1', String(port), ...(kind === 'web' ? webArgs() : []), ...extra, '--run', command(port)];
  const r = await run('lab-check', args, { timeoutMs: 60000 });
  return { code: r.code, report: json ? JSON.parse(r.stdout.toString() || 'null') : r.stdout.toString(), stderr: r.stderr, ms: r.ms, args };
}

/** Runs the jobs `width` at a time: lab-check waits on sockets most of the time, but 2 cores are shared. */
async function inParallel(width, jobs) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) { const i = next++; results[i] = await jobs[i](); }
  }));
  return results;
}

const results = new Map();
let handoutWebText;
test.before(async () => {
  makeSite();
  const jobs = CORPUS.map((entry) => async () => results.set(entry.name, await check(entry.kind, entry.command)));
  jobs.push(async () => { handoutWebText = await check('web', python('students/web_handout.py'), { json: false }); });
  await inParallel(4, jobs);
});
test.after(() => removeTempDirs());

for (const entry of CORPUS) {
  test(`${entry.name}: ${[...(entry.fail ?? []).map((id) => `${id} FAIL`), ...(entry.warn ?? []).map((id) => `${id} WARN`)].join(', ') || 'all PASS'}`, () => {
    const { code, report, stderr, args } = results.get(entry.name);
    const got = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    const want = Object.fromEntries(IDS[entry.kind].map((id) => [id, entry.fail?.includes(id) ? 'fail' : entry.warn?.includes(id) ? 'warn' : 'pass']));
    assert.equal(got, want, `lab-check ${args.join(' ')}\n${JSON.stringify(report.checks, null, 1)}\n${stderr}`);
    assert.equal(report.checks.map((c) => c.id), IDS[entry.kind], 'every id, in order');
    assert.is(code, entry.fail ? 1 : 0, stderr);
    assert.is(report.kind, entry.kind);
    assert.match(report.target, /^127\.0\.0\.1:\d+$/);
    assert.equal(report.counts, { pass: 0, warn: 0, fail: 0, skip: 0, ...countOf(report.checks) });
    for (const c of report.checks) {
      assert.equal(Object.keys(c), ['id', 'status', 'summary', 'detail']);
      if (c.status === 'warn' || c.status === 'fail') assert.match(c.detail, /^what it did: .+\nwhat to change: .+/, c.id);
      // A check that killed the server says so, and shows what the server printed as it died.
      const died = entry.died?.includes(c.id) ?? false;
      assert.is(c.summary.includes('died'), died, `${c.id}: ${c.summary}`);
      if (died) assert.match(c.detail, /its output \(last lines\):\n(.|\n)*(Error|Traceback)/, c.id);
    }
  });
}

function countOf(checks) {
  const counts = {};
  for (const c of checks) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return counts;
}

test('the mistakes are named in the lab\'s words: str.upper(), swapcase, recv(1024), sendto, text mode, characters', () => {
  const detail = (name, id) => results.get(name).report.checks.find((c) => c.id === id).detail;
  assert.match(detail('TCP decode().upper()', 'only-a-z'), 'str.upper()');
  assert.match(detail('TCP swapcase()', 'only-a-z'), 'swapcase()');
  assert.match(detail('handout TCPServer.py', 'long-message'), 'recv(1024)');
  assert.match(detail('UDP replies to a fixed port', 'reply-to-sender'), 'clientAddress');
  assert.match(detail('handout UDPServer.py', 'large-datagram'), 'recvfrom(2048)');
  assert.match(detail('web: Content-Length in characters', 'content-length'), 'counted characters');
  assert.match(detail('web: text-mode file reads', 'binary-body'), 'open(name, "rb")');
  assert.match(detail('handout WebServer.py (the skeleton, completed)', 'survives'), 'IndexError');
  assert.match(detail('TCP decode, then crash on binary', 'binary-safe'), 'UnicodeDecodeError');
});

test('the text report for the handout\'s WebServer.py: one line per check, what to change, the traceback, a summary', () => {
  const { code, report } = handoutWebText;
  assert.is(code, 1);
  const lines = report.split('\n');
  assert.match(lines[0], /^lab-check web 127\.0\.0\.1:\d+$/);
  for (const id of IDS.web) assert.ok(lines.some((l) => new RegExp(`^(PASS|WARN|FAIL|SKIP) ${id} `).test(l)), id);
  assert.match(report, /\nWARN content-type +no Content-Type/);
  assert.match(report, /\nFAIL body +the body has 2 bytes more/);
  assert.match(report, /\n {7}what to change: /);
  assert.match(report, /\n {9}\| IndexError: list index out of range\n/);
  assert.match(report, /\n13 checks: 6 passed, 3 warned, 4 failed\.\n$/);
});

test('without --run, a server that dies takes the remaining checks with it: SKIP, and the killing check says so', async () => {
  const port = await freePort();
  const server = await startProgram('/usr/bin/env', ['python3', join(root, 'tests', 'students', 'tcp_decode_crash.py'), String(port)], { ready: /ready to receive/ });
  const r = await run('lab-check', ['--json', '-t', TIMEOUT, 'tcp', '127.0.0.1', String(port)]);
  await server.exit;
  assert.is(r.code, 1, r.stderr);
  const checks = JSON.parse(r.stdout.toString()).checks;
  assert.equal(checks.map((c) => c.status), ['pass', 'pass', 'pass', 'fail', 'skip', 'skip', 'skip', 'skip', 'skip']);
  assert.match(checks[3].summary, 'the server died during this check');
  assert.match(checks[4].summary, 'not run: the server died during the binary-safe check');
  assert.match(server.output.stderr, 'UnicodeDecodeError');
});

test('nothing listens: exit 69, the clients\' explanation, and JSON with connect FAIL and the rest SKIP', async () => {
  const port = await freePort();
  const r = await run('lab-check', ['--json', '-t', TIMEOUT, 'tcp', '127.0.0.1', String(port)]);
  assert.is(r.code, 69);
  assert.match(r.stderr, `connection refused by 127.0.0.1 port ${port}: nothing listens on TCP port ${port}`);
  assert.match(r.stderr, 'Start the server first');
  const report = JSON.parse(r.stdout.toString());
  assert.equal(report.checks.map((c) => c.status), ['fail', ...Array(8).fill('skip')]);
  assert.equal(report.counts, { pass: 0, warn: 0, fail: 1, skip: 8 });
  const udpPort = await freePort('udp');
  const u = await run('lab-check', ['-t', TIMEOUT, 'udp', '127.0.0.1', String(udpPort)]);
  assert.is(u.code, 69);
  assert.match(u.stdout.toString(), /^FAIL reply +nothing answers at 127\.0\.0\.1:\d+\.\n {7}what it did: nothing listens on UDP port \d+/m);
  assert.match(u.stdout.toString(), 'ICMP "port unreachable" (UDP itself never reports an error)');
  assert.is(u.stderr, '', 'the text report says it once, on stdout');
});

const USAGE_MISTAKES = [
  [[], 'missing what to check: tcp, udp or web'],
  [['ftp', '127.0.0.1', '21'], 'unknown kind "ftp"'],
  [['tcp', '127.0.0.1'], 'missing PORT'],
  [['web', '127.0.0.1', '6789'], 'missing PATH'],
  [['web', '127.0.0.1', '6789', 'hello.html'], 'PATH "hello.html" must start with /'],
  [['tcp', '127.0.0.1', '12000', '--local', 'x'], '--local is for web checks only'],
  [['tcp', '127.0.0.1', '99999'], 'bad port "99999"'],
  [['tcp', '127.0.0.1', '12000', 'python3', 'TCPServer.py'], 'quote the --run command'],
  [['web', '127.0.0.1', '6789', '/a', '--local', '/nonexistent/lab-check'], '--local /nonexistent/lab-check: cannot read it (ENOENT)'],
  [['tcp', '127.0.0.1', '12000', '-t', '0'], 'bad --timeout "0"'],
];
test('usage mistakes: exit 64 and one line that says what was wrong', async () => {
  // All at once: each is a start of the 110 MB binary and nothing more.
  const results = await Promise.all(USAGE_MISTAKES.map(([args]) => run('lab-check', args)));
  for (const [i, r] of results.entries()) {
    const [args, message] = USAGE_MISTAKES[i];
    const what = `lab-check ${args.join(' ')}: ${r.stderr}`;
    assert.is(r.code, 64, what);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, what);
    assert.match(r.stderr, message, what);
    assert.is(r.stdout.length, 0, what);
  }
});

test('--run: a server that exits before listening: exit 69 with its output; the port taken already: exit 71', async () => {
  const port = await freePort();
  const r = await run('lab-check', ['-t', TIMEOUT, 'tcp', '127.0.0.1', String(port), '--run', 'echo "Traceback: no port given"; exit 3']);
  assert.is(r.code, 69, r.stderr);
  assert.match(r.stdout.toString(), 'exited before it listened on TCP port');
  assert.match(r.stdout.toString(), '| Traceback: no port given');
  const taken = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  const t = await run('lab-check', ['-t', TIMEOUT, 'tcp', '127.0.0.1', String(taken.address().port), '--run', 'sleep 30']);
  taken.close();
  assert.is(t.code, 71, t.stderr);
  assert.match(t.stderr, 'is already in use before your server starts');
});

test('--run stops the server it started (by its process group) when the checks end', async () => {
  const port = await freePort();
  const r = await run('lab-check', ['-v', '-t', TIMEOUT, 'tcp', '127.0.0.1', String(port), '--run', `python3 '${join(root, 'tests', 'students', 'tcp_correct.py')}' ${port}`]);
  assert.is(r.code, 0, r.stderr);
  const pid = Number(/--run: started .* as PID (\d+)/.exec(r.stderr)?.[1]);
  assert.ok(pid > 0, r.stderr);
  assert.not.ok(isRunning(pid), `PID ${pid} still runs`);
});

test('-v shows every byte, and nothing from the wire reaches the terminal raw', async () => {
  // A hostile server: its replies try to clear the screen, retitle the window and ring the bell.
  const evil = '\x1b[2J\x1b]0;owned\x07\r\x9b31m';
  const server = net.createServer((socket) => {
    socket.on('data', () => socket.write(evil));
    socket.on('error', () => {});
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const r = await run('lab-check', ['-v', '-t', '0.3', 'tcp', '127.0.0.1', String(server.address().port)]);
  server.close();
  assert.is(r.code, 1);
  const everything = r.stdout.toString() + r.stderr;
  assert.not.match(everything, /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/, 'no control characters but newline and tab');
  assert.match(r.stderr, /lab-check: sent 14 bytes: "hello, welcome"/);
  assert.match(r.stderr, /received \d+ bytes: "\\x1b\[2J\\x1b\]0;owned\\x07\\r\\x9b31m/);
});

test('IPv6: socklab\'s tcp-server on ::1 passes every check; the target is written [::1]:PORT', async () => {
  const port = await freePort('tcp', '::1');
  const r = await run('lab-check', ['--json', '-t', TIMEOUT, 'tcp', '::1', String(port), '--run', `'${bin('tcp-server')}' ::1 ${port}`]);
  assert.is(r.code, 0, r.stdout.toString() + r.stderr);
  const report = JSON.parse(r.stdout.toString());
  assert.is(report.target, `[::1]:${port}`);
  assert.equal(report.counts, { pass: 9, warn: 0, fail: 0, skip: 0 });
});

test('socklab lab-check: the multi-call binary runs it too', async () => {
  const r = await run('socklab', ['lab-check', '--help']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout.toString(), 'lab-check: the lab\'s test bench');
  assert.match(r.stdout.toString(), `tcp: ${IDS.tcp.join(' ')}`);
});

test.run();
