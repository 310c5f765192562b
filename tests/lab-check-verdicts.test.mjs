// lab-check's verdicts, in-process: observed bytes in, PASS/WARN/FAIL and sentences out; and the
// pass that turns each check's observation into the report (a death blamed on the request that
// caused it, one FAIL per cause). Tables of replies a student's server really gives (the shapes
// tests/students/ produce over the wire). scripts/lab-check.ts comes in through importSource
// (import.meta.main false: its command line stays off), so this file runs on any Node.
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
  ['swapcase() on text', MIXED, U('hELLO, wORLD! abc XYZ 0123 &*! CAFé STRAßE\n'), 'swapcase'],
  ['swapcase() on bytes that are not text', B('\xffAb'), B('\xffaB'), 'swapcase'],
  ['an echo', U('hello'), U('hello'), 'unchanged'],
  ['lower()', U('Hi'), U('hi'), 'lowercased'],
  ['decode(errors="replace")', B('a\x80b'), U('A\ufffdB'), 'replacement-chars'],
  ['a newline added', U('hi'), U('HI\n'), 'longer'],
  ['a greeting before the reply', U('hi'), U('Welcome! HI'), 'prefixed'],
  ['something else', U('hi'), U('XY'), 'different'],
]) {
  shapes(name, () => assert.is(lab.classifyReply(sent, reply), shape));
}
shapes('letterRuleOf and replyByRule: the rule a wrong reply shows, and what it gives for another message', () => {
  assert.is(lab.letterRuleOf(MIXED, U('hello, world! abc xyz 0123 &*! café straße\n')), 'lowercased');
  assert.is(lab.letterRuleOf(MIXED, U('hELLO, wORLD! abc XYZ 0123 &*! CAFé STRAßE')), 'swapcase', 'a strip() on top is seen through');
  assert.is(lab.letterRuleOf(U('hi'), U('HI\n')), undefined);
  assert.equal(lab.replyByRule(B('Ab\xff'), 'swapcase'), B('aB\xff'));
  assert.is(lab.replyByRule(B('\xff'), 'str-upper'), undefined, 'str.upper() has no answer for bytes that are not text');
});
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
shown('repeated lines are shown once with a count, so the traceback is not crowded out', () => {
  assert.is(lab.lastLines('Ready to serve...\n'.repeat(7) + 'Traceback (most recent call last):\nIndexError: list index out of range\n', 3),
    '  | Ready to serve...   (7 times)\n  | Traceback (most recent call last):\n  | IndexError: list index out of range');
});
shown.run();

