// lab-check against "student" servers that attack the grader (tests/students/hostile_*.py): a
// flood, an endless head or chunked body, a reply a byte a second, resets at accept and midway,
// terminal escapes. Whatever they do, lab-check must end within its stated deadline, with its
// memory bounded, exit 0 or 1 with one JSON document (never 70), show nothing raw, blame the
// right check, and leave no process behind.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bin, freePort, removeLater, removeTempDirs, root } from './helpers.mjs';

const T = '0.5';
let site = '';

/** Each attack, and the check that must FAIL for it (the others PASS, or SKIP as "the same cause"). */
const ATTACKS = [
  { kind: 'tcp', mode: 'flood', fails: 'sample', says: 'lab-check stopped reading' },
  { kind: 'tcp', mode: 'trickle', fails: 'sample', says: /trickle|slowly/ },
  { kind: 'tcp', mode: 'reset-accept', fails: 'sample', says: 'reset' },
  { kind: 'tcp', mode: 'reset-mid', fails: 'sample', says: 'reset the connection' },
  { kind: 'tcp', mode: 'escapes', fails: 'sample', says: 'bytes before the right reply' },
  { kind: 'web', mode: 'endless-head', fails: 'headers-end', says: 'never ended' },
  { kind: 'web', mode: 'endless-chunked', fails: 'body', says: 'never ended' },
  { kind: 'web', mode: 'trickle', fails: 'status-line', says: 'before its first line ended' },
  { kind: 'web', mode: 'reset-accept', fails: 'status-line', says: 'reset the connection' },
  { kind: 'web', mode: 'reset-mid', fails: 'headers-end', says: 'cut by a reset' },
  { kind: 'web', mode: 'escapes', fails: 'status-line', says: 'not a valid status line' },
];

/**
 * Runs lab-check and samples its peak resident memory (VmHWM) every 50 ms. Resolves with exit
 * code, output, seconds and peak MiB. `text`: the report as a person sees it, not JSON.
 */
function measured(args) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(bin('lab-check'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const sampler = setInterval(() => {
      try { peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024); } catch { /* it has exited */ }
    }, 50);
    // The deadline lab-check states for -t 0.5 with --run is 200+ s; far more than this run may take.
    const killer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000, peakMiB: peak });
    });
  });
}

/** The PIDs of processes still running a hostile server on `port` (none may outlive lab-check). */
function leftBehind(port) {
  const pids = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      if (cmd.some((a) => a.includes('hostile_')) && cmd.includes(String(port))) pids.push(Number(name));
    } catch { /* gone */ }
  }
  return pids;
}

const results = new Map();
test.before(async () => {
  site = removeLater(mkdtempSync(join(tmpdir(), 'lab-check-hostile-')));
  writeFileSync(join(site, 'hello.html'), '<html><body>hello</body></html>\n');
  writeFileSync(join(site, 'cat.png'), Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 37) & 0xff)));
  const queue = [...ATTACKS, ...ATTACKS.filter((a) => a.mode === 'escapes').map((a) => ({ ...a, text: true }))];
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (queue.length) {
      const attack = queue.shift();
      const port = await freePort();
      const server = `python3 '${join(root, 'tests', 'students', `hostile_${attack.kind}.py`)}' ${attack.mode} ${port} '${site}'`;
      const web = attack.kind === 'web' ? ['/hello.html', '--local', join(site, 'hello.html'), '--binary', '/cat.png', '--binary-local', join(site, 'cat.png')] : [];
      const result = await measured([...(attack.text ? [] : ['--json']), '-t', T, attack.kind, '127.0.0.1', String(port), ...web, '--run', server]);
      results.set(`${attack.kind} ${attack.mode}${attack.text ? ' text' : ''}`, { ...result, left: leftBehind(port) });
    }
  }));
  // The table for the closing note: time, peak memory, processes left.
  for (const [name, r] of results) console.log(`  ${name.padEnd(26)} exit ${r.code}  ${r.seconds.toFixed(1).padStart(5)} s  ${r.peakMiB.toFixed(0).padStart(4)} MiB  left ${r.left.length}`);
});
test.after(() => removeTempDirs());

for (const attack of ATTACKS) {
  test(`${attack.kind} ${attack.mode}: ${attack.fails} FAILs (${attack.says}); bounded in time and memory; nothing left running`, () => {
    const r = results.get(`${attack.kind} ${attack.mode}`);
    const seen = `exit ${r.code} ${r.signal ?? ''}, ${r.seconds.toFixed(1)} s, ${r.peakMiB.toFixed(0)} MiB, left ${r.left}\n${r.stdout.slice(0, 3000)}\n${r.stderr}`;
    assert.is(r.code, 1, seen);
    const report = JSON.parse(r.stdout);
    const failing = report.checks.find((c) => c.id === attack.fails);
    assert.is(failing.status, 'fail', seen);
    assert.match(`${failing.summary} ${failing.detail}`, attack.says);
    // One cause, one FAIL: whatever else the attack broke is a SKIP that points back at it.
    for (const c of report.checks.filter((x) => x.status === 'skip')) assert.match(c.summary, /^not judged|^not run/, c.summary);
    assert.ok(r.seconds < 60, seen);
    assert.ok(r.peakMiB < 200, seen);
    assert.equal(r.left, [], `no process of the hostile server outlives lab-check: ${seen}`);
    assert.not.match(r.stdout.trimEnd(), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, 'JSON escapes every control character');
  });
}

test('terminal escapes from the wire reach the text report escaped, on every line, PASS lines included', () => {
  for (const kind of ['tcp', 'web']) {
    const r = results.get(`${kind} escapes text`);
    assert.is(r.code, 1, r.stderr);
    const shown = r.stdout + r.stderr;
    assert.not.match(shown, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, 'nothing but newline and tab raw');
    assert.match(shown, '\\x1b]52;c;');
  }
});

test.run();
