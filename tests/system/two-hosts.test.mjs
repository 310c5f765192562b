// The lab's two-host setup: the server runs on one host, the client on another. Two network
// namespaces stand in for the two hosts, joined by a veth pair (a virtual cable) with addresses
// that exist only inside them, so no traffic leaves this machine. Needs root and iproute2 (CI
// installs it and runs as root); without them the tests are skipped, and fail under CI=true.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ROOT, bin, run, startProgram, testNeeding } from '../helpers.mjs';

const SERVER_HOST = `socklab-a-${process.pid}`;
const CLIENT_HOST = `socklab-b-${process.pid}`;
const SERVER_LINK = `sla${process.pid}`; // interface names have at most 15 characters
const CLIENT_LINK = `slb${process.pid}`;
const SERVER_IP = '10.200.0.1';
const CLIENT_IP = '10.200.0.2';
const PORT = '12000'; // the handout's port: the namespaces are fresh, so it is free there
const MESSAGE = 'hello, welcome';

/** Absolute path of a system command (ip lives in /usr/sbin, which a user's PATH may lack). */
function findCommand(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs.filter(Boolean).map((d) => join(d, name)).find((f) => existsSync(f));
}

function ip(...args) {
  const command = findCommand('ip');
  if (!command) throw new Error('`ip` (iproute2) is not installed: the two-host test needs it (apt-get install iproute2)');
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: 'pipe', timeout: 10000 });
  } catch (err) {
    throw new Error(`ip ${args.join(' ')} failed (needs root and iproute2): ${err.stderr || err.message}`);
  }
}

