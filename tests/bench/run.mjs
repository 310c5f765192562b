// `npm run bench`: socklab's binaries side by side with the tools a user would pick instead, in
// the same run, on loopback. Prints ours/baseline ratios with raw medians (min-max), and writes
// tests/bench/results.json and (full runs) tests/bench/RESULTS.md.
//   node tests/bench/run.mjs           full run (several minutes)
//   node tests/bench/run.mjs --smoke   seconds: one short repetition of everything (CI)
//   node tests/bench/run.mjs --only tcp   only the workloads whose group (web, tcp, uppercase, udp, start, memory, size) matches
// Every load is bounded in count and time; every process started here is stopped by its PID.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROGRAMS, bin, freePort, pinnedNodeVersion, root, rssMiB, runOnPinnedRuntime, sleep, startProgram } from '../helpers.mjs';

runOnPinnedRuntime();
const SMOKE = process.argv.includes('--smoke');
const ONLY = process.argv.includes('--only') ? new RegExp(process.argv[process.argv.indexOf('--only') + 1]) : /./;
const wanted = (group) => ONLY.test(group);
const REPS = SMOKE ? 1 : 3;
const SECONDS = SMOKE ? 1 : 5;
const WARM_UP = 1; // seconds (streams: the same bytes again)
const STREAM_BYTES = SMOKE ? 64 * 1024 * 1024 : 1024 * 1024 * 1024;
const PYTHON = '/usr/bin/python3'; // the interpreter itself: a version-manager shim adds tens of ms
const NODE = process.execPath;
// The runtime inside socklab's binaries (stripped), for the plain-Node baselines; else this Node.
const SEA_RUNTIME = join(root, '.build', 'pkg-home', '.pkg-cache', 'sea', `node-v${pinnedNodeVersion}-linux-x64`, 'bin', 'node');
const RUNTIME = existsSync(SEA_RUNTIME) ? SEA_RUNTIME : NODE;
const here = join(root, 'tests', 'bench');
const work = mkdtempSync(join(tmpdir(), 'socklab-bench-'));
const tools = join(root, '.build', 'bench');

const results = [];
const FLOOR = 'node:http floor (from memory)';

try {
  installBaselines();
  const site = makeSite();
  if (wanted('web')) {
    // Issue 11: one process, every check kept, at least 0.8 of node:http answering from memory.
    await benchWeb(site, '/1k.bin', 'GET of a 1 KiB file', [0.55, 'nginx'], [1.5, 'node:http'], [0.8, FLOOR]);
    await benchWeb(site, '/1m.bin', 'GET of a 1 MiB file', [0.65, 'nginx']);
    await benchWeb(site, '/missing.html', '404 for a missing file', [0.4, 'nginx'], [0.8, FLOOR]);
  }
  if (wanted('tcp')) await benchTcpStream();
  if (wanted('tcp')) await benchTcpConnections();
  if (wanted('uppercase')) await benchUppercasePaths();
  if (wanted('udp')) await benchUdp();
  if (wanted('start')) await benchStartup();
  if (wanted('memory')) await benchMemory();
  if (wanted('memory')) await benchServersSideBySide();
  if (wanted('size')) benchSize();
  report();
  // A baseline may fail on some machine; socklab itself must have been measured everywhere.
  const unmeasured = results.filter((e) => !e.report && !(e.rows[0]?.n > 0)).map((e) => e.title);
  if (unmeasured.length > 0) {
    console.error(`bench: socklab was not measured in: ${unmeasured.join('; ')}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Workloads

async function benchWeb(site, path, title, ...targets) {
  const contestants = [
    // Its default, the access log on: a line per answer to stdout, which the bench reads as a terminal would.
    ['socklab web-server', serve(bin('web-server'), ['--root', site, '127.0.0.1', '$PORT'], /Ready to serve/)],
    ['socklab web-server -q', serve(bin('web-server'), ['-q', '--root', site, '127.0.0.1', '$PORT'], /Ready to serve/)],
    ['socklab web-server -q --workers 2', serve(bin('web-server'), ['-q', '--workers', '2', '--root', site, '127.0.0.1', '$PORT'], /Serving /)],
    ['nginx', (port) => serveNginx(site, port)],
    ['nginx, 2 workers', (port) => serveNginx(site, port, 2)],
    ['lighttpd', (port) => serveLighttpd(site, port)],
    ['busybox httpd', serve('/usr/bin/busybox', ['httpd', '-f', '-p', '127.0.0.1:$PORT', '-h', site], null)],
    ['python http.server', serve(PYTHON, ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', site, '$PORT'], null)],
    ['node:http', serve(NODE, [join(here, 'baselines', 'node_http_server.mjs'), site, '127.0.0.1', '$PORT'], /Listening/)],
    // The floor: node:http answering from memory with web-server's head, nothing checked or logged.
    [FLOOR, serve(RUNTIME, [join(here, 'baselines', 'node_http_floor_server.mjs'), site, '127.0.0.1', '$PORT'], /Listening/)],
  ];
  await compare(`web-server: ${title}`, 'req/s', contestants, async (port, seconds) => {
    const out = execFileSync('wrk', ['-t1', '-c50', `-d${seconds}s`, '--timeout', '5s', `http://127.0.0.1:${port}${path}`], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
    const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
    const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    if (errors && !path.includes('missing')) throw new Error(`${errors[1]} error responses`);
    return rate;
  }, targets);
}

