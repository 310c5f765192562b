// The build: dist/SHA256SUMS tells the truth, and every program is a real x86-64 executable that
// carries its runtime (socklab, and a symlink to it per program). dist/ must already be built from this tree (`npm test` builds it first if
// needed). A second build's bytes and the offline build: tests/system/reproducible.test.mjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, openSync, readSync, closeSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findCommand, root, run } from './helpers.mjs';

const dist = join(root, 'dist');

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

test('dist/SHA256SUMS lists every program in dist/ and matches them (sha256sum -c)', async () => {
  const programs = listedPrograms();
  // Other architectures (dist/linux-arm64/) and release archives have SHA256SUMS of their own.
  const inDist = readdirSync(dist, { withFileTypes: true })
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && e.name !== 'SHA256SUMS' && !/\.tar\.(gz|xz)$/.test(e.name))
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

test.run();