// Set up once, on first use, so that a failure fails every test that needs the hosts (uvu
// swallows errors thrown by test.before).
let hosts;
function twoHosts() {
  hosts ??= Promise.resolve().then(() => {
    ip('netns', 'add', SERVER_HOST);
    ip('netns', 'add', CLIENT_HOST);
    ip('link', 'add', SERVER_LINK, 'netns', SERVER_HOST, 'type', 'veth', 'peer', 'name', CLIENT_LINK, 'netns', CLIENT_HOST);
    ip('-n', SERVER_HOST, 'addr', 'add', `${SERVER_IP}/24`, 'dev', SERVER_LINK);
    ip('-n', CLIENT_HOST, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', CLIENT_LINK);
    for (const [host, link] of [[SERVER_HOST, SERVER_LINK], [CLIENT_HOST, CLIENT_LINK]]) {
      ip('-n', host, 'link', 'set', 'lo', 'up');
      ip('-n', host, 'link', 'set', link, 'up');
    }
  });
  return hosts;
}

// Deleting a namespace deletes the veth end inside it, and with it the whole pair.
function deleteHosts() {
  for (const host of [SERVER_HOST, CLIENT_HOST]) {
    try { ip('netns', 'del', host); } catch { /* never created, or already gone */ }
    rmSync(`/etc/netns/${host}`, { recursive: true, force: true });
  }
}
test.after(deleteHosts);
const hostTest = testNeeding(test, ROOT, ['ip', 'iproute2']);
process.once('exit', deleteHosts); // also when a test times out and uvu exits early

// `ip netns exec` switches namespace and then execs the program: the PID we hold is the program's.
const onHost = (host, program, args) => [findCommand('ip'), ['netns', 'exec', host, bin(program), ...args]];

async function runOnClientHost(program, args, timeoutMs = 10000) {
  await twoHosts();
  const [command, fullArgs] = onHost(CLIENT_HOST, program, args);
  return run(command, fullArgs, { timeoutMs });
}

async function startOnServerHost(program, programArgs = [SERVER_IP, PORT], ready = undefined) {
  await twoHosts();
  const [command, args] = onHost(SERVER_HOST, program, programArgs);
  return startProgram(command, args, ready ? { ready } : {});
}

async function runOnServerHost(program, args) {
  await twoHosts();
  const [command, fullArgs] = onHost(SERVER_HOST, program, args);
  return run(command, fullArgs, { timeoutMs: 10000 });
}

/**
 * The hosts file of a stock Debian/Ubuntu install, for the server host only: `ip netns exec`
 * mounts /etc/netns/NAME/hosts over /etc/hosts, so this machine's own file is not touched.
 */
function stockHostsFileOnServerHost() {
  mkdirSync(`/etc/netns/${SERVER_HOST}`, { recursive: true });
  writeFileSync(`/etc/netns/${SERVER_HOST}/hosts`, '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n');
}

/** The server host's count of UDP datagrams that arrived for a port nobody had open. */
function udpNoPorts() {
  const snmp = execFileSync(findCommand('ip'), ['netns', 'exec', SERVER_HOST, 'cat', '/proc/net/snmp'], { encoding: 'utf8' });
  const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Udp:'));
  return Number(values.split(/\s+/)[names.split(/\s+/).indexOf('NoPorts')]);
}

function assertOneLine(stderr, mention) {
  assert.is(stderr.trimEnd().split('\n').length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(stderr, mention);
}

hostTest('client before server: tcp-client to the other host -> refused, exit 69, one line', async () => {
  const r = await runOnClientHost('tcp-client', [SERVER_IP, PORT, MESSAGE]);
  assert.is(r.code, 69, `exit code; stderr: ${r.stderr}`);
  assertOneLine(r.stderr, /refused/i);
  assert.is(r.stdout.length, 0);
  assert.ok(r.ms < 2000, `took ${Math.round(r.ms)} ms: a RST should come back at once`);
});

hostTest('client before server: udp-client to the other host -> ICMP port unreachable, exit 69', async () => {
  const r = await runOnClientHost('udp-client', [SERVER_IP, PORT, MESSAGE]);
  assert.is(r.code, 69, `exit code; stderr: ${r.stderr}`);
  assertOneLine(r.stderr, new RegExp(`UDP port ${PORT}`));
  assert.ok(r.ms < 3000, `took ${Math.round(r.ms)} ms`);
});

// A host with no route back to the client cannot send its ICMP "port unreachable": the datagram
// arrives and is dropped without a word, as behind a firewall that drops ICMP. (A blackhole route
// needs no nft/iptables, which CI does not install.) The client must give up after its tries.
hostTest('server host drops its ICMP: udp-client times out after 1 + retries tries, exit 75', async () => {
  await twoHosts();
  ip('-n', SERVER_HOST, 'route', 'add', 'blackhole', `${CLIENT_IP}/32`);
  let r;
  let arrived;
  try {
    const before = udpNoPorts();
    r = await runOnClientHost('udp-client', ['-t', '0.5', '-r', '1', SERVER_IP, PORT, MESSAGE]);
    arrived = udpNoPorts() - before;
  } finally {
    ip('-n', SERVER_HOST, 'route', 'del', 'blackhole', `${CLIENT_IP}/32`);
  }
  assert.is(r.code, 75, `exit code; stderr: ${r.stderr}`);
  assertOneLine(r.stderr, /no reply .*2 tries/);
  assert.is(arrived, 2, 'both datagrams should reach the server host (and be dropped there)');
  assert.ok(r.ms >= 900 && r.ms < 5000, `took ${Math.round(r.ms)} ms for 2 tries of 0.5 s`);
});

for (const proto of ['tcp', 'udp']) {
  hostTest(`${proto}-server on one host, ${proto}-client on the other: hello, welcome -> HELLO, WELCOME`, async () => {
    const server = await startOnServerHost(`${proto}-server`);
    let r;
    let stopped;
    try {
      r = await runOnClientHost(`${proto}-client`, [SERVER_IP, PORT, MESSAGE]);
    } finally {
      stopped = await server.stop();
    }
    assert.is(r.stdout.toString(), 'HELLO, WELCOME\n', `${proto}-client stdout; stderr: ${r.stderr}`);
    assert.is(r.code, 0, `${proto}-client exit code; stderr: ${r.stderr}`);
    assert.equal(stopped, { code: 0, signal: null }, `${proto}-server after SIGTERM; stderr: ${server.output.stderr}`);
  });
}

for (const [proto, client] of [['tcp', 'tcp-client'], ['udp', 'udp-client']]) {
  hostTest(`${proto}-server with no HOST says what to type on the other host, and that command works`, async () => {
    const server = await startOnServerHost(`${proto}-server`, [PORT], /^Clients on other hosts: /m);
    let r;
    try {
      const hint = /^Clients on other hosts: (.*)$/m.exec(server.output.stdout)[1];
      assert.is(hint, `${client} ${SERVER_IP} ${PORT}`);
      r = await runOnClientHost(client, [...hint.split(' ').slice(1), MESSAGE]);
    } finally {
      await server.stop();
    }
    assert.is(r.stdout.toString(), 'HELLO, WELCOME\n', r.stderr);
  });
}

hostTest('a name means all its addresses (stock hosts file: localhost is 127.0.0.1 and ::1)', async () => {
  stockHostsFileOnServerHost();
  // The server given a name listens on both; a client given either address is served.
  const server = await startOnServerHost('tcp-server', ['localhost', '12710'], /^Only this host can connect/m);
  try {
    assert.match(server.output.stdout, /Listening on TCP (\[::1\]:12710 and 127\.0\.0\.1:12710|127\.0\.0\.1:12710 and \[::1\]:12710) \(every address localhost resolves to\)/);
    for (const address of ['127.0.0.1', '::1', 'localhost']) {
      const r = await runOnServerHost('tcp-client', [address, '12710', MESSAGE]);
      assert.is(r.stdout.toString(), 'HELLO, WELCOME\n', `${address}: ${r.stderr}`);
    }
  } finally {
    await server.stop();
  }
  // A UDP client given the name tries ::1, is refused by ICMP, and goes on to 127.0.0.1; -v says so.
  const udp = await startOnServerHost('udp-server', ['127.0.0.1', '12711']);
  try {
    const r = await runOnServerHost('udp-client', ['-v', 'localhost', '12711', MESSAGE]);
    assert.is(r.stdout.toString(), 'HELLO, WELCOME\n', r.stderr);
    assert.match(r.stderr, /\[::1\]:12711 answered ICMP "port unreachable"; trying the next address/);
    assert.match(r.stderr, /-> 127\.0\.0\.1:12711/);
    // tcp-client -v shows every address it tried, and a refusal names them all.
    const tcp = await runOnServerHost('tcp-client', ['-v', 'localhost', '12711', MESSAGE]);
    assert.is(tcp.code, 69, tcp.stderr);
    assert.match(tcp.stderr, /trying \[::1\]:12711\n.*\n.*trying 127\.0\.0\.1:12711/);
    assert.match(tcp.stderr, 'connection refused by localhost port 12711 (tried ::1 and 127.0.0.1)');
    assert.match(tcp.stderr, 'or the server listens on another address');
  } finally {
    await udp.stop();
  }
});

hostTest('lab-check from the other host: udp-server passes every check, and the clients are named by the address they sent from', async () => {
  const server = await startOnServerHost('udp-server', [SERVER_IP, PORT]);
  try {
    const r = await runOnClientHost('lab-check', ['--json', '-t', '1', 'udp', SERVER_IP, PORT], 60000);
    const report = JSON.parse(r.stdout.toString());
    assert.is(r.code, 0, r.stdout.toString() + r.stderr);
    assert.equal(report.counts, { pass: 7, warn: 0, fail: 0, skip: 0 });
    const sender = report.checks.find((c) => c.id === 'reply-to-sender').summary;
    assert.match(sender, `${CLIENT_IP}:`);
    assert.not.match(sender, `${SERVER_IP}:`, 'a client is not named by the server\'s address');
  } finally {
    await server.stop();
  }
});

hostTest('the hosts are gone after the tests', () => {
  deleteHosts();
  const left = ip('netns', 'list');
  assert.not.match(left, SERVER_HOST);
  assert.not.match(left, CLIENT_HOST);
});

test.run();
