// lab-check, the real binary, against real servers on loopback: the handout's own programs
// (tests/peers), a corpus of student servers, each with the mistakes a class really makes
// (tests/students), and socklab's own servers. Each row says what lab-check --json must answer,
// check by check, and the words its reasons must (and must not) use: a reason names a cause only
// when the evidence shows it. The runs go four at a time; lab-check starts and stops each server
// itself (--run). The hostile servers are in lab-check-hostile.test.mjs.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bin, freePort, isRunning, removeLater, removeTempDirs, root, run, startProgram } from './helpers.mjs';

const TIMEOUT = '1';
// The served folder is made in test.before, not when this file is imported: uvu imports every
// test file first, and an earlier file's test.after (removeTempDirs) would delete it. Beside it,
// one level up, a page of its own: what "/../outside.html" must never reach.
let site = '';
// Two letters beyond a-z (é, ß: 2 bytes each in UTF-8), so characters and bytes differ.
const page = Buffer.from('<html><body><h1>Hello, café</h1><p>straße</p></body></html>\n');
// A PNG signature (with its CR LF) and bytes that are not UTF-8: what text-mode reads break.
const image = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 151 + 7) & 0xff))]);
function makeSite() {
  const above = removeLater(mkdtempSync(join(tmpdir(), 'lab-check-above-')));
  site = join(above, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'hello.html'), page);
  writeFileSync(join(site, 'cat.png'), image);
  writeFileSync(join(above, 'outside.html'), '<p>a page beside the served folder: never served</p>\n');
}
const webArgs = () => ['/hello.html', '--local', join(site, 'hello.html'), '--binary', '/cat.png', '--binary-local', join(site, 'cat.png')];

const python = (file, ...before) => (port) => `python3 '${join(root, 'tests', file)}' ${file.startsWith('peers/') ? '127.0.0.1 ' : ''}${before.join(' ')} ${port} '${site}'`;
const socklab = (name, ...extra) => (port) => `'${bin(name)}' 127.0.0.1 ${port} ${extra.join(' ')}`;

/**
 * Each server; the checks lab-check must not PASS (every other check must PASS); and `says`: per
 * check, words its line must hold (`never`: must not). Rows marked `runs` run that many times and
 * must get the same verdicts each time.
 */
