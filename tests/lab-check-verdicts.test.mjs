// lab-check's verdicts, in-process: observed bytes in, PASS/WARN/FAIL and sentences out. Tables of
// replies a student's server really gives (the shapes tests/students/ produces over the wire).
// scripts/lab-check.ts comes in through importSource (import.meta.main false: its command line
// stays off), so this file runs on any Node that runs the suite.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importSource } from './helpers.mjs';

const lab = await importSource('scripts/lab-check.ts');
const B = (text) => Buffer.from(text, 'latin1');
const U = (text) => Buffer.from(text, 'utf8');

const ids = suite('check ids (a stable interface for graders)');
ids('each kind lists exactly the issue\'s ids, in its order', () => {
  assert.equal([...lab.CHECK_IDS.tcp], ['connect', 'sample', 'only-a-z', 'binary-safe', 'long-message', 'split-message', 'half-close', 'concurrent', 'survives']);
  assert.equal([...lab.CHECK_IDS.udp], ['reply', 'only-a-z', 'binary-safe', 'reply-to-sender', 'large-datagram', 'empty-datagram', 'survives']);
  assert.equal([...lab.CHECK_IDS.web], ['connect', 'status-line', 'headers-end', 'content-type', 'content-length', 'body', 'binary-body',
    'not-found', 'split-request', 'browser-request', 'traversal', 'concurrent', 'survives']);
});
ids.run();

const shapes = suite('classifyReply: which classic mistake a reply shows');
const MIXED = lab.MIXED;
for (const [name, sent, reply, shape] of [
  ['the lab transform', U('hello, welcome'), U('HELLO, WELCOME'), 'exact'],
  ['nothing', U('hello'), Buffer.alloc(0), 'empty'],
  ['recv(1024) once', Buffer.alloc(3000, 0x61), Buffer.alloc(1024, 0x41), 'cut-short'],
  ['str.upper(): é -> É, ß -> SS', MIXED, U(MIXED.toString().toUpperCase()), 'str-upper'],
  ['swapcase() on text', MIXED, U('hELLO, wORLD! abc XYZ 0123 &*! CAFé STRAßE'), 'swapcase'],
  ['swapcase() on bytes that are not text', B('\xffAb'), B('\xffaB'), 'swapcase'],
  ['an echo', U('hello'), U('hello'), 'unchanged'],
  ['decode(errors="replace")', B('a\x80b'), U('A\ufffdB'), 'replacement-chars'],
  ['a newline added', U('hi'), U('HI\n'), 'longer'],
  ['lower()', U('Hi'), U('hi'), 'different'],
]) {
  shapes(name, () => assert.is(lab.classifyReply(sent, reply), shape));
}
shapes.run();

const shown = suite('showBytes: what reaches the terminal from the wire');
for (const [name, bytes, expected] of [
  ['plain text, quoted', U('HELLO, WELCOME'), '"HELLO, WELCOME"'],
  ['CR LF and tab as escapes', U('a\r\n\tb'), '"a\\r\\n\\tb"'],
  ['a terminal escape (clear screen) cannot run', U('\x1b[2Jx'), '"\\x1b[2Jx"'],
  ['a bidi override cannot reorder the line', U('ab\u202ecd'), '"ab\\u{202e}cd"'],
  ['UTF-8 letters as themselves', U('café straße'), '"café straße"'],
  ['bytes that are not UTF-8 as \\xHH', B('A\x80\xffB'), '"A\\x80\\xffB"'],
  ['quotes and backslashes escaped', U('say "\\"'), '"say \\"\\\\\\""'],
]) {
  shown(name, () => assert.is(lab.showBytes(bytes), expected));
}
shown('a long reply is cut, with its length', () => {
  assert.is(lab.showBytes(Buffer.alloc(100, 0x41), 5), '"AAAAA"... (100 bytes)');
});
shown('a server\'s output lines under --run are escaped too', () => {
  assert.is(lab.lastLines('ok\n\x1b]0;title\x07\nTraceback\n', 2), '  | \\x1b]0;title\\x07\n  | Traceback');
});
shown.run();

