// The arm64 build (node build.mjs --arch arm64), run on this x86-64 machine under qemu-aarch64
// (user-mode emulation; -L points it at Debian's arm64 cross libc and libstdc++): every binary's
// --version, the handout's exchange over TCP and UDP and a web page, each with both ends under qemu,
// and the multi-call binary through its links. The build goes to .test-cache/dist/linux-arm64 and
// is redone only when its inputs change (about 20 s; the arm64 runtime is fetched once by npm pack).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARM64_TOOLS, buildNode as node, findCommand, freePort, pinnedNodeVersion, removeLater, removeTempDirs, root, run, startProgram, testNeeding, version } from '../helpers.mjs';

const GLIBC_FLOOR = '2.28'; // as for x86-64 (tests/debian-root.test.mjs): Node 24's own floor
const CROSS_LIBS = '/usr/aarch64-linux-gnu'; // libc6-arm64-cross, libstdc++6-arm64-cross
const out = join(root, '.test-cache', 'dist');
const arm64 = join(out, 'linux-arm64');

test.after(removeTempDirs);
const arm64Test = testNeeding(test, ...ARM64_TOOLS);

/** The arm64 binaries of this tree, built if missing or stale; their names in SHA256SUMS order. */
let programs;
async function built() {
  if (programs) return programs;
  const r = await run(node, [join(root, 'build.mjs'), '--arch', 'arm64', '--release', '--if-needed', '--out', out], { cwd: root, timeoutMs: 240000 });
  assert.is(r.code, 0, `build --arch arm64:\n${r.stdout}${r.stderr}`);
  programs = readFileSync(join(arm64, 'SHA256SUMS'), 'utf8').trimEnd().split('\n').map((l) => l.split(/\s+/)[1]);
  return programs;
}

/** [command, args] that run an arm64 binary under qemu. */
const qemu = (file, args = []) => [findCommand('qemu-aarch64'), ['-L', CROSS_LIBS, file, ...args]];
const has = (name) => programs.includes(name);

let linkFolder;
function links() {
  if (linkFolder) return linkFolder;
  linkFolder = mkdtempSync(join(tmpdir(), 'socklab-arm64-links-'));
  removeLater(linkFolder);
  for (const p of programs.filter((p) => p !== 'socklab')) symlinkSync(join(arm64, 'socklab'), join(linkFolder, p));
  return linkFolder;
}

arm64Test('arm64: SHA256SUMS checks, and every binary is an AArch64 ELF executable over 50 MB', async () => {
  const names = await built();
  for (const p of ['tcp-server', 'tcp-client', 'udp-server', 'udp-client', 'socklab']) assert.ok(names.includes(p), `${p} missing`);
  const sums = await run(findCommand('sha256sum'), ['-c', 'SHA256SUMS'], { cwd: arm64, timeoutMs: 60000 });
  assert.is(sums.code, 0, sums.stdout.toString() + sums.stderr);
  for (const p of names) {
    const fd = openSync(join(arm64, p), 'r');
    const h = Buffer.alloc(20);
    readSync(fd, h, 0, 20, 0);
    closeSync(fd);
    assert.equal([...h.subarray(0, 6)], [0x7f, 0x45, 0x4c, 0x46, 2, 1], `${p}: not a 64-bit little-endian ELF`);
    assert.is(h.readUInt16LE(18), 183, `${p}: e_machine ${h.readUInt16LE(18)} is not EM_AARCH64 (183)`);
    assert.ok(statSync(join(arm64, p)).size > 50 * 1024 * 1024, `${p} is too small to carry a Node runtime`);
  }
});

arm64Test(`arm64: the binaries need at most glibc ${GLIBC_FLOOR}`, async () => {
  await built();
  const table = execFileSync(findCommand('aarch64-linux-gnu-objdump'), ['-T', join(arm64, 'tcp-server')], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const key = (v) => v.split('.').map((n) => n.padStart(4, '0')).join('.');
  const highest = [...table.matchAll(/\bGLIBC_([0-9.]+)\b/g)].map((m) => m[1]).sort((a, b) => (key(a) < key(b) ? -1 : 1)).at(-1);
  assert.ok(highest && key(highest) <= key(GLIBC_FLOOR), `tcp-server (arm64) needs GLIBC_${highest}`);
});

arm64Test('arm64 under qemu: every binary and every socklab link prints its --version (linux-arm64)', async () => {
  const names = await built();
  const started = performance.now();
  const calls = [...names.map((p) => [join(arm64, p), p]), ...names.filter((p) => p !== 'socklab').map((p) => [join(links(), p), p])];
  for (const [file, name] of calls) {
    const r = await run(...qemu(file, ['--version']), { timeoutMs: 30000 });
    assert.is(r.code, 0, `qemu ${file} --version: ${r.stderr}`);
    assert.is(r.stdout.toString(), `${name} ${version} (node ${pinnedNodeVersion}, linux-arm64)\n`);
  }
  console.log(`  (${calls.length} --version runs under qemu in ${Math.round(performance.now() - started)} ms)`);
});

arm64Test('arm64 under qemu: the handout exchange over TCP and UDP, both ends emulated (binaries and socklab links)', async () => {
  await built();
  for (const [folder, proto] of [[arm64, 'tcp'], [arm64, 'udp'], [links(), 'tcp'], [links(), 'udp']]) {
    const port = String(await freePort(proto));
    const server = await startProgram(...qemu(join(folder, `${proto}-server`), ['127.0.0.1', port]), { timeoutMs: 30000 });
    try {
      const r = await run(...qemu(join(folder, `${proto}-client`), ['127.0.0.1', port, 'hello, welcome']), { timeoutMs: 30000 });
      assert.is(r.code, 0, `${proto}-client under qemu: ${r.stderr}`);
      assert.is(r.stdout.toString(), 'HELLO, WELCOME\n');
    } finally {
      assert.is((await server.stop()).code, 0, `${proto}-server under qemu did not stop cleanly`);
    }
  }
});

arm64Test('arm64 under qemu: web-server answers http-client (a page and a 404)', async () => {
  await built();
  if (!has('web-server') || !has('http-client')) return;
  const site = mkdtempSync(join(tmpdir(), 'socklab-arm64-site-'));
  removeLater(site);
  writeFileSync(join(site, 'index.html'), '<p>hello from arm64</p>\n');
  const port = String(await freePort());
  const server = await startProgram(...qemu(join(arm64, 'web-server'), ['-d', site, '127.0.0.1', port]), { timeoutMs: 30000 });
  try {
    const page = await run(...qemu(join(arm64, 'http-client'), ['127.0.0.1', port, '/']), { timeoutMs: 30000 });
    assert.is(page.code, 0, page.stderr);
    assert.is(page.stdout.toString(), '<p>hello from arm64</p>\n');
    const missing = await run(...qemu(join(links(), 'http-client'), ['-f', '127.0.0.1', port, '/nothing']), { timeoutMs: 30000 });
    assert.is(missing.code, 22, missing.stderr);
  } finally {
    assert.is((await server.stop()).code, 0);
  }
});

test.run();
