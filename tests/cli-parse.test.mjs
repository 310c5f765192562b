// lib/cli.ts in-process: argv in, flags and positionals (or the one-line usage error) out,
// through importSource (bundled with esbuild: any Node that runs the suite runs it).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importSource } from './helpers.mjs';

// Together, so that the parser's UsageError is the class the tests compare with.
const cli = await importSource(['lib/cli.ts', 'lib/program.ts']);

/** A client's spec as tcp-client and udp-client declare it: HOST PORT, then the message. */
const CLIENT = {
  name: 'tcp-client', summary: '', usage: ['HOST PORT MESSAGE...', 'HOST PORT            (prompts)'], examples: [],
  messageAfter: 2,
  options: [
    { name: 'timeout', short: 't', value: 'SECONDS', help: '' },
    { name: 'max-time', value: 'SECONDS', help: '' },
    ...cli.COMMON_OPTIONS,
  ],
};
const SERVER = { ...CLIENT, name: 'tcp-server', usage: ['[PORT]', 'HOST PORT'], messageAfter: undefined };

/** Parses, or gives back the usage error's sentence. */
function parse(spec, argv) {
  try {
    const { flags, positionals } = cli.parseCommandLine(spec, argv);
    return { positionals, verbose: Boolean(flags.verbose), timeout: flags.timeout };
  } catch (err) {
    if (err instanceof cli.UsageError) return { error: err.message };
    throw err;
  }
}

const message = suite('the message is exactly what was typed: every word after HOST PORT');
for (const [argv, expected] of [
  [['h', '1', '5', '-', '3', '=', '2'], ['h', '1', '5', '-', '3', '=', '2']],
  [['h', '1', 'a', '-', 'b'], ['h', '1', 'a', '-', 'b']],
  [['h', '1', 'it', 'is', '-5', 'today'], ['h', '1', 'it', 'is', '-5', 'today']],
  [['h', '1', 'env', '-i'], ['h', '1', 'env', '-i']],
  [['h', '1', '--verbose', 'please'], ['h', '1', '--verbose', 'please']],
  [['h', '1', '-v'], ['h', '1', '-v']],
  [['h', '1', '--', '-5', 'degrees'], ['h', '1', '-5', 'degrees']],
  [['--', 'h', '1', '-x'], ['h', '1', '-x']],
  [['-v', '-t', '2', 'h', '1', '-t', '3'], ['h', '1', '-t', '3']],
  [['--timeout', '2', '-4', 'h', '1', 'x'], ['h', '1', 'x']],
  [['-vt', '2', 'h', '1', 'x'], ['h', '1', 'x']],
  [['--timeout=2', 'h', '1', 'x'], ['h', '1', 'x']],
  [['h', '1'], ['h', '1']],
  [['h', '1', '--'], ['h', '1']],
]) {
  message(argv.join(' '), () => assert.equal(parse(CLIENT, argv).positionals, expected));
}
message('options before HOST still count; the same words after PORT do not', () => {
  assert.equal(parse(CLIENT, ['-v', 'h', '1', 'x']).verbose, true);
  assert.equal(parse(CLIENT, ['h', '1', '-v', 'x']).verbose, false);
  assert.is(parse(CLIENT, ['-t', '2', 'h', '1', '-t', '3']).timeout, '2');
});
message('a server takes no message: options anywhere, as before', () => {
  assert.equal(parse(SERVER, ['12000', '-v']), { positionals: ['12000'], verbose: true, timeout: undefined });
});
message.run();

const mistakes = suite('mistakes get the fix, not only the fault');
const address = (argv) => {
  try {
    return cli.clientAddressFromArgs('tcp-client', argv, 0);
  } catch (err) {
    if (err instanceof cli.UsageError) return err.message;
    throw err;
  }
};
for (const [argv, expected] of [
  [['12000', '127.0.0.1', 'hi'], 'HOST comes first: tcp-client 127.0.0.1 12000'],
  [['12000', 'localhost'], 'HOST comes first: tcp-client localhost 12000'],
  [['127.0.0.1:12000', 'hi'], 'give HOST and PORT as two words: 127.0.0.1 12000'],
  [['127.0.0.1:12000'], 'give HOST and PORT as two words: 127.0.0.1 12000'],
  [['localhost:12000'], 'give HOST and PORT as two words: localhost 12000'],
  [['[::1]:12000', 'hi'], 'give HOST and PORT as two words: ::1 12000'],
  [['::1:12000', 'hi'], 'give HOST and PORT as two words: ::1 12000'],
  [['fe80::1:65535'], 'give HOST and PORT as two words: fe80::1 65535'],
  [['::1:8080', 'hi'], 'bad port "hi": a port is a whole number from 1 to 65535; if ::1:8080 was meant as ::1 port 8080, give HOST and PORT as two words: ::1 8080'],
  [['::1:8080', '8081'], { host: '::1:8080', port: 8081 }],
  [['127.0.0.1', '012000'], 'bad port "012000": write it with no leading zero or sign: 12000'],
  [['127.0.0.1', '+12000'], 'bad port "+12000": write it with no leading zero or sign: 12000'],
  [['127.0.0.1', '00'], 'bad port "00": write it with no leading zero or sign (a port is a whole number from 1 to 65535)'],
  [['127.0.0.1', '+99999'], 'bad port "+99999": write it with no leading zero or sign (a port is a whole number from 1 to 65535)'],
  [['[::1]', '12000'], { host: '::1', port: 12000 }],
  [['::1', '12000'], { host: '::1', port: 12000 }],
  [['127.0.0.1', '12000'], { host: '127.0.0.1', port: 12000 }],
]) {
  mistakes(`HOST PORT ${argv.join(' ')}`, () => assert.equal(address(argv), expected));
}
mistakes('a server\'s one word with a colon: split it too', () => {
  assert.is(parse(SERVER, ['127.0.0.1:12000']).error, undefined); // parsing is fine; the port check says it:
  assert.throws(() => cli.parsePort('127.0.0.1:12000'), /give HOST and PORT as two words: 127\.0\.0\.1 12000/);
});
for (const [argv, expected] of [
  [['--verbos', 'h', '1'], 'unknown option --verbos: did you mean --verbose?'],
  [['--timout', '2', 'h', '1'], 'unknown option --timout: did you mean --timeout?'],
  [['--max-tim', '2', 'h', '1'], 'unknown option --max-tim: did you mean --max-time?'],
  [['--bogus', 'h', '1'], 'unknown option --bogus; see tcp-client --help'],
  [['--port', '12000', 'h'], 'there is no --port option: the port is a plain argument (write 12000 without --port); usage: tcp-client HOST PORT MESSAGE...'],
  [['-p', '8080', 'h'], 'there is no -p option: the port is a plain argument (write 8080 without -p); usage: tcp-client HOST PORT MESSAGE...'],
  [['-t', '-1', 'h', '1'], 'unknown option -1: negative numbers are never valid here'],
  [['h', '--port=12000'], 'there is no --port option: the port is a plain argument (write 12000 without --port); usage: tcp-client HOST PORT MESSAGE...'],
  [['12345', '--port=x'], 'there is no --port option: the port is a plain argument; usage: tcp-client HOST PORT MESSAGE...'],
]) {
  mistakes(argv.join(' '), () => assert.is(parse(CLIENT, argv).error, expected));
}
mistakes('the server form of the port hint names its own usage', () => {
  assert.is(parse(SERVER, ['--port', '8080']).error, 'there is no --port option: the port is a plain argument (write 8080 without --port); usage: tcp-server [PORT]');
});
mistakes.run();