const tcp = suite('TCP verdicts');
const closed = (text) => ({ reply: typeof text === 'string' ? U(text) : text, ended: 'closed' });
tcp('sample: right, silent, closed empty, str.upper', () => {
  assert.is(lab.judgeSample(closed('HELLO, WELCOME')).status, 'pass');
  const silent = lab.judgeSample({ reply: Buffer.alloc(0), ended: 'silent' });
  assert.is(silent.status, 'fail');
  assert.match(silent.detail, 'did not close');
  assert.match(lab.judgeSample(closed('')).detail, 'closed the connection without sending anything back');
});
tcp('only-a-z: str.upper() and swapcase() are named, with the handout step', () => {
  const upper = lab.judgeOnlyAToZ(closed(MIXED.toString().toUpperCase()));
  assert.is(upper.status, 'fail');
  assert.match(upper.detail, 'str.upper()');
  assert.match(upper.detail, 'without decode()');
  const swap = lab.judgeOnlyAToZ(closed('hELLO, wORLD! abc XYZ 0123 &*! CAFé STRAßE'));
  assert.match(swap.detail, 'Task 1 b');
  assert.is(lab.judgeOnlyAToZ(closed(lab.labUppercase(MIXED))).status, 'pass');
});
tcp('binary-safe: a close without reply is the UnicodeDecodeError lesson', () => {
  const v = lab.judgeBinarySafe(closed(''));
  assert.is(v.status, 'fail');
  assert.match(v.detail, 'UnicodeDecodeError');
  assert.is(lab.judgeBinarySafe(closed(lab.labUppercase(lab.ALL_BYTES))).status, 'pass');
});
tcp('long-message: the handout\'s cut at 1024 is a WARN, a wrong reply a FAIL', () => {
  const expected = lab.labUppercase(lab.LONG_MESSAGE);
  assert.is(lab.judgeLongMessage(closed(expected)).status, 'pass');
  const cut = lab.judgeLongMessage(closed(expected.subarray(0, 1024)));
  assert.is(cut.status, 'warn');
  assert.match(cut.detail, 'recv(1024)');
  assert.is(lab.judgeLongMessage({ reply: Buffer.alloc(0), ended: 'reset' }).status, 'warn');
  assert.is(lab.judgeLongMessage(closed(lab.LONG_MESSAGE)).status, 'fail');
});
tcp('split-message: only the first segment is a WARN', () => {
  const sent = U('hello, welcome');
  assert.is(lab.judgeSplitMessage(closed('HELLO, WELCOME'), sent, 7).status, 'pass');
  assert.is(lab.judgeSplitMessage(closed('HELLO, '), sent, 7).status, 'warn');
  assert.is(lab.judgeSplitMessage(closed('HELLO'), sent, 7).status, 'fail');
});
tcp('half-close, concurrent, survives', () => {
  assert.is(lab.judgeHalfClose(closed('HELLO, WELCOME')).status, 'pass');
  assert.is(lab.judgeHalfClose(closed('')).status, 'fail');
  assert.is(lab.judgeConcurrent({ answeredWhileFirstWaits: true, answeredAfterFirstLeft: true, waitedMs: 3 }, 'message').status, 'pass');
  const waits = lab.judgeConcurrent({ answeredWhileFirstWaits: false, answeredAfterFirstLeft: true, waitedMs: 2000 }, 'message');
  assert.is(waits.status, 'warn');
  assert.match(waits.detail, 'threading.Thread');
  assert.is(lab.judgeSurvives(false, 'a reset').status, 'fail');
  assert.match(lab.judgeSurvives(false, 'garbage', undefined, 'UDP').detail, 'recvfrom()');
});
tcp('markDied: any verdict becomes FAIL, keeps what was seen, shows the output', () => {
  const died = lab.markDied({ status: 'pass', summary: 'all fine.', detail: '' }, '  | Traceback');
  assert.is(died.status, 'fail');
  assert.match(died.summary, 'died');
  assert.match(died.detail, 'its output (last lines):\n  | Traceback');
  const wasFail = lab.markDied(lab.judgeBinarySafe(closed('')));
  assert.match(wasFail.summary, 'all 256 byte values');
  assert.match(wasFail.detail, 'UnicodeDecodeError');
  assert.not.match(wasFail.detail, 'its output');
});
tcp.run();