const tcp = suite('TCP verdicts: each names a cause only when the bytes show it');
const closed = (text) => ({ reply: typeof text === 'string' ? U(text) : text, ended: 'closed' });
const none = (ended) => ({ reply: Buffer.alloc(0), ended });
for (const [name, verdict, status, says, never] of [
  ['sample right', () => lab.judgeSample(closed('HELLO, WELCOME')), 'pass', '"HELLO, WELCOME"'],
  ['sample echoed: "without uppercasing"', () => lab.judgeSample(closed('hello, welcome')), 'fail', 'without uppercasing'],
  ['sample silent: possible causes, not a claim', () => lab.judgeSample(none('silent')), 'fail', 'Possible causes: it waits for more'],
  ['sample closed empty: possibilities, and never "the 1024 cut"', () => lab.judgeSample(none('closed')), 'fail', 'Possible causes: an exception', /1024/],
  ['sample flooded: lab-check stopped reading', () => lab.judgeSample({ reply: U('HELLO, WELCOMEZZZZ'), ended: 'too-much' }), 'fail', 'lab-check stopped reading'],
  ['sample trickled past the deadline', () => lab.judgeSample({ reply: U('HEL'), ended: 'too-slow' }), 'fail', 'it trickles its reply'],
  ['only-a-z str.upper()', () => lab.judgeOnlyAToZ(closed(MIXED.toString().toUpperCase())), 'fail', 'str.upper()'],
  ['only-a-z swapcase names Task 1 b', () => lab.judgeOnlyAToZ(closed('hELLO, wORLD! abc XYZ 0123 &*! CAFé STRAßE\n')), 'fail', 'Task 1 b'],
  ['only-a-z lowercased', () => lab.judgeOnlyAToZ(closed('hello, world! abc xyz 0123 &*! café straße\n')), 'fail', 'lower()'],
  ['only-a-z strip() and swapcase(): both named', () => lab.judgeOnlyAToZ(closed('hELLO, wORLD! abc XYZ 0123 &*! CAFé STRAßE')), 'fail', 'removed the whitespace at the ends (strip()) and swapped the case'],
  ['half-close: the reply, but no close after the client\'s FIN', () => lab.judgeHalfClose({ reply: U('HELLO, WELCOME'), ended: 'enough', finSent: true }), 'fail', 'never closed the connection'],
  ['only-a-z after an echoing sample: its own bytes came back', () => lab.judgeOnlyAToZ(closed(MIXED), 2, 'unchanged'), 'pass', 'see sample'],
  ['binary-safe closed empty: UnicodeDecodeError only as a likely cause', () => lab.judgeBinarySafe(none('closed')), 'fail', 'A likely cause: bytes 0x80-0xff'],
  ['binary-safe swapcase after only-a-z showed it: one mistake, one FAIL', () => lab.judgeBinarySafe(closed(lab.replyByRule(lab.ALL_BYTES, 'swapcase')), 2, 'swapcase'), 'pass', 'same rule'],
  ['long-message cut at 1024 and closed: the handout\'s lesson', () => lab.judgeLongMessage(closed(lab.labUppercase(lab.LONG_MESSAGE).subarray(0, 1024))), 'warn', 'recv(1024)'],
  ['long-message cut at 1500 and reset: no recv() claim', () => lab.judgeLongMessage({ reply: lab.labUppercase(lab.LONG_MESSAGE).subarray(0, 1500), ended: 'reset' }), 'fail', 'Possible causes', /recv\(1500\)|handout/],
  ['long-message nothing and reset: not "the 1024 cut"', () => lab.judgeLongMessage(none('reset')), 'fail', 'reset the connection without sending anything back', /1024/],
  ['long-message echoed after an echoing sample: whole', () => lab.judgeLongMessage(closed(lab.LONG_MESSAGE), 2, 'unchanged'), 'pass', 'came back whole'],
  ['split-message first segment only', () => lab.judgeSplitMessage(closed('HELLO, '), U('hello, welcome'), 7), 'warn', 'byte stream'],
  ['half-close: a wrong reply is not "did not come"', () => lab.judgeHalfClose(closed('HELLO')), 'fail', 'came back wrong', /did not come/],
  ['survives answered', () => lab.judgeSurvives(true, 'a reset'), 'pass', 'still answered'],
  ['survives UDP advice', () => lab.judgeSurvives(false, 'garbage', undefined, 'UDP'), 'fail', 'recvfrom()'],
]) {
  tcp(name, () => {
    const v = verdict();
    assert.is(v.status, status, JSON.stringify(v));
    assert.match(v.summary + v.detail, says);
    if (never) assert.not.match(v.summary + v.detail, never);
  });
}
const seen = (o) => ({ secondAnsweredWhileFirstWaits: false, secondAnswered: false, firstAnswered: false, crossedReply: false, waitedMs: 2000, ...o });
for (const [name, observation, status, says] of [
  ['both answered at once', seen({ secondAnsweredWhileFirstWaits: true, secondAnswered: true, firstAnswered: true }), 'pass', 'first was answered'],
  ['one at a time (the handout)', seen({ secondAnswered: true, firstAnswered: true }), 'warn', 'threading.Thread'],
  ['the first\'s reply went to the second: a shared socket', seen({ secondAnsweredWhileFirstWaits: true, secondAnswered: true, crossedReply: true }), 'fail', 'share one connection socket'],
  ['the first never answered, nothing crossed: possibilities', seen({ secondAnsweredWhileFirstWaits: true, secondAnswered: true }), 'fail', 'possible causes'],
  ['neither answered', seen({}), 'fail', 'answered neither client'],
]) {
  tcp(`concurrent: ${name}`, () => {
    const v = lab.judgeConcurrent(observation, 'message');
    assert.is(v.status, status, JSON.stringify(v));
    assert.match(v.summary + v.detail, says);
  });
}
tcp.run();