const CORPUS = [
  { name: 'handout TCPServer.py', kind: 'tcp', command: python('peers/handout_tcp_server.py'), warn: ['long-message', 'split-message', 'concurrent'],
    says: { 'long-message': ['recv(1024)'] } },
  { name: 'correct TCP server', kind: 'tcp', command: python('students/tcp_correct.py') },
  { name: 'TCP decode().upper()', kind: 'tcp', command: python('students/tcp_str_upper.py'), fail: ['only-a-z', 'binary-safe'], warn: ['long-message', 'split-message', 'concurrent'],
    says: { 'only-a-z': ['str.upper()'], 'binary-safe': ['crashed (UnicodeDecodeError)', 'line 12', 'do not decode()', 'its output (last lines)'] } },
  { name: 'TCP swapcase(): one mistake, one FAIL', kind: 'tcp', command: python('students/tcp_swapcase.py'), fail: ['only-a-z'], warn: ['long-message', 'split-message', 'concurrent'],
    says: { 'only-a-z': ['swapcase()'], 'binary-safe': ['same rule'] } },
  { name: 'TCP decode, then crash on binary', kind: 'tcp', command: python('students/tcp_decode_crash.py'), fail: ['binary-safe'], warn: ['long-message', 'split-message', 'concurrent'],
    says: { 'binary-safe': ['UnicodeDecodeError', 'line 11'] } },
  { name: 'TCP one client (no loop around accept)', kind: 'tcp', command: python('students/tcp_one_client.py'), fail: ['concurrent', 'survives'], warn: ['long-message', 'split-message'],
    says: { concurrent: ['your server exits after its first client: put accept() inside a loop.', 'exit status 0, no traceback'], survives: ['exits after its first client'] },
    never: { concurrent: ['uncaught'], survives: ['uncaught'], sample: ['died', 'crashed'] } },
  { name: 'TCP lower()', kind: 'tcp', command: python('students/tcp_lower.py'), fail: ['sample', 'only-a-z'], says: { sample: ['without uppercasing'], 'only-a-z': ['lower()'] } },
  { name: 'TCP echo (no upper)', kind: 'tcp', command: python('students/tcp_echo.py'), fail: ['sample'], says: { sample: ['echoed', 'without uppercasing'], 'only-a-z': ['see sample'] } },
  { name: 'TCP send(str): dies at its first client', kind: 'tcp', command: python('students/tcp_send_str.py'), fail: ['sample', 'binary-safe'],
    skip: ['only-a-z', 'long-message', 'split-message', 'half-close', 'concurrent', 'survives'],
    says: { connect: ['is accepted'], sample: ['crashed (TypeError)', 'send(text.encode())'], 'binary-safe': ['UnicodeDecodeError'], 'only-a-z': ['same TypeError'] },
    never: { sample: ['sendall', 'recv(1024)'], connect: ['died'] } },
  { name: 'TCP threads sharing one global socket', kind: 'tcp', command: python('students/tcp_threads_shared.py'), fail: ['long-message', 'half-close', 'concurrent'], warn: ['split-message'],
    says: { concurrent: ['first client', 'share one connection socket'], 'long-message': ['recv(1024)'], 'half-close': ['never closed the connection after the client\'s FIN'] } },
  { name: 'TCP reads until the client closes', kind: 'tcp', command: python('students/tcp_waits_for_close.py'), fail: ['sample'],
    skip: ['only-a-z', 'binary-safe', 'long-message', 'split-message', 'concurrent', 'survives'], says: { sample: ['once the client sent FIN, the reply came'] } },
  { name: 'TCP daemon (fork, setsid, fork)', kind: 'tcp', command: python('students/tcp_daemon.py'), notes: ['put itself in the background', 'lab-check stopped it'] },
  { name: 'socklab tcp-server', kind: 'tcp', command: socklab('tcp-server') },
  { name: 'handout UDPServer.py', kind: 'udp', command: python('peers/handout_udp_server.py'), warn: ['large-datagram'], says: { 'large-datagram': ['recvfrom(2048)'] } },
  { name: 'correct UDP server', kind: 'udp', command: python('students/udp_correct.py'), says: { 'reply-to-sender': ['127.0.0.2'] } },
  { name: 'UDP replies to a fixed port', kind: 'udp', command: python('students/udp_fixed_port.py'), fail: ['reply'],
    skip: ['only-a-z', 'binary-safe', 'reply-to-sender', 'large-datagram', 'survives'], says: { reply: ['its port is bound'] } },
  { name: 'UDP decode().upper()', kind: 'udp', command: python('students/udp_str_upper.py'), fail: ['only-a-z', 'binary-safe'], warn: ['large-datagram'], skip: ['survives'],
    says: { 'binary-safe': ['UnicodeDecodeError', 'recvfrom()'], survives: ['same UnicodeDecodeError'] } },
  { name: 'UDP pinger server (drops ~36% on purpose)', kind: 'udp', command: python('students/udp_pinger.py'), warn: ['reply', 'large-datagram'], runs: 3,
    says: { reply: ['lost', 'pinger lab'], 'large-datagram': ['recvfrom(1024)'] }, never: { reply: ['meant for'], 'reply-to-sender': ['meant for'] } },
  { name: 'UDP replies to 127.0.0.1 always', kind: 'udp', command: python('students/udp_reply_localhost.py'), fail: ['reply-to-sender'],
    says: { 'reply-to-sender': ['127.0.0.2', 'fixed address (127.0.0.1)'] } },
  { name: 'UDP one datagram (no loop)', kind: 'udp', command: python('students/udp_one_datagram.py'), fail: ['survives'], warn: ['large-datagram'], skip: ['reply-to-sender'],
    says: { survives: ['exits after its first datagram: put recvfrom() inside a loop.'] } },
  { name: 'socklab udp-server', kind: 'udp', command: socklab('udp-server') },
  { name: 'handout WebServer.py (the skeleton, completed)', kind: 'web', command: python('students/web_handout.py'),
    warn: ['content-type', 'content-length', 'concurrent'], fail: ['body', 'binary-body', 'traversal', 'survives'],
    says: { body: ['"\\r\\n"', 'skeleton'], 'binary-body': ['crashed (UnicodeDecodeError)', 'open(name, "rb")'], survives: ['IndexError', 'split()[1]'], traversal: ['SECURITY'] } },
  { name: 'correct web server', kind: 'web', command: python('students/web_correct.py'), says: { traversal: ['outside.html'] } },
  { name: 'web: no empty line after the headers', kind: 'web', command: python('students/web_no_blank_line.py'), fail: ['headers-end'] },
  { name: 'web: 200 for a missing file', kind: 'web', command: python('students/web_200_missing.py'), fail: ['not-found'] },
  { name: 'web: Content-Length in characters', kind: 'web', command: python('students/web_length_chars.py'), fail: ['content-length', 'binary-body'],
    says: { 'content-length': ['counted characters'], body: ['see content-length'], 'binary-body': ['universal newlines'] } },
  { name: 'web: text-mode file reads', kind: 'web', command: python('students/web_text_mode.py'), fail: ['binary-body'], says: { 'binary-body': ['errors="ignore"'] } },
  { name: 'web: serves ../', kind: 'web', command: python('students/web_serves_dotdot.py'), fail: ['traversal'], says: { traversal: ['/etc/passwd'] } },
  { name: 'web: send(str) dies answering its first GET', kind: 'web', command: python('students/web_send_str.py'), fail: ['status-line', 'survives'],
    skip: ['headers-end', 'content-type', 'content-length', 'body', 'binary-body', 'not-found', 'split-request', 'browser-request', 'traversal', 'concurrent'],
    says: { connect: ['is accepted'], 'status-line': ['crashed (TypeError)', 'send(text.encode())'], survives: ['IndexError'] }, never: { connect: ['died'] } },
  { name: 'web: sys.exit() after one request', kind: 'web', command: python('students/web_sys_exit.py'), fail: ['traversal', 'concurrent', 'survives'],
    says: { concurrent: ['your server exits after its first request'], survives: ['exit status 0'] }, never: { survives: ['uncaught'], traversal: ['exited'] } },
  { name: 'web: "HTTP 200 OK" (no /1.1): one FAIL', kind: 'web', command: python('students/web_bad_status.py'), fail: ['status-line'] },
  { name: 'web: 404 with no page', kind: 'web', command: python('students/web_404_no_body.py'), warn: ['not-found'] },
  { name: 'web: a Latin-1 reason phrase (valid)', kind: 'web', command: python('students/web_reason_latin1.py'), says: { 'status-line': ['Tr\\xe8s bien'] } },
  { name: 'web: keep-alive with no Content-Length', kind: 'web', command: python('students/web_keepalive_no_length.py'), t: '0.5', fail: ['content-length'],
    says: { 'content-length': ['never closed'] } },
  { name: 'web: the same file for every path', kind: 'web', command: python('students/web_same_file.py'), fail: ['binary-body'], skip: ['not-found'], warn: ['concurrent'],
    says: { 'binary-body': ['does not depend on the path'] } },
  { name: 'web: a filter on "passwd" and "etc"', kind: 'web', command: python('students/web_filter_passwd.py'), fail: ['traversal'],
    says: { traversal: ['a filter on its name does not stop the climb'] } },
  { name: 'socklab web-server', kind: 'web', command: (port) => `${socklab('web-server')(port)} -d '${site}'` },
];
const IDS = {
  tcp: ['connect', 'sample', 'only-a-z', 'binary-safe', 'long-message', 'split-message', 'half-close', 'concurrent', 'survives'],
  udp: ['reply', 'only-a-z', 'binary-safe', 'reply-to-sender', 'large-datagram', 'empty-datagram', 'survives'],
  web: ['connect', 'status-line', 'headers-end', 'content-type', 'content-length', 'body', 'binary-body', 'not-found',
    'split-request', 'browser-request', 'traversal', 'concurrent', 'survives'],
};