const udp = suite('UDP verdicts');
const from = (port, text) => ({ data: U(text), from: { address: '127.0.0.1', port } });
udp('reply-to-sender: own replies, none, crossed, from another port', () => {
  const clients = (a, b) => [{ sent: U('one'), port: 5001, received: a }, { sent: U('two'), port: 5002, received: b }];
  const server = { address: '127.0.0.1', port: 12000 };
  assert.is(lab.judgeReplyToSender({ server, clients: clients([from(12000, 'ONE')], [from(12000, 'TWO')]) }).status, 'pass');
  const none = lab.judgeReplyToSender({ server, clients: clients([], []) });
  assert.is(none.status, 'fail');
  assert.match(none.detail, 'Never a fixed port');
  const crossed = lab.judgeReplyToSender({ server, clients: clients([from(12000, 'ONE'), from(12000, 'TWO')], []) });
  assert.is(crossed.status, 'fail');
  assert.match(crossed.detail, 'meant for the other client');
  const otherPort = lab.judgeReplyToSender({ server, clients: clients([from(40000, 'ONE')], [from(40000, 'TWO')]) });
  assert.is(otherPort.status, 'fail');
  assert.match(otherPort.summary, 'port 40000');
});
udp('large, empty, no reply at all', () => {
  const expected = lab.labUppercase(lab.LARGE_DATAGRAM);
  assert.is(lab.judgeLargeDatagram(expected).status, 'pass');
  const cut = lab.judgeLargeDatagram(expected.subarray(0, 2048));
  assert.is(cut.status, 'warn');
  assert.match(cut.detail, 'recvfrom(2048)');
  assert.is(lab.judgeLargeDatagram(undefined).status, 'fail');
  assert.is(lab.judgeEmptyDatagram(undefined).status, 'pass');
  assert.is(lab.judgeEmptyDatagram(Buffer.alloc(0)).status, 'pass');
  assert.is(lab.judgeEmptyDatagram(U('?')).status, 'warn');
  assert.match(lab.judgeUdpReply(undefined, 3, 2).detail, 'Q2');
});
udp.run();