async function benchTcpStream() {
  const contestants = [
    ['socklab tcp-server', serve(bin('tcp-server'), ['-q', '127.0.0.1', '$PORT'], /Listening on/)],
    ['python bytes.upper', serve(PYTHON, [join(here, 'baselines', 'python_upper_server.py'), '127.0.0.1', '$PORT'], /Listening on/)],
    ['socat + tr', serve('/usr/bin/socat', ['TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork', 'EXEC:tr a-z A-Z'], null)],
  ];
  await compare(`tcp-server: ${STREAM_BYTES / 2 ** 20} MiB through one connection, every byte checked`, 'MB/s', contestants, async (port) => {
    const out = runLoad(NODE, [join(here, 'load', 'tcp_stream.mjs'), '127.0.0.1', String(port), String(STREAM_BYTES), SMOKE ? '10' : '60'], SMOKE ? 15 : 70);
    return Number(/rate=([\d.]+)/.exec(out)[1]);
  }, [[1.0, 'python bytes.upper']]);
  // The loopback ceiling: iperf3 moves bytes without looking at them.
  const rates = [];
  for (let i = 0; i < REPS; i++) {
    const port = await freePort();
    // Not waitForPort: iperf3 -s -1 would take that probe connection as its one client.
    const server = await startProgram('/usr/bin/iperf3', ['-s', '-1', '--forceflush', '-B', '127.0.0.1', '-p', String(port)], { ready: /Server listening/ });
    const out = JSON.parse(execFileSync('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-n', String(STREAM_BYTES), '-J'], { encoding: 'utf8', timeout: 60000 }));
    rates.push(out.end.sum_received.bits_per_second / 8 / 1e6);
    await server.stop();
  }
  const last = results[results.length - 1];
  last.ceiling = { name: 'iperf3 (no transform)', ...summary(rates) };
}

/**
 * Issue 21: lib/uppercase.ts keeps its WebAssembly SIMD path for chunks of 512 bytes and more
 * only while it beats a plain byte loop by 1.2x or more on the 1 GiB stream. tcp-server is
 * bundled twice, as built and with tests/bench/baselines/uppercase_byte_loop.ts in place of
 * lib/uppercase.ts, and both bundles run on the binaries' own runtime, 5 times in turns.
 */
