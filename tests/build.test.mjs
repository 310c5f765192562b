// The build: dist/SHA256SUMS tells the truth, every program is a real x86-64 executable that
// carries its runtime, a second build of the same tree gives the same bytes, and the build needs
// no network. dist/ must already be built from this tree (`npm test` builds it first if needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNode as node, findCommand, removeLater, removeTempDirs, root, run } from './helpers.mjs';

const dist = join(root, 'dist');
const BUILD_TIMEOUT_MS = 90000; // about 3 s per program here

test.after(removeTempDirs);

/** The programs dist/SHA256SUMS lists, in its order. */
function listedPrograms(dir = dist) {
  const sums = join(dir, 'SHA256SUMS');
  assert.ok(existsSync(sums), `${sums} is missing: run \`npm run build\` first`);
  return readFileSync(sums, 'utf8').trimEnd().split('\n').map((line) => line.split(/\s+\*?/)[1]);
}

function readHeader(file, length) {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(length);
    readSync(fd, header, 0, length, 0);
    return header;
  } finally {
    closeSync(fd);
  }
}

/** Builds the whole tree into a new temporary folder with `prefix` before the command (e.g. unshare -n). */
async function buildInto(prefix = []) {
  const out = mkdtempSync(join(tmpdir(), 'socklab-build-'));
  removeLater(out);
  const [command, ...args] = [...prefix, node, join(root, 'build.mjs'), '--out', out];
  const r = await run(command, args, { cwd: root, timeoutMs: BUILD_TIMEOUT_MS });
  assert.is(r.code, 0, `${[command, ...args].join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return out;
}

/** Asserts that `out` holds the same binaries and SHA256SUMS as dist/, byte for byte. */
function assertSameAsDist(out) {
  assert.is(readFileSync(join(out, '.inputs'), 'utf8'), readFileSync(join(dist, '.inputs'), 'utf8'),
    'dist/ was built from other sources than the tree holds now: run `npm run build` (or `npm test`, which builds first if needed)');
  const programs = listedPrograms(out);
  assert.equal(listedPrograms(dist), programs, 'the rebuild made other programs than dist/ holds');
  for (const name of [...programs, 'SHA256SUMS']) {
    const ours = readFileSync(join(out, name));
    const theirs = readFileSync(join(dist, name));
    if (ours.equals(theirs)) continue;
    let at = 0;
    while (at < ours.length && ours[at] === theirs[at]) at++;
    assert.unreachable(`${name} differs from dist/${name} (${ours.length} vs ${theirs.length} bytes; first difference at byte ${at})`);
  }
}

test('dist/SHA256SUMS lists every program in dist/ and matches them (sha256sum -c)', async () => {
  const programs = listedPrograms();
  // Other architectures (dist/linux-arm64/) and release archives have SHA256SUMS of their own.
  const inDist = readdirSync(dist, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name !== 'SHA256SUMS' && !e.name.endsWith('.tar.gz'))
    .map((e) => e.name);
  assert.equal([...programs].sort(), inDist.sort());
  for (const p of ['tcp-server', 'tcp-client', 'udp-server', 'udp-client']) assert.ok(programs.includes(p), `${p} is not in dist/SHA256SUMS`);
  const r = await run(findCommand('sha256sum'), ['-c', 'SHA256SUMS'], { cwd: dist, timeoutMs: 60000 });
  assert.is(r.code, 0, `sha256sum -c:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout.toString().trimEnd().split('\n'), programs.map((p) => `${p}: OK`));
});

test('every program is a 64-bit little-endian x86-64 ELF executable over 50 MB (the runtime is inside)', () => {
  for (const p of listedPrograms()) {
    const file = join(dist, p);
    const h = readHeader(file, 20);
    assert.equal([...h.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${p}: no ELF magic (a script or a wrapper?)`);
    assert.is(h[4], 2, `${p}: EI_CLASS is not ELFCLASS64`);
    assert.is(h[5], 1, `${p}: EI_DATA is not little-endian`);
    assert.ok([2, 3].includes(h.readUInt16LE(16)), `${p}: e_type ${h.readUInt16LE(16)} is not an executable (ET_EXEC or ET_DYN)`);
    assert.is(h.readUInt16LE(18), 62, `${p}: e_machine ${h.readUInt16LE(18)} is not EM_X86_64 (62)`);
    const size = statSync(file).size;
    assert.ok(size > 50 * 1024 * 1024, `${p} is ${size} bytes: too small to carry a Node runtime`);
    assert.ok(statSync(file).mode & 0o111, `${p} is not executable`);
  }
});

test('a second build of the same tree is byte-identical to dist/ (binaries and SHA256SUMS)', async () => {
  const out = await buildInto();
  assertSameAsDist(out);
  removeTempDirs(); // ~100 MB per program
});

test('the build works offline: unshare -n node build.mjs --out DIR, and gives the same bytes', async () => {
  const unshare = findCommand('unshare');
  const probe = await run(unshare, ['-n', findCommand('true')], { timeoutMs: 10000 });
  assert.is(probe.code, 0, `unshare -n is not permitted here (needs root or unprivileged user namespaces), so the offline build cannot be checked: ${probe.stderr}`);
  const out = await buildInto([unshare, '-n']);
  assertSameAsDist(out);
  removeTempDirs();
});

test.run();
