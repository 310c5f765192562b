// Other userlands: the x86-64 binaries on a Linux system older than the build host that has never
// seen Node. A minimal Debian root (debootstrap --variant=minbase, plus xz-utils, which a standard
// install has and the release archive needs) of the oldest suite the mirror still has (bullseye:
// glibc 2.31), entered with chroot: --version, the handout's exchange over TCP
// and UDP, a web page through web-server and http-client, and the release archive unpacked, checked
// and run with the root's own tar and sha256sum, as on a lab host. Also the glibc floor: the
// highest GLIBC_ symbol version the binaries need, which decides the distributions they run on.
// The root is cached in .test-cache/ (about 220 MB; made in about a minute from Debian's mirror).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROGRAMS, ROOT, bin, buildNode as node, findCommand, freePort, isRunning, patternBytes, pinnedNodeVersion, root, run, startProgram, testNeeding, version } from '../helpers.mjs';

/** The newest glibc a binary may need; README promises this floor (Node 24's own, from its build host). */
const GLIBC_FLOOR = '2.28';
/** libstdc++'s symbol version floor that goes with it (GCC 5.1 and later). */
const GLIBCXX_FLOOR = '3.4.21';
const SUITES = ['bullseye', 'bookworm']; // oldest first: the older the root, the more it proves
const cache = join(root, '.test-cache');

