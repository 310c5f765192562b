// The command line of every Task-1 program, run for real: bad input gives exit 64 and one line on
// stderr (never a stack trace); --help teaches and lists the exit codes; --version names the runtime.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pinnedNodeVersion, run } from './helpers.mjs';

const PROGRAMS = ['tcp-server', 'tcp-client', 'udp-server', 'udp-client'];

// [program, args, what the one line must mention]
const BAD = [
  ...['tcp-server', 'udp-server'].flatMap((p) => [
    [p, ['0'], 'bad port'],
    [p, ['65536'], 'bad port'],
    [p, ['-1'], 'negative numbers'],
    [p, ['12x'], 'bad port'],
    [p, ['localhost'], 'bad port'],
    [p, ['127.0.0.1', '80', 'extra'], 'too many arguments'],
    [p, ['--bogus'], 'unknown option --bogus'],
    [p, ['-4', '-6'], 'exclude each other'],
    [p, ['127.0.0.1', '99999'], 'bad port'],
  ]),
  ['tcp-server', ['--idle-timeout', 'soon'], 'bad --idle-timeout'],
  ['tcp-server', ['--idle-timeout', '0'], 'bad --idle-timeout'],
  ['tcp-server', ['--grace'], 'needs a value'],
  ...['tcp-client', 'udp-client'].flatMap((p) => [
    [p, [], 'missing HOST and PORT'],
    [p, ['127.0.0.1'], 'missing PORT'],
    [p, ['127.0.0.1', '0', 'hi'], 'bad port'],
    [p, ['127.0.0.1', '70000', 'hi'], 'bad port'],
    [p, ['127.0.0.1', 'http', 'hi'], 'bad port'],
    [p, ['', '12000', 'hi'], 'bad host'],
    [p, ['-x', '127.0.0.1', '12000'], 'unknown option -x'],
    [p, ['--timeout', '-1', '127.0.0.1', '12000'], 'negative numbers'],
    [p, ['--timeout', 'abc', '127.0.0.1', '12000', 'hi'], 'bad --timeout'],
    [p, ['-t', '0', '127.0.0.1', '12000', 'hi'], 'bad --timeout'],
    [p, ['-4', '-6', '127.0.0.1', '12000', 'hi'], 'exclude each other'],
  ]),
  // Found by the stress suite: mri read "--verbose=1" as --verbose and a port "1", "--grace=" took the next argument.
  ['tcp-server', ['--verbose=1', '12000'], '--verbose takes no value'],
  ['udp-server', ['-q=yes'], '--quiet takes no value'],
  ['tcp-server', ['--grace=', '12000'], '--grace needs a value'],
  ['tcp-client', ['--timeout=', '127.0.0.1', '12000', 'hi'], '--timeout needs a value'],
  ['udp-client', ['-4=1', '127.0.0.1', '12000', 'hi'], '--ipv4 takes no value'],
  // Also from the stress suite: a 300-character name got a raw "getaddrinfo EINVAL" (exit 69).
  ['tcp-client', ['x'.repeat(300), '12000', 'hi'], 'a host name has at most 253'],
  ['udp-client', ['x'.repeat(300), '12000', 'hi'], 'a host name has at most 253'],
  ['udp-client', ['-r', 'many', '127.0.0.1', '12000', 'hi'], 'bad --retries'],
  ['tcp-client', ['-6', '127.0.0.1', '12000', 'hi'], '127.0.0.1 is an IPv4 address'],
  ['udp-client', ['-4', '::1', '12000', 'hi'], '::1 is an IPv6 address'],
  ['tcp-server', ['-4', '::1', '12000'], '::1 is an IPv6 address'],
  ['udp-server', ['-6', '127.0.0.1', '12000'], '127.0.0.1 is an IPv4 address'],
  ['tcp-client', ['--idle-timeout', '0', '127.0.0.1', '12000', 'hi'], 'bad --idle-timeout'],
  ['udp-client', ['-r', '1000', '127.0.0.1', '12000', 'hi'], 'bad --retries'],
  // The usual mistakes get the fix in the sentence (issue 12, item 5).
  ...['tcp-client', 'udp-client'].flatMap((p) => [
    [p, ['12000', '127.0.0.1', 'hi'], `HOST comes first: ${p} 127.0.0.1 12000`],
    [p, ['127.0.0.1:12000', 'hi'], 'give HOST and PORT as two words: 127.0.0.1 12000'],
    [p, ['--verbos', '127.0.0.1', '12000', 'hi'], 'unknown option --verbos: did you mean --verbose?'],
    [p, ['-p', '12000', '127.0.0.1', 'hi'], 'the port is a plain argument (write 12000 without -p)'],
    // A newline typed into an argument stays inside the one line, escaped.
    [p, ['bad\nhost', '12000', 'hi'], 'bad host "bad\\nhost"'],
  ]),
  // Issue 20, item 5: a port with a leading zero or sign, and an IPv6 address that swallowed the port.
  ...['tcp-client', 'udp-client'].flatMap((p) => [
    [p, ['127.0.0.1', '012000', 'hi'], 'bad port "012000": write it with no leading zero or sign: 12000'],
    [p, ['127.0.0.1', '+12000', 'hi'], 'bad port "+12000": write it with no leading zero or sign: 12000'],
    [p, ['::1:12000', 'hi'], 'give HOST and PORT as two words: ::1 12000'],
  ]),
  ['tcp-server', ['0012000'], 'bad port "0012000": write it with no leading zero or sign: 12000'],
  ['udp-server', ['::1:12000'], 'give HOST and PORT as two words: ::1 12000'],
  ['tcp-server', ['--port', '8080'], 'the port is a plain argument (write 8080 without --port); usage: tcp-server [PORT]'],
  ['udp-server', ['127.0.0.1:12000'], 'give HOST and PORT as two words: 127.0.0.1 12000'],
  ['tcp-server', ['12000', '127.0.0.1'], 'HOST comes first, then PORT: 127.0.0.1 12000'],
  ['udp-server', ['12000', 'localhost'], 'HOST comes first, then PORT: localhost 12000'],
];

