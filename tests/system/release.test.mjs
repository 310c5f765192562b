// The release archives (node build.mjs --release, per architecture): socklab-VERSION-linux-ARCH.tar.xz
// holds one folder with socklab, a symlink per program, README and SHA256SUMS, with owner 0/0,
// time 0 and sorted entries, at most 75% of what gzip -9 makes of it; a second build of the same
// tree gives the same bytes, for x64 and arm64; a release builds no binary that is current.
// The first build is kept in .test-cache/dist (tests/arm64.test.mjs uses it too); the second
// goes to a temporary folder (about 40 s for both architectures).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ARM64_TOOLS, buildNode as node, findCommand, removeLater, removeTempDirs, root, run, testNeeding, version } from '../helpers.mjs';

const ARCHES = ['x64', 'arm64'];
const cached = join(root, '.test-cache', 'dist');
const archiveName = (arch) => `socklab-${version}-linux-${arch}`;
const binDir = (out, arch) => (arch === 'x64' ? out : join(out, `linux-${arch}`));

test.after(removeTempDirs);

async function buildRelease(out, arch, { prefix = [], flags = [] } = {}) {
  const [command, ...args] = [...prefix, node, join(root, 'build.mjs'), '--release', '--arch', arch, '--out', out, ...flags];
  const r = await run(command, args, { cwd: root, timeoutMs: 240000 });
  assert.is(r.code, 0, `${prefix.join(' ')} build --release --arch ${arch}:\n${r.stdout}${r.stderr}`);
}

/** `unshare -n` (no network at all) where this user may use it, else nothing. */
async function offline() {
  const unshare = findCommand('unshare');
  return (await run(unshare, ['-n', findCommand('true')], { timeoutMs: 10000 })).code === 0 ? [unshare, '-n'] : [];
}

const ready = new Set();
async function cachedRelease(arch) {
  if (!ready.has(arch)) await buildRelease(cached, arch, { flags: ['--if-needed'] });
  ready.add(arch);
  return cached;
}
/** The arm64 archive needs the cross strip (and the emulator for tests/system/arm64.test.mjs). */
const testFor = { x64: test, arm64: testNeeding(test, ...ARM64_TOOLS) };

/** `tar -tv` of an archive: [{ mode, owner, size, time, path, link }] in archive order. */
async function listArchive(file) {
  const r = await run(findCommand('tar'), ['--numeric-owner', '--full-time', '-tvJf', file], { timeoutMs: 60000, env: { ...process.env, TZ: 'UTC' } });
  assert.is(r.code, 0, r.stderr);
  return r.stdout.toString().trimEnd().split('\n').map((line) => {
    const [mode, owner, size, date, time, path, , link] = line.split(/\s+/);
    return { mode, owner, size: Number(size), time: `${date} ${time}`, path, link };
  });
}

for (const arch of ARCHES) {
  testFor[arch](`${archiveName(arch)}.tar.xz: one folder, sorted, owner 0/0, time 0; socklab, a link per program, README, SHA256SUMS`, async () => {
    const out = await cachedRelease(arch);
    const name = archiveName(arch);
    const entries = await listArchive(join(out, `${name}.tar.xz`));
    const programs = readFileSync(join(binDir(out, arch), 'SHA256SUMS'), 'utf8').trimEnd().split('\n')
      .map((l) => l.split(/\s+/)[1]).filter((p) => p !== 'socklab');
    const paths = entries.map((e) => e.path);
    assert.equal(paths, [...paths].sort(), 'entries are not in name order');
    assert.equal(paths, [`${name}/`, ...[...programs, 'README', 'SHA256SUMS', 'socklab'].sort().map((f) => `${name}/${f}`)]);
    for (const e of entries) {
      assert.is(e.owner, '0/0', `${e.path}: owner ${e.owner}`);
      assert.is(e.time, '1970-01-01 00:00:00', `${e.path}: time ${e.time}`);
    }
    const byName = Object.fromEntries(entries.map((e) => [e.path.slice(name.length + 1), e]));
    assert.is(byName[''].mode, 'drwxr-xr-x');
    assert.is(byName.socklab.mode, '-rwxr-xr-x');
    assert.ok(byName.socklab.size > 50 * 1024 * 1024);
    for (const f of ['README', 'SHA256SUMS']) assert.is(byName[f].mode, '-rw-r--r--', f);
    for (const p of programs) {
      assert.is(byName[p].mode, 'lrwxrwxrwx', `${p} is not a symlink`);
      assert.is(byName[p].link, 'socklab', `${p} points at ${byName[p].link}`);
    }
  });

  testFor[arch](`${archiveName(arch)}.tar.xz: its SHA256SUMS checks after unpacking, its socklab is dist's, README says CPU and glibc`, async () => {
    const out = await cachedRelease(arch);
    const name = archiveName(arch);
    const into = mkdtempSync(join(tmpdir(), 'socklab-unpack-'));
    removeLater(into);
    const unpack = await run(findCommand('tar'), ['-xf', join(out, `${name}.tar.xz`), '-C', into], { timeoutMs: 60000 });
    assert.is(unpack.code, 0, unpack.stderr);
    const check = await run(findCommand('sha256sum'), ['-c', 'SHA256SUMS'], { cwd: join(into, name), timeoutMs: 60000 });
    assert.is(check.code, 0, check.stdout.toString() + check.stderr);
    assert.equal(check.stdout.toString().trimEnd().split('\n').sort(), ['README: OK', 'socklab: OK']);
    assert.ok(readFileSync(join(into, name, 'socklab')).equals(readFileSync(join(binDir(out, arch), 'socklab'))), 'the archive holds another socklab than the build');
    const readme = readFileSync(join(into, name, 'README'), 'utf8');
    assert.match(readme, arch === 'x64' ? /x86-64/ : /64-bit ARM \(aarch64, arm64\)/);
    assert.match(readme, /glibc 2\.28 or newer/);
    assert.match(readme, /sha256sum -c SHA256SUMS/);
    rmSync(into, { recursive: true, force: true });
  });
}