async function benchUppercasePaths() {
  const { build } = await import('esbuild');
  const bundle = async (name, uppercase) => {
    const outfile = join(work, `tcp-server-${name}.cjs`);
    await build({
      entryPoints: [join(root, 'scripts', 'tcp-server.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node24',
      outfile, logLevel: 'error', define: { SOCKLAB_VERSION: '"bench"', 'import.meta.main': 'true' },
      plugins: uppercase ? [{ name: 'uppercase', setup: (b) => b.onResolve({ filter: /lib\/uppercase\.ts$/ }, () => ({ path: uppercase })) }] : [],
    });
    return outfile;
  };
  const asBuilt = await bundle('as-built');
  const byteLoop = await bundle('byte-loop', join(here, 'baselines', 'uppercase_byte_loop.ts'));
  const contestants = [
    ['socklab tcp-server, a-z by WebAssembly SIMD (as built)', serve(RUNTIME, [asBuilt, '-q', '127.0.0.1', '$PORT'], /Listening on/)],
    ['the same, a-z by a plain byte loop', serve(RUNTIME, [byteLoop, '-q', '127.0.0.1', '$PORT'], /Listening on/)],
    ['python bytes.upper', serve(PYTHON, [join(here, 'baselines', 'python_upper_server.py'), '127.0.0.1', '$PORT'], /Listening on/)],
  ];
  const reps = SMOKE ? 1 : 5;
  await compare(`tcp-server's a-z transform: ${STREAM_BYTES / 2 ** 20} MiB through one connection (bundles on the binaries' runtime, ${reps} runs each, in turns)`, 'MB/s',
    contestants, async (port) => {
      const out = runLoad(NODE, [join(here, 'load', 'tcp_stream.mjs'), '127.0.0.1', String(port), String(STREAM_BYTES), SMOKE ? '10' : '60'], SMOKE ? 15 : 70);
      return Number(/rate=([\d.]+)/.exec(out)[1]);
    }, [[1.2, 'the same, a-z by a plain byte loop'], [1.0, 'python bytes.upper']], reps);
}

async function benchTcpConnections() {
  const connrate = compileTool('tcp_connrate');
  const contestants = [
    // Its default, a log line per connection (to the bench's pipe), then without it.
    ['socklab tcp-server', serve(bin('tcp-server'), ['127.0.0.1', '$PORT'], /Listening on/)],
    ['socklab tcp-server -q', serve(bin('tcp-server'), ['-q', '127.0.0.1', '$PORT'], /Listening on/)],
    ['python handout server', serve(PYTHON, [join(root, 'tests', 'peers', 'handout_tcp_server.py'), '127.0.0.1', '$PORT'], /Listening on/)],
    // The floor: what Node's net module does on the same runtime, with nothing of socklab's.
    ['plain node:net server', serve(RUNTIME, [join(here, 'baselines', 'node_net_upper_server.mjs'), '127.0.0.1', '$PORT'], /Listening on/)],
  ];
  await compare('tcp-server: one-message connections, 50 at a time from 16 source addresses', 'conn/s', contestants, async (port, seconds) => {
    const out = runLoad(connrate, ['127.0.0.1', String(port), String(seconds), '50', '16'], seconds + 30);
    return Number(/rate=(\d+)/.exec(out)[1]);
  }, [[1.0, 'python handout server'], [1.0, 'plain node:net server']]);
}

async function benchUdp() {
  const rtt = compileTool('udp_rtt');
  const contestants = [
    ['socklab udp-server', serve(bin('udp-server'), ['-q', '127.0.0.1', '$PORT'], /Listening on/, 'udp')],
    ['python handout server', serve(PYTHON, [join(root, 'tests', 'peers', 'handout_udp_server.py'), '127.0.0.1', '$PORT'], /Listening on/, 'udp')],
    ['plain node:dgram server', serve(RUNTIME, [join(here, 'baselines', 'node_dgram_server.mjs'), '127.0.0.1', '$PORT'], /Listening on/, 'udp')],
  ];
  await compare('udp-server: round trips, 32 datagrams of 64 bytes in flight', 'rt/s', contestants, async (port, seconds) => {
    const out = runLoad(rtt, ['127.0.0.1', String(port), String(seconds), '32', '64'], seconds + 30);
    if (/wrong=[1-9]/.test(out)) throw new Error(`wrong replies: ${out}`);
    return Number(/rate=(\d+)/.exec(out)[1]);
  }, [[1.0, 'python handout server']]);
}

/** Milliseconds from spawn until the port accepts a connection. Lower is better. */
async function benchStartup() {
  const contestants = [
    ['socklab tcp-server', [bin('tcp-server'), ['-q', '127.0.0.1']]],
    ['python handout server', [PYTHON, [join(root, 'tests', 'peers', 'handout_tcp_server.py'), '127.0.0.1']]],
    ['plain node:net server', [RUNTIME, [join(here, 'baselines', 'node_net_server.mjs'), '127.0.0.1']]],
  ];
  const entry = { title: 'start-up: spawn until the port accepts a connection', unit: 'ms', lowerIsBetter: true, rows: [], targets: [[1.0, 'python handout server']] };
  for (const [name, [file, args]] of contestants) {
    const times = [];
    for (let i = 0; i < (SMOKE ? 2 : 15); i++) {
      const port = await freePort();
      const started = performance.now();
      const child = spawn(file, [...args, String(port)], { stdio: 'ignore' });
      await waitForPort(port, 1);
      times.push(performance.now() - started);
      await stopChild(child);
    }
    entry.rows.push({ name, ...summary(times) });
  }
  results.push(entry);
}

/** RSS of the server idle, and holding 1000 idle TCP connections. */
async function benchMemory() {
  const contestants = [
    ['socklab tcp-server', bin('tcp-server'), ['-q', '127.0.0.1']],
    ['python threaded server', PYTHON, [join(here, 'baselines', 'python_upper_server.py'), '127.0.0.1']],
  ];
  const entry = { title: 'memory: RSS idle / with 1000 idle TCP connections', unit: 'MiB', report: true, rows: [] };
  for (const [name, file, args] of contestants) {
    const port = await freePort();
    const server = await startProgram(file, [...args, String(port)], { ready: /Listening on/ });
    await sleep(300);
    const idle = rssMiB(server.child.pid);
    const sockets = [];
    for (let i = 0; i < (SMOKE ? 100 : 1000); i++) {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (i % 16)}` });
      s.on('error', () => {});
      sockets.push(s);
      if (i % 100 === 99) await sleep(20);
    }
    await sleep(1000);
    const busy = rssMiB(server.child.pid);
    for (const s of sockets) s.destroy();
    await server.stop();
    entry.rows.push({ name, median: busy, min: idle, max: busy, text: `${idle.toFixed(1)} idle, ${busy.toFixed(1)} with ${sockets.length} connections` });
  }
  results.push(entry);
}

/**
 * tcp-server, udp-server and web-server running at once, as in a lab session: their RSS summed
 * (each counts the runtime's pages it touched) and their PSS summed (pages shared between them,
 * as those of the one socklab file, counted once): the real memory the three take.
 */
async function benchServersSideBySide() {
  const servers = [];
  try {
    for (const [program, proto, extra] of [['tcp-server', 'tcp', []], ['udp-server', 'udp', []], ['web-server', 'tcp', ['-d', here]]]) {
      const port = await freePort(proto);
      servers.push(await startProgram(program, ['-q', ...extra, '127.0.0.1', String(port)], { ready: /Listening on|Serving / }));
    }
    await sleep(500);
    const pss = (pid) => Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) / 1024;
    const rss = servers.reduce((sum, s) => sum + rssMiB(s.child.pid), 0);
    const shared = servers.reduce((sum, s) => sum + pss(s.child.pid), 0);
    results.push({
      title: 'memory: tcp-server, udp-server and web-server side by side, idle', unit: 'MiB', report: true,
      rows: [{ name: 'socklab', median: shared, min: shared, max: rss, text: `${rss.toFixed(1)} RSS summed, ${shared.toFixed(1)} PSS summed` }],
    });
  } finally {
    for (const s of servers) await s.stop();
  }
}

function benchSize() {
  const mib = (f) => statSync(f).size / 2 ** 20;
  results.push({
    title: 'binary size', unit: 'MiB', report: true,
    rows: [
      // One executable holds every program; dist/tcp-server and the others are links to it.
      { name: `socklab (${PROGRAMS.join(', ')})`, median: mib(bin('socklab')), text: mib(bin('socklab')).toFixed(1) },
      ...(existsSync(SEA_RUNTIME) ? [{ name: `stripped Node ${pinnedNodeVersion} runtime`, median: mib(SEA_RUNTIME), text: mib(SEA_RUNTIME).toFixed(1) }] : []),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Machinery

/**
 * Runs a load generator and returns what it printed. Bounded: killed after `seconds`. Node 24.21
 * was seen to hang inside process.exit() now and then (its platform's worker threads), after the
 * result line was printed; a killed generator's output still counts when that line is there.
 */
function runLoad(file, args, seconds) {
  try {
    return execFileSync(file, args, { encoding: 'utf8', timeout: seconds * 1000, killSignal: 'SIGKILL' });
  } catch (err) {
    if (/rate=[\d.]+/.test(err.stdout ?? '')) return err.stdout;
    throw err;
  }
}

/**
 * Runs `measure(port)` REPS times against each contestant, in turns (ours, baseline 1, ...,
 * ours, ...) so that a noisy moment hits everyone alike, and records median, min and max.
 */
async function compare(title, unit, contestants, measure, targets = [], reps = REPS) {
  const samples = new Map(contestants.map(([name]) => [name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, start] of contestants) {
      const port = await freePort();
      const server = await start(port);
      try {
        await measure(port, WARM_UP); // warm-up (JIT, page cache, caches), not counted
        samples.get(name).push(await measure(port, SECONDS));
      } catch (err) {
        console.error(`bench: ${name}: ${err.message}`);
      } finally {
        await server.stop();
      }
    }
  }
  const rows = contestants.map(([name]) => ({ name, ...summary(samples.get(name)) }));
  results.push({ title, unit, rows, targets });
  printEntry(results[results.length - 1]);
}

/** Starts a server on `port`, waiting for its ready line, or (ready = null) for the port to accept. */
function serve(file, args, ready, proto = 'tcp') {
  return async (port) => {
    const withPort = args.map((a) => a.replace('$PORT', String(port)));
    if (ready) return startProgram(file, withPort, { ready });
    const child = spawn(file, withPort, { stdio: 'ignore' });
    if (proto === 'tcp') await waitForPort(port);
    return { child, stop: () => stopChild(child) };
  };
}

function serveNginx(site, port, workers = 1) {
  const dir = mkdtempSync(join(work, 'nginx-'));
  // user root: the bench's folders are private to root, and nginx's default worker user could not read them.
  writeFileSync(join(dir, 'nginx.conf'), `user root;
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; root ${site}; }
}
`);
  return serve('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], null)(port);
}

function serveLighttpd(site, port) {
  const conf = join(work, `lighttpd-${port}.conf`);
  writeFileSync(conf, `server.document-root = "${site}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${work}/lighttpd-${port}.log"
include_shell "/usr/share/lighttpd/create-mime.conf.pl"
`);
  return serve('/usr/sbin/lighttpd', ['-D', '-f', conf], null)(port);
}

function waitForPort(port, everyMs = 10, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} never opened`));
        else setTimeout(attempt, everyMs);
      });
    };
    attempt();
  });
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