/** lab-check --run on a free port; resolves with exit code, parsed JSON (or text) and stderr. */
async function check(kind, command, { json = true, extra = [], t = TIMEOUT } = {}) {
  const port = await freePort(kind === 'udp' ? 'udp' : 'tcp');
  const args = [...(json ? ['--json'] : []), '-t', t, kind, '127.0.0.1', String(port), ...(kind === 'web' ? webArgs() : []), ...extra, '--run', command(port)];
  const r = await run('lab-check', args, { timeoutMs: 90000 });
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
  const jobs = CORPUS.flatMap((entry) => Array.from({ length: entry.runs ?? 1 }, () => async () => {
    // A run that fails to finish is that row's failure, not every row's.
    const result = await check(entry.kind, entry.command, { t: entry.t }).catch((err) => ({ code: -1, report: { checks: [], notes: [] }, stderr: String(err), args: [] }));
    results.set(entry.name, [...(results.get(entry.name) ?? []), result]);
  }));
  jobs.push(async () => { handoutWebText = await check('web', python('students/web_handout.py'), { json: false }); });
  await inParallel(4, jobs);
});
test.after(() => removeTempDirs());

for (const entry of CORPUS) {
  const listed = [...(entry.fail ?? []).map((id) => `${id} FAIL`), ...(entry.warn ?? []).map((id) => `${id} WARN`), ...(entry.skip ?? []).map((id) => `${id} SKIP`)];
  test(`${entry.name}: ${listed.join(', ') || 'all PASS'}`, () => {
    for (const { code, report, stderr, args } of results.get(entry.name)) {
      const where = `lab-check ${args.join(' ')}\n${JSON.stringify(report, null, 1)}\n${stderr}`;
      const got = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
      const want = Object.fromEntries(IDS[entry.kind].map((id) => [id, entry.fail?.includes(id) ? 'fail' : entry.warn?.includes(id) ? 'warn' : entry.skip?.includes(id) ? 'skip' : 'pass']));
      assert.equal(got, want, where);
      assert.equal(report.checks.map((c) => c.id), IDS[entry.kind], 'every id, in order');
      assert.is(code, entry.fail ? 1 : 0, where);
      assert.is(report.kind, entry.kind);
      assert.match(report.target, /^127\.0\.0\.1:\d+$/);
      assert.equal(report.counts, { pass: 0, warn: 0, fail: 0, skip: 0, ...countOf(report.checks) });
      for (const c of report.checks) {
        assert.equal(Object.keys(c), ['id', 'status', 'summary', 'detail']);
        if (c.status === 'warn' || c.status === 'fail') assert.match(c.detail, /^what it did: .+\nwhat to change: .+/, c.id);
        const line = `${c.summary}\n${c.detail}`;
        for (const words of entry.says?.[c.id] ?? []) assert.ok(line.includes(words), `${c.id} should say ${JSON.stringify(words)}:\n${line}`);
        for (const words of entry.never?.[c.id] ?? []) assert.not.ok(line.includes(words), `${c.id} must not say ${JSON.stringify(words)}:\n${line}`);
      }
      for (const words of entry.notes ?? []) assert.ok(report.notes.some((n) => n.includes(words)), `a note should say ${JSON.stringify(words)}: ${JSON.stringify(report.notes)}`);
    }
  });
}