const versionKey = (v) => v.split('.').map((n) => n.padStart(4, '0')).join('.');
/** The highest version of `prefix` symbols (GLIBC_, GLIBCXX_) that `file` imports, per objdump -T. */
function highestSymbolVersion(file, prefix, objdump = 'objdump') {
  const table = execFileSync(findCommand(objdump), ['-T', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const versions = [...table.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)\\b`, 'g'))].map((m) => m[1]);
  assert.ok(versions.length > 0, `objdump -T ${file} shows no ${prefix}_ symbols`);
  return versions.sort((a, b) => (versionKey(a) < versionKey(b) ? -1 : 1)).at(-1);
}

/** The Debian mirror this machine's apt uses (the one CI and developers reach), else Debian's own. */
function debianMirror() {
  const files = ['/etc/apt/sources.list', ...['/etc/apt/sources.list.d'].flatMap((d) =>
    (existsSync(d) ? readdirSync(d) : []).filter((f) => /\.(list|sources)$/.test(f)).map((f) => join(d, f)))];
  for (const f of files.filter((f) => existsSync(f))) {
    const uri = readFileSync(f, 'utf8').match(/^(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s*$/m)
      ?? readFileSync(f, 'utf8').match(/^(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m);
    if (uri) return uri[1];
  }
  return 'http://deb.debian.org/debian';
}

/** A cached root of the oldest suite available; made with debootstrap (into a temporary name) if missing. */
let debianRoot;
async function makeDebianRoot() {
  if (debianRoot) return debianRoot;
  for (const suite of SUITES) {
    const dir = join(cache, `debian-${suite}-amd64-xz`);
    if (existsSync(join(dir, 'usr', 'bin', 'sha256sum'))) return (debianRoot = { suite, dir });
  }
  const mirror = debianMirror();
  for (const suite of SUITES) {
    const release = await fetch(`${mirror}/dists/${suite}/Release`, { method: 'HEAD', signal: AbortSignal.timeout(15000) }).catch(() => null);
    if (!release?.ok) continue;
    const dir = join(cache, `debian-${suite}-amd64-xz`);
    const partial = `${dir}.${process.pid}.partial`;
    mkdirSync(cache, { recursive: true });
    const r = await run(findCommand('debootstrap'), ['--variant=minbase', '--include=xz-utils', suite, partial, mirror], { timeoutMs: 8 * 60000 });
    if (r.code !== 0) {
      rmSync(partial, { recursive: true, force: true });
      assert.unreachable(`debootstrap ${suite} from ${mirror} exited ${r.code}:\n${r.stderr.slice(-2000)}`);
    }
    if (existsSync(dir)) rmSync(partial, { recursive: true, force: true }); // another run made it meanwhile
    else renameSync(partial, dir);
    return (debianRoot = { suite, dir });
  }
  return assert.unreachable(`${mirror} has none of ${SUITES.join(', ')}`);
}

// The binaries go to /opt/socklab-PID in the root for this run only (they would triple the cache;
// the PID keeps two runs at once apart). What a killed run left behind goes on the next run.
const RUN = `socklab-${process.pid}`;
const OPT = `/opt/${RUN}`;
const installed = [];
const COPIED = ['tcp-server', 'tcp-client'];
async function installBinaries() {
  const { dir } = await makeDebianRoot();
  if (installed.length) return dir;
  for (const folder of ['opt', 'srv', 'home'].map((d) => join(dir, d)).filter((d) => existsSync(d))) {
    for (const old of readdirSync(folder).filter((f) => /^socklab-\d+$/.test(f) && !isRunning(Number(f.slice(8))))) {
      rmSync(join(folder, old), { recursive: true, force: true });
    }
  }
  const opt = join(dir, OPT);
  mkdirSync(join(opt, 'copies'), { recursive: true });
  installed.push(opt);
  // As dist/ and the release hold them: socklab and a link per program; and two programs copied
  // alone, as `cp dist/tcp-server` makes them (the copy follows the link: the whole program).
  copyFileSync(bin('socklab'), join(opt, 'socklab'));
  for (const p of PROGRAMS) symlinkSync('socklab', join(opt, p));
  for (const p of COPIED) copyFileSync(bin(p), join(opt, 'copies', p));
  return dir;
}
const removeInstalled = () => { for (const d of installed.splice(0)) rmSync(d, { recursive: true, force: true }); };
test.after(removeInstalled);
const rootTest = testNeeding(test, ROOT, ['debootstrap', 'debootstrap'], ['objdump', 'binutils']);
process.once('exit', removeInstalled);

/** [command, args] that run `file` (a path inside the root) in the root with an empty environment. */
const inRoot = (dir, file, args = []) => [findCommand('env'), ['-i', 'PATH=/usr/bin:/bin', findCommand('chroot'), dir, file, ...args]];
/**
 * The same, with /proc mounted in the root, as on a real host: web-server checks there where each
 * file it opens really is. unshare mounts it in a mount namespace of the command's own (the root
 * folder is left as it was, whatever happens) and then runs it in place, so its PID is the server's.
 */
const inRootWithProc = (dir, file, args = []) => {
  const [env, envArgs] = inRoot(dir, file, args);
  return [findCommand('unshare'), [`--mount-proc=${join(dir, 'proc')}`, env, ...envArgs]];
};

rootTest(`the binaries need at most glibc ${GLIBC_FLOOR} and libstdc++ GLIBCXX_${GLIBCXX_FLOOR}`, () => {
  for (const p of ['tcp-server', 'socklab']) {
    const glibc = highestSymbolVersion(bin(p), 'GLIBC');
    assert.ok(versionKey(glibc) <= versionKey(GLIBC_FLOOR), `${p} needs GLIBC_${glibc}, above the documented floor ${GLIBC_FLOOR}`);
    const cxx = highestSymbolVersion(bin(p), 'GLIBCXX');
    assert.ok(versionKey(cxx) <= versionKey(GLIBCXX_FLOOR), `${p} needs GLIBCXX_${cxx}, above ${GLIBCXX_FLOOR}`);
  }
});

rootTest('the Debian root is older than the build host, at or above the floor, and has no Node', async () => {
  const { dir, suite } = await makeDebianRoot();
  const [command, args] = inRoot(dir, '/lib/x86_64-linux-gnu/libc.so.6');
  const r = await run(command, args);
  const rootGlibc = r.stdout.toString().match(/release version ([0-9.]+)/)?.[1];
  assert.ok(rootGlibc, `the root's libc.so.6 did not say its version: ${r.stdout}${r.stderr}`);
  assert.ok(versionKey(rootGlibc) >= versionKey(GLIBC_FLOOR), `${suite} has glibc ${rootGlibc}, below the floor`);
  const hostGlibc = execFileSync(findCommand('getconf'), ['GNU_LIBC_VERSION'], { encoding: 'utf8' }).trim().split(' ')[1];
  if (suite === 'bullseye') assert.ok(versionKey(rootGlibc) < versionKey(hostGlibc), `root glibc ${rootGlibc} is not older than the host's ${hostGlibc}`);
  for (const d of ['usr/bin', 'usr/local/bin', 'bin', 'usr/lib/node_modules']) {
    assert.not.ok(existsSync(join(dir, d, 'node')), `the root has ${d}/node`);
  }
});

rootTest('in the Debian root: socklab, every program (by link) and the copied programs print their --version', async () => {
  const dir = await installBinaries();
  for (const [file, name] of [...PROGRAMS.map((p) => [`${OPT}/${p}`, p]), ...COPIED.map((p) => [`${OPT}/copies/${p}`, p]), [`${OPT}/socklab`, 'socklab']]) {
    const [command, args] = inRoot(dir, file, ['--version']);
    const r = await run(command, args);
    assert.is(r.code, 0, `${file} --version in the root: ${r.stderr}`);
    assert.is(r.stdout.toString(), `${name} ${version} (node ${pinnedNodeVersion}, linux-x64)\n`);
  }
});

rootTest('in the Debian root: the handout exchange over TCP and UDP, through socklab\'s links and with copied programs', async () => {
  const dir = await installBinaries();
  for (const [folder, proto] of [[OPT, 'tcp'], [OPT, 'udp'], [`${OPT}/copies`, 'tcp']]) {
    const port = String(await freePort(proto));
    const server = await startProgram(...inRoot(dir, `${folder}/${proto}-server`, ['127.0.0.1', port]));
    try {
      const r = await run(...inRoot(dir, `${folder}/${proto}-client`, ['127.0.0.1', port, 'hello, welcome']));
      assert.is(r.code, 0, `${folder}/${proto}-client: ${r.stderr}`);
      assert.is(r.stdout.toString(), 'HELLO, WELCOME\n', `${folder}/${proto}`);
    } finally {
      assert.is((await server.stop()).code, 0);
    }
  }
});

rootTest('in the Debian root: web-server serves a page and a 200 KB binary file that http-client fetches intact', async () => {
  const dir = await installBinaries();
  const site = join(dir, 'srv', RUN);
  rmSync(site, { recursive: true, force: true });
  mkdirSync(site, { recursive: true });
  installed.push(site);
  const page = '<!doctype html><title>socklab</title><p>Hello from a Debian root.\n';
  const blob = patternBytes(200 * 1024, 7);
  writeFileSync(join(site, 'index.html'), page);
  writeFileSync(join(site, 'blob.bin'), blob);
  const port = String(await freePort());
  const server = await startProgram(...inRootWithProc(dir, `${OPT}/web-server`, ['-d', `/srv/${RUN}`, '127.0.0.1', port]));
  try {
    const html = await run(...inRoot(dir, `${OPT}/http-client`, ['127.0.0.1', port, '/index.html']));
    assert.is(html.code, 0, html.stderr);
    assert.is(html.stdout.toString(), page);
    const bin = await run(...inRoot(dir, `${OPT}/http-client`, [`http://127.0.0.1:${port}/blob.bin`]));
    assert.is(bin.code, 0, bin.stderr);
    assert.ok(bin.stdout.equals(blob), `blob.bin came back as ${bin.stdout.length} different bytes`);
    const missing = await run(...inRoot(dir, `${OPT}/http-client`, ['-f', '127.0.0.1', port, '/nothing-here']));
    assert.is(missing.code, 22, `404 with -f: ${missing.stderr}`);
  } finally {
    assert.is((await server.stop()).code, 0);
  }
});

rootTest('in the Debian root: the release archive unpacks with its tar, checks with its sha256sum, and runs', async () => {
  const dir = await installBinaries();
  const out = join(cache, 'dist');
  const built = await run(node, [join(root, 'build.mjs'), '--release', '--if-needed', '--out', out], { cwd: root, timeoutMs: 180000 });
  assert.is(built.code, 0, `build --release:\n${built.stdout}${built.stderr}`);
  const name = `socklab-${version}-linux-x64`;
  const home = join(dir, 'home', RUN);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  installed.push(home);
  copyFileSync(join(out, `${name}.tar.xz`), join(home, `${name}.tar.xz`));
  const shell = (script) => run(...inRoot(dir, '/bin/sh', ['-c', `cd /home/${RUN} && ${script}`]), { timeoutMs: 60000 });
  const unpack = await shell(`tar -xf ${name}.tar.xz && cd ${name} && sha256sum -c SHA256SUMS && ls`);
  assert.is(unpack.code, 0, unpack.stderr);
  assert.match(unpack.stdout.toString(), /^socklab: OK$/m);
  assert.match(unpack.stdout.toString(), /^README: OK$/m);
  const runIt = await shell(`cd ${name} && ./tcp-client --version && ./socklab --help && ./udp-server -V`);
  assert.is(runIt.code, 0, runIt.stderr);
  assert.match(runIt.stdout.toString(), new RegExp(`^tcp-client ${version} \\(node ${pinnedNodeVersion.replaceAll('.', '\\.')}, linux-x64\\)$`, 'm'));
  assert.match(runIt.stdout.toString(), /^ {2}tcp-server$/m);
  assert.match(runIt.stdout.toString(), /^udp-server /m);
});

test.run();
