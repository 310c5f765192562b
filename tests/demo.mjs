// `npm run demo`: runs every program in dist/ on loopback and prints what the handout's sample
// outputs show, plus its questions answered by the programs themselves, and lab-check grading a
// good server and a broken one. Each step prints the command as you would type it, then what the
// program printed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON3, freePort, root, run, runOnPinnedRuntime, startProgram, whichCommand } from './helpers.mjs';

runOnPinnedRuntime();

const show = (title) => console.log(`\n=== ${title}`);

async function step(program, args, note, { cwd } = {}) {
  const shown = args.map((a) => (/[\s,&*!]/.test(a) ? `'${a}'` : a)).join(' ');
  console.log(`$ ${program} ${shown}`);
  const r = await run(program, args, { cwd });
  // stderr first: a client's status or error line comes before the body it describes.
  const out = `${r.stderr}${r.stdout}`.trimEnd();
  if (out) console.log(out.split('\n').map((l) => `  ${l}`).join('\n'));
  console.log(`  (exit ${r.code}${note ? `: ${note}` : ''})`);
  return r;
}

async function withServer(program, args, fn) {
  console.log(`$ ${program} ${args.join(' ')} &`);
  // Wait for each server's last ready line (tcp/udp: "Listening on", web-server: "Serving").
  const server = await startProgram(program, args, { ready: /Listening on|Serving / });
  console.log(server.output.stdout.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  try {
    await fn();
  } finally {
    await server.stop();
  }
}

const tcpPort = String(await freePort());
const udpPort = String(await freePort('udp'));

show('Task 1, TCP: the handout sample exchange');
await withServer('tcp-server', ['-q', '127.0.0.1', tcpPort], async () => {
  await step('tcp-client', ['127.0.0.1', tcpPort, 'hello, welcome to lab']);
  await step('tcp-client', ['127.0.0.1', tcpPort, 'only a-z change: &*! 123 straße café']);
});

show('Task 1, UDP: the handout sample exchange');
await withServer('udp-server', ['-q', '127.0.0.1', udpPort], async () => {
  await step('udp-client', ['127.0.0.1', udpPort, 'hello, welcome']);
});

show('Q1: TCP client before TCP server');
await step('tcp-client', ['127.0.0.1', tcpPort, 'hello'], 'nothing listens, so the kernel answers the SYN with RST');

show('Q2: UDP client before UDP server');
await step('udp-client', ['127.0.0.1', udpPort, 'hello'], 'UDP sends no error; the host\'s ICMP "port unreachable" does');

show('Q3: client and server on different ports');
await withServer('tcp-server', ['-q', '127.0.0.1', tcpPort], async () => {
  const wrong = String(await freePort());
  await step('tcp-client', ['127.0.0.1', wrong, 'hello']);
});
await withServer('udp-server', ['-q', '127.0.0.1', udpPort], async () => {
  const wrong = String(await freePort('udp'));
  await step('udp-client', ['-t', '0.5', '127.0.0.1', wrong, 'hello']);
});

show('Task 2: web server and HTTP client');
const site = mkdtempSync(join(tmpdir(), 'socklab-demo-'));
writeFileSync(join(site, 'hello.txt'), 'Hello from socklab\'s web server!\n');
const webPort = String(await freePort());
try {
  await withServer('web-server', ['-q', '--root', site, '127.0.0.1', webPort], async () => {
    await step('http-client', ['-i', '127.0.0.1', webPort, '/hello.txt']);
    await step('http-client', [`http://127.0.0.1:${webPort}/missing.html`], 'a missing file is 404 Not Found');
  });
} finally {
  rmSync(site, { recursive: true, force: true });
}

show('lab-check: does a server do what the lab asks?');
await withServer('tcp-server', ['-q', '127.0.0.1', tcpPort], async () => {
  await step('lab-check', ['tcp', '127.0.0.1', tcpPort], 'every check passed');
});
// A student's TCPServer.py with the classic mistake (decode().upper()), started by lab-check itself.
if (whichCommand(PYTHON3[0]) ?? whichCommand(PYTHON3[1])) {
  await step('lab-check', ['-t', '1', 'tcp', '127.0.0.1', tcpPort, '--run', `python3 tcp_str_upper.py ${tcpPort}`],
    'a check failed: each line says what the server did and what to change', { cwd: join(root, 'tests', 'students') });
} else {
  console.log('(python3 not found: install python3 to see lab-check grade a student\'s broken server)');
}

console.log('\nEvery program is in dist/; try them with --help.');
