// Bad input on every command line: at least 10 invalid invocations per program (the seven programs
// and the multi-call socklab) must each exit 64 with exactly one line on stderr, naming the
// program, and print nothing on stdout — never a stack trace, never "internal error".
import { run } from '../helpers.mjs';
import { check, inParallel } from './lib.mjs';

const LONG = 'x'.repeat(100_000);

const SERVER_PORTS = [['0'], ['65536'], ['-1'], ['12x'], ['1e3'], ['0x50'], ['+80'], ['80.0'], [' 80'], ['localhost'],
  ['127.0.0.1', '99999'], ['::1', '0'], ['a', 'b', 'c'], ['--bogus'], ['-4', '-6'], ['--port', '80'], [LONG], [''], ['-v', '-q', '-x']];
const CLIENT_COMMON = [[], ['127.0.0.1'], ['127.0.0.1', '0', 'hi'], ['127.0.0.1', '70000', 'hi'], ['127.0.0.1', 'http', 'hi'],
  ['', '12000', 'hi'], ['bad host', '12000', 'hi'], ['-x', '127.0.0.1', '12000'], ['--timeout', '-1', '127.0.0.1', '12000'],
  ['-t', 'abc', '127.0.0.1', '12000', 'hi'], ['-t', '0', '127.0.0.1', '12000', 'hi'], ['-t', 'Infinity', '127.0.0.1', '12000', 'hi'],
  ['-t', '1e9', '127.0.0.1', '12000', 'hi'], ['-4', '-6', '127.0.0.1', '12000', 'hi'], ['127.0.0.1', '--timeout'],
  ['127.0.0.1', LONG, 'hi'], ['127.0.0.1', '-12000', 'hi']];

/** [program, args]: every one a usage error. */
export const TABLE = [
  ...SERVER_PORTS.map((args) => ['tcp-server', args]),
  ...[['--idle-timeout', 'abc'], ['--idle-timeout', '0'], ['--idle-timeout', 'NaN'], ['--idle-timeout', '1e309'], ['--grace'],
    ['--grace', '-5'], ['--grace', '99999999'], ['--idle-timeout=']].map((args) => ['tcp-server', args]),
  ...SERVER_PORTS.map((args) => ['udp-server', args]),
  ...[['--idle-timeout', '5'], ['--timeout', '1']].map((args) => ['udp-server', args]),
  ...CLIENT_COMMON.map((args) => ['tcp-client', args]),
  ...CLIENT_COMMON.map((args) => ['udp-client', args]),
  ...[['-r', 'many', '127.0.0.1', '12000', 'hi'], ['-r', '1000', '127.0.0.1', '12000', 'hi'], ['-r', '-1', '127.0.0.1', '12000', 'hi'],
    ['-r', '1.5', '127.0.0.1', '12000', 'hi'], ['-r', '', '127.0.0.1', '12000', 'hi']].map((args) => ['udp-client', args]),
  ...SERVER_PORTS.map((args) => ['web-server', args]),
  ...[['-d', '/nonexistent/folder'], ['-d', '/etc/passwd'], ['-d'], ['--keep-alive', '0'], ['--headers-timeout', 'abc'],
    ['--headers-timeout', '20', '--request-timeout', '10'], ['--max-connections', '0'], ['--max-connections', 'abc'],
    ['--max-connections', '100001'], ['--max-connections', '1.5'], ['--grace'], ['--no-such-flag'], ['--no-listing=yes', '8080'],
    ['--once=3'], ['--root', LONG], ['--workers', '0'], ['--workers', '65'], ['--workers', 'many'], ['--workers', '1.5'],
    ['--workers'], ['--once', '--workers', '2']].map((args) => ['web-server', args]),
  ...[[], ['http://'], ['ftp://127.0.0.1/'], ['127.0.0.1', '0', '/'], ['127.0.0.1', '80x'], ['http://127.0.0.1:0/'],
    ['http://127.0.0.1:99999/'], ['http://[::1/'], ['--max-redirects', 'abc', 'http://127.0.0.1/'], ['-t', '0', 'http://127.0.0.1/'],
    ['--bogus', 'http://127.0.0.1/'], ['-4', '-6', 'http://127.0.0.1/'], ['127.0.0.1', '80', '/', 'extra'],
    ['http://127.0.0.1:80:80/'], [LONG], ['http://bad host/'], [`${LONG}.example`, '80', '/'],
    ['--max-redirects', '-1', '-L', 'http://127.0.0.1/']].map((args) => ['http-client', args]),
  ...[[], ['ftp', '127.0.0.1', '21'], ['tcp', '127.0.0.1'], ['web', '127.0.0.1', '6789'], ['web', '127.0.0.1', '6789', 'x.html'],
    ['tcp', '127.0.0.1', '12000', '--local', 'x'], ['tcp', '127.0.0.1', '99999'], ['tcp', '127.0.0.1', '12000', 'python3', 'S.py'],
    ['udp', '127.0.0.1', '12000', '-t', '0'], ['web', '127.0.0.1', '6789', '/a', '--binary-local', 'x'], ['tcp', LONG, '12000'],
    ['tcp', '127.0.0.1', '012000'], ['udp', '127.0.0.1', '12000', '--run']].map((args) => ['lab-check', args]),
  ...[['bogus'], ['--bogus'], ['-x'], ['TCP-SERVER'], ['../tcp-server'], ['tcp-server', '0'], ['web-server', '--bogus'],
    ['udp-client'], ['http-client'], ['tcp-client', '127.0.0.1'], ['udp-server', '-4', '-6'], [''], [LONG]].map((args) => ['socklab', args]),
];

export default [{
  name: `bad command lines: ${TABLE.length} invalid invocations of the seven programs and socklab -> exit 64, one line`,
  timeoutMs: 120_000,
  async run({ log }) {
    const failures = [];
    const perProgram = {};
    await inParallel(TABLE.length, 4, async (i) => {
      const [program, args] = TABLE[i];
      perProgram[program] = (perProgram[program] ?? 0) + 1;
      const shown = `${program} ${JSON.stringify(args.map((a) => (a.length > 40 ? `${a.slice(0, 10)}...(${a.length})` : a)))}`;
      const r = await run(program, args, { timeoutMs: 15_000 });
      const lines = r.stderr.trimEnd().split('\n');
      // socklab hands its arguments to the program named first, which then names itself.
      const prefixes = program === 'socklab' ? ['socklab: ', ...(args[0] ? [`${args[0]}: `] : [])] : [`${program}: `];
      const problems = [
        r.code !== 64 && `exit ${r.code ?? r.signal}`,
        lines.length !== 1 && `${lines.length} lines on stderr`,
        !prefixes.some((p) => lines[0].startsWith(p)) && 'the line does not start with the program\'s name',
        /internal error|\n\s+at |Error:/.test(r.stderr) && 'a stack trace or internal error',
        r.stdout.length > 0 && `${r.stdout.length} bytes on stdout`,
      ].filter(Boolean);
      if (problems.length) failures.push(`${shown}: ${problems.join(', ')}: ${r.stderr.slice(0, 200).trimEnd()}`);
    });
    log(`invocations per program: ${Object.entries(perProgram).map(([p, n]) => `${p} ${n}`).join(', ')}`);
    for (const f of failures) log(`wrong: ${f}`);
    check(Object.values(perProgram).every((n) => n >= 10) && Object.keys(perProgram).length === 8, 'fewer than 10 cases for some program');
    check(failures.length === 0, `${failures.length} of ${TABLE.length} bad command lines were not answered with exit 64 and one line`);
  },
}];