for (const [program, args, mention] of BAD) {
  test(`${program} ${JSON.stringify(args)} -> exit 64, one line about "${mention}"`, async () => {
    const r = await run(program, args, { timeoutMs: 5000 });
    assert.is(r.code, 64, `exit code; stderr: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.is(lines.length, 1, `one line, got: ${r.stderr}`);
    assert.ok(lines[0].startsWith(`${program}: `), lines[0]);
    assert.ok(lines[0].includes(mention), `"${lines[0]}" should mention "${mention}"`);
    assert.is(r.stdout.length, 0);
  });
}

/** The exit codes each program can return: its --help lists these and no others. */
const EXIT_CODES = {
  'tcp-server': [0, 64, 68, 69, 70, 71, 75, 77],
  'udp-server': [0, 64, 68, 69, 70, 71, 75, 77],
  'tcp-client': [0, 64, 68, 69, 70, 71, 74, 75, 76, 77, 130],
  'udp-client': [0, 64, 65, 68, 69, 70, 71, 74, 75, 77, 130],
};

for (const program of PROGRAMS) {
  test(`${program} --help: usage, options, examples and its own exit codes (no others); exit 0`, async () => {
    const r = await run(program, ['--help']);
    assert.is(r.code, 0);
    const help = r.stdout.toString();
    for (const part of ['Usage:', 'Options:', 'Examples:', '--verbose', '--quiet', '-4', '-6', 'Exit codes:']) {
      assert.ok(help.includes(part), `${program} --help lacks ${part}`);
    }
    const listed = [...help.slice(help.indexOf('Exit codes:')).matchAll(/^  (\d+) /gm)].map((m) => Number(m[1]));
    assert.equal(listed, EXIT_CODES[program]);
    // Wireshark labels UDP port 12000 "LLC": the UDP programs say how to see the data instead.
    if (program.startsWith('udp')) assert.match(help, 'tshark -d udp.port==12000,data');
  });

  test(`${program} --version names socklab's version, the Node runtime inside and the target`, async () => {
    const r = await run(program, ['--version']);
    assert.is(r.code, 0);
    const { version } = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')));
    assert.is(r.stdout.toString(), `${program} ${version} (node ${pinnedNodeVersion}, linux-x64)\n`);
  });
}

test.run();