for (const arch of ARCHES) {
  testFor[arch](`${archiveName(arch)}.tar.xz is at most 75% of what gzip -9 makes of the same tar`, async () => {
    const out = await cachedRelease(arch);
    const file = join(out, `${archiveName(arch)}.tar.xz`);
    const tar = await run(findCommand('xz'), ['-dc', file], { timeoutMs: 60000 });
    assert.is(tar.code, 0, tar.stderr);
    const gz = gzipSync(tar.stdout, { level: 9 }).length;
    const xz = statSync(file).size;
    console.log(`  (${arch}: xz ${(xz / 1e6).toFixed(1)} MB, gzip -9 ${(gz / 1e6).toFixed(1)} MB: ${Math.round(100 * (1 - xz / gz))}% smaller)`);
    assert.ok(xz <= 0.75 * gz, `xz ${xz} bytes against gzip's ${gz}: not a quarter smaller`);
  });
}

test('a release builds no binary that is current: a second --release changes nothing, a missing archive is written alone', async () => {
  const out = await cachedRelease('x64');
  const socklab = () => statSync(join(out, 'socklab'), { bigint: true });
  const before = socklab();
  const again = await run(node, [join(root, 'build.mjs'), '--release', '--arch', 'x64', '--out', out], { cwd: root, timeoutMs: 240000 });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout.toString(), /is up to date/);
  rmSync(join(out, `${archiveName('x64')}.tar.xz`));
  const archiveOnly = await run(node, [join(root, 'build.mjs'), '--release', '--arch', 'x64', '--out', out], { cwd: root, timeoutMs: 240000 });
  assert.is(archiveOnly.code, 0, archiveOnly.stderr);
  assert.equal(archiveOnly.stdout.toString().trim().split('\n'), [`build: ${join(out, `${archiveName('x64')}.tar.xz`)}`]);
  const after = socklab();
  assert.is(after.ino, before.ino, 'socklab was packaged again');
  assert.is(after.mtimeNs, before.mtimeNs, 'socklab was rewritten');
});

// The second build runs with the network cut (unshare -n, as root): once the first build has
// fetched the arm64 runtime, neither architecture needs the network.
testFor.arm64('a second build of the same tree, offline, gives byte-identical archives and SHA256SUMS, for x64 and arm64', async () => {
  for (const arch of ARCHES) await cachedRelease(arch);
  const first = cached;
  const second = mkdtempSync(join(tmpdir(), 'socklab-release-'));
  removeLater(second);
  const prefix = await offline();
  if (prefix.length === 0) console.log('  (unshare -n not permitted here: the second build runs with the network)');
  for (const arch of ARCHES) await buildRelease(second, arch, { prefix });
  for (const arch of ARCHES) {
    const inputs = (dir) => readFileSync(join(binDir(dir, arch), '.inputs'), 'utf8');
    assert.is(inputs(second), inputs(first), `${arch}: the tree changed between the two builds (someone edited scripts/ or lib/?): run the test again`);
    for (const file of [join(binDir(second, arch), 'SHA256SUMS'), join(second, `${archiveName(arch)}.tar.xz`)]) {
      const ours = readFileSync(file);
      const theirs = readFileSync(file.replace(second, first));
      if (ours.equals(theirs)) continue;
      let at = 0;
      while (at < ours.length && ours[at] === theirs[at]) at++;
      assert.unreachable(`${file.slice(second.length + 1)} differs between two builds (${ours.length} vs ${theirs.length} bytes; first difference at byte ${at})`);
    }
  }
  removeTempDirs(); // ~1.5 GB
});

test.run();
