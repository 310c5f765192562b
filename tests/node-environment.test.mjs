// Node's environment variables change nothing in a packaged program: NODE_OPTIONS with --require
// (code run inside the student's program) and --inspect (a debugger port any local user could use
// to run code as the student) is ignored by every program, as are NODE_DEBUG's debug lines; a
// SIGUSR1 opens no debugger either. Each check looks for the effect itself: the required file's
// mark, a listening socket the program did not ask for, a line on stderr.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROGRAMS, bin, freePort, pinnedNodeVersion, removeLater, removeTempDirs, run, sleep, startProgram, tcpExchange, udpExchange, version } from './helpers.mjs';

test.after(removeTempDirs);

/** A folder with inject.js, which leaves a file named after its process when it runs. */
let folder;
function injectFolder() {
  if (folder) return folder;
  folder = mkdtempSync(join(tmpdir(), 'socklab-node-env-'));
  removeLater(folder);
  writeFileSync(join(folder, 'inject.js'), `require('fs').writeFileSync(${JSON.stringify(folder)} + '/ran-' + process.pid, '');\nconsole.error('inject.js ran');\n`);
  return folder;
}

/** The environment of a user whose shell sets Node's variables (inspector on port 0: never 9229). */
function nodeEnvironment() {
  return {
    ...process.env,
    NODE_OPTIONS: `--require ${join(injectFolder(), 'inject.js')} --inspect=127.0.0.1:0`,
    NODE_DEBUG: 'net,http,child_process,module,timer',
    NODE_PENDING_DEPRECATION: '1',
  };
}

/** Whether inject.js ran anywhere. */
const injected = () => readdirSync(injectFolder()).filter((f) => f.startsWith('ran-'));

/** The TCP ports a process listens on, from its descriptors and /proc/net/tcp{,6} (LISTEN is state 0A). */
function listeningPorts(pid) {
  const inodes = new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
    } catch {
      return undefined; // closed meanwhile
    }
  }).filter(Boolean));
  const ports = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6'].filter(existsSync)) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9])) ports.push(parseInt(fields[1].split(':').pop(), 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

test('NODE_OPTIONS (--require, --inspect) and NODE_DEBUG: every program and socklab print their --version and nothing else', async () => {
  for (const name of [...PROGRAMS, 'socklab']) {
    const r = await run(bin(name), ['--version'], { env: nodeEnvironment() });
    assert.is(r.stderr, '', `${name} wrote to stderr`);
    assert.is(r.stdout.toString(), `${name} ${version} (node ${pinnedNodeVersion}, linux-x64)\n`, name);
    assert.is(r.code, 0, name);
  }
  assert.equal(injected(), [], 'a program ran the file NODE_OPTIONS --require named');
});

test('NODE_OPTIONS that Node refuses or that would crash it (--max-old-space-size=1) changes nothing either', async () => {
  for (const options of ['--no-such-option', '--max-old-space-size=1', '--title=x --abort-on-uncaught-exception']) {
    const r = await run(bin('tcp-client'), ['--version'], { env: { ...process.env, NODE_OPTIONS: options } });
    assert.is(r.code, 0, `NODE_OPTIONS=${options}: ${r.stderr}`);
    assert.is(r.stderr, '', options);
  }
});

test('the servers under NODE_OPTIONS --inspect and NODE_DEBUG: only their own port, a clean stderr, and the exchange works', async () => {
  for (const [server, proto] of [['tcp-server', 'tcp'], ['udp-server', 'udp'], ['web-server', 'tcp']]) {
    const port = await freePort(proto);
    const started = await startProgram(server, ['127.0.0.1', String(port)], { env: nodeEnvironment(), cwd: injectFolder() });
    try {
      if (server === 'tcp-server') assert.is((await tcpExchange(port, 'hello')).toString(), 'HELLO');
      if (server === 'udp-server') assert.is((await udpExchange(port, 'hello')).toString(), 'HELLO');
      if (server === 'web-server') assert.match((await tcpExchange(port, 'GET /inject.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toString(), /^HTTP\/1\.1 200 OK/);
      assert.equal(listeningPorts(started.child.pid), proto === 'tcp' ? [port] : [], `${server} listens on ports it was not asked for`);
      await sleep(100);
      assert.is(started.output.stderr, '', `${server} wrote to stderr`);
    } finally {
      assert.is((await started.stop()).code, 0);
    }
  }
  // The peers above were the test's own: a client under the same environment too.
  const port = await freePort();
  const server = await startProgram('tcp-server', ['-q', '127.0.0.1', String(port)]);
  try {
    const r = await run(bin('tcp-client'), ['127.0.0.1', String(port), 'hello'], { env: nodeEnvironment() });
    assert.is(r.stdout.toString(), 'HELLO\n');
    assert.is(r.stderr, '', 'tcp-client wrote to stderr');
  } finally {
    await server.stop();
  }
  assert.equal(injected(), [], 'a program ran the file NODE_OPTIONS --require named');
});

test('SIGUSR1 opens no debugger port: tcp-server keeps only its own port and serves on', async () => {
  const port = await freePort();
  // Were NODE_OPTIONS obeyed, the inspector SIGUSR1 starts would take a free port, not 9229.
  const env = { ...process.env, NODE_OPTIONS: '--inspect-port=127.0.0.1:0' };
  const server = await startProgram('tcp-server', ['127.0.0.1', String(port)], { env });
  try {
    process.kill(server.child.pid, 'SIGUSR1');
    await sleep(300);
    assert.is(server.child.exitCode, null, `tcp-server ended on SIGUSR1: ${server.output.stderr}`);
    assert.equal(listeningPorts(server.child.pid), [port]);
    assert.not.match(server.output.stderr, /Debugger listening/);
    assert.is((await tcpExchange(port, 'still here')).toString(), 'STILL HERE');
  } finally {
    assert.is((await server.stop()).code, 0);
  }
});

test.run();
