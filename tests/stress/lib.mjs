// What every stress scenario shares: servers started under the runner's watch (so a hung scenario
// can be cleaned up by PID), a look at a server's memory, CPU time and open files in /proc, a
// seeded PRNG, and bounded waits. Nothing here talks to anything but loopback.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bin, root, rssMiB, sleep, startProgram } from '../helpers.mjs';

/** Every server a scenario started; the runner stops whatever is still running after it. */
export const started = new Set();

/**
 * Starts dist/NAME with `args`, optionally under a file-descriptor limit (prlimit execs the
 * program, so the PID we get is the server's own). Returns startProgram's handle plus its pid.
 */
export async function startServer(name, args, { nofile, ready, env } = {}) {
  // STRESS_FROM_SOURCE=1 runs scripts/NAME.ts with this Node instead of dist/NAME: to debug a finding with added prints.
  const program = process.env.STRESS_FROM_SOURCE ? [process.execPath, join(root, 'scripts', `${name}.ts`)] : [bin(name)];
  const command = nofile ? '/usr/bin/prlimit' : program[0];
  const fullArgs = [...(nofile ? [`--nofile=${nofile}:${nofile}`, ...program] : program.slice(1)), ...args];
  const server = await startProgram(command, fullArgs, { ready: ready ?? /Listening on|Serving /, env, timeoutMs: 20000 });
  started.add(server);
  server.exit.then(() => started.delete(server));
  return { ...server, pid: server.child.pid };
}

/**
 * Starts dist/NAME with its stdout (an access log of 100,000 lines, too much to keep in a
 * string) going to `file`; ready once `ready` shows up there. Same handle as startServer.
 */
export async function startServerLoggingTo(file, name, args, ready) {
  const out = openSync(file, 'w');
  const child = spawn(bin(name), args, { stdio: ['ignore', out, 'pipe'] });
  closeSync(out);
  const output = { stdout: '', stderr: '' };
  child.stderr.on('data', (d) => { output.stderr += d; });
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));
  const stop = async () => {
    if (exited === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const result = await exit;
    clearTimeout(killer);
    return result;
  };
  const server = { child, pid: child.pid, output, exit, isRunning: () => exited === null, stop };
  started.add(server);
  exit.then(() => started.delete(server));
  for (const until = Date.now() + 20000; !ready.test(readFileSync(file, 'utf8').slice(0, 4096));) {
    if (exited !== null || Date.now() > until) {
      await stop();
      throw new Error(`${name} not ready (exit ${exited?.code}); stderr: ${output.stderr}`);
    }
    await sleep(50);
  }
  return server;
}

/** Stops every server a scenario left running (SIGTERM, then SIGKILL after 5 s: helpers' stop()). */
export async function stopLeftovers() {
  await Promise.all([...started].map((s) => s.stop()));
  started.clear();
}

// Shared with the tests and the bench; scenarios import them from here with the rest.
export { rssMiB, sleep };

/** CPU time (user + system) a process has used so far, in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** How many file descriptors a process has open. */
export function openFiles(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function watchRss(pid, everyMs = 100) {
  let peak = 0;
  const sample = () => { try { peak = Math.max(peak, rssMiB(pid)); } catch { /* exited */ } };
  sample();
  const timer = setInterval(sample, everyMs);
  return { stop: () => { clearInterval(timer); sample(); return peak; } };
}

/**
 * Waits up to `timeoutMs` for the RSS of `pid` to fall to `targetMiB` or below; resolves with the
 * last reading. Node gives freed memory back to the kernel lazily, so this polls.
 */
export async function rssSettles(pid, targetMiB, timeoutMs) {
  const until = Date.now() + timeoutMs;
  let now = rssMiB(pid);
  while (now > targetMiB && Date.now() < until) {
    await sleep(250);
    now = rssMiB(pid);
  }
  return now;
}

/** Rejects with `what` if `promise` has not settled within `ms`. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A failed expectation: the runner prints its message as the scenario's FAIL reason. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** mulberry32: a small seeded PRNG, so a fuzz case can be replayed from (seed, case number). */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    bytes: (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256); return b; },
  };
}

/** Runs `worker(i)` for i in [0, count) with at most `limit` running at once. */
export async function inParallel(count, limit, worker) {
  let nextIndex = 0;
  const lane = async () => {
    while (nextIndex < count) {
      const i = nextIndex++;
      await worker(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}

export const MiB = 1024 * 1024;
export const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