const http = suite('HTTP responses and web verdicts');
const response = (text, closedAfter = true) => lab.parseHttpResponse(typeof text === 'string' ? B(text) : text, closedAfter);
http('parseHttpResponse: CRLF CRLF, LF LF, no empty line at all', () => {
  const good = response('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi');
  assert.is(good.headEnd, 'crlf');
  assert.is(good.status, 200);
  assert.is(good.headers.get('content-type'), 'text/html');
  assert.is(good.body.toString(), 'hi');
  assert.is(response('HTTP/1.1 200 OK\nA: b\n\nhi').headEnd, 'lf');
  const missing = response('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n<h1>\r\n');
  assert.is(missing.headEnd, 'missing');
  assert.is(missing.headers.get('content-length'), '4');
  assert.is(missing.body.toString(), '<h1>\r\n');
  assert.is(response('').status, undefined);
});
http('status-line and headers-end', () => {
  assert.is(lab.judgeStatusLine('/a.html', response('HTTP/1.1 200 OK\r\n\r\nx'), 2).status, 'pass');
  assert.is(lab.judgeStatusLine('/a.html', response('HTTP/1.1 404 Not Found\r\n\r\nx'), 2).status, 'fail');
  assert.is(lab.judgeStatusLine('/a.html', response('HTTP/1.1 200 OK\n\nx'), 2).status, 'fail');
  assert.is(lab.judgeStatusLine('/a.html', response('hello'), 2).status, 'fail');
  assert.is(lab.judgeHeadersEnd(response('HTTP/1.1 200 OK\r\n\r\nx')).status, 'pass');
  assert.is(lab.judgeHeadersEnd(response('HTTP/1.1 200 OK\r\nA: b\r\nx')).status, 'fail');
});
http('content-type: absent WARN, wrong FAIL, right with a charset PASS', () => {
  assert.is(lab.judgeContentType('/a.html', response('HTTP/1.1 200 OK\r\n\r\nx')).status, 'warn');
  assert.is(lab.judgeContentType('/a.png', response('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nx')).status, 'fail');
  assert.is(lab.judgeContentType('/a.html', response('HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\nx')).status, 'pass');
});
http('content-length: absent and closed WARN, characters instead of bytes FAIL', () => {
  assert.is(lab.judgeContentLength(response('HTTP/1.1 200 OK\r\n\r\nxy')).status, 'warn');
  assert.is(lab.judgeContentLength(response('HTTP/1.1 200 OK\r\n\r\nxy', false)).status, 'fail');
  assert.is(lab.judgeContentLength(response('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nxy')).status, 'pass');
  const chars = lab.judgeContentLength(lab.parseHttpResponse(Buffer.concat([B('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'), U('café')]), true));
  assert.is(chars.status, 'fail');
  assert.match(chars.detail, 'counted characters');
});
http('body: the skeleton\'s extra CRLF, a cut, a changed byte; non-empty without --local', () => {
  const file = U('<p>café</p>\n');
  const served = (body) => lab.parseHttpResponse(Buffer.concat([B('HTTP/1.1 200 OK\r\n\r\n'), body]), true);
  assert.is(lab.judgeBody(served(file), file).status, 'pass');
  const extra = lab.judgeBody(served(Buffer.concat([file, B('\r\n')])), file);
  assert.is(extra.status, 'fail');
  assert.match(extra.detail, 'send("\\r\\n".encode())');
  assert.match(lab.judgeBody(served(file.subarray(0, 4)), file).summary, 'cut short');
  assert.match(lab.judgeBody(served(U('<p>cafe</p>\n')), file).summary, 'from byte 6 on');
  assert.is(lab.judgeBody(served(file), undefined).status, 'pass');
  assert.is(lab.judgeBody(served(Buffer.alloc(0)), undefined).status, 'fail');
});
http('binary-body, not-found, traversal', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
  const ok = lab.parseHttpResponse(Buffer.concat([B(`HTTP/1.1 200 OK\r\nContent-Length: ${png.length}\r\n\r\n`), png]), true);
  assert.is(lab.judgeBinaryBody('/a.png', ok, png, 2).status, 'pass');
  const mangled = lab.parseHttpResponse(Buffer.concat([B('HTTP/1.1 200 OK\r\n\r\n'), U('PNG\r\n\x1a\n\x00')]), true);
  assert.is(lab.judgeBinaryBody('/a.png', mangled, png, 2).status, 'fail');
  assert.match(lab.judgeBinaryBody('/a.png', response('', true), png, 2).detail, 'UnicodeDecodeError');
  assert.is(lab.judgeNotFound('/x', response('HTTP/1.1 404 Not Found\r\n\r\n<h1>404</h1>'), 2).status, 'pass');
  const fake = lab.judgeNotFound('/x', response('HTTP/1.1 200 OK\r\n\r\n<h1>404 Not Found</h1>'), 2);
  assert.is(fake.status, 'fail');
  assert.match(fake.summary, 'says "not found"');
  assert.is(lab.judgeNotFound('/x', response('HTTP/1.1 404 Not Found\r\n\r\n'), 2).status, 'fail');
  const passwd = response('HTTP/1.1 200 OK\r\n\r\nroot:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n');
  assert.is(lab.judgeTraversal([{ path: '/../etc/passwd', response: passwd }]).status, 'fail');
  assert.is(lab.judgeTraversal([{ path: '/../etc/passwd', response: response('HTTP/1.1 404 Not Found\r\n\r\nno') }]).status, 'pass');
});
http('split-request and browser-request compare with the server\'s own plain answer', () => {
  const plain = response('HTTP/1.1 200 OK\r\n\r\nhello\r\n');
  assert.is(lab.judgeSplitRequest('/a', plain, lab.bodyOf(plain)).status, 'pass');
  assert.is(lab.judgeSplitRequest('/a', response('HTTP/1.1 400 Bad Request\r\n\r\n'), lab.bodyOf(plain)).status, 'warn');
  assert.is(lab.judgeBrowserRequest(plain, lab.bodyOf(plain), 2).status, 'pass');
  assert.match(lab.judgeBrowserRequest(response('HTTP/1.1 200 OK\r\n\r\nhello\r\n', false), lab.bodyOf(plain), 2).detail, 'keep-alive');
  const head = lab.browserRequest('127.0.0.1:6789', '/a.html');
  assert.ok(head.length >= 590 && head.length <= 610, `${head.length} bytes`);
  assert.match(head.toString(), 'Connection: keep-alive\r\n');
});
http.run();