function countOf(checks) {
  const counts = {};
  for (const c of checks) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return counts;
}

test('the daemon left nothing behind: its port is free once lab-check is done', async () => {
  const [{ report }] = results.get('TCP daemon (fork, setsid, fork)');
  const port = Number(report.target.split(':')[1]);
  const probe = net.createServer();
  await new Promise((resolve, reject) => { probe.once('error', reject); probe.listen(port, '127.0.0.1', resolve); });
  probe.close();
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
  assert.match(checks[3].summary, 'then it stopped accepting connections');
  assert.match(checks[3].detail, 'A likely cause: bytes 0x80-0xff are not UTF-8', 'without --run the traceback is unseen: a likely cause, said as such');
  assert.match(checks[4].summary, 'not run: the server stopped during the binary-safe check');
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

test('without --run, the one-client server: sample PASS (its own answer was right), concurrent and survives FAIL, the rest SKIP', async () => {
  const port = await freePort();
  const server = await startProgram('/usr/bin/env', ['python3', join(root, 'tests', 'students', 'tcp_one_client.py'), String(port)], { ready: /ready to receive/ });
  const r = await run('lab-check', ['--json', '-t', TIMEOUT, 'tcp', '127.0.0.1', String(port)]);
  assert.is((await server.exit).code, 0);
  const checks = JSON.parse(r.stdout.toString()).checks;
  assert.equal(checks.map((c) => c.status), ['pass', 'pass', 'skip', 'skip', 'skip', 'skip', 'skip', 'fail', 'fail'], r.stdout.toString());
  assert.match(checks[7].summary, 'after answering its first client right, the server stopped accepting connections: is accept() inside a loop?');
  assert.match(checks[7].detail, 'it may also have crashed after replying');
});

test('--json prints one JSON document whatever ends the run: usage (64), unknown host (68), the port taken (71)', async () => {
  const taken = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  const cases = [
    [['--json', 'tcp', '127.0.0.1', '99999'], 64, 'bad port'],
    [['--json', 'web', '127.0.0.1', '6789'], 64, 'missing PATH'],
    [['--json', 'udp', '127.0.0.1', '12000', '--bogus'], 64, 'unknown option'],
    [['--json', 'tcp', 'no-such-host.invalid', '12000'], 68, 'unknown host'],
    [['--json', 'tcp', '127.0.0.1', String(taken.address().port), '--run', 'sleep 5'], 71, 'already in use'],
  ];
  const outcomes = await Promise.all(cases.map(([args]) => run('lab-check', args)));
  taken.close();
  for (const [i, r] of outcomes.entries()) {
    const [args, code, words] = cases[i];
    const what = `lab-check ${args.join(' ')}: ${r.stderr}`;
    assert.is(r.code, code, what);
    const report = JSON.parse(r.stdout.toString());
    assert.is(report.kind, args[1], what);
    assert.is(report.error.exit, code, what);
    assert.match(report.error.message, words, what);
    assert.equal(report.checks.map((c) => c.status), IDS[args[1]].map(() => 'skip'), what);
    assert.is(report.counts.skip, IDS[args[1]].length);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, 'and one line on stderr for a person');
  }
});

test('--help states the bounds: per exchange, per check, and the whole run\'s deadline at the default -t', async () => {
  const r = await run('lab-check', ['--help']);
  const help = r.stdout.toString();
  assert.match(help, 'each exchange ends 3 x SECONDS after');
  assert.match(help, 'each check ends within 8 x SECONDS + 2 s');
  assert.match(help, 'tcp 162 s, udp 126 s, web 234 s');
});

test.run();