const udp = suite('UDP verdicts: loss told as loss, replies to the wrong address caught');
const from = (port, text, address = '127.0.0.1') => ({ data: U(text), from: { address, port } });
udp('reply-to-sender: own replies, none, crossed, from another port, to a fixed address', () => {
  const server = { address: '127.0.0.1', port: 12000 };
  const clients = (a, b) => [{ sent: U('one'), address: '127.0.0.1', port: 5001, received: a }, { sent: U('two'), address: '127.0.0.1', port: 5002, received: b }];
  assert.is(lab.judgeReplyToSender({ server, clients: clients([from(12000, 'ONE')], [from(12000, 'TWO')]) }).status, 'pass');
  const nobody = lab.judgeReplyToSender({ server, clients: clients([], []) });
  assert.is(nobody.status, 'fail');
  assert.match(nobody.summary, 'no client got any reply');
  assert.match(lab.judgeReplyToSender({ server, clients: clients([from(12000, 'ONE'), from(12000, 'TWO')], []) }).detail, 'also got the reply meant for');
  assert.match(lab.judgeReplyToSender({ server, clients: clients([from(40000, 'ONE')], [from(40000, 'TWO')]) }).summary, 'port 40000');
  const third = { sent: U('three'), address: '127.0.0.2', port: 5003, received: [] };
  const fixed = lab.judgeReplyToSender({ server, clients: [...clients([from(12000, 'ONE')], [from(12000, 'TWO')]), third],
    witness: { address: '127.0.0.1', port: 5003, received: [from(12000, 'THREE')] } });
  assert.is(fixed.status, 'fail');
  assert.match(fixed.detail, 'fixed address (127.0.0.1)');
});
udp('the reply check: right replies with copies lost is a WARN that names dropping, not a hang', () => {
  const replies = (n) => Array.from({ length: n }, () => U('HELLO, WELCOME'));
  assert.is(lab.judgeUdpReply({ sent: 30, replies: replies(30), refused: false }, 2).status, 'pass');
  const lossy = lab.judgeUdpReply({ sent: 30, replies: replies(19), refused: false }, 2);
  assert.is(lossy.status, 'warn');
  assert.match(lossy.summary, '11 of 30 datagrams got no reply (37% lost)');
  assert.match(lossy.detail, 'pinger lab');
  assert.not.match(lossy.detail, /\bhangs?\b|meant for/);
  const closedAfterOne = lab.judgeUdpReply({ sent: 2, replies: replies(1), refused: true }, 2);
  assert.is(closedAfterOne.status, 'pass', 'a port that closed is the one-datagram server\'s matter, not loss');
  const silentBound = lab.judgeUdpReply({ sent: 30, replies: [], refused: false }, 2, true);
  assert.match(silentBound.detail, 'its port is bound');
});
udp('large, empty', () => {
  const expected = lab.labUppercase(lab.LARGE_DATAGRAM);
  assert.is(lab.judgeLargeDatagram(expected).status, 'pass');
  assert.match(lab.judgeLargeDatagram(expected.subarray(0, 2048)).detail, 'recvfrom(2048)');
  assert.is(lab.judgeLargeDatagram(undefined).status, 'fail');
  assert.is(lab.judgeEmptyDatagram(undefined).status, 'pass');
  assert.is(lab.judgeEmptyDatagram(U('?')).status, 'warn');
});
udp.run();