function summary(values) {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: values.length };
}

function makeSite() {
  const site = join(work, 'site');
  mkdirSync(site);
  writeFileSync(join(site, '1k.bin'), Buffer.alloc(1024, 'x'));
  writeFileSync(join(site, '1m.bin'), Buffer.alloc(1024 * 1024, 'y'));
  writeFileSync(join(site, 'index.html'), '<h1>bench</h1>\n');
  return site;
}

/** The Debian packages of the baselines and load generators, installed if missing. */
function installBaselines() {
  const packages = { wrk: 'wrk', nginx: 'nginx-light', lighttpd: 'lighttpd', busybox: 'busybox', iperf3: 'iperf3', socat: 'socat', gcc: 'gcc' };
  const missing = Object.entries(packages).filter(([cmd]) => !commandExists(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  console.log(`bench: installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}

function commandExists(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The C load generators: compiled here, because a load generator in JS would be the bottleneck. */
function compileTool(name) {
  mkdirSync(tools, { recursive: true });
  const out = join(tools, name);
  execFileSync('gcc', ['-O2', '-pthread', '-o', out, join(here, 'load', `${name}.c`)]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(n) {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2);
}

/** socklab's rows (its default first, then with flags); every other row is a baseline. */
function isOurs(row) {
  return row.name.startsWith('socklab');
}

function printEntry(entry) {
  console.log(`\n${entry.title} (${entry.unit}, median of ${entry.rows[0]?.n ?? REPS}, min-max)`);
  for (const row of entry.rows) console.log(`  ${row.name.padEnd(32)} ${fmt(row.median).padStart(10)}  (${fmt(row.min)}-${fmt(row.max)})`);
}

function report() {
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim()}`;
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# socklab benchmarks`, '',
    `${date}, ${machine}. ${SMOKE ? 'SMOKE RUN (1 short repetition): not a measurement.' : `Medians of ${REPS} repetitions of ${SECONDS} s after a ${WARM_UP} s warm-up (streams: ${STREAM_BYTES / 2 ** 30} GiB), min-max in brackets.`}`,
    'Load on loopback only. Ratio = socklab / baseline, measured in the same run; for start-up, lower is better.',
    "Flags: every server runs with its defaults. socklab's web-server and tcp-server also run with -q: by default they log a",
    'line per answer or connection to stdout, here a pipe that the bench reads as a terminal would (nginx logs to a file).',
    'The stream, UDP and memory rows use -q. [-q --workers 2] adds that flag (web-server\'s default is one process);',
    '"nginx, 2 workers" is shown beside it for fairness, without a target. Plain node:dgram/node:net rows and the node:http',
    'floor run on the same Node runtime as socklab. wrk -t1 -c50; streams by a Node client that checks every byte;',
    'connections and UDP by the C generators in tests/bench/load/.', '',
    '| workload | socklab | baseline | ratio | target | met |', '|---|---|---|---|---|---|',
  ];
  for (const entry of results.filter((e) => !e.report)) {
    const ourRows = entry.rows.filter(isOurs);
    const baselines = entry.rows.filter((r) => !isOurs(r));
    ourRows.forEach((ours, i) => {
      const label = ourRows.length > 1 ? `${entry.title} [${ours.name.replace(/^socklab \S+ ?/, '') || 'default'}]` : entry.title;
      for (const base of baselines) {
        const target = entry.targets?.find(([, name]) => base.name === name);
        // With flags, only against the baselines that have a target: the rest adds rows, not facts.
        if (i > 0 && !target) continue;
        const ratio = base.median > 0 ? ours.median / base.median : NaN;
        const met = !Number.isFinite(ratio) ? null : target ? (entry.lowerIsBetter ? ratio <= target[0] : ratio >= target[0]) : null;
        lines.push(`| ${label} | ${fmt(ours.median)} ${entry.unit} (${fmt(ours.min)}-${fmt(ours.max)}) | ${base.name}: ${fmt(base.median)} (${fmt(base.min)}-${fmt(base.max)}) | ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'} | ${target ? `${entry.lowerIsBetter ? '<=' : '>='} ${target[0]}` : ''} | ${met === null ? '' : met ? 'yes' : '**no**'} |`);
      }
    });
    const ours = ourRows[0];
    if (entry.ceiling) {
      lines.push(`| ${entry.title} | | ${entry.ceiling.name}: ${fmt(entry.ceiling.median)} | ${(ours.median / entry.ceiling.median * 100).toFixed(0)}% of ceiling | report | |`);
    }
    const best = (rows) => rows.reduce((a, b) => (b.median > a.median ? b : a), rows[0]);
    const fastest = best(baselines);
    const ourFastest = best(ourRows);
    if (!entry.lowerIsBetter && fastest) {
      lines.push(`| ${entry.title}: load generator headroom | ${fastest.median > ourFastest.median ? `drove ${fastest.name} at ${fmt(fastest.median)}, above our ${fmt(ourFastest.median)}` : `socklab was the fastest: headroom not shown`} | | | | |`);
    }
  }
  for (const entry of results.filter((e) => e.report)) {
    for (const row of entry.rows) lines.push(`| ${entry.title} | | ${row.name}: ${row.text} ${entry.unit} | | report | |`);
  }
  const markdown = `${lines.join('\n')}\n`;
  console.log(`\n${markdown}`);
  // A smoke run's numbers mean nothing: they stay out of the tree, in .build/bench/.
  const out = SMOKE ? tools : here;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), `${JSON.stringify({ date, machine, smoke: SMOKE, reps: REPS, seconds: SECONDS, results }, null, 2)}\n`);
  writeFileSync(join(out, SMOKE ? 'RESULTS-smoke.md' : 'RESULTS.md'), SMOKE ? markdown : markdown + handWrittenSections());
}

/** The "## " sections of RESULTS.md (the runtime comparison): measured by hand, kept by a new run. */
function handWrittenSections() {
  const file = join(here, 'RESULTS.md');
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split(/^(?=## )/m).filter((s) => s.startsWith('## ')).map((s) => `\n${s.trimEnd()}\n`).join('');
}