const report = suite('the report and --run\'s port table');
report('formatReport: one line per check, details for WARN and FAIL only, a summary line', () => {
  const checks = [
    { id: 'sample', status: 'pass', summary: 'fine.', detail: '' },
    { id: 'long-message', status: 'warn', summary: 'cut.', detail: 'what it did: a\nwhat to change: b' },
    { id: 'survives', status: 'skip', summary: 'not run.', detail: '' },
  ];
  const text = lab.formatReport({ kind: 'tcp', target: '127.0.0.1:12000', checks, counts: lab.countStatuses(checks) });
  assert.is(text, 'lab-check tcp 127.0.0.1:12000\nPASS sample        fine.\nWARN long-message  cut.\n       what it did: a\n       what to change: b\n' +
    'SKIP survives      not run.\n3 checks: 1 passed, 1 warned, 0 failed, 1 skipped. No check failed; the warnings are lessons.\n');
});
report('portInUse reads /proc/net: TCP needs LISTEN (0A), any bound UDP socket counts', () => {
  const table = '  sl  local_address rem_address   st\n   0: 0100007F:2EE0 00000000:0000 0A 0\n   1: 0100007F:1F90 0100007F:D431 01 0\n';
  assert.ok(lab.portInUse('tcp', 12000, table));
  assert.not.ok(lab.portInUse('tcp', 8080, table)); // 0x1F90, but ESTABLISHED
  assert.ok(lab.portInUse('udp', 8080, table));
  assert.not.ok(lab.portInUse('tcp', 12001, table));
});
report.run();

const length = suite('a wrong Content-Length is blamed, not the bytes');
length('body and binary-body: all bytes sent under a Content-Length in characters', () => {
  const file = Buffer.from('<p>café</p>\n');
  const served = lab.parseHttpResponse(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${file.toString().length}\r\n\r\n`), file]), true);
  for (const verdict of [lab.judgeBody(served, file), lab.judgeBinaryBody('/a', served, file, 2)]) {
    assert.is(verdict.status, 'fail');
    assert.match(verdict.summary, `every byte of the file was sent, but Content-Length (${file.toString().length}) tells the client to keep 12 of its 13 bytes`);
  }
});
length.run();

const output = suite('a server\'s output under the check that killed it');
output('repeated lines are shown once with a count, so the traceback is not crowded out', () => {
  assert.is(lab.lastLines('Ready to serve...\n'.repeat(7) + 'Traceback (most recent call last):\nIndexError: list index out of range\n', 3),
    '  | Ready to serve...   (7 times)\n  | Traceback (most recent call last):\n  | IndexError: list index out of range');
});
output.run();

const silence = suite('a server that says nothing is said to say nothing');
silence('each uppercase check\'s sentence names silence, a close or a reset, not a "wrong reply"', () => {
  const none = (ended) => ({ reply: Buffer.alloc(0), ended });
  assert.is(lab.judgeSample(none('silent')).summary, 'the handout\'s sample "hello, welcome" got no reply.');
  assert.is(lab.judgeOnlyAToZ(none('closed')).summary, 'a message mixing upper case, digits, &*!, é and ß got no reply: the server closed the connection.');
  assert.is(lab.judgeBinarySafe(none('silent')).summary, 'a message holding all 256 byte values got no reply.');
  assert.is(lab.judgeLongMessage(none('closed')).summary, 'a 3000-byte message got no reply: the server closed the connection.');
  assert.is(lab.judgeSplitMessage(none('reset'), Buffer.from('hello, welcome'), 7).summary, 'a message sent in two segments 300 ms apart got no reply: the server reset the connection.');
});
silence.run();