const http = suite('HTTP responses and web verdicts');
const response = (text, closedAfter = true, ended) => lab.parseHttpResponse(typeof text === 'string' ? B(text) : text, closedAfter, ended);
http('parseHttpResponse: CRLF CRLF, LF LF, no empty line at all', () => {
  const good = response('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi');
  assert.is(good.headEnd, 'crlf');
  assert.is(good.status, 200);
  assert.is(good.headers.get('content-type'), 'text/html');
  assert.is(good.body.toString(), 'hi');
  assert.is(response('HTTP/1.1 200 OK\nA: b\n\nhi').headEnd, 'lf');
  const missing = response('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n<h1>\r\n');
  assert.is(missing.headEnd, 'missing');
  assert.is(missing.body.toString(), '<h1>\r\n');
  assert.is(response('').status, undefined);
});
for (const [line, code] of [['HTTP/1.1 200 OK', 200], ['HTTP/1.1 200', 200], ['HTTP 200 OK', 200], ['HTTP/1.0 404 Not Found', 404], ['hello', undefined], ['HTTP/1.1 2000 OK', undefined]]) {
  http(`statusCodeOf ${JSON.stringify(line)} is ${code}`, () => assert.is(lab.statusCodeOf(line), code));
}
for (const [line, valid] of [
  ['HTTP/1.1 200 OK', true], ['HTTP/1.0 404 Not Found', true], ['HTTP/1.1 200 Tr\xe8s bien', true], ['HTTP/1.1 200 ', true],
  ['HTTP/1.1 200 OK\x1b[2J', false], ['HTTP/1.1 200', false], ['HTTP 200 OK', false], ['HTTP/2 200 OK', false],
]) {
  http(`isValidStatusLine ${JSON.stringify(line)}: ${valid} (RFC 9112 §4: obs-text is valid, controls are not)`, () => assert.is(lab.isValidStatusLine(line), valid));
}
http('status-line: right, 404, no reason phrase (WARN), garbage, escapes shown escaped on PASS too', () => {
  assert.is(lab.judgeStatusLine('/a.html', response('HTTP/1.1 200 OK\r\n\r\nx'), 2).status, 'pass');
  assert.is(lab.judgeStatusLine('/a.html', response('HTTP/1.1 404 Not Found\r\n\r\nx'), 2).status, 'fail');
  assert.is(lab.judgeStatusLine('/a.html', response('HTTP/1.1 200\r\n\r\nx'), 2).status, 'warn');
  assert.is(lab.judgeStatusLine('/a.html', response('hello'), 2).status, 'fail');
  const latin1 = lab.judgeStatusLine('/a.html', response('HTTP/1.1 200 Tr\xe8s bien\r\n\r\nx'), 2);
  assert.is(latin1.status, 'pass');
  assert.match(latin1.summary, 'Tr\\xe8s bien');
  const osc = lab.judgeStatusLine('/a.html', response('HTTP/1.1 200 OK\x1b]52;c;eA==\x07\r\n\r\nx'), 2);
  assert.is(osc.status, 'fail');
  assert.not.match(osc.summary + osc.detail, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
});
http('content-type, content-length, body', () => {
  assert.is(lab.judgeContentType('/a.html', response('HTTP/1.1 200 OK\r\n\r\nx')).status, 'warn');
  assert.is(lab.judgeContentType('/a.png', response('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nx')).status, 'fail');
  assert.is(lab.judgeContentLength(response('HTTP/1.1 200 OK\r\n\r\nxy')).status, 'warn');
  const open = lab.judgeContentLength(response('HTTP/1.1 200 OK\r\n\r\nxy', false));
  assert.is(open.status, 'fail');
  assert.match(open.summary, 'never closed');
  const chars = lab.judgeContentLength(lab.parseHttpResponse(Buffer.concat([B('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'), U('café')]), true));
  assert.match(chars.detail, 'counted characters');
  assert.is(lab.judgeContentLength(response('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n')).status, 'pass');
  const file = U('<p>café</p>\n');
  const served = (body) => lab.parseHttpResponse(Buffer.concat([B('HTTP/1.1 200 OK\r\n\r\n'), body]), true);
  assert.is(lab.judgeBody(served(file), file).status, 'pass');
  assert.match(lab.judgeBody(served(Buffer.concat([file, B('\r\n')])), file).detail, 'skeleton');
  assert.match(lab.judgeBody(served(file.subarray(0, 4)), file).detail, 'Possible causes: send() sent only part');
  const chunked = lab.parseHttpResponse(Buffer.concat([B('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<p>ca\r\n'), B(`${(file.length - 5).toString(16)}\r\n`), file.subarray(5), B('\r\n0\r\n\r\n')]), true);
  assert.is(lab.judgeBody(chunked, file).status, 'pass', 'a chunked body is joined before it is compared');
});
http('a wrong Content-Length is the content-length check\'s, not the body\'s: one cause, one FAIL', () => {
  const file = Buffer.from('<p>café</p>\n');
  const served = lab.parseHttpResponse(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${file.toString().length}\r\n\r\n`), file]), true);
  assert.is(lab.judgeContentLength(served).status, 'fail');
  for (const v of [lab.judgeBody(served, file), lab.judgeBinaryBody('/a', served, file, 2)]) {
    assert.is(v.status, 'pass');
    assert.match(v.summary, 'see content-length');
  }
});
http('binary-body: judged for its bytes; a status line broken as the plain GET\'s is not blamed again; text mode named from the bytes', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x0d, 0x00]);
  const answer = (status, body) => lab.parseHttpResponse(Buffer.concat([B(`${status}\r\nContent-Length: ${body.length}\r\n\r\n`), body]), true);
  assert.is(lab.judgeBinaryBody('/a.png', answer('HTTP/1.1 200 OK', png), png, 2).status, 'pass');
  const bad = answer('HTTP 200 OK', png);
  assert.is(lab.judgeBinaryBody('/a.png', bad, png, 2, answer('HTTP 200 OK', U('<p>'))).status, 'pass', 'the same broken status line: status-line\'s FAIL alone');
  const newlines = lab.judgeBinaryBody('/a.png', answer('HTTP/1.1 200 OK', B(png.toString('latin1').replace(/\r\n?/g, '\n'))), png, 2);
  assert.match(newlines.detail, 'universal newlines');
  const replaced = lab.judgeBinaryBody('/a.png', answer('HTTP/1.1 200 OK', U(png.toString('utf8'))), png, 2);
  assert.match(replaced.detail, 'errors="replace"');
  const same = lab.judgeBinaryBody('/a.png', answer('HTTP/1.1 200 OK', U('<p>hi</p>')), png, 2, undefined, { name: '/hello.html', bytes: U('<p>hi</p>') });
  assert.match(same.detail, 'does not depend on the path');
  assert.is(lab.judgeBinaryBody('/a.png', response('', true), png, 2).cause, 'no-reply:closed');
});
http('not-found: 404 with a page PASS, 404 without one WARN (valid HTTP), 200 FAIL', () => {
  assert.is(lab.judgeNotFound('/x', response('HTTP/1.1 404 Not Found\r\n\r\n<h1>404</h1>'), 2).status, 'pass');
  assert.is(lab.judgeNotFound('/x', response('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'), 2).status, 'warn');
  const fake = lab.judgeNotFound('/x', response('HTTP/1.1 200 OK\r\n\r\n<h1>404 Not Found</h1>'), 2);
  assert.is(fake.status, 'fail');
  assert.match(fake.summary, 'says "not found"');
});
http('split-request and browser-request: judged against the plain GET\'s own answer', () => {
  const plain = response('HTTP 200 OK\r\n\r\nhello\r\n');
  assert.is(lab.judgeSplitRequest('/a', response('HTTP 200 OK\r\n\r\nhello\r\n'), plain).status, 'pass', 'the same broken answer is not blamed on recv() again');
  assert.is(lab.judgeSplitRequest('/a', response('HTTP/1.1 400 Bad Request\r\n\r\n'), plain).status, 'warn');
  assert.is(lab.judgeSplitRequest('/a', response(''), response('')).status, 'skip');
  assert.is(lab.judgeBrowserRequest(response('HTTP 200 OK\r\n\r\nhello\r\n'), plain, 2).status, 'pass');
  assert.match(lab.judgeBrowserRequest(response('HTTP/1.1 200 OK\r\n\r\nhello\r\n', false), response('HTTP/1.1 200 OK\r\n\r\nhello\r\n'), 2).detail, 'keep-alive');
  const head = lab.browserRequest('127.0.0.1:6789', '/a.html');
  assert.ok(head.length >= 590 && head.length <= 610, `${head.length} bytes`);
});
http('answerCut: an endless, trickling, stalled or reset answer is said as such', () => {
  const endless = lab.answerCut(response('HTTP/1.1 200 OK\r\nX: aaaa', false, 'too-much'), '/a', 2);
  assert.is(endless.cause, 'too-much');
  assert.match(endless.summary, 'never ended');
  assert.is(lab.answerCut(response('HTT', false, 'too-slow'), '/a', 2).cause, 'too-slow');
  assert.is(lab.answerCut(response('HTTP/1.1 200 OK\r\n', false, 'silent'), '/a', 2).cause, 'stalled');
  assert.is(lab.answerCut(response('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc', true, 'reset'), '/a', 2).cause, 'reset-mid');
  assert.is(lab.answerCut(response('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'), '/a', 2), undefined);
  const head = lab.judgeHeadersEnd(response('HTTP/1.1 200 OK\r\nX: aaaa', false, 'too-much'), '/a', 2);
  assert.is(head.status, 'fail');
  assert.is(lab.judgeContentType('/a.html', response('HTTP/1.1 200 OK\r\nX: aaaa', false, 'too-much')).status, 'skip');
});
http('traversal: passwd\'s shape, or the bytes of a file known to lie outside; 404s leak nothing', () => {
  const passwd = response('HTTP/1.1 200 OK\r\n\r\nroot:x:0:0:root:/root:/bin/bash\n');
  assert.is(lab.judgeTraversal([{ path: '/../etc/passwd', response: passwd }]).status, 'fail');
  const secret = U('lab-check secret 0123456789abcdef\n');
  const planted = lab.judgeTraversal([
    { path: '/../etc/passwd', response: response('HTTP/1.1 403 Forbidden\r\n\r\nno') },
    { path: '/../../tmp/x/secret.html', secret, what: 'a file lab-check put outside the served folder', response: response(`HTTP/1.1 200 OK\r\n\r\n${secret}`) },
  ]);
  assert.is(planted.status, 'fail');
  assert.match(planted.detail, 'a filter on its name does not stop the climb');
  assert.is(lab.judgeTraversal([{ path: '/../a.html', secret, response: response(`HTTP/1.1 404 Not Found\r\n\r\n${secret}`) }]).status, 'pass');
  assert.is(lab.judgeTraversal([{ path: '/../etc/passwd', response: response('') }]).status, 'skip', 'no answer at all: nothing to judge');
});
http.run();

const evidence = suite('the server\'s own evidence: tracebacks, read and explained only as far as they go');
const py = (frames, last, before = '') => `${before}Traceback (most recent call last):\n${frames.map(([f, l, code]) => `  File "${f}", line ${l}, in <module>\n    ${code}\n`).join('')}${last}\n`;
for (const [name, output, expected] of [
  ['a plain traceback', py([['/s/TCPServer.py', 12, 'sentence = c.recv(1024).decode()']], "UnicodeDecodeError: 'utf-8' codec can't decode byte 0x80"),
    { type: 'UnicodeDecodeError', line: 12, code: 'sentence = c.recv(1024).decode()' }],
  ['the student\'s frame, not the library\'s', py([['/s/Web.py', 9, 'c.send(x)'], ['/usr/lib/python3.11/socket.py', 300, 'raise']], 'BrokenPipeError: [Errno 32] Broken pipe'),
    { type: 'BrokenPipeError', line: 9 }],
  ['a thread\'s', py([['/s/T.py', 5, 'd = conn.recv(1024)']], 'ConnectionResetError: [Errno 104] Connection reset by peer', 'Exception in thread Thread-3 (handle):\n'),
    { type: 'ConnectionResetError', thread: 'Thread-3 (handle)', line: 5 }],
  ['the last of a chain', `${py([['/s/W.py', 17, 'f = open(name)']], 'FileNotFoundError: x')}\nDuring handling of the above exception, another exception occurred:\n\n${py([['/s/W.py', 23, "c.send('404')"]], "TypeError: a bytes-like object is required, not 'str'")}`,
    { type: 'TypeError', line: 23 }],
  ['Java', 'Exception in thread "main" java.net.SocketException: Connection reset\n\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:328)\n\tat TCPServer.main(TCPServer.java:21)\n',
    { type: 'java.net.SocketException', line: 21, file: 'TCPServer.java' }],
  ['none at all', 'The server is ready to receive\n', undefined],
]) {
  evidence(`lastException: ${name}`, () => {
    const ex = lab.lastException(output);
    if (expected === undefined) return assert.is(ex, undefined);
    for (const [key, value] of Object.entries(expected)) assert.is(ex[key], value, key);
  });
}
for (const [name, ex, kind, says, never] of [
  ['UnicodeDecodeError from recv: do not decode', { type: 'UnicodeDecodeError', message: '', code: 'data = c.recv(1024).decode()' }, 'tcp', 'do not decode()'],
  ['UnicodeDecodeError reading a file: "rb"', { type: 'UnicodeDecodeError', message: '', code: 'outputdata = f.read()' }, 'web', 'open(name, "rb")'],
  ['TypeError send(str): encode, not sendall', { type: 'TypeError', message: "a bytes-like object is required, not 'str'" }, 'tcp', 'send(text.encode())', /sendall/],
  ['IndexError on split()[1]: the empty request', { type: 'IndexError', message: 'list index out of range', code: 'filename = message.split()[1]' }, 'web', 'empty'],
  ['IndexError elsewhere: no story about requests', { type: 'IndexError', message: 'list index out of range', code: 'x = parts[3]' }, 'web', 'fix the line', /empty/],
  ['BrokenPipeError: the client went away, not decode()', { type: 'BrokenPipeError', message: '' }, 'tcp', 'except OSError', /decode/],
  ['an unknown one: only where it was', { type: 'NameError', message: "name 'x' is not defined" }, 'udp', 'recvfrom()'],
]) {
  evidence(`explainException: ${name}`, () => {
    const { meaning, change } = lab.explainException(ex, kind);
    assert.match(meaning + change, says);
    if (never) assert.not.match(meaning + change, never);
  });
}
evidence.run();

const conclude = suite('concludeChecks: a death blamed on its request, the one-client server, one cause one FAIL');
const P = (summary = 'fine.') => ({ status: 'pass', summary, detail: '' });
const F = (summary, cause, did = 'did it.', change = 'change it.') => ({ status: 'fail', summary, detail: `what it did: ${did}\nwhat to change: ${change}`, did, change, cause });
const exited = (o = {}) => ({ how: 'exited', code: 0, signal: null, firstClient: true, output: '  | ready', ...o });
const crashed = (type, line, message = 'boom') => exited({ code: 1, exception: { type, message, line, code: 'x()' } });
const statuses = (r) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
conclude('a server that dies answering its first GET: connect PASS, the first judged check FAILs with the traceback', () => {
  const r = lab.concludeChecks('web', [
    { id: 'connect', verdict: P(), end: crashed('TypeError', 19, "a bytes-like object is required, not 'str'") },
    { id: 'status-line', verdict: F('no status line came back for GET /a.html.', 'no-reply:closed'), judges: 'connect' },
    { id: 'headers-end', verdict: { status: 'skip', summary: 'not judged.', detail: '' }, judges: 'connect' },
  ]);
  assert.equal(statuses(r), { connect: 'pass', 'status-line': 'fail', 'headers-end': 'skip' });
  const line = r.checks[1];
  assert.match(line.summary, 'then it crashed (TypeError)');
  assert.match(line.detail, 'send(text.encode())');
  assert.match(line.detail, 'its output (last lines)');
});
conclude('the one-client server: its own exchanges stay right; concurrent and survives say it once each, with the exit status', () => {
  const r = lab.concludeChecks('tcp', [
    { id: 'connect', verdict: P(), end: exited() },
    { id: 'sample', verdict: P(), judges: 'connect' },
    { id: 'only-a-z', verdict: P(), end: exited() },
    { id: 'concurrent', verdict: F('a second client got no answer.', 'second-unanswered'), end: exited() },
    { id: 'survives', verdict: F('not answered.', 'does-not-survive'), end: crashed('ConnectionResetError', 9) },
  ]);
  assert.equal(statuses(r), { connect: 'pass', sample: 'pass', 'only-a-z': 'pass', concurrent: 'fail', survives: 'fail' });
  for (const c of r.checks.slice(3)) {
    assert.match(c.summary, 'your server exits after its first client: put accept() inside a loop.');
    assert.match(c.detail, 'exit status 0, no traceback');
    assert.not.match(c.detail, 'an uncaught exception ended it');
  }
  assert.match(r.checks[4].detail, 'also crashed on a bad client: it raised ConnectionResetError');
});
conclude('without --run a server that stops after its first client: concurrent and survives FAIL, the rest SKIP', () => {
  const stopped = { how: 'stopped', firstClient: true };
  const r = lab.concludeChecks('tcp', [
    { id: 'connect', verdict: P(), end: stopped },
    { id: 'sample', verdict: P(), judges: 'connect' },
    { id: 'only-a-z', verdict: P(), notRun: 'not run: the server stopped during the connect check.' },
    { id: 'concurrent', verdict: P(), notRun: 'not run: the server stopped during the connect check.' },
    { id: 'survives', verdict: P(), notRun: 'not run: the server stopped during the connect check.' },
  ]);
  assert.equal(statuses(r), { connect: 'pass', sample: 'pass', 'only-a-z': 'skip', concurrent: 'fail', survives: 'fail' });
  assert.match(r.checks[3].detail, 'it may also have crashed after replying');
});
conclude('a crash after a right answer is survives\' failure', () => {
  const r = lab.concludeChecks('tcp', [
    { id: 'connect', verdict: P() }, { id: 'long-message', verdict: P(), end: { ...crashed('OSError', 30), firstClient: false } },
    { id: 'survives', verdict: P() },
  ]);
  assert.equal(statuses(r), { connect: 'pass', 'long-message': 'pass', survives: 'fail' });
  assert.match(r.checks[2].summary, 'after answering the long-message check right, the server crashed');
});
conclude('one cause, one FAIL: the same crash, no reply again, the same endless answer', () => {
  const r = lab.concludeChecks('tcp', [
    { id: 'sample', verdict: F('no reply.', 'no-reply:closed'), end: crashed('UnicodeDecodeError', 11, "can't decode byte 0x80 in position 128") },
    { id: 'binary-safe', verdict: F('no reply.', 'no-reply:closed'), end: crashed('UnicodeDecodeError', 11, "can't decode byte 0xff in position 0") },
    { id: 'long-message', verdict: F('no reply.', 'no-reply:silent') },
    { id: 'split-message', verdict: F('no reply.', 'no-reply:closed') },
    { id: 'half-close', verdict: F('flooded.', 'too-much') },
    { id: 'concurrent', verdict: F('flooded.', 'too-much') },
  ]);
  // A crash that left no reply is not the same cause as a server that stays silent: two FAILs.
  assert.equal(statuses(r), { sample: 'fail', 'binary-safe': 'skip', 'long-message': 'fail', 'split-message': 'skip', 'half-close': 'fail', concurrent: 'skip' });
  assert.match(r.checks[1].summary, 'the same UnicodeDecodeError here too (at line 11) (see the sample check)');
  assert.match(r.checks[3].summary, 'no reply here either (see the long-message check)');
});
conclude('a thread\'s traceback is the evidence for the check whose client it served', () => {
  const r = lab.concludeChecks('tcp', [{ id: 'binary-safe', verdict: F('no reply.', 'no-reply:silent', 'sent nothing back.'), exception: { type: 'UnicodeDecodeError', message: 'x', line: 8, thread: 'Thread-2' } }]);
  assert.match(r.checks[0].detail, 'Meanwhile the server printed an exception in Thread-2: UnicodeDecodeError: x at line 8');
  assert.match(r.checks[0].detail, 'do not decode()');
});
conclude('silent to the sample but answered after FIN: the half-close check tells why', () => {
  const r = lab.concludeChecks('tcp', [
    { id: 'sample', verdict: F('no reply.', 'no-reply:silent', 'sent nothing back.') },
    { id: 'half-close', verdict: P('after the client\'s FIN (shutdown(SHUT_WR)), the reply still came.') },
  ]);
  assert.match(r.checks[0].detail, 'once the client sent FIN, the reply came');
});
conclude.run();

const report = suite('the report, --json\'s kind, the bounds');
report('formatReport: one line per check, details for WARN and FAIL only, notes, a summary line', () => {
  const checks = [
    { id: 'sample', status: 'pass', summary: 'fine.', detail: '' },
    { id: 'long-message', status: 'warn', summary: 'cut.', detail: 'what it did: a\nwhat to change: b' },
    { id: 'survives', status: 'skip', summary: 'not run.', detail: '' },
  ];
  const text = lab.formatReport({ kind: 'tcp', target: '127.0.0.1:12000', checks, counts: lab.countStatuses(checks), notes: ['a note.'] });
  assert.is(text, 'lab-check tcp 127.0.0.1:12000\nPASS sample        fine.\nWARN long-message  cut.\n       what it did: a\n       what to change: b\n' +
    'SKIP survives      not run.\nnote: a note.\n3 checks: 1 passed, 1 warned, 0 failed, 1 skipped. No check failed; the warnings are lessons.\n');
});
report('portInUse reads /proc/net: TCP needs LISTEN (0A), any bound UDP socket counts', () => {
  const table = '  sl  local_address rem_address   st\n   0: 0100007F:2EE0 00000000:0000 0A 0\n   1: 0100007F:1F90 0100007F:D431 01 0\n';
  assert.ok(lab.portInUse('tcp', 12000, table));
  assert.not.ok(lab.portInUse('tcp', 8080, table));
  assert.ok(lab.portInUse('udp', 8080, table));
});
for (const [argv, kind] of [
  [['--json', 'tcp', '127.0.0.1', '99999'], 'tcp'], [['-t', 'web', '--json', 'udp', 'h', '1'], 'udp'], [['--run', 'tcp', 'web', 'h', '1', '/'], 'web'],
  [['--json'], undefined], [['ftp', 'tcp'], undefined],
]) {
  report(`earlyKind ${argv.join(' ')} -> ${kind}`, () => assert.is(lab.earlyKind(argv), kind));
}
report('the whole run\'s deadline: checks x (8 t + 2 s), plus 10 s per check and at start with --run', () => {
  assert.is(lab.runBudgetMs('tcp', 2000, false), 9 * 18000);
  assert.is(lab.runBudgetMs('web', 1000, true), 10000 + 13 * 20000);
});
report.run();
